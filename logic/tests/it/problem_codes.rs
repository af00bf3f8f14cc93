//! The refusal codes are one list shared with the portal (`bank_api::ProblemCode`): the compiler
//! holds the portal to codes on that list, and this test holds the list to codes the logic tier
//! really sends, so that every code the portal translates is one the logic tier can answer with.

use std::path::Path;

use bank_api::ProblemCode;

fn variant_name(code: ProblemCode) -> String {
    code.as_str()
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn sources(dir: &Path, into: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            // Code only: a code named in a comment is not sent.
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let code = line.split("//").next().unwrap_or_default();
                into.push_str(code);
                into.push('\n');
            }
        }
    }
}

#[test]
fn every_code_on_the_shared_list_is_sent_by_the_logic_tier() {
    let mut logic = String::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut logic,
    );
    let unsent: Vec<&str> = ProblemCode::ALL
        .iter()
        .filter(|code| !logic.contains(&format!("ProblemCode::{}", variant_name(**code))))
        .map(|code| code.as_str())
        .collect();
    assert!(
        unsent.is_empty(),
        "codes on the shared list that the logic tier never sends: {unsent:?}"
    );
    assert!(
        !logic.contains("ProblemCode::Unrecognised"),
        "the logic tier never sends the portal's catch-all"
    );
}
