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

/// The crates `package` depends on for building its own code (not its tests), with every
/// feature on, on this platform: transitively, or only its own (`depth` 1).
fn normal_dependencies(package: &str, depth: Option<u32>) -> Vec<String> {
    let depth: Vec<String> = depth
        .map(|d| vec!["--depth".to_owned(), d.to_string()])
        .unwrap_or_default();
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--package",
            package,
            "--edges",
            "normal",
            "--all-features",
        ])
        .args(&depth)
        .args(["--prefix", "none", "--format", "{p}"])
        .args(["--locked", "--offline"])
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

/// The names among `dependencies` that are the data tier or reach the database.
fn data_tier(dependencies: &[String], also: &[&str]) -> Vec<String> {
    dependencies
        .iter()
        .filter(|name| {
            name.as_str() == "data" || name.starts_with("sqlx") || also.contains(&name.as_str())
        })
        .cloned()
        .collect()
}

#[test]
fn presentation_reaches_the_data_tier_only_through_the_logic_tier() {
    let dependencies = normal_dependencies("presentation", None);
    assert!(dependencies.contains(&"bank-api".to_owned()));
    let reached = data_tier(&dependencies, &["logic"]);
    assert!(reached.is_empty(), "presentation depends on {reached:?}");
}

#[test]
fn the_shared_contract_crate_holds_no_business_rule_and_no_database() {
    let dependencies = normal_dependencies("bank-api", None);
    let reached = data_tier(&dependencies, &["logic", "presentation"]);
    assert!(reached.is_empty(), "bank-api depends on {reached:?}");
}

#[test]
fn logic_reaches_the_database_only_through_the_data_crate() {
    // The package itself, then what it names in its manifest.
    let own: Vec<String> = normal_dependencies("logic", Some(1))
        .into_iter()
        .skip(1)
        .collect();
    assert!(own.contains(&"data".to_owned()), "{own:?}");
    let direct: Vec<String> = data_tier(&own, &[])
        .into_iter()
        .filter(|name| name != "data")
        .collect();
    assert!(direct.is_empty(), "logic depends on {direct:?} directly");
}
