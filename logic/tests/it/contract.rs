//! The contract test: schemathesis, from PyPI, generates requests from the served OpenAPI
//! document and checks every answer against it. `deploy/local/test` installs schemathesis and
//! runs this test with `BANK_SCHEMATHESIS` pointing at it; it is ignored in a plain `cargo test`.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{ADMIN, TELLER, TestApp};

/// Examples per operation and the fixed seed: bounded and reproducible.
const MAX_EXAMPLES: &str = "25";
const SEED: &str = "20261121";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs schemathesis: deploy/local/test installs it and runs this"]
async fn every_answer_conforms_to_the_published_contract_and_none_is_a_server_error() {
    let schemathesis = std::env::var("BANK_SCHEMATHESIS")
        .expect("BANK_SCHEMATHESIS names the schemathesis executable");
    let app = TestApp::spawn().await;
    // Some data for the generated requests to find: customers, accounts, money.
    let teller = app.sign_in(TELLER).await;
    for name in ["alice", "bob"] {
        let customer = app.customer(&teller, name).await;
        app.account(&teller, &customer, "1000.00").await;
    }
    let admin = app.sign_in(ADMIN).await;
    let response = app
        .post(
            "/v1/admin/api-keys",
            &admin,
            &json!({ "name": "contract", "rate_limit_per_minute": 100000, "scopes": [
                "accounts:read", "accounts:write", "customers:read", "customers:write",
                "transfers:read", "transfers:write", "events:read"] }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let key = response.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // As an internal service with every scope, then as the web tier for a signed-in
    // supervisor (the staff and portal operations, which API keys may not call).
    run(&schemathesis, &app, &[format!("X-Api-Key: {key}")], &[]).await;
    let supervisor = app.sign_in(crate::app::SUPERVISOR).await;
    run(
        &schemathesis,
        &app,
        &[
            format!("X-Api-Key: {}", app.service_key),
            format!("Authorization: Bearer {supervisor}"),
        ],
        // Signing out or changing the password would end the session the run relies on.
        &[
            "--exclude-path-regex",
            "^/v1/(sessions|me/password|me/totp)",
        ],
    )
    .await;
    app.assert_ledger_sound().await;
}

async fn run(schemathesis: &str, app: &TestApp, headers: &[String], filters: &[&str]) {
    let schema = app.url("/v1/openapi.json");
    let base = app.base.clone();
    let report = std::env::temp_dir().join(format!(
        "schemathesis-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    // Schemathesis keeps a cache (`.schemathesis/`) in its working directory and replays what it
    // holds: it runs in the report's directory so that no run depends on an earlier one and
    // nothing lands in the source tree.
    std::fs::create_dir_all(&report).expect("create the report directory");
    let schemathesis = schemathesis.to_owned();
    let headers: Vec<String> = headers
        .iter()
        .flat_map(|h| ["--header".to_owned(), h.clone()])
        .chain(filters.iter().map(|f| (*f).to_owned()))
        .collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(schemathesis)
            .current_dir(&report)
            .args(["run", &schema, "--url", &base])
            .args(&headers)
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
            ])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
            .args(["--generation-deterministic", "--workers", "2"])
            .args(["--suppress-health-check", "all"])
            .arg("--report-dir")
            .arg(&report)
            .env("NO_COLOR", "1")
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "schemathesis found violations");
}

/// HAProxy sends a POST again to the other logic instance (after a frozen instance's cut, an
/// empty answer or a timeout) only when it carries an Idempotency-Key *and* goes to an operation
/// that keeps its answer under that key. Its list of such operations (`acl keyed_operation` in
/// `deploy/local/cluster.sh`) must be exactly the operations whose documented parameters include
/// the key: one missing is a lost chance to hide a fault; one too many replays an operation that
/// would run twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_balancer_replays_exactly_the_posts_that_keep_their_answer_under_a_key() {
    let app = TestApp::spawn().await;
    let document = app.openapi().await;
    let config = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/local/cluster.sh"
    ))
    .unwrap();
    let pattern = config
        .lines()
        .find_map(|line| line.trim().strip_prefix("acl keyed_operation path_reg "))
        .expect("cluster.sh has the keyed_operation acl")
        // The line sits in an unquoted here-document: the shell turns \$ into $.
        .replace("\\$", "$");
    let keyed = regex::Regex::new(&pattern).unwrap();
    let placeholder = regex::Regex::new(r"\{[^}]+\}").unwrap();
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(post) = item.get("post") else {
            continue;
        };
        let takes_key = post["parameters"]
            .as_array()
            .is_some_and(|params| params.iter().any(|p| p["name"] == "Idempotency-Key"));
        let full = if path.starts_with("/v1/") {
            path.clone()
        } else {
            format!("/v1{path}")
        };
        let concrete = placeholder.replace_all(&full, "0a1b2c");
        assert_eq!(
            keyed.is_match(&concrete),
            takes_key,
            "POST {full}: {} the Idempotency-Key, but HAProxy {} replay it",
            if takes_key { "takes" } else { "does not take" },
            if takes_key { "would not" } else { "would" },
        );
        checked += 1;
    }
    assert!(
        checked > 20,
        "only {checked} POST operations in the document"
    );
}

