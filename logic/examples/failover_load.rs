//! The load of the failover suite (`deploy/local/failover-test`): steady concurrent transfers
//! through the logic tier's HTTP API while the suite breaks things, then the checks that matter
//! to a bank: every transfer a client saw succeed exists, money was neither made nor lost, and
//! writes resumed.
//!
//! ```text
//! failover_load setup --url U --service-key K --out FILE      # a customer with funded accounts
//! failover_load run --url U --service-key K --bank FILE --seconds S --name SCENARIO
//! ```
//! `run` prints one summary line and exits non-zero if an acknowledged transfer is missing, the
//! sum of the balances changed, or no transfer succeeded after the disruption.

// A test driver panics on setup failures: there is nothing to recover.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};

const ACCOUNTS: usize = 6;
const CLIENTS: usize = 8;

struct Api {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        idem: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("x-api-key", &self.key);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = idem {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn sign_in(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/v1/sessions",
                None,
                Some(json!({ "username": username, "password": password })),
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, 201, "sign in as {username}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn total(&self, token: &str, accounts: &[String]) -> Decimal {
        let mut sum = Decimal::ZERO;
        for number in accounts {
            let (status, body) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/v1/accounts/{number}"),
                    Some(token),
                    None,
                    None,
                )
                .await
                .unwrap();
            assert_eq!(status, 200, "read {number}: {body}");
            sum += body["ledger_balance"]
                .as_str()
                .unwrap()
                .parse::<Decimal>()
                .unwrap();
        }
        sum
    }
}

fn arg(name: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    let at = args
        .iter()
        .position(|a| a == name)
        .unwrap_or_else(|| panic!("{name} is required"));
    args[at + 1].clone()
}

#[tokio::main]
async fn main() {
    let api = Arc::new(Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        url: arg("--url").trim_end_matches('/').to_owned(),
        key: arg("--service-key"),
    });
    match std::env::args().nth(1).as_deref() {
        Some("setup") => setup(&api).await,
        Some("run") => run(api).await,
        other => panic!("unknown command {other:?}"),
    }
}

async fn setup(api: &Api) {
    let teller = api.sign_in("tom.teller", "teller-demo-pass").await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let username = format!("failover-{}", &run[..10]);
    let password = format!("{username}-password");
    let (status, customer) = api
        .call(
            reqwest::Method::POST,
            "/v1/customers",
            Some(&teller),
            Some(json!({ "full_name": "Failover Test", "email": format!("{username}@example.org"), "login": { "username": username, "password": password } })),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{customer}");
    // Cash is paid in at the teller's drawer: open it (empty) unless it is open already.
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "/v1/drawers",
            Some(&teller),
            Some(json!({ "currency": "EUR", "opening_float": "0" })),
            Some(&format!("failover-{run}-drawer")),
        )
        .await
        .unwrap();
    assert!(status == 201 || status == 409, "open the drawer: {body}");
    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        let (status, account) = api
            .call(reqwest::Method::POST, "/v1/accounts", Some(&teller), Some(json!({ "customer_id": customer["id"], "product": "current", "currency": "EUR" })), None)
            .await
            .unwrap();
        assert_eq!(status, 201, "{account}");
        let number = account["number"].as_str().unwrap().to_owned();
        let (status, body) = api
            .call(
                reqwest::Method::POST,
                "/v1/cash/deposits",
                Some(&teller),
                Some(json!({ "account": number, "amount": "1000.00", "currency": "EUR" })),
                Some(&format!("failover-{run}-deposit-{n}")),
            )
            .await
            .unwrap();
        assert_eq!(status, 201, "{body}");
        accounts.push(number);
    }
    let bank = json!({ "username": username, "password": password, "accounts": accounts });
    std::fs::write(arg("--out"), serde_json::to_vec_pretty(&bank).unwrap()).unwrap();
}

#[derive(Default)]
struct Outcomes {
    acknowledged: Vec<String>,
    /// Keys of requests that got no answer or an error: their outcome is unknown to the client.
    failed: Vec<String>,
    errors: HashMap<String, usize>,
    refused: usize,
    /// When each acknowledged transfer's answer arrived, in ms since the start.
    successes_ms: Vec<u64>,
}

