use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::app::{SUPERVISOR, TELLER, TestApp, problem_code};

#[tokio::test]
async fn an_opened_account_shows_ledger_and_available_balance() {
    let app = TestApp::spawn().await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let response = app
        .post(
            "/v1/accounts",
            &supervisor,
            &json!({ "customer_id": alice.id, "product": "current", "currency": "EUR" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let number = response.json::<Value>().await.unwrap()["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let account: Value = app
        .get(&format!("/v1/accounts/{number}"), &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(account["ledger_balance"], "0.00");
    assert_eq!(account["available_balance"], "0.00");
    assert_eq!(account["overdraft_limit"], "0.00");
    assert_eq!(account["status"], "open");

    let list: Value = app
        .get("/v1/accounts", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["accounts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_staff_open_accounts_and_none_opens_with_an_overdraft() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let alice = app.customer(&teller, "alice").await;
    let body = json!({ "customer_id": alice.id, "product": "current", "currency": "EUR" });
    assert_eq!(
        app.post("/v1/accounts", &alice.token, &body).await.status(),
        StatusCode::FORBIDDEN
    );
    // Lending takes a second person: not even a supervisor grants an overdraft at opening, where
    // no one would approve it. The limit is requested once the account is open.
    let snapshot = app.snapshot().await;
    let with_overdraft = json!({ "customer_id": alice.id, "product": "current", "currency": "EUR", "overdraft_limit": "250000" });
    for staff in [&teller, &supervisor] {
        let response = app.post("/v1/accounts", staff, &with_overdraft).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem_code(response).await, "invalid_field");
    }
    assert_eq!(app.snapshot().await, snapshot);
    let list: Value = app
        .get("/v1/accounts", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["accounts"].as_array().unwrap().len(), 0);
    let unknown =
        json!({ "customer_id": uuid::Uuid::new_v4(), "product": "current", "currency": "EUR" });
    assert_eq!(
        app.post("/v1/accounts", &teller, &unknown).await.status(),
        StatusCode::NOT_FOUND
    );
    let bad_currency = json!({ "customer_id": alice.id, "product": "current", "currency": "XYZ" });
    let response = app.post("/v1/accounts", &teller, &bad_currency).await;
    assert_eq!(problem_code(response).await, "invalid_currency");
}

#[tokio::test]
async fn a_customer_gets_nothing_about_another_customers_account() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let bobs = app.account(&teller, &bob, "50.00").await;
    let unused = logic::domain::account_number::random_customer();
    for path in [
        format!("/v1/accounts/{bobs}"),
        format!("/v1/accounts/{bobs}/entries"),
    ] {
        let theirs = app.get(&path, &alice.token).await;
        let nobodys = app
            .get(&path.replace(&bobs, unused.as_str()), &alice.token)
            .await;
        assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
        assert_eq!(nobodys.status(), StatusCode::NOT_FOUND);
        let mut a: Value = theirs.json().await.unwrap();
        let mut b: Value = nobodys.json().await.unwrap();
        a.as_object_mut().unwrap().remove("request_id");
        b.as_object_mut().unwrap().remove("request_id");
        assert_eq!(a, b, "the answers must not tell the two apart");
    }
    let listed: Value = app
        .get(
            &format!("/v1/accounts?customer_id={}", bob.id),
            &alice.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["accounts"], json!([]));
}

#[tokio::test]
async fn history_is_newest_first_with_running_balance_and_cursor_pages() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &bob, "0").await;
    for i in 1..=5 {
        let response = app
            .transfer(
                &alice.token,
                &format!("k{i}"),
                &from,
                &to,
                &format!("{i}.00"),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/accounts/{from}/entries?limit=2&cursor={c}"),
            None => format!("/v1/accounts/{from}/entries?limit=2"),
        };
        let page: Value = app.get(&path, &alice.token).await.json().await.unwrap();
        let entries = page["entries"].as_array().unwrap().clone();
        assert!(entries.len() <= 2);
        seen.extend(entries);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let amounts: Vec<&str> = seen.iter().map(|e| e["amount"].as_str().unwrap()).collect();
    assert_eq!(
        amounts,
        ["-5.00", "-4.00", "-3.00", "-2.00", "-1.00", "100.00"]
    );
    let balances: Vec<&str> = seen
        .iter()
        .map(|e| e["balance_after"].as_str().unwrap())
        .collect();
    assert_eq!(
        balances,
        ["85.00", "90.00", "94.00", "97.00", "99.00", "100.00"]
    );
    assert_eq!(seen[0]["counterparty_account"], to.as_str());

    let today = time::OffsetDateTime::now_utc().date();
    let yesterday = today.previous_day().unwrap();
    let page: Value = app
        .get(
            &format!("/v1/accounts/{from}/entries?to={yesterday}"),
            &alice.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["entries"], json!([]));
    let page: Value = app
        .get(
            &format!("/v1/accounts/{from}/entries?from={today}&to={today}"),
            &alice.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["entries"].as_array().unwrap().len(), 6);

    for bad in [
        "limit=0",
        "limit=1000",
        "cursor=garbage",
        "from=yesterday",
        &format!("from={today}&to={yesterday}"),
    ] {
        let response = app
            .get(&format!("/v1/accounts/{from}/entries?{bad}"), &alice.token)
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let sum: Decimal = seen
        .iter()
        .map(|e| e["amount"].as_str().unwrap().parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(app.balance(&teller, &from).await, sum);
}
