//! Load generator for `deploy/local/bench`: N concurrent clients doing random transfers through
//! the logic tier's HTTP API for a fixed time, then transfers/s and latency percentiles.
//!
//! ```text
//! cargo bench -p logic --bench http_transfers -- --url https://127.0.0.1:8081 \
//!     --service-key bsk_… [--clients 16] [--seconds 20]
//! ```
//! It signs in as the demo teller, onboards a customer of its own with ten funded accounts, and
//! has that customer move money between them. Each transfer carries a fresh idempotency key.

// A load generator panics on setup failures: there is nothing to recover.
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark that cannot set up has nothing to measure: it stops"
)]

#[path = "../tools/staff_sign_in.rs"]
mod staff_sign_in;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ACCOUNTS: usize = 10;
/// Cash paid into each bench account; small enough that repeated runs leave the demo vault cash.
const DEPOSIT: &str = "2000.00";

struct Options {
    url: String,
    /// The certificate authority (PEM) the server's certificate must come from.
    ca_file: Option<std::path::PathBuf>,
    service_key: String,
    clients: usize,
    seconds: u64,
    teller: (String, String),
    /// Where the teller's second-factor secret is kept (enrolled at the bench's first sign-in).
    secrets_dir: std::path::PathBuf,
}

fn options() -> Options {
    let mut options = Options {
        url: "https://127.0.0.1:8081".into(),
        ca_file: None,
        service_key: String::new(),
        clients: 16,
        seconds: 20,
        teller: ("tom.teller".into(), "teller-demo-pass".into()),
        secrets_dir: ".run/secrets/totp".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => options.url = args.next().unwrap(),
            "--ca-file" => options.ca_file = Some(args.next().unwrap().into()),
            "--service-key" => options.service_key = args.next().unwrap(),
            "--clients" => options.clients = args.next().unwrap().parse().unwrap(),
            "--seconds" => options.seconds = args.next().unwrap().parse().unwrap(),
            "--secrets-dir" => options.secrets_dir = args.next().unwrap().into(),
            "--teller" => {
                let value = args.next().unwrap();
                let (user, password) = value.split_once(':').unwrap();
                options.teller = (user.into(), password.into());
            }
            // cargo bench passes --bench to every bench binary.
            _ => {}
        }
    }
    assert!(!options.service_key.is_empty(), "--service-key is required");
    options
}

struct Api {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Api {
    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
        idem: Option<String>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .header("x-api-key", &self.key)
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = idem {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn sign_in(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .post(
                "/v1/sessions",
                None,
                json!({ "username": username, "password": password }),
                None,
            )
            .await;
        assert_eq!(status, 201, "sign in as {username}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

#[tokio::main]
async fn main() {
    let options = options();
    let api = std::sync::Arc::new(Api {
        http: http_client(options.ca_file.as_deref())
            .pool_max_idle_per_host(options.clients)
            .build()
            .unwrap(),
        url: options.url.trim_end_matches('/').to_owned(),
        key: options.service_key.clone(),
    });
    let teller = staff_sign_in::sign_in(
        &api.http,
        &api.url,
        &api.key,
        (&options.teller.0, &options.teller.1),
        &options.secrets_dir,
    )
    .await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let username = format!("bench-{}", &run[..12]);
    let password = format!("{username}-password");
    let (status, customer) = api
        .post(
            "/v1/customers",
            Some(&teller),
            json!({
                "full_name": "Benchmark Customer",
                "email": format!("{username}@example.org"),
                "date_of_birth": "1985-06-15",
                "address": "1 Benchmark Road, Leeds LS1 1AA",
                "id_document": format!("B-{}", run[..12].to_uppercase()),
                "id_document_kind": "passport",
                "id_document_country": "GB",
                "id_document_expires": "2036-12-31",
                "login": { "username": username, "password": password },
            }),
            None,
        )
        .await;
    assert_eq!(status, 201, "onboard the bench customer: {customer}");
    // Cash is paid in at the teller's drawer: open it (empty) unless it is open already.
    let (status, body) = api
        .post(
            "/v1/drawers",
            Some(&teller),
            json!({ "currency": "EUR", "opening_float": "0" }),
            Some(format!("bench-{run}-drawer")),
        )
        .await;
    assert!(status == 201 || status == 409, "open the drawer: {body}");
    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        let (status, account) = api
            .post(
                "/v1/accounts",
                Some(&teller),
                json!({ "customer_id": customer["id"], "product": "current", "currency": "EUR" }),
                None,
            )
            .await;
        assert_eq!(status, 201, "open a bench account: {account}");
        let number = account["number"].as_str().unwrap().to_owned();
        let (status, body) = api
            .post(
                "/v1/cash/deposits",
                Some(&teller),
                json!({ "account": number, "amount": DEPOSIT, "currency": "EUR" }),
                Some(format!("bench-{run}-deposit-{n}")),
            )
            .await;
        assert_eq!(status, 201, "fund a bench account: {body}");
        accounts.push(number);
    }
    let token = api.sign_in(&username, &password).await;
    // The teller chose the first password: the customer replaces it before anything else.
    let (status, body) = api
        .post(
            "/v1/me/password",
            Some(&token),
            json!({ "current_password": password, "new_password": format!("{password}-of-her-own") }),
            None,
        )
        .await;
    assert_eq!(status, 204, "replace the first password: {body}");
    let accounts = std::sync::Arc::new(accounts);
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let clients: Vec<_> = (0..options.clients)
        .map(|client| {
            let (api, accounts, token, run) = (api.clone(), accounts.clone(), token.clone(), run.clone());
            tokio::spawn(async move {
                let mut state = (client as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let mut next = move |bound: u64| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state % bound
                };
                let (mut latencies_us, mut refused, mut errors) = (Vec::new(), 0u64, 0u64);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let from = next(ACCOUNTS as u64) as usize;
                    let to = (from + 1 + next(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
                    let amount = format!("{}.{:02}", next(10), 1 + next(99));
                    let sent = Instant::now();
                    let (status, _) = api
                        .post(
                            "/v1/transfers",
                            Some(&token),
                            json!({ "debit_account": accounts[from], "credit_account": accounts[to], "amount": amount, "currency": "EUR" }),
                            Some(format!("bench-{run}-{client}-{n}")),
                        )
                        .await;
                    let elapsed = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    match status {
                        201 => latencies_us.push(elapsed),
                        422 => refused += 1,
                        _ => errors += 1,
                    }
                    n += 1;
                }
                (latencies_us, refused, errors)
            })
        })
        .collect();
    let (mut latencies_us, mut refused, mut errors) = (Vec::new(), 0, 0);
    for client in clients {
        let (l, r, e) = client.await.unwrap();
        latencies_us.extend(l);
        refused += r;
        errors += e;
    }
    let elapsed_ms = u64::try_from(started.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    latencies_us.sort_unstable();
    let posted = latencies_us.len() as u64;
    let percentile = |p: usize| {
        latencies_us
            .get(latencies_us.len() * p / 100)
            .copied()
            .unwrap_or(0)
    };
    let tenths_per_s = posted * 10_000 / elapsed_ms;
    let ms = |us: u64| format!("{}.{} ms", us / 1000, (us % 1000) / 100);
    println!(
        "api: {} clients, {} s: {posted} transfers posted, {refused} refused for funds, {errors} errors",
        options.clients, options.seconds
    );
    println!(
        "api: p50 {}, p99 {}",
        ms(percentile(50)),
        ms(percentile(99))
    );
    println!(
        "api transfers/s: {}.{}",
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
