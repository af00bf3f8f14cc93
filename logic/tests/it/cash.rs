use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::json;

use crate::app::{ADMIN, TELLER, TestApp, problem_code};

#[tokio::test]
async fn tellers_pay_cash_in_and_out_against_the_vault() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "250.00").await;
    let response = app
        .post_idempotent(
            "/v1/cash/withdrawals",
            &teller,
            "w1",
            &json!({ "account": account, "amount": "100.50", "currency": "EUR" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.balance(&teller, &account).await, Decimal::new(14950, 2));
    // The customer reads the withdrawal: their own account numbered, the teller's drawer not;
    // staff see both.
    let withdrawal: serde_json::Value = response.json().await.unwrap();
    let path = format!("/v1/transfers/{}", withdrawal["id"].as_str().unwrap());
    let read: serde_json::Value = app.get(&path, &alice.token).await.json().await.unwrap();
    assert_eq!(read["debit_account"], account.as_str());
    assert_eq!(read["credit_account"], "");
    let staff: serde_json::Value = app.get(&path, &teller).await.json().await.unwrap();
    assert!(
        staff["credit_account"].as_str().unwrap().starts_with('9'),
        "{staff}"
    );
    let too_much = app
        .post_idempotent(
            "/v1/cash/withdrawals",
            &teller,
            "w2",
            &json!({ "account": account, "amount": "1000", "currency": "EUR" }),
        )
        .await;
    assert_eq!(problem_code(too_much).await, "insufficient_funds");
    app.assert_ledger_sound().await;
}

#[tokio::test]
async fn a_drawer_pays_out_only_the_cash_it_holds_and_needs_to_be_open() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(crate::app::SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    // Money in the account, paid in at another drawer than the two this test opens.
    let funder = app.sign_in(crate::app::SUPERVISOR2).await;
    let account = app.account(&funder, &alice, "5000").await;
    // Without an open drawer, a supervisor handles no cash either.
    let response = app
        .post_idempotent(
            "/v1/cash/withdrawals",
            &supervisor,
            "no-drawer",
            &json!({ "account": account, "amount": "10", "currency": "EUR" }),
        )
        .await;
    assert_eq!(problem_code(response).await, "drawer_not_open");
    let opened = app
        .post_idempotent(
            "/v1/drawers",
            &supervisor,
            "open",
            &json!({ "currency": "EUR", "opening_float": "100.00" }),
        )
        .await;
    assert_eq!(opened.status(), StatusCode::CREATED);
    let snapshot = app.snapshot().await;
    let response = app
        .post_idempotent(
            "/v1/cash/withdrawals",
            &supervisor,
            "big",
            &json!({ "account": account, "amount": "100.01", "currency": "EUR" }),
        )
        .await;
    assert_eq!(problem_code(response).await, "drawer_cash_insufficient");
    assert_eq!(app.snapshot().await, snapshot);
    // A float larger than the vault holds is refused and opens nothing.
    let response = app
        .post_idempotent(
            "/v1/drawers",
            &teller,
            "huge",
            &json!({ "currency": "EUR", "opening_float": "2000000" }),
        )
        .await;
    assert_eq!(problem_code(response).await, "vault_cash_insufficient");
    assert_eq!(app.snapshot().await, snapshot);
    app.assert_ledger_sound().await;
}

#[tokio::test]
async fn closing_a_drawer_posts_the_difference_to_over_short_and_returns_the_cash() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "0").await;
    let opened: serde_json::Value = app
        .post_idempotent(
            "/v1/drawers",
            &teller,
            "open",
            &json!({ "currency": "EUR", "opening_float": "500.00" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let drawer = opened["id"].as_str().unwrap().to_owned();
    assert_eq!(opened["position"], "500.00");
    let response = app
        .post_idempotent(
            "/v1/cash/deposits",
            &teller,
            "d1",
            &json!({ "account": account, "amount": "120.00", "currency": "EUR" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let read: serde_json::Value = app
        .get(&format!("/v1/drawers/{drawer}"), &teller)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["position"], "620.00");
    assert_eq!(read["entries"].as_array().unwrap().len(), 2);
    // Counted 600.00 of the 620.00 the ledger expects: 20.00 short.
    let closed = app
        .post_idempotent(
            &format!("/v1/drawers/{drawer}/close"),
            &teller,
            "close",
            &json!({ "denominations": { "100": 5, "50.00": 1, "20": 2, "10": 1, "0.50": 0 } }),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::CREATED);
    let closed: serde_json::Value = closed.json().await.unwrap();
    assert_eq!(closed["counted"], "600.00");
    assert_eq!(closed["difference"], "-20.00");
    assert_eq!(closed["position"], "0.00");
    assert_eq!(closed["state"], "closed");
    let mut conn = app.state.pool.acquire().await.unwrap();
    let over_short = data::accounts::find_internal_account(
        &mut conn,
        data::accounts::InternalLedger::OverShort,
        "EUR",
    )
    .await
    .unwrap()
    .unwrap();
    // Debit-normal: a shortage is a debit of 20.00.
    assert_eq!(over_short.balance, rust_decimal::Decimal::new(-2000, 2));
    drop(conn);
    // A closed drawer takes no more cash.
    let response = app
        .post_idempotent(
            "/v1/cash/deposits",
            &teller,
            "d2",
            &json!({ "account": account, "amount": "1.00", "currency": "EUR" }),
        )
        .await;
    assert_eq!(problem_code(response).await, "drawer_not_open");
    app.assert_ledger_sound().await;
}

/// Dual control: a teller who counts far less than the drawer holds cannot book the difference
/// alone (else one person could take a float from the vault and book it all as short); a
/// supervisor counts it again and closes the drawer.
#[tokio::test]
async fn a_large_difference_at_closing_is_booked_by_a_supervisor_not_the_drawers_keeper() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(crate::app::SUPERVISOR).await;
    let opened: serde_json::Value = app
        .post_idempotent(
            "/v1/drawers",
            &teller,
            "open",
            &json!({ "currency": "EUR", "opening_float": "5000.00" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let drawer = opened["id"].as_str().unwrap().to_owned();
    let snapshot = app.snapshot().await;
    let close = format!("/v1/drawers/{drawer}/close");
    let empty = json!({ "denominations": { "100": 0 } });
    let refused = app
        .post_idempotent(&close, &teller, "close-empty", &empty)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_code(refused).await, "drawer_difference_too_large");
    assert_eq!(app.snapshot().await, snapshot);
    // A shortage within a hundredth of the approval threshold (100.00 EUR) is the teller's to
    // book; more is the supervisor's.
    let closed = app
        .post_idempotent(&close, &supervisor, "close-counted", &empty)
        .await;
    assert_eq!(closed.status(), StatusCode::CREATED);
    let closed: serde_json::Value = closed.json().await.unwrap();
    assert_eq!(closed["difference"], "-5000.00");
    app.assert_ledger_sound().await;
}

#[tokio::test]
async fn customers_and_admins_cannot_handle_cash() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let admin = app.sign_in(ADMIN).await;
    let alice = app.customer(&teller, "alice").await;
    let account = app.account(&teller, &alice, "10").await;
    for token in [&alice.token, &admin] {
        let response = app
            .post_idempotent(
                "/v1/cash/deposits",
                token,
                "d",
                &json!({ "account": account, "amount": "5", "currency": "EUR" }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
}
