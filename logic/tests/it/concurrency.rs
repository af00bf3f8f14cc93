use std::collections::HashMap;

use rand_free::Pcg;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::app::{AppOptions, TELLER, TestApp, shared};

const CLIENTS: usize = 16;
const TRANSFERS_PER_CLIENT: usize = 130;
const ACCOUNTS: usize = 10;

/// 16 clients doing 2,080 random transfers over 10 accounts through the HTTP API: money is
/// neither created nor destroyed, no balance goes below its floor, every transfer balances,
/// every balance is the sum of its entries, and no client ever sees a database error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_random_transfers_keep_the_books_balanced() {
    let app = TestApp::spawn_with(AppOptions {
        connections_max: 20,
        ..AppOptions::default()
    })
    .await;
    let teller = app.sign_in(TELLER).await;
    let owner = app.customer(&teller, "owner").await;
    let mut accounts = Vec::new();
    for _ in 0..ACCOUNTS {
        // Small balances so that many transfers are refused for insufficient funds.
        accounts.push(app.account(&teller, &owner, "50.00").await);
    }
    let total_before = total(&app, &teller, &accounts).await;
    let transfers_before = app.snapshot().await.transfers;
    let (app, accounts) = (shared(app), shared(accounts));

    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (app, accounts, token) = (app.clone(), accounts.clone(), owner.token.clone());
            tokio::spawn(async move {
                let mut random = Pcg::new(client as u64 + 1);
                let mut outcomes: HashMap<String, usize> = HashMap::new();
                for n in 0..TRANSFERS_PER_CLIENT {
                    let from = random.below(ACCOUNTS);
                    let to = (from + 1 + random.below(ACCOUNTS - 1)) % ACCOUNTS;
                    let amount = format!("{}.{:02}", random.below(20), random.below(100));
                    let key = format!("client-{client}-{n}");
                    let response = app
                        .transfer(&token, &key, &accounts[from], &accounts[to], &amount)
                        .await;
                    let status = response.status();
                    let body: Value = response.json().await.unwrap();
                    let outcome = match status {
                        StatusCode::CREATED => "posted".to_owned(),
                        _ => body["code"].as_str().unwrap_or("?").to_owned(),
                    };
                    *outcomes.entry(outcome).or_default() += 1;
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    for client in clients {
        for (outcome, count) in client.await.unwrap() {
            *outcomes.entry(outcome).or_default() += count;
        }
    }

    let allowed = ["posted", "insufficient_funds", "invalid_amount"];
    assert!(
        outcomes.keys().all(|o| allowed.contains(&o.as_str())),
        "unexpected outcomes: {outcomes:?}"
    );
    assert_eq!(
        outcomes.values().sum::<usize>(),
        CLIENTS * TRANSFERS_PER_CLIENT
    );
    let posted = outcomes["posted"];
    assert!(
        posted > CLIENTS * TRANSFERS_PER_CLIENT / 4,
        "too few transfers posted: {outcomes:?}"
    );
    assert_eq!(
        app.snapshot().await.transfers,
        transfers_before + posted as i64
    );
    assert_eq!(total(&app, &teller, &accounts).await, total_before);
    app.assert_ledger_sound().await;
}

/// Sessions killed under load, as in a failover: every transfer still completes exactly once,
/// because the whole unit of work is retried and the idempotency record makes the retry safe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_complete_exactly_once_while_database_sessions_are_killed() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let owner = app.customer(&teller, "owner").await;
    let a = app.account(&teller, &owner, "1000.00").await;
    let b = app.account(&teller, &owner, "1000.00").await;
    let transfers_before = app.snapshot().await.transfers;
    let app = shared(app);
    let killer = {
        let url = app.database_url.clone();
        tokio::spawn(async move {
            let mut killed = 0;
            for _ in 0..20 {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                killed += data::testing::terminate_other_sessions(&url).await;
            }
            killed
        })
    };
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (app, token, a, b) = (app.clone(), owner.token.clone(), a.clone(), b.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for n in 0..40 {
                    let (from, to) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
                    let response = app
                        .transfer(&token, &format!("c{client}-{n}"), from, to, "1.00")
                        .await;
                    statuses.push(response.status());
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for client in clients {
        statuses.extend(client.await.unwrap());
    }
    let killed = killer.await.unwrap();
    assert!(killed > 0, "the test killed no session");
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(
        app.snapshot().await.transfers,
        transfers_before + statuses.len() as i64
    );
    assert_eq!(
        app.balance(&teller, &a).await + app.balance(&teller, &b).await,
        Decimal::from(2000)
    );
    app.assert_ledger_sound().await;
}

async fn total(app: &TestApp, staff: &str, accounts: &[String]) -> Decimal {
    let mut sum = Decimal::ZERO;
    for number in accounts {
        sum += app.balance(staff, number).await;
    }
    sum
}

/// A small deterministic generator, so a failing run can be replayed exactly.
mod rand_free {
    pub struct Pcg(u64);

    impl Pcg {
        pub fn new(seed: u64) -> Self {
            Self(
                seed.wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407),
            )
        }

        pub fn below(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % bound as u64) as usize
        }
    }
}
