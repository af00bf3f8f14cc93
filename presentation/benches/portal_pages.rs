//! Load generator for `deploy/local/bench`: N signed-in portal sessions (default 32) loading the
//! dashboard and an account page in turn for a fixed time; pages/s and latency percentiles.
//!
//! ```text
//! cargo bench -p presentation --bench portal_pages -- --url https://127.0.0.1:8080 \
//!     [--sessions 32] [--seconds 20] [--user alice:alice-demo-pass]
//! ```

// A load generator panics on setup failures: there is nothing to recover.
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark that cannot set up has nothing to measure: it stops"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

struct Options {
    url: String,
    /// The certificate authority (PEM) the server's certificate must come from.
    ca_file: Option<std::path::PathBuf>,
    sessions: usize,
    seconds: u64,
    user: (String, String),
}

fn options() -> Options {
    let mut options = Options {
        url: "https://127.0.0.1:8080".into(),
        ca_file: None,
        sessions: 32,
        seconds: 20,
        user: ("alice".into(), "alice-demo-pass".into()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => options.url = args.next().unwrap(),
            "--ca-file" => options.ca_file = Some(args.next().unwrap().into()),
            "--sessions" => options.sessions = args.next().unwrap().parse().unwrap(),
            "--seconds" => options.seconds = args.next().unwrap().parse().unwrap(),
            "--user" => {
                let value = args.next().unwrap();
                let (user, password) = value.split_once(':').unwrap();
                options.user = (user.into(), password.into());
            }
            // cargo bench passes --bench to every bench binary.
            _ => {}
        }
    }
    options
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap() + start.len();
    let to = text[from..].find(end).unwrap();
    &text[from..from + to]
}

/// A signed-in session: its own cookie jar.
async fn sign_in(
    url: &str,
    (user, password): &(String, String),
    ca_file: Option<&std::path::Path>,
) -> reqwest::Client {
    let client = http_client(ca_file).cookie_store(true).build().unwrap();
    let page = client
        .get(format!("{url}/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&page, "name=\"csrf_token\" value=\"", "\"").to_owned();
    let response = client
        .post(format!("{url}/sign-in"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "sign in: {}",
        response.status()
    );
    client
}

#[tokio::main]
async fn main() {
    let options = options();
    let url = Arc::new(options.url.trim_end_matches('/').to_owned());
    let mut clients = Vec::new();
    for _ in 0..options.sessions {
        clients.push(sign_in(&url, &options.user, options.ca_file.as_deref()).await);
    }
    let dashboard = clients[0]
        .get(format!("{url}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let account = Arc::new(format!(
        "/accounts/{}",
        between(&dashboard, "href=\"/accounts/", "\"")
    ));
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let (url, account) = (url.clone(), account.clone());
            tokio::spawn(async move {
                let (mut latencies_us, mut errors) = (Vec::new(), 0u64);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let path = if n.is_multiple_of(2) {
                        "/"
                    } else {
                        account.as_str()
                    };
                    let sent = Instant::now();
                    let response = client.get(format!("{url}{path}")).send().await.unwrap();
                    let ok = response.status().is_success();
                    let body = response.bytes().await.unwrap();
                    if ok && !body.is_empty() {
                        latencies_us
                            .push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                    } else {
                        errors += 1;
                    }
                    n += 1;
                }
                (latencies_us, errors)
            })
        })
        .collect();
    let (mut latencies_us, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (l, e) = task.await.unwrap();
        latencies_us.extend(l);
        errors += e;
    }
    let elapsed_ms = u64::try_from(started.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    latencies_us.sort_unstable();
    let pages = latencies_us.len() as u64;
    let percentile = |p: usize| {
        latencies_us
            .get(latencies_us.len() * p / 100)
            .copied()
            .unwrap_or(0)
    };
    let tenths_per_s = pages * 10_000 / elapsed_ms;
    let ms = |us: u64| format!("{}.{} ms", us / 1000, (us % 1000) / 100);
    println!(
        "portal: {} sessions, {} s: {pages} pages (dashboard and account page), {errors} errors",
        options.sessions, options.seconds
    );
    println!(
        "portal: p50 {}, p99 {}",
        ms(percentile(50)),
        ms(percentile(99))
    );
    println!(
        "portal pages/s: {}.{}",
        tenths_per_s / 10,
        tenths_per_s % 10
    );
}

/// A client builder that trusts only the authority in `ca_file` (the deployment's own), when given.
fn http_client(ca_file: Option<&std::path::Path>) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match ca_file {
        Some(file) => {
            let pem = std::fs::read(file).unwrap();
            builder.tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        }
        None => builder,
    }
}
