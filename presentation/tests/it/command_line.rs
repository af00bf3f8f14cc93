//! `presentation --help` names every setting the binary reads and starts nothing; anything else
//! it does not know is refused with exit status 2.

use std::process::{Command, Output};

fn presentation(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_presentation"));
    for (name, _) in std::env::vars() {
        if name.starts_with("BANK_") || name.starts_with("PORTAL_") {
            command.env_remove(name);
        }
    }
    command.args(args).output().unwrap()
}

#[test]
fn help_names_every_setting_and_unknown_arguments_are_refused() {
    let output = presentation(&["--help"]);
    let help = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "presentation --help: {output:?}");
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/main.rs")).unwrap();
    let mut named = 0;
    for prefix in ["std::env::var(\"", "std::env::var_os(\""] {
        for (at, _) in source.match_indices(prefix) {
            let name: String = source[at + prefix.len()..]
                .chars()
                .take_while(|c| *c != '"')
                .collect();
            named += 1;
            assert!(help.contains(&name), "the help names {name}:\n{help}");
        }
    }
    assert!(named >= 9, "the settings were found in main.rs ({named})");
    assert!(help.contains("Exit status"), "{help}");

    let output = presentation(&["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("presentation {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [&["serve-everything"][..], &["--frobnicate"]] {
        let output = presentation(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("error:"));
    }
}
