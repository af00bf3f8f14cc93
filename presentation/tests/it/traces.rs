//! One trace from a browser's request to each SQL statement it caused, across the real binaries:
//! the portal and the logic tier started as the bank starts them, exporting OTLP/HTTP to a
//! collector here that decodes what they send. The trace crosses the tiers by `traceparent`;
//! each tier's JSON log lines carry its id; a browser cannot choose the trace; a password never
//! reaches a span or a log line; and a tier with no collector configured sends nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use reqwest::StatusCode;
use serde_json::Value;

use crate::portal::{ALICE, BOB, Client, Portal, http};

/// A trace a browser names in its request; the portal must not continue it.
const BROWSER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// A trace a service names at the logic tier (continued), and one a caller without a
/// credential names there (only linked to).
const SERVICE_TRACE: &str = "5ce0a3b1c2d3e4f5a6b7c8d9e0f1a2b3";
const STRANGER_TRACE: &str = "6df1b4c2d3e4f5a6b7c8d9e0f1a2b3c4";
/// The span a caller names as its own.
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A span as the collector received it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    trace: String,
    id: String,
    parent: String,
    name: String,
    kind: i32,
    start_ns: u64,
    end_ns: u64,
    attributes: BTreeMap<String, String>,
    /// The spans it links to: (trace, span).
    links: Vec<(String, String)>,
    /// Everything it says in words: its name, its attributes', its events' names and theirs.
    words: Vec<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// An OTLP/HTTP collector on a loopback port: every span posted to `/v1/traces`, decoded.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
}

impl Collector {
    async fn start(&self) -> String {
        let spans = Arc::clone(&self.spans);
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let spans = Arc::clone(&spans);
                async move {
                    let Ok(export) = ExportTraceServiceRequest::decode(body) else {
                        return StatusCode::BAD_REQUEST;
                    };
                    let mut spans = spans.lock().unwrap();
                    for resource in export.resource_spans {
                        let service = resource
                            .resource
                            .iter()
                            .flat_map(|r| &r.attributes)
                            .find(|a| a.key == "service.name")
                            .map(|a| text(a.value.as_ref()))
                            .unwrap_or_default();
                        for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
                            let mut words = vec![span.name.clone()];
                            words.extend(span.attributes.iter().map(|a| text(a.value.as_ref())));
                            for event in &span.events {
                                words.push(event.name.clone());
                                words.extend(
                                    event.attributes.iter().map(|a| text(a.value.as_ref())),
                                );
                            }
                            spans.push(Received {
                                words,
                                service: service.clone(),
                                trace: hex(&span.trace_id),
                                id: hex(&span.span_id),
                                parent: hex(&span.parent_span_id),
                                name: span.name,
                                kind: span.kind,
                                start_ns: span.start_time_unix_nano,
                                end_ns: span.end_time_unix_nano,
                                attributes: span
                                    .attributes
                                    .iter()
                                    .map(|a| (a.key.clone(), text(a.value.as_ref())))
                                    .collect(),
                                links: span
                                    .links
                                    .iter()
                                    .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                                    .collect(),
                            });
                        }
                    }
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> std::time::SystemTime {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                newest(&entry.path())
            } else {
                entry.metadata().unwrap().modified().unwrap()
            }
        })
        .max()
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// The logic binary, built beside this package's by the workspace's build, and no older than the
/// sources it is built from (this package's tests do not build another package's binary).
fn logic_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_presentation")).with_file_name("logic");
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is not built: cargo build --workspace", path.display()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for sources in ["logic/src", "api/src", "data/src"] {
        assert!(
            newest(&root.join(sources)) <= built,
            "{} is older than {sources}: cargo build --workspace",
            path.display()
        );
    }
    path
}

/// Both tiers as processes, each writing its JSON log to a file of its own.
struct Tiers {
    portal_url: String,
    logic_url: String,
    logic: Child,
    portal: Child,
    logic_log: PathBuf,
    portal_log: PathBuf,
    key_file: PathBuf,
}

