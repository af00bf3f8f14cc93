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
    // The statement PDF's page coordinates are one place with f32 (pdf-writer's unit); they
    // are whole points converted from integers, never money. The other is the span per SQL
    // statement, which reads how long sqlx says the statement took (`elapsed_secs`, an f64) into
    // a `Duration`, with no arithmetic.
    let mut floats = Vec::new();
    for crate_dir in ["api", "data", "logic", "presentation"] {
        for (path, text) in sources(&workspace().join(crate_dir).join("src")) {
            if path.ends_with("presentation/src/statement.rs")
                || path.ends_with("api/src/telemetry.rs")
            {
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
            // The telemetry names sqlx's log target (`sqlx::query`), to turn its reports of
            // statements into spans; it runs none.
            let text = if path.ends_with("api/src/telemetry.rs") {
                text.replace("\"sqlx::query\"", "")
            } else {
                text
            };
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

/// The layers of `logic`, lowest first: a module may use its own layer and those below it, never
/// one above. A module's layer is that of the longest path listed that contains it (`auth::scopes`
/// is a value, `auth` is access); a module in no layer fails the test until it is placed.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "values",
        &[
            "domain",
            "cursor",
            "error",
            "config",
            "wire",
            "auth::scopes",
            "auth::password",
            "auth::secrets",
            "auth::server_key",
            "auth::rate_limit",
        ],
    ),
    (
        "kernel",
        &["state", "idempotency", "unit_of_work", "pipeline"],
    ),
    ("access", &["auth", "throttle"]),
    (
        "rules",
        &[
            "accounts",
            "admin",
            "api_keys",
            "approvals",
            "audit",
            "batches",
            "book",
            "cluster",
            "customers",
            "drawers",
            "events",
            "group_commit",
            "identity",
            "orders",
            "payees",
            "pending",
            "portal_sessions",
            "posting",
            "review",
            "security",
            "step_up",
        ],
    ),
    ("edge", &["api", "janitor", "seed"]),
];

/// `logic`'s modules by path (`auth`, `auth::scopes`, `api::gate`), each with the source of its
/// file less its unit tests and comments.
fn logic_modules() -> std::collections::BTreeMap<String, String> {
    let root = workspace().join("logic/src");
    let mut modules = std::collections::BTreeMap::new();
    for (path, text) in sources(&root) {
        let relative = path.strip_prefix(&root).unwrap().with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|last| last == "mod") {
            parts.pop();
        }
        if parts == ["lib"] || parts == ["main"] {
            continue;
        }
        let code: String = without_test_modules(&text)
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        modules.insert(parts.join("::"), code);
    }
    modules
}

/// Where the brace that opens `text` closes.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0;
    text.char_indices()
        .find(|&(_, c)| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            depth == 0
        })
        .map(|(at, _)| at)
}

/// `text` without its `#[cfg(test)] mod … { … }` blocks (matched brace for brace, so code after
/// one still counts).
fn without_test_modules(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at + "#[cfg(test)]".len()..];
        let is_module = after.trim_start().starts_with("mod ");
        let Some(open) = after.find('{').filter(|_| is_module) else {
            out.push_str(&rest[..at + "#[cfg(test)]".len()]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..at]);
        let end = closing_brace(&after[open..]).map_or(after.len(), |close| open + close + 1);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The names the crate root re-exports (`pub use state::AppState;` in `lib.rs`), each with the
/// module it comes from: `crate::AppState` uses `state`.
fn crate_root_reexports() -> std::collections::BTreeMap<String, String> {
    let lib = std::fs::read_to_string(workspace().join("logic/src/lib.rs")).unwrap();
    let mut names = std::collections::BTreeMap::new();
    for statement in lib.split(';') {
        let Some(used) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = used.split_once("::") else {
            continue;
        };
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = item.rsplit(" as ").next().unwrap_or_default();
            let name = name.rsplit("::").next().unwrap_or_default().trim();
            if !name.is_empty() {
                names.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    names
}

/// The paths a source names through `crate::` (groups such as `crate::{a, b::{c, d}}` expanded)
/// and `super::`, relative to the crate root.
fn named_paths(module: &str, code: &str) -> Vec<String> {
    fn expand(prefix: &str, group: &str, out: &mut Vec<String>) {
        let (mut depth, mut item) = (0, String::new());
        let mut items = Vec::new();
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                items.push(std::mem::take(&mut item));
            } else {
                item.push(c);
            }
        }
        items.push(item);
        for item in items {
            let item = item.trim();
            let item = item.split(" as ").next().unwrap_or_default().trim();
            if let Some((head, rest)) = item.split_once('{') {
                let inner = rest.strip_suffix('}').unwrap_or(rest);
                let head = head.trim_end_matches(':');
                expand(&join(prefix, head), inner, out);
            } else if !item.is_empty() {
                out.push(join(prefix, item));
            }
        }
    }
    fn join(prefix: &str, rest: &str) -> String {
        match (prefix.is_empty(), rest.is_empty()) {
            (true, _) => rest.to_owned(),
            (_, true) => prefix.to_owned(),
            _ => format!("{prefix}::{rest}"),
        }
    }
    let path_char = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut paths = Vec::new();
    for (marker, base) in [
        ("crate::", String::new()),
        (
            "super::",
            module
                .rsplit_once("::")
                .map(|(parent, _)| parent.to_owned())
                .unwrap_or_default(),
        ),
    ] {
        for (at, _) in code.match_indices(marker) {
            if code[..at].chars().next_back().is_some_and(path_char) {
                continue;
            }
            let mut rest = &code[at + marker.len()..];
            // `super::super::…` climbs one module more for every `super`.
            let mut base = base.clone();
            while let Some(further) = rest.strip_prefix("super::") {
                base = base
                    .rsplit_once("::")
                    .map(|(parent, _)| parent.to_owned())
                    .unwrap_or_default();
                rest = further;
            }
            let path: String = rest.chars().take_while(|&c| path_char(c)).collect();
            let after = &rest[path.len()..];
            let path = path.trim_end_matches(':');
            if after.starts_with('{') {
                let end = closing_brace(after).unwrap_or(after.len());
                expand(&join(&base, path), &after[1..end], &mut paths);
            } else {
                paths.push(join(&base, path));
            }
        }
    }
    paths
}

