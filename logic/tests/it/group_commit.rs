//! Group commit: transfers that arrive together share one transaction, and each is decided as if
//! it had run alone, in arrival order. A window of 200 ms makes each burst one group, so these
//! tests see groups however slowly the machine schedules them; each would fail with group commit
//! off (no two transfers would share a transaction's timestamp) or with a request's refusal
//! aborting its group.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::app::{AppOptions, TELLER, TestApp, problem_code, shared};
use crate::service_api::{issue_key, with_key};

/// A logic tier whose groups gather for 200 ms.
async fn spawn() -> TestApp {
    TestApp::spawn_with(AppOptions {
        connections_max: 20,
        group_commit: logic::config::GroupCommit {
            window_us: 200_000,
            ..logic::config::GroupCommit::default()
        },
        ..AppOptions::default()
    })
    .await
}

/// Sends every `(key, body)` at once as the service holding `secret`; the answers, in order.
async fn burst(
    app: &std::sync::Arc<TestApp>,
    secret: &str,
    requests: Vec<(String, Value)>,
) -> Vec<(StatusCode, Value)> {
    let sent: Vec<_> = requests
        .into_iter()
        .map(|(key, body)| send(app, secret, key, body))
        .collect();
    let mut answers = Vec::new();
    for answer in sent {
        answers.push(answer.await.unwrap());
    }
    answers
}

/// Sends one transfer under `key` in a task of its own.
fn send(
    app: &std::sync::Arc<TestApp>,
    secret: &str,
    key: String,
    body: Value,
) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let (app, secret) = (app.clone(), secret.to_owned());
    tokio::spawn(async move {
        let response = with_key(&app, Method::POST, "/v1/transfers", &secret)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    })
}

fn transfer(from: &str, to: &str, amount: &str) -> Value {
    json!({ "debit_account": from, "credit_account": to, "amount": amount, "currency": "EUR" })
}

/// How many transfers touched account `number`, and in how many transactions.
async fn commits_touching(app: &TestApp, number: &str) -> (usize, usize) {
    let stamps = data::testing::transfer_stamps(&app.state.pool, number).await;
    let distinct: HashSet<_> = stamps.iter().collect();
    (stamps.len(), distinct.len())
}

/// Twelve payments at once from an account that holds enough for five: exactly five post and
/// seven are refused for insufficient funds, in one shared transaction, and the refusals leave
/// nothing behind (their keys are free to use again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_refuses_its_own_request_and_never_the_group() {
    let app = spawn().await;
    let teller = app.sign_in(TELLER).await;
    let (_, secret) = issue_key(
        &app,
        "payments",
        &["transfers:write", "accounts:read"],
        10_000,
    )
    .await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "500.00").await;
    let to = app.account(&teller, &bob, "0").await;
    let app = shared(app);
    let requests: Vec<(String, Value)> = (0..12)
        .map(|n| (format!("pay-{n}"), transfer(&from, &to, "100.00")))
        .collect();
    let answers = burst(&app, &secret, requests).await;
    let posted = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    let refused: Vec<&str> = answers
        .iter()
        .filter(|(status, _)| *status != StatusCode::CREATED)
        .map(|(_, body)| body["code"].as_str().unwrap())
        .collect();
    assert_eq!(posted, 5, "{answers:?}");
    assert_eq!(refused, vec!["insufficient_funds"; 7]);
    assert_eq!(app.balance(&teller, &from).await, Decimal::ZERO);
    assert_eq!(app.balance(&teller, &to).await, Decimal::new(500, 0));
    let (transfers, commits) = commits_touching(&app, &from).await;
    assert_eq!(transfers, 5);
    assert!(commits < transfers, "no two transfers shared a transaction");
    app.assert_ledger_sound().await;
    // A refused request stored nothing under its key: once funded, the same key posts.
    let refused_key = answers
        .iter()
        .position(|(status, _)| *status != StatusCode::CREATED)
        .unwrap();
    let deposit = app
        .post_idempotent(
            "/v1/cash/deposits",
            &teller,
            "top-up",
            &json!({ "account": from, "amount": "100.00", "currency": "EUR" }),
        )
        .await;
    assert_eq!(deposit.status(), StatusCode::CREATED);
    let again = burst(
        &app,
        &secret,
        vec![(format!("pay-{refused_key}"), transfer(&from, &to, "100.00"))],
    )
    .await;
    assert_eq!(again[0].0, StatusCode::CREATED, "{again:?}");
}