/// The served document is valid OpenAPI (openapi-spec-validator), and a client generated from it
/// (openapi-python-client, as an internal service would) compiles and moves money: one transfer,
/// answered 201, and the same request again replays it. Both from PyPI: `deploy/local/test`
/// installs them and runs this test with `BANK_OPENAPI_TOOLS` naming their `bin` directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs openapi-spec-validator and openapi-python-client: deploy/local/test runs this"]
async fn a_client_generated_from_the_document_makes_a_transfer() {
    let tools = std::path::PathBuf::from(
        std::env::var("BANK_OPENAPI_TOOLS").expect("BANK_OPENAPI_TOOLS names the tools' bin"),
    );
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &bob, "0").await;
    let admin = app.sign_in(ADMIN).await;
    let key = app
        .post(
            "/v1/admin/api-keys",
            &admin,
            &json!({ "name": "generated-client", "rate_limit_per_minute": 600,
                     "scopes": ["transfers:write", "transfers:read"] }),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let doc = app.openapi().await.to_string();
    let work = std::env::temp_dir().join(format!("generated-client-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("openapi.json"), doc).unwrap();

    // The generator formats what it writes with ruff, installed beside it.
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = |command: &mut Command| {
        let output = command
            .current_dir(&work)
            .env("PATH", &path)
            .output()
            .expect("run the tool");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        println!("{text}");
        (output.status.success(), text)
    };
    let (valid, report) =
        output(Command::new(tools.join("openapi-spec-validator")).arg("openapi.json"));
    assert!(valid, "the document is not valid OpenAPI: {report}");
    let (generated, report) = output(
        Command::new(tools.join("openapi-python-client"))
            .args(["generate", "--path", "openapi.json", "--meta", "none"])
            .args(["--output-path", "bank_client"]),
    );
    assert!(generated, "no client generated: {report}");
    assert!(
        !report.contains("Warning"),
        "parts of the document the generator could not read: {report}"
    );
    let (compiled, report) =
        output(Command::new(tools.join("python")).args(["-m", "compileall", "-q", "bank_client"]));
    assert!(compiled, "the generated client does not compile: {report}");

    let script = format!(
        r#"
import sys
from bank_client import Client
from bank_client.api.transfers import transfers_create
from bank_client.models import TransferRequest, TransferResponse

client = Client(base_url="{base}", headers={{"X-Api-Key": "{key}"}}, verify_ssl="{ca}")
request = TransferRequest(debit_account="{from}", credit_account="{to}", amount="12.50",
                          currency="EUR", memo="generated client")
answers = [transfers_create.sync_detailed(client=client, body=request, idempotency_key="gen-1")
           for _ in range(2)]
for answer in answers:
    assert answer.status_code == 201, (answer.status_code, answer.content)
    assert isinstance(answer.parsed, TransferResponse), answer.parsed
assert answers[0].parsed.id == answers[1].parsed.id
assert answers[1].headers.get("idempotent-replayed") == "true"
print("transfer", answers[0].parsed.id, answers[0].parsed.amount)
"#,
        base = app.base,
        ca = data::testing::tls::certificates().ca_file.display(),
    );
    let (moved, report) = output(Command::new(tools.join("python")).args(["-c", &script]));
    assert!(
        moved,
        "the generated client could not make a transfer: {report}"
    );
    let balance = app.get(&format!("/v1/accounts/{to}"), &teller).await;
    let balance = balance.json::<Value>().await.unwrap();
    assert_eq!(balance["ledger_balance"], "12.50", "{balance}");
    std::fs::remove_dir_all(&work).ok();
}
