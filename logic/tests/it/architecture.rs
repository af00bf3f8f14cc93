//! The workspace's architecture invariants (ARCHITECTURE.md), checked from its sources and its
//! dependency graph: a change that breaks one fails here, not in review.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every `.rs` file below `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path, text));
            }
        }
    }
    found
}

/// Whether `text` names the type `name` as a whole word.
fn names_word(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

#[test]
fn money_never_touches_a_float() {
    // The statement PDF's page coordinates are the one place with f32 (pdf-writer's unit); they
    // are whole points converted from integers, never money.
    let mut floats = Vec::new();
    for crate_dir in ["api", "data", "logic", "presentation"] {
        for (path, text) in sources(&workspace().join(crate_dir).join("src")) {
            if path.ends_with("presentation/src/statement.rs") {
                continue;
            }
            if names_word(&text, "f32") || names_word(&text, "f64") {
                floats.push(path.display().to_string());
            }
        }
    }
    assert!(floats.is_empty(), "f32/f64 in production code: {floats:?}");
}

#[test]
fn there_is_no_sql_outside_the_data_crate() {
    let mut found = Vec::new();
    for crate_dir in ["api", "logic", "presentation"] {
        for (path, text) in sources(&workspace().join(crate_dir).join("src")) {
            if text.contains("sqlx::") || text.contains("query!(") || text.contains("query_as") {
                found.push(path.display().to_string());
            }
        }
    }
    assert!(found.is_empty(), "SQL outside the data crate: {found:?}");
}

/// The crates `package` depends on for building its own code (not its tests), transitively,
/// on this platform.
fn normal_dependencies(package: &str) -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--package", package, "--edges", "normal"])
        .args([
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--locked",
            "--offline",
        ])
        .current_dir(workspace())
        .output()
        .expect("run cargo tree");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn presentation_reaches_the_data_tier_only_through_the_logic_tier() {
    let dependencies = normal_dependencies("presentation");
    assert!(dependencies.contains(&"bank-api".to_owned()));
    for forbidden in ["data", "sqlx", "logic"] {
        assert!(
            !dependencies.contains(&forbidden.to_owned()),
            "presentation depends on {forbidden}"
        );
    }
}

#[test]
fn the_shared_contract_crate_holds_no_business_rule_and_no_database() {
    let dependencies = normal_dependencies("bank-api");
    for forbidden in ["data", "sqlx", "logic", "presentation"] {
        assert!(
            !dependencies.contains(&forbidden.to_owned()),
            "bank-api depends on {forbidden}"
        );
    }
}

#[test]
fn logic_reaches_the_database_only_through_the_data_crate() {
    let manifest = std::fs::read_to_string(workspace().join("logic/Cargo.toml")).unwrap();
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    assert!(
        !dependencies
            .lines()
            .any(|line| line.trim_start().starts_with("sqlx")),
        "logic depends on sqlx directly"
    );
}