/// Which of `modules` a path names: the longest module path it starts with.
fn owner<'m>(modules: &'m [String], path: &str) -> Option<&'m String> {
    modules
        .iter()
        .filter(|m| path == m.as_str() || path.starts_with(&format!("{m}::")))
        .max_by_key(|m| m.len())
}

/// `logic`'s module graph: each module and the other modules it uses (not its own submodules, not
/// the module it is part of).
fn module_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let modules = logic_modules();
    let names: Vec<String> = modules.keys().cloned().collect();
    let reexports = crate_root_reexports();
    let mut graph = std::collections::BTreeMap::new();
    for (module, code) in &modules {
        // A path the reader cannot follow would hide a dependency: the crate is never renamed.
        assert!(
            !code.contains("crate as ")
                && !code.contains("crate::{self")
                && !code.contains("crate ::"),
            "{module} names the crate in a way this test cannot follow"
        );
        let uses: std::collections::BTreeSet<String> = named_paths(module, code)
            .iter()
            .filter_map(|path| {
                owner(&names, path).or_else(|| {
                    let first = path.split("::").next().unwrap_or_default();
                    reexports
                        .get(first)
                        .and_then(|module| owner(&names, module))
                })
            })
            .filter(|target| {
                *target != module
                    && !module.starts_with(&format!("{target}::"))
                    && !target.starts_with(&format!("{module}::"))
            })
            .cloned()
            .collect();
        graph.insert(module.clone(), uses);
    }
    graph
}

/// A cycle of `graph` as the modules along it, if it has one.
fn find_cycle(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        module: &str,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(graph, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(graph, module, &mut Vec::new(), &mut done))
}

#[test]
fn the_module_graph_of_logic_has_no_cycle() {
    let graph = module_graph();
    assert!(
        graph.len() > 40,
        "too few modules found: {:?}",
        graph.keys()
    );
    // The reader itself: a module the posting engine is known to use is found.
    assert!(graph["orders"].contains("posting"), "{:?}", graph["orders"]);
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "logic's modules use each other in a cycle: {}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn logic_s_modules_use_only_their_own_layer_and_those_below() {
    let layer_of = |module: &str| -> Option<(usize, &str)> {
        LAYERS
            .iter()
            .enumerate()
            .flat_map(|(rank, (layer, paths))| paths.iter().map(move |p| (rank, *layer, *p)))
            .filter(|(_, _, p)| module == *p || module.starts_with(&format!("{p}::")))
            .max_by_key(|(_, _, p)| p.len())
            .map(|(rank, layer, _)| (rank, layer))
    };
    let graph = module_graph();
    let unplaced: Vec<&String> = graph.keys().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules in no layer (place them in LAYERS): {unplaced:?}"
    );
    let mut upward = Vec::new();
    for (module, uses) in &graph {
        let (rank, layer) = layer_of(module).unwrap();
        for target in uses {
            let (target_rank, target_layer) = layer_of(target).unwrap();
            if target_rank > rank {
                upward.push(format!("{module} ({layer}) uses {target} ({target_layer})"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "modules using a layer above their own: {upward:#?}"
    );
}

#[test]
fn only_the_posting_engine_writes_a_transfer() {
    // One transfer at a time, and many decided together.
    let engine = [
        workspace().join("logic/src/posting.rs"),
        workspace().join("logic/src/book.rs"),
    ];
    let mut callers = Vec::new();
    for crate_dir in ["api", "logic", "presentation"] {
        for (path, text) in sources(&workspace().join(crate_dir).join("src")) {
            if !engine.contains(&path)
                && (names_word(&text, "post_transfer") || names_word(&text, "post_transfers"))
            {
                callers.push(path.display().to_string());
            }
        }
    }
    for (file, call) in engine.iter().zip([
        "data::transfers::post_transfer(",
        "data::transfers::post_transfers(",
    ]) {
        assert!(
            std::fs::read_to_string(file).unwrap().contains(call),
            "the engine no longer posts: {}",
            file.display()
        );
    }
    assert!(
        callers.is_empty(),
        "transfers written outside the posting engine: {callers:?}"
    );
}
