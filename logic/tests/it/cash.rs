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
async fn the_vault_cannot_pay_out_cash_it_does_not_hold() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(crate::app::SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    let response = app
        .post(
            "/v1/accounts",
            &supervisor,
            &json!({ "customer_id": alice.id, "product": "current", "currency": "EUR", "overdraft_limit": "1000000000" }),
        )
        .await;
    let account = response.json::<serde_json::Value>().await.unwrap()["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let snapshot = app.snapshot().await;
    let response = app
        .post_idempotent(
            "/v1/cash/withdrawals",
            &teller,
            "big",
            &json!({ "account": account, "amount": "1000001", "currency": "EUR" }),
        )
        .await;
    assert_eq!(problem_code(response).await, "vault_cash_insufficient");
    assert_eq!(app.snapshot().await, snapshot);
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
