use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::app::{AppOptions, TELLER, TestApp, problem_code};

#[tokio::test]
async fn the_same_key_and_body_twice_give_one_transfer_and_identical_responses() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &alice, "0").await;
    let first = app
        .transfer(&alice.token, "once", &from, &to, "30.00")
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = app
        .transfer(&alice.token, "once", &from, &to, "30.00")
        .await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.json::<Value>().await.unwrap(), first);
    assert_eq!(app.balance(&teller, &from).await, Decimal::new(70, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_sent_concurrently_moves_money_once() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &alice, "0").await;
    let before = app.snapshot().await.transfers;
    let app = crate::app::shared(app);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, token, from, to) =
                (app.clone(), alice.token.clone(), from.clone(), to.clone());
            tokio::spawn(async move {
                let response = app
                    .transfer(&token, "double-click", &from, &to, "10.00")
                    .await;
                (response.status(), response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, StatusCode::CREATED);
    assert_eq!(app.snapshot().await.transfers, before + 1);
    assert_eq!(app.balance(&teller, &from).await, Decimal::new(90, 0));
}

#[tokio::test]
async fn the_same_key_with_a_different_body_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &alice, "0").await;
    assert_eq!(
        app.transfer(&alice.token, "k", &from, &to, "10.00")
            .await
            .status(),
        StatusCode::CREATED
    );
    let snapshot = app.snapshot().await;
    let reused = app.transfer(&alice.token, "k", &from, &to, "11.00").await;
    assert_eq!(reused.status(), StatusCode::CONFLICT);
    assert_eq!(problem_code(reused).await, "idempotency_key_reused");
    let swapped = app.transfer(&alice.token, "k", &to, &from, "10.00").await;
    assert_eq!(swapped.status(), StatusCode::CONFLICT);
    assert_eq!(app.snapshot().await, snapshot);
}

#[tokio::test]
async fn a_refused_request_leaves_its_key_free_for_a_corrected_retry() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "10.00").await;
    let to = app.account(&teller, &alice, "0").await;
    let refused = app.transfer(&alice.token, "k", &from, &to, "20.00").await;
    assert_eq!(problem_code(refused).await, "insufficient_funds");
    let deposit = app
        .post_idempotent(
            "/v1/cash/deposits",
            &teller,
            "top-up",
            &serde_json::json!({ "account": from, "amount": "10.00", "currency": "EUR" }),
        )
        .await;
    assert_eq!(deposit.status(), StatusCode::CREATED);
    assert_eq!(
        app.transfer(&alice.token, "k", &from, &to, "20.00")
            .await
            .status(),
        StatusCode::CREATED
    );
}

/// A transfer posted alone (here a teller's) stuck behind a lock its writer never lets go of (a
/// frozen instance's transaction, a forgotten session) is abandoned once its retry budget and
/// grace are spent: the client gets the retryable 503 instead of a request that outlives the
/// balancer's patience, nothing is posted, and the same key posts exactly once when the lock is
/// gone.
#[tokio::test]
async fn a_transfer_the_database_never_answers_is_abandoned_within_its_budget() {
    let budget_ms = 500;
    let app = TestApp::spawn_with(AppOptions {
        retry_budget_ms: budget_ms,
        ..AppOptions::default()
    })
    .await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &alice, "0").await;
    let lock = data::testing::hold_account_lock(&app.database_url, &from).await;

    // Without the bound the request waits as long as the lock is held: here, forever.
    let patience = std::time::Duration::from_millis(
        budget_ms + logic::unit_of_work::ATTEMPT_GRACE_MS + 10_000,
    );
    let stuck = tokio::time::timeout(
        patience,
        app.transfer(&teller, "stuck", &from, &to, "30.00"),
    )
    .await
    .expect("the request answered within its budget and grace");
    assert_eq!(stuck.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(stuck.headers().contains_key("retry-after"));
    assert_eq!(problem_code(stuck).await, "service_unavailable");

    // The abandoned attempt's transaction still holds the key until the database ends it: asked
    // by key meanwhile, the bank does not say "nothing was moved", it waits for the answer.
    let lookup = "/v1/transfers?idempotency_key=stuck";
    let asked = tokio::time::timeout(
        std::time::Duration::from_millis(1_500),
        app.get(lookup, &teller),
    )
    .await;
    assert!(
        asked.is_err(),
        "answered while the key was still held: {:?}",
        asked.map(|r| r.status())
    );

    drop(lock);
    // Settled: the abandoned attempt was rolled back, and now the bank can say so.
    let settled = app.get(lookup, &teller).await;
    assert_eq!(settled.status(), StatusCode::NOT_FOUND);
    let posted = app.transfer(&teller, "stuck", &from, &to, "30.00").await;
    assert_eq!(posted.status(), StatusCode::CREATED);
    let replay = app.transfer(&teller, "stuck", &from, &to, "30.00").await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(app.balance(&teller, &from).await, Decimal::new(70, 0));
    app.assert_ledger_sound().await;
}

/// A customer's transfer (posted by group commit) stuck behind a lock its writer never lets go
/// of: its group stops waiting after two seconds and no attempt is left running, so the client
/// gets the retryable 503 within its budget, a lookup by key says at once that nothing moved (and
/// it stays true), and the same key posts exactly once when the lock is gone.
#[tokio::test]
async fn a_grouped_transfer_stuck_behind_a_lock_ends_its_attempts() {
    let budget_ms = 500;
    let app = TestApp::spawn_with(AppOptions {
        retry_budget_ms: budget_ms,
        ..AppOptions::default()
    })
    .await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &alice, "0").await;
    let lock = data::testing::hold_account_lock(&app.database_url, &from).await;
    let patience = std::time::Duration::from_millis(
        budget_ms + logic::unit_of_work::ATTEMPT_GRACE_MS + 10_000,
    );
    let stuck = tokio::time::timeout(
        patience,
        app.transfer(&alice.token, "stuck", &from, &to, "30.00"),
    )
    .await
    .expect("the request answered within its budget and grace");
    assert_eq!(stuck.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(problem_code(stuck).await, "service_unavailable");
    let lookup = "/v1/transfers?idempotency_key=stuck";
    let asked = tokio::time::timeout(
        std::time::Duration::from_millis(1_500),
        app.get(lookup, &alice.token),
    )
    .await
    .expect("nothing holds the key: the lookup answers at once");
    assert_eq!(asked.status(), StatusCode::NOT_FOUND);
    drop(lock);
    assert_eq!(app.balance(&teller, &from).await, Decimal::new(100, 0));
    let posted = app
        .transfer(&alice.token, "stuck", &from, &to, "30.00")
        .await;
    assert_eq!(posted.status(), StatusCode::CREATED);
    let replay = app
        .transfer(&alice.token, "stuck", &from, &to, "30.00")
        .await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(app.balance(&teller, &from).await, Decimal::new(70, 0));
    app.assert_ledger_sound().await;
}