async fn run(api: Arc<Api>) {
    let bank: Value = serde_json::from_slice(&std::fs::read(arg("--bank")).unwrap()).unwrap();
    let name = arg("--name");
    let seconds: u64 = arg("--seconds").parse().unwrap();
    let accounts: Vec<String> = bank["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let token = api
        .sign_in(
            bank["username"].as_str().unwrap(),
            bank["password"].as_str().unwrap(),
        )
        .await;
    let before = api.total(&token, &accounts).await;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let run = uuid::Uuid::new_v4().simple().to_string();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (api, token, accounts, outcomes, run) = (api.clone(), token.clone(), accounts.clone(), outcomes.clone(), run.clone());
            tokio::spawn(async move {
                let mut n = 0usize;
                while Instant::now() < deadline {
                    let from = (client + n) % ACCOUNTS;
                    let to = (from + 1 + n % (ACCOUNTS - 1)) % ACCOUNTS;
                    let key = format!("{run}-{client}-{n}");
                    let body = json!({ "debit_account": accounts[from], "credit_account": accounts[to], "amount": format!("0.{:02}", 1 + n % 99), "currency": "EUR" });
                    let answer = api.call(reqwest::Method::POST, "/v1/transfers", Some(&token), Some(body), Some(&key)).await;
                    let at_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    let mut outcomes = outcomes.lock().unwrap();
                    match answer {
                        Ok((201, body)) => {
                            outcomes.acknowledged.push(body["id"].as_str().unwrap().to_owned());
                            outcomes.successes_ms.push(at_ms);
                        }
                        Ok((422, _)) => outcomes.refused += 1,
                        Ok((status, body)) => {
                            outcomes.failed.push(key);
                            *outcomes.errors.entry(format!("{status} {}", body["code"].as_str().unwrap_or(""))).or_default() += 1;
                        }
                        Err(error) => {
                            outcomes.failed.push(key);
                            *outcomes.errors.entry(error.chars().take(60).collect()).or_default() += 1;
                        }
                    }
                    n += 1;
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let outcomes = Arc::try_unwrap(outcomes)
        .ok()
        .unwrap()
        .into_inner()
        .unwrap();

    // Every acknowledged transfer exists.
    let mut lost = 0;
    for id in &outcomes.acknowledged {
        let (status, _) = api
            .call(
                reqwest::Method::GET,
                &format!("/v1/transfers/{id}"),
                Some(&token),
                None,
                None,
            )
            .await
            .unwrap();
        if status != 200 {
            lost += 1;
        }
    }
    // What became of the requests whose answers the clients never saw.
    let mut applied_unseen = 0;
    for key in &outcomes.failed {
        let (status, _) = api
            .call(
                reqwest::Method::GET,
                &format!("/v1/transfers?idempotency_key={key}"),
                Some(&token),
                None,
                None,
            )
            .await
            .unwrap();
        if status == 200 {
            applied_unseen += 1;
        }
    }
    let after = api.total(&token, &accounts).await;
    let mut times = outcomes.successes_ms.clone();
    times.sort_unstable();
    let mut previous = 0;
    let mut longest_gap_ms = 0;
    for at in &times {
        longest_gap_ms = longest_gap_ms.max(at - previous);
        previous = *at;
    }
    let last_success_ms = times.last().copied().unwrap_or(0);
    let resumed = last_success_ms + 3_000 >= seconds * 1_000;
    let errors: usize = outcomes.errors.values().sum();
    println!(
        "scenario {name}: {} acknowledged, {lost} lost, {errors} client-visible errors {:?}, {applied_unseen} of those applied (once), {} refused, longest write gap {longest_gap_ms} ms, balances {} ({before} -> {after}), writes {}",
        outcomes.acknowledged.len(),
        outcomes.errors,
        outcomes.refused,
        if before == after {
            "unchanged"
        } else {
            "CHANGED"
        },
        if resumed { "resumed" } else { "DID NOT RESUME" },
    );
    println!("gap_ms={longest_gap_ms} errors={errors}");
    if lost > 0 || before != after || !resumed {
        std::process::exit(1);
    }
}