impl Tiers {
    /// The logic tier always exports to `collector`; the portal only if `portal_exports`.
    async fn start(bank: &Portal, collector: &str, portal_exports: bool) -> Self {
        let tls = data::testing::tls::certificates();
        let dir = std::env::temp_dir();
        let run = uuid::Uuid::new_v4();
        let (logic_log, portal_log, key_file) = (
            dir.join(format!("bank-trace-logic-{run}.log")),
            dir.join(format!("bank-trace-portal-{run}.log")),
            dir.join(format!("bank-trace-portal-key-{run}")),
        );
        std::fs::write(&key_file, &bank.portal_key).unwrap();
        let logic_addr = free_addr();
        let database_url = format!(
            "{}?sslmode=verify-full&sslrootcert={}",
            bank.database_url,
            tls.ca_file.display()
        );
        let logic = Command::new(logic_binary())
            .arg("serve")
            .env_clear()
            .envs([
                ("BANK_DATABASE_URL", database_url.as_str()),
                ("BANK_LISTEN_ADDR", &logic_addr),
                ("BANK_TLS_CERT_FILE", tls.cert_file.to_str().unwrap()),
                ("BANK_TLS_KEY_FILE", tls.key_file.to_str().unwrap()),
                (
                    "BANK_SECRETS_KEY_FILE",
                    data::testing::server_key_file().to_str().unwrap(),
                ),
                ("BANK_LOG_FORMAT", "json"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", collector),
                ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            ])
            .stdout(std::fs::File::create(&logic_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let portal_addr = free_addr();
        let logic_url = format!("https://{logic_addr}");
        let mut portal = Command::new(env!("CARGO_BIN_EXE_presentation"));
        portal.env_clear().envs([
            ("PORTAL_LISTEN_ADDR", portal_addr.as_str()),
            ("PORTAL_TLS_CERT_FILE", tls.cert_file.to_str().unwrap()),
            ("PORTAL_TLS_KEY_FILE", tls.key_file.to_str().unwrap()),
            ("BANK_LOGIC_URL", &logic_url),
            ("BANK_LOGIC_CA_FILE", tls.ca_file.to_str().unwrap()),
            ("PORTAL_SERVICE_KEY_FILE", key_file.to_str().unwrap()),
            (
                "PORTAL_STATIC_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../static"),
            ),
            ("PORTAL_LOG_FORMAT", "json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ]);
        if portal_exports {
            portal.env("OTEL_EXPORTER_OTLP_ENDPOINT", collector);
        }
        let portal = portal
            .stdout(std::fs::File::create(&portal_log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let tiers = Self {
            portal_url: format!("https://{portal_addr}"),
            logic_url: logic_url.clone(),
            logic,
            portal,
            logic_log,
            portal_log,
            key_file,
        };
        // Ready means the portal reached the logic tier, and the logic tier its database.
        let client = http().timeout(Duration::from_secs(5)).build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match client
                .get(format!("{}/readyz", tiers.portal_url))
                .send()
                .await
            {
                Ok(ready) if ready.status() == StatusCode::OK => break,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => panic!("the tiers never became ready: {other:?}"),
            }
        }
        tiers
    }

    /// Stops both as an operator does (SIGTERM: they drain, then send their last spans), and
    /// returns each one's log lines.
    async fn stop(mut self) -> (Vec<Value>, Vec<Value>) {
        for child in [&mut self.portal, &mut self.logic] {
            let sent = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            let deadline = Instant::now() + Duration::from_secs(40);
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(Instant::now() < deadline, "it did not stop after SIGTERM");
                // The collector answers on this runtime meanwhile: the last spans are sent now.
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            assert!(status.success(), "{status}");
        }
        let lines = |path: &Path| -> Vec<Value> {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|line| {
                    serde_json::from_str(line)
                        .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
                })
                .collect()
        };
        (lines(&self.portal_log), lines(&self.logic_log))
    }
}

/// A test that fails leaves no tier running and no file behind.
impl Drop for Tiers {
    fn drop(&mut self) {
        for child in [&mut self.portal, &mut self.logic] {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for file in [&self.portal_log, &self.logic_log, &self.key_file] {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Signs in at the portal, naming a trace of the browser's own; the portal's answer.
async fn sign_in_naming_a_trace(browser: &Client) -> StatusCode {
    let csrf = browser.get("/sign-in").await.csrf();
    browser
        .http
        .post(format!("{}/sign-in", browser.base))
        .header(
            "traceparent",
            format!("00-{BROWSER_TRACE}-{CALLER_SPAN}-01"),
        )
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", ALICE.0),
            ("password", ALICE.1),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

/// Each span's service, name and trace, for a failure's report.
fn names(spans: &[Received]) -> Vec<String> {
    spans
        .iter()
        .map(|s| format!("{} {} {}", s.service, s.name, s.trace))
        .collect()
}

/// Whether `span` is `ancestor` or below it.
fn descends(spans: &[Received], span: &Received, ancestor: &Received) -> bool {
    let mut at = span;
    loop {
        if at.trace == ancestor.trace && at.id == ancestor.id {
            return true;
        }
        match spans
            .iter()
            .find(|s| s.trace == at.trace && s.id == at.parent)
        {
            Some(parent) => at = parent,
            None => return false,
        }
    }
}

/// The log line a tier wrote when it answered the request at `path` with `method`.
fn answer_line<'a>(lines: &'a [Value], method: &str, path: &str) -> &'a Value {
    lines
        .iter()
        .find(|line| {
            line["fields"]["message"] == "finished processing request"
                && line["span"]["method"] == method
                && line["span"]["path"] == path
        })
        .unwrap_or_else(|| panic!("no answer to {method} {path} in the log"))
}

/// Every line written inside a span is headed by a trace id and a span id of the right shapes.
fn every_line_in_a_span_names_its_trace(lines: &[Value]) {
    let in_spans: Vec<_> = lines
        .iter()
        .filter(|line| line.get("span").is_some())
        .collect();
    assert!(!in_spans.is_empty());
    for line in in_spans {
        let trace = line["trace_id"].as_str().unwrap_or_default();
        let span = line["span_id"].as_str().unwrap_or_default();
        assert!(
            trace.len() == 32
                && span.len() == 16
                && trace.chars().all(|c| c.is_ascii_hexdigit())
                && trace.chars().any(|c| c != '0'),
            "a line without its trace: {line}"
        );
    }
}

#[tokio::test]
async fn a_request_is_one_trace_from_the_portal_through_the_logic_tier_to_each_sql_statement() {
    let bank = Portal::spawn().await;
    let (from, to) = (
        bank.first_account(ALICE).await,
        bank.first_account(BOB).await,
    );
    let collector = Collector::default();
    let collector_url = collector.start().await;
    let tiers = Tiers::start(&bank, &collector_url, true).await;

    let browser = Client::new(&tiers.portal_url);
    assert_eq!(
        sign_in_naming_a_trace(&browser).await,
        StatusCode::SEE_OTHER
    );
    let confirmed = browser.pay(&from, &to, "12.34", "Traced", ALICE.1).await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    drop(browser);
    // At the logic tier: a service's trace is continued, a stranger's only linked to.
    let direct = http().build().unwrap();
    for (key, trace) in [(Some(&bank.api_key), SERVICE_TRACE), (None, STRANGER_TRACE)] {
        let mut request = direct
            .get(format!("{}/v1/accounts", tiers.logic_url))
            .header("traceparent", format!("00-{trace}-{CALLER_SPAN}-01"));
        if let Some(key) = key {
            request = request.header("x-api-key", key.as_str());
        }
        let status = request.send().await.unwrap().status();
        assert!(status.is_client_error(), "{status}");
    }
    drop(direct);
    let (portal_log, logic_log) = tiers.stop().await;
    let spans = collector.spans();

    // The sign-in: the portal's span, its call, the logic tier's span under that call, and the
    // statements under the logic tier's span, all in one trace.
    let sign_in = spans
        .iter()
        .find(|s| s.service == "bank-portal" && s.name == "POST /sign-in")
        .expect("the portal's span of the sign-in");
    assert_eq!(sign_in.kind, SpanKind::Server as i32);
    let call = spans
        .iter()
        .find(|s| {
            s.service == "bank-portal"
                && s.kind == SpanKind::Client as i32
                && s.attributes.get("url.path").map(String::as_str) == Some("/v1/sessions")
                && descends(&spans, s, sign_in)
        })
        .expect("the portal's call of the logic tier, under its sign-in span");
    let served = spans
        .iter()
        .find(|s| s.service == "bank-logic" && s.parent == call.id)
        .expect("the logic tier's span, a child of the portal's call");
    assert_eq!(served.trace, sign_in.trace);
    assert_eq!(served.name, "POST /v1/sessions");
    assert_eq!(served.kind, SpanKind::Server as i32);
    let statements: Vec<_> = spans
        .iter()
        .filter(|s| {
            s.attributes.get("db.system.name").map(String::as_str) == Some("postgresql")
                && descends(&spans, s, served)
        })
        .collect();
    assert!(
        statements.iter().any(|s| s.name == "SELECT"
            && s.attributes["db.query.text"].contains("FROM users WHERE username = $1")),
        "the user's row read, as its own span: {statements:#?}"
    );
    for statement in &statements {
        assert_eq!(statement.kind, SpanKind::Client as i32);
        assert!(
            served.start_ns <= statement.start_ns
                && statement.start_ns <= statement.end_ns
                && statement.end_ns <= served.end_ns,
            "a statement outside its request's time: {statement:#?} in {served:#?}"
        );
    }

    // The transfer: its rows are written either under the logic tier's span of the confirmation
    // or by a group of postings linked to it.
    let confirm = spans
        .iter()
        .find(|s| s.service == "bank-portal" && s.name == "POST /transfer/confirm")
        .unwrap_or_else(|| panic!("the portal's span of the confirmation: {:?}", names(&spans)));
    let posted = spans
        .iter()
        .find(|s| {
            s.service == "bank-logic" && s.name == "POST /v1/transfers" && s.trace == confirm.trace
        })
        .expect("the logic tier's span of the transfer, in the confirmation's trace");
    let insert = spans
        .iter()
        .find(|s| {
            s.attributes
                .get("db.query.text")
                .is_some_and(|q| q.contains("INSERT INTO transfers"))
                && (descends(&spans, s, posted)
                    || spans.iter().any(|group| {
                        group.name == "posting group"
                            && group
                                .links
                                .contains(&(posted.trace.clone(), posted.id.clone()))
                            && descends(&spans, s, group)
                    }))
        })
        .expect("the transfer's INSERT, found from the confirmation's trace");
    assert_eq!(insert.service, "bank-logic");

    // Nobody but the bank chooses a trace, and no secret reaches one: not the password, not the
    // portal's credential, not a portal session's key (its path is named by its template).
    assert!(
        spans
            .iter()
            .any(|s| s.attributes.get("url.path").map(String::as_str)
                == Some("/v1/portal-sessions/{key}")),
        "the session store's calls, traced: {:?}",
        names(&spans)
    );
    for span in &spans {
        assert_ne!(
            span.trace, BROWSER_TRACE,
            "the browser chose a trace: {span:#?}"
        );
        for words in &span.words {
            assert!(
                !words.contains(ALICE.1),
                "the password in a span: {span:#?}"
            );
            assert!(
                !words.contains(&bank.portal_key),
                "the credential in a span: {span:#?}"
            );
            assert!(
                !words.contains("/v1/portal-sessions/") || words.ends_with("/{key}"),
                "a session's key in a span: {span:#?}"
            );
        }
    }

    let by_service = spans
        .iter()
        .find(|s| s.name == "GET /v1/accounts" && s.trace == SERVICE_TRACE)
        .expect("the service's trace, continued");
    assert_eq!(by_service.parent, CALLER_SPAN);
    let by_stranger = spans
        .iter()
        .find(|s| {
            s.name == "GET /v1/accounts"
                && s.links
                    .contains(&(STRANGER_TRACE.to_owned(), CALLER_SPAN.to_owned()))
        })
        .expect("the stranger's trace, linked to");
    assert_ne!(by_stranger.trace, STRANGER_TRACE);
    assert!(spans.iter().all(|s| s.trace != STRANGER_TRACE));

    // The probes polled meanwhile (the portal's readiness, and through it the logic tier's
    // health) start no trace.
    assert!(
        !spans
            .iter()
            .any(|s| s.name.ends_with("/readyz") || s.name.ends_with("/healthz")),
        "a probe was traced: {:?}",
        names(&spans)
    );

    // Each tier's log: the answer to the sign-in carries the sign-in's trace.
    assert_eq!(
        answer_line(&portal_log, "POST", "/sign-in")["trace_id"],
        sign_in.trace.as_str()
    );
    assert_eq!(
        answer_line(&logic_log, "POST", "/v1/sessions")["trace_id"],
        sign_in.trace.as_str()
    );
    every_line_in_a_span_names_its_trace(&portal_log);
    every_line_in_a_span_names_its_trace(&logic_log);
    for line in portal_log.iter().chain(&logic_log) {
        let line = line.to_string();
        assert!(!line.contains(BROWSER_TRACE), "{line}");
        assert!(!line.contains(ALICE.1), "the password in the log: {line}");
        assert!(
            !line.contains(&bank.portal_key),
            "the credential in the log: {line}"
        );
        for (at, _) in line.match_indices("/v1/portal-sessions/") {
            assert!(
                line[at..].starts_with("/v1/portal-sessions/{key}"),
                "a session's key in the log: {line}"
            );
        }
    }
}

#[tokio::test]
async fn a_tier_with_no_collector_sends_nothing_and_still_logs_the_trace_it_started() {
    let bank = Portal::spawn().await;
    let collector = Collector::default();
    let collector_url = collector.start().await;
    let tiers = Tiers::start(&bank, &collector_url, false).await;
    let browser = Client::new(&tiers.portal_url);
    assert_eq!(
        sign_in_naming_a_trace(&browser).await,
        StatusCode::SEE_OTHER
    );
    drop(browser);
    let (portal_log, logic_log) = tiers.stop().await;
    let spans = collector.spans();

    assert!(
        spans.iter().all(|s| s.service == "bank-logic"),
        "the portal, with no collector configured, sent spans"
    );
    let trace = answer_line(&portal_log, "POST", "/sign-in")["trace_id"]
        .as_str()
        .expect("the portal's line names the trace it started")
        .to_owned();
    assert_ne!(trace, BROWSER_TRACE);
    assert_eq!(
        answer_line(&logic_log, "POST", "/v1/sessions")["trace_id"],
        trace.as_str()
    );
    // The logic tier, which exports, kept the trace the portal started (and did not record).
    assert!(
        spans
            .iter()
            .any(|s| s.name == "POST /v1/sessions" && s.trace == trace),
        "the logic tier's span is not in the portal's trace {trace}: {:?}",
        names(&spans)
    );
    every_line_in_a_span_names_its_trace(&portal_log);
}

#[tokio::test]
async fn a_collector_that_never_answers_slows_no_request_and_holds_no_tier_at_shutdown() {
    let bank = Portal::spawn().await;
    // Accepts connections and reads nothing: every export waits until it gives up.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            connections.push(connection);
        }
    });
    let tiers = Tiers::start(&bank, &silent_url, true).await;
    for _ in 0..3 {
        let browser = Client::new(&tiers.portal_url);
        let started = Instant::now();
        assert_eq!(
            sign_in_naming_a_trace(&browser).await,
            StatusCode::SEE_OTHER
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a sign-in waited for the collector: {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let (portal_log, _) = tiers.stop().await;
    held.abort();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the tiers took {:?} to stop",
        started.elapsed()
    );
    every_line_in_a_span_names_its_trace(&portal_log);
}