/// Eight copies of one request and two different requests under another key, all at once: one
/// transfer per key; every copy answers with that transfer, and the different request under a
/// used key is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_in_one_burst_post_once() {
    let app = spawn().await;
    let teller = app.sign_in(TELLER).await;
    let (_, secret) = issue_key(&app, "payments", &["transfers:write"], 10_000).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "1000.00").await;
    let to = app.account(&teller, &bob, "0").await;
    let app = shared(app);
    let mut requests: Vec<(String, Value)> = (0..8)
        .map(|_| ("same".to_owned(), transfer(&from, &to, "10.00")))
        .collect();
    requests.push(("other".to_owned(), transfer(&from, &to, "20.00")));
    requests.push(("other".to_owned(), transfer(&from, &to, "30.00")));
    let answers = burst(&app, &secret, requests).await;
    let ids: HashSet<&str> = answers[..8]
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            body["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    let other: Vec<StatusCode> = answers[8..].iter().map(|(status, _)| *status).collect();
    assert!(
        other.contains(&StatusCode::CREATED) && other.contains(&StatusCode::CONFLICT),
        "{answers:?}"
    );
    let (transfers, _) = commits_touching(&app, &from).await;
    assert_eq!(transfers, 2);
    let balance = app.balance(&teller, &to).await;
    assert!(
        balance == Decimal::new(30, 0) || balance == Decimal::new(40, 0),
        "{balance}"
    );
    app.assert_ledger_sound().await;
}

/// Ten payments of 800 at once to another customer, against the bank's daily limit of 5,000: six
/// post (4,800) and four are refused for the limit; the running total is what posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_limit_holds_across_a_group() {
    let app = spawn().await;
    let teller = app.sign_in(TELLER).await;
    let (_, secret) = issue_key(&app, "payments", &["transfers:write"], 10_000).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "9000.00").await;
    let to = app.account(&teller, &bob, "0").await;
    let app = shared(app);
    let requests = (0..10)
        .map(|n| (format!("limit-{n}"), transfer(&from, &to, "800.00")))
        .collect();
    let answers = burst(&app, &secret, requests).await;
    let mut codes: Vec<&str> = answers
        .iter()
        .map(|(status, body)| match *status {
            StatusCode::CREATED => "posted",
            _ => body["code"].as_str().unwrap(),
        })
        .collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [vec!["daily_limit_exceeded"; 4], vec!["posted"; 6]].concat()
    );
    let total = data::testing::outflow_total(&app.state.pool, alice.id.parse().unwrap()).await;
    assert_eq!(total, Decimal::new(4800, 0));
}

/// Thirty payments at once from ten payers into one merchant's account: every one posts, the
/// merchant's row is locked once, and each of its entries records the balance after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_account_takes_a_whole_group() {
    let app = spawn().await;
    let teller = app.sign_in(TELLER).await;
    let (_, secret) = issue_key(&app, "payments", &["transfers:write"], 10_000).await;
    let merchant = app.customer(&teller, "merchant").await;
    let till = app.account(&teller, &merchant, "0").await;
    let mut payers = Vec::new();
    for n in 0..10 {
        let payer = app.customer(&teller, &format!("payer{n}")).await;
        payers.push(app.account(&teller, &payer, "100.00").await);
    }
    let app = shared(app);
    let requests = (0..30)
        .map(|n| {
            let amount = format!("{}.{:02}", 1 + n % 7, n);
            (
                format!("shop-{n}"),
                transfer(&payers[n % 10], &till, &amount),
            )
        })
        .collect();
    let answers = burst(&app, &secret, requests).await;
    assert!(
        answers
            .iter()
            .all(|(status, _)| *status == StatusCode::CREATED),
        "{answers:?}"
    );
    let expected: Decimal = (0..30)
        .map(|n| Decimal::new(i64::from(1 + n % 7) * 100 + i64::from(n), 2))
        .sum();
    assert_eq!(app.balance(&teller, &till).await, expected);
    let entries = data::testing::entries_of(&app.state.pool, &till).await;
    let mut running = Decimal::ZERO;
    for (amount, balance_after) in entries {
        running += amount;
        assert_eq!(balance_after, running);
    }
    let (transfers, commits) = commits_touching(&app, &till).await;
    assert!(
        commits < transfers,
        "every payment took its own transaction"
    );
    app.assert_ledger_sound().await;
}

