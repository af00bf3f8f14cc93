//! Command lines people can trust: `logic --help` names every setting and acts on nothing, an
//! unknown command is refused with exit status 2, and every `deploy/local` command answers
//! `--help` without acting and refuses an unknown option with exit status 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The logic binary with none of the bank's settings in its environment.
fn logic(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_logic"));
    for (name, _) in std::env::vars() {
        if name.starts_with("BANK_") {
            command.env_remove(name);
        }
    }
    command.args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn logic_help_names_every_command_and_setting_without_any_set() {
    let output = logic(&["--help"]);
    let help = text(&output.stdout);
    assert!(output.status.success(), "logic --help: {output:?}");
    for command in [
        "serve",
        "migrate",
        "seed-demo",
        "create-service-key",
        "seal-secrets",
        "verify-ledger",
    ] {
        assert!(help.contains(command), "the help names {command}:\n{help}");
    }
    // Every variable the settings read, wherever the code reads one.
    let mut named = 0;
    for file in ["logic/src/config.rs", "logic/src/main.rs"] {
        let source = std::fs::read_to_string(workspace().join(file)).unwrap();
        for (at, _) in source.match_indices("\"BANK_") {
            let name: String = source[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if name.len() > "BANK_".len() {
                named += 1;
                assert!(help.contains(&name), "the help names {name}:\n{help}");
            }
        }
    }
    assert!(
        named >= 20,
        "the settings were found in the sources ({named})"
    );
    assert!(help.contains("Exit status"), "the help gives exit statuses");

    let output = logic(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        text(&output.stdout).trim(),
        format!("logic {}", env!("CARGO_PKG_VERSION"))
    );
    let output = logic(&["help", "create-service-key"]);
    assert!(text(&output.stdout).contains("<NAME>"), "{output:?}");
}

#[test]
fn logic_refuses_an_unknown_command_or_option_with_status_2() {
    for args in [
        &["transfer-all-the-money"][..],
        &["--frobnicate"],
        &["serve", "extra"],
        &["create-service-key"],
    ] {
        let output = logic(args);
        assert_eq!(output.status.code(), Some(2), "logic {args:?}: {output:?}");
        let error = text(&output.stderr);
        assert!(error.contains("error:"), "logic {args:?} says why: {error}");
        assert!(output.stdout.is_empty(), "logic {args:?} did nothing");
    }
}

/// Every command in `deploy/local`: its executable files.
fn deploy_commands() -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut commands: Vec<PathBuf> = std::fs::read_dir(workspace().join("deploy/local"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            std::fs::metadata(path).unwrap().permissions().mode() & 0o111 != 0 && path.is_file()
        })
        .collect();
    commands.sort();
    commands
}

/// Runs a deploy command against a state directory of its own that does not exist yet (and ports
/// no topology uses), bounded in time: a command that acted would create the one or wait.
fn deploy(command: &Path, args: &[&str], state: &Path) -> Output {
    Command::new("timeout")
        .args(["20", "bash"])
        .arg(command)
        .args(args)
        .env("BANK_STATE_DIR", state)
        .env("BANK_PORT_OFFSET", "7300")
        .env("BANK_TOOLS_DIR", state.join("tools"))
        .current_dir(workspace())
        .output()
        .unwrap()
}

#[test]
fn every_deploy_command_answers_help_without_acting_and_refuses_unknown_options() {
    let commands = deploy_commands();
    let names: Vec<_> = commands
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["up", "down", "status", "switchover", "test", "bench"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let scratch = std::env::temp_dir().join(format!("bank-cli-{}", uuid::Uuid::new_v4()));
    for (command, name) in commands.iter().zip(&names) {
        let state = scratch.join(name);
        for help in ["--help", "-h"] {
            let output = deploy(command, &[help], &state);
            let shown = text(&output.stdout);
            assert!(output.status.success(), "{name} {help} exits 0: {output:?}");
            assert!(
                shown.contains("Usage:"),
                "{name} {help} gives its usage:\n{shown}"
            );
            assert!(
                shown.contains("Exit status"),
                "{name} {help} gives its exit statuses:\n{shown}"
            );
            assert!(
                !state.exists(),
                "{name} {help} acted: it made its state directory"
            );
        }
        // An unknown option, and an empty argument (a wrapper's unset variable), even before
        // a --help, are refused: none may act. (A command that answers --help wherever it
        // stands may answer that instead.)
        for (args, shown) in [
            (&["--no-such-option"][..], "--no-such-option"),
            (&[""], "''"),
            (&["", "--help"], "''"),
        ] {
            let output = deploy(command, args, &state);
            if args.contains(&"--help") && output.status.success() {
                assert!(text(&output.stdout).contains("Usage:"), "{name} {args:?}");
                assert!(!state.exists(), "{name} {args:?} acted");
                continue;
            }
            assert_eq!(
                output.status.code(),
                Some(2),
                "{name} {args:?} exits 2: {output:?}"
            );
            let error = text(&output.stderr);
            assert!(
                error.contains(shown),
                "{name} {args:?} says what it refused: {error}"
            );
            assert!(
                !state.exists(),
                "{name} {args:?} acted: it made its state directory"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

/// The bank never runs a Patroni older than 4 (one could lose acknowledged transfers in a
/// failover), in its own state directory or another, nor a version that is no release number:
/// `up` refuses before it installs or starts anything. Run from a copy of `deploy/local`, so that
/// nothing of this checkout's is touched even if the check were gone.
#[test]
fn up_refuses_a_patroni_older_than_4_for_the_banks_own_topology() {
    let root = std::env::temp_dir().join(format!("bank-patroni-{}", uuid::Uuid::new_v4()));
    let copy = root.join("deploy/local");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(workspace().join("deploy/local")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    for (version, state, said) in [
        ("3.0.2", None, "older than 4"),
        ("3.0.2", Some(root.join("elsewhere")), "older than 4"),
        ("4.1;true", None, "not a release number"),
    ] {
        let mut up = Command::new("timeout");
        up.args(["20", "bash"]).arg(copy.join("up"));
        match &state {
            Some(dir) => up.env("BANK_STATE_DIR", dir),
            None => up.env_remove("BANK_STATE_DIR"),
        };
        let output = up
            .env("BANK_PATRONI_VERSION", version)
            .env_remove("BANK_PATRONI_UNSAFE_TO_COMPARE")
            .env("BANK_PORT_OFFSET", "7300")
            .env("BANK_TOOLS_DIR", root.join("tools"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{version}: {output:?}");
        assert!(text(&output.stderr).contains(said), "{version}: {output:?}");
        assert!(!root.join(".run").exists(), "{version}: up acted");
        assert!(!root.join("elsewhere").exists(), "{version}: up acted");
        assert!(!root.join("tools").exists(), "{version}: up installed");
    }
    let _ = std::fs::remove_dir_all(&root);
}