/// A customer's payment that needs an approval, sent without one in a burst with their own
/// transfers between their accounts: it alone is refused, asking for the approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_needing_an_approval_is_refused_in_its_group() {
    let app = spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let current = app.account(&teller, &alice, "500.00").await;
    let savings = app.account(&teller, &alice, "0").await;
    let stranger = app.account(&teller, &bob, "0").await;
    let app = shared(app);
    let sent: Vec<_> = (0..6)
        .map(|n| {
            let (app, token) = (app.clone(), alice.token.clone());
            let to = if n == 3 {
                stranger.clone()
            } else {
                savings.clone()
            };
            let from = current.clone();
            tokio::spawn(async move {
                app.transfer_without_step_up(&token, &format!("own-{n}"), &from, &to, "10.00")
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for (n, response) in sent.into_iter().enumerate() {
        let response = response.await.unwrap();
        if n == 3 {
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(problem_code(response).await, "reauthentication_required");
        } else {
            statuses.push(response.status());
        }
    }
    assert_eq!(statuses, vec![StatusCode::CREATED; 5]);
    assert_eq!(app.balance(&teller, &stranger).await, Decimal::ZERO);
    assert_eq!(app.balance(&teller, &savings).await, Decimal::new(50, 0));
    let (transfers, commits) = commits_touching(&app, &savings).await;
    assert!(commits < transfers, "no two transfers shared a transaction");
}

/// A key another transaction holds unfinished: the group waits for it on the key's row and, once
/// that transaction commits a different request under the key, decides again: the request is
/// refused as a reuse of the key, and nothing moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_taken_while_the_group_decides_is_answered_from_the_key() {
    let app = spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let current = app.account(&teller, &alice, "500.00").await;
    let savings = app.account(&teller, &alice, "0").await;
    let me: Value = app.get("/v1/me", &alice.token).await.json().await.unwrap();
    let user_id: uuid::Uuid = me["user"]["id"].as_str().unwrap().parse().unwrap();
    let holder = data::testing::hold_idempotency_key(&app.database_url, user_id, "contested").await;
    let app = shared(app);
    let sent = {
        let (app, token) = (app.clone(), alice.token.clone());
        let (from, to) = (current.clone(), savings.clone());
        tokio::spawn(async move {
            app.transfer_without_step_up(&token, "contested", &from, &to, "10.00")
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(!sent.is_finished(), "the request did not wait for the key");
    data::testing::commit_held(holder).await;
    let response = sent.await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(problem_code(response).await, "idempotency_key_reused");
    assert_eq!(app.balance(&teller, &savings).await, Decimal::ZERO);
    app.assert_ledger_sound().await;
}

/// An account held by a writer that never lets go, and a burst in which one transfer touches it:
/// the group gives up waiting after two seconds and posts its members one by one, so every other
/// transfer goes through, and only the one touching the stuck account answers 503 when its
/// retry budget is spent, having moved nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_account_holds_up_only_its_own_transfers() {
    let app = TestApp::spawn_with(AppOptions {
        connections_max: 20,
        retry_budget_ms: 8_000,
        group_commit: logic::config::GroupCommit {
            window_us: 200_000,
            ..logic::config::GroupCommit::default()
        },
        ..AppOptions::default()
    })
    .await;
    let teller = app.sign_in(TELLER).await;
    let (_, secret) = issue_key(&app, "payments", &["transfers:write"], 10_000).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let stuck = app.account(&teller, &alice, "100.00").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &bob, "0").await;
    let lock = data::testing::hold_account_lock(&app.database_url, &stuck).await;
    let app = shared(app);
    let stuck_answer = send(
        &app,
        &secret,
        "stuck".to_owned(),
        transfer(&stuck, &to, "1.00"),
    );
    let free: Vec<_> = (0..5)
        .map(|n| {
            send(
                &app,
                &secret,
                format!("free-{n}"),
                transfer(&from, &to, "1.00"),
            )
        })
        .collect();
    for (n, answer) in free.into_iter().enumerate() {
        let (status, body) = answer.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "request {n}: {body}");
    }
    // Every other transfer has its answer while the stuck one still waits out its budget.
    assert!(
        !stuck_answer.is_finished(),
        "the stuck transfer held the others up"
    );
    let (status, body) = stuck_answer.await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    drop(lock);
    assert_eq!(app.balance(&teller, &to).await, Decimal::new(5, 0));
    assert_eq!(app.balance(&teller, &stuck).await, Decimal::new(100, 0));
    app.assert_ledger_sound().await;
}
