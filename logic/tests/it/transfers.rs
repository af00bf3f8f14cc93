use data::accounts::AccountStatus;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::app::{ADMIN, TELLER, TestApp, problem_code};

#[tokio::test]
async fn a_customer_moves_money_to_another_customer_and_sees_it_in_history() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &bob, "0").await;

    let response = app
        .post_idempotent(
            "/v1/transfers",
            &alice.token,
            "rent-2026-11",
            &json!({ "debit_account": from, "credit_account": to, "amount": "40.25", "currency": "EUR", "memo": "Rent",
                     "step_up": { "password": "alice-test-password" } }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let transfer: Value = response.json().await.unwrap();
    assert_eq!(transfer["amount"], "40.25");
    assert_eq!(transfer["status"], "posted");
    assert_eq!(app.balance(&teller, &from).await, Decimal::new(5975, 2));
    assert_eq!(app.balance(&teller, &to).await, Decimal::new(4025, 2));

    let id = transfer["id"].as_str().unwrap();
    // Its id is in time order (version 7): its entries' index grows at its right edge.
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    let fetched: Value = app
        .get(&format!("/v1/transfers/{id}"), &bob.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, transfer);
    let history: Value = app
        .get(&format!("/v1/accounts/{to}/entries"), &bob.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["entries"][0]["amount"], "40.25");
    assert_eq!(history["entries"][0]["memo"], "Rent");
    app.assert_ledger_sound().await;
}

#[tokio::test]
async fn a_customer_cannot_debit_or_see_another_customers_transfers() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let carol = app.customer(&teller, "carol").await;
    let alices = app.account(&teller, &alice, "100.00").await;
    let bobs = app.account(&teller, &bob, "100.00").await;
    let response = app.transfer(&bob.token, "k", &bobs, &alices, "1.00").await;
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("/v1/transfers/{id}"), &carol.token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let snapshot = app.snapshot().await;
    let theirs = app
        .transfer(&alice.token, "steal", &bobs, &alices, "50.00")
        .await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem_code(theirs).await, "account_not_found");
    assert_eq!(app.snapshot().await, snapshot);
}

/// Every malformed or unacceptable transfer gets a clear 4xx and writes nothing.
#[tokio::test]
async fn bad_transfer_requests_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &bob, "0").await;
    let frozen = app.account(&teller, &bob, "0").await;
    let closed = app.account(&teller, &bob, "0").await;
    app.set_status(&frozen, AccountStatus::Frozen).await;
    app.set_status(&closed, AccountStatus::Closed).await;
    let unknown = logic::domain::account_number::random_customer().to_string();
    let mistyped = {
        let mut digits: Vec<char> = to.chars().collect();
        digits.swap(2, 3);
        if digits[2] == digits[3] {
            digits[9] = if digits[9] == '0' { '1' } else { '0' }
        }
        digits.into_iter().collect::<String>()
    };
    let body = |debit: &str, credit: &str, amount: Value, currency: &str| json!({ "debit_account": debit, "credit_account": credit, "amount": amount, "currency": currency });
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            "zero",
            body(&from, &to, json!("0"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
        ),
        (
            "negative",
            body(&from, &to, json!("-5.00"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
        ),
        (
            "too many decimals",
            body(&from, &to, json!("1.001"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
        ),
        (
            "absurdly large",
            body(&from, &to, json!("100000000000000000000"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
        ),
        (
            "not a number",
            body(&from, &to, json!("ten"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
        ),
        (
            "a JSON float",
            body(&from, &to, json!(10.5), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            "a JSON integer",
            body(&from, &to, json!(10), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            "unknown currency",
            body(&from, &to, json!("1.00"), "XXX"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_currency",
        ),
        (
            "currency mismatch",
            body(&from, &to, json!("1.00"), "USD"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "currency_mismatch",
        ),
        (
            "unknown account",
            body(&from, &unknown, json!("1.00"), "EUR"),
            StatusCode::NOT_FOUND,
            "account_not_found",
        ),
        (
            "mistyped account",
            body(&from, &mistyped, json!("1.00"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_account_number",
        ),
        (
            "frozen account",
            body(&from, &frozen, json!("1.00"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "account_not_open",
        ),
        (
            "closed account",
            body(&from, &closed, json!("1.00"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "account_not_open",
        ),
        (
            "someone else's account",
            body(&to, &from, json!("1.00"), "EUR"),
            StatusCode::NOT_FOUND,
            "account_not_found",
        ),
        (
            "same account",
            body(&from, &from, json!("1.00"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "same_account",
        ),
        (
            "insufficient funds",
            body(&from, &to, json!("100.01"), "EUR"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient_funds",
        ),
        (
            "missing field",
            json!({ "debit_account": from, "amount": "1.00", "currency": "EUR" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            "memo too long",
            json!({ "debit_account": from, "credit_account": to, "amount": "1.00", "currency": "EUR", "memo": "x".repeat(141) }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
    ];
    let snapshot = app.snapshot().await;
    for (name, body, status, code) in cases {
        // The check a review makes meets every refusal the transfer itself would.
        let checked = app.post("/v1/transfers/checks", &alice.token, &body).await;
        assert_eq!(checked.status(), status, "checking {name}");
        assert_eq!(problem_code(checked).await, code, "checking {name}");
        let response = app
            .post_idempotent(
                "/v1/transfers",
                &alice.token,
                &format!("key-{}", name.replace(' ', "-")),
                &body,
            )
            .await;
        assert_eq!(response.status(), status, "{name}");
        assert_eq!(problem_code(response).await, code, "{name}");
    }

    let malformed = app
        .request(reqwest::Method::POST, "/v1/transfers", Some(&alice.token))
        .header("idempotency-key", "malformed")
        .header("content-type", "application/json")
        .body("{\"debit_account\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem_code(malformed).await, "malformed_json");

    let valid = body(&from, &to, json!("1.00"), "EUR");
    let no_key = app.post("/v1/transfers", &alice.token, &valid).await;
    assert_eq!(no_key.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem_code(no_key).await, "idempotency_key_missing");
    let long_key = app
        .post_idempotent("/v1/transfers", &alice.token, &"k".repeat(129), &valid)
        .await;
    assert_eq!(long_key.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem_code(long_key).await, "idempotency_key_invalid");

    let oversized = app
        .request(reqwest::Method::POST, "/v1/transfers", Some(&alice.token))
        .header("idempotency-key", "oversized")
        .json(&json!({ "debit_account": from, "credit_account": to, "amount": "1.00", "currency": "EUR", "memo": "x".repeat(64 * 1024) }))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(problem_code(oversized).await, "payload_too_large");

    for token in ["bts_forged", ""] {
        let response = app.transfer(token, "forged", &from, &to, "1.00").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let no_service = app
        .http
        .post(app.url("/v1/transfers"))
        .bearer_auth(&alice.token)
        .header("idempotency-key", "no-service")
        .json(&valid)
        .send()
        .await
        .unwrap();
    assert_eq!(no_service.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(no_service).await, "service_credential_missing");

    assert_eq!(
        app.snapshot().await,
        snapshot,
        "a refused request wrote something"
    );
}

#[tokio::test]
async fn staff_transfers_are_audited_and_customer_transfers_are_in_the_ledger() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &alice, "0").await;
    let before = app.snapshot().await.audit_records;
    assert_eq!(
        app.transfer(&teller, "t1", &from, &to, "1.00")
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(app.snapshot().await.audit_records, before + 1);
    assert_eq!(
        app.transfer(&alice.token, "t2", &from, &to, "1.00")
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(app.snapshot().await.audit_records, before + 1);
    let mut conn = app.state.pool.acquire().await.unwrap();
    assert_eq!(
        data::audit::first_broken_link(&mut conn).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_transfers_by_outcome() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "10.00").await;
    let to = app.account(&teller, &alice, "0").await;
    app.transfer(&alice.token, "m1", &from, &to, "1.00").await;
    app.transfer(&alice.token, "m2", &from, &to, "100.00").await;
    // A method a client made up is counted, under one label value for all such.
    let made_up = reqwest::Method::from_bytes(b"BANKPROBE").unwrap();
    app.http
        .request(made_up, app.url("/healthz"))
        .send()
        .await
        .unwrap();
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "bank_transfers_total{kind=\"transfer.post\",outcome=\"posted\"}",
        "bank_transfers_total{kind=\"transfer.post\",outcome=\"insufficient_funds\"}",
        "http_requests_total{route=\"/v1/transfers\",method=\"POST\",status=\"201\"}",
        "http_request_duration_seconds_bucket{route=\"/v1/transfers\"",
        "http_requests_in_flight",
        "bank_db_pool_connections",
        // A customer's transfers go through group commit: how full its groups run.
        "bank_posting_batch_size_bucket{le=\"1\"}",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert!(!text.contains(&from), "raw paths never become labels");
    assert!(
        !text.contains("BANKPROBE"),
        "made-up methods never become labels"
    );
    assert!(text.contains("method=\"other\""), "{text}");
    assert_prometheus_conventions(&text, "logic");
    for described in [
        "# HELP bank_transfers_total ",
        "# HELP http_request_duration_seconds ",
        "# HELP bank_posting_batch_size ",
    ] {
        assert!(text.contains(described), "{described} missing from\n{text}");
    }
}

/// What a Prometheus server and its operators expect of an exposition: every family has help
/// text and a type, counts are in base units, the process reports itself and the build names its
/// version.
fn assert_prometheus_conventions(text: &str, tier: &str) {
    let mut families = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap();
            families += 1;
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no help text in\n{text}"
            );
            for unit in ["_ms", "_milliseconds", "_us", "_kb", "_mb", "_percent"] {
                assert!(
                    !name.contains(unit),
                    "{name} is not in base units (seconds, bytes, ratios)"
                );
            }
        }
    }
    assert!(families >= 5, "families found: {families}\n{text}");
    for expected in [
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_start_time_seconds ",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    let build = format!(
        "bank_build_info{{tier=\"{tier}\",version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.contains(&build), "{build} missing from\n{text}");
}

#[tokio::test]
async fn a_check_names_the_payee_says_what_is_left_today_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let admin = app.sign_in(ADMIN).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "500.00").await;
    let savings = app.account(&teller, &alice, "0").await;
    let to = app.account(&teller, &bob, "0").await;
    let limit = app
        .request(
            reqwest::Method::PUT,
            &format!("/v1/customers/{}/limits/EUR", alice.id),
            Some(&admin),
        )
        .json(&json!({ "daily_limit": "100.00" }))
        .send()
        .await
        .unwrap();
    assert_eq!(limit.status(), StatusCode::OK);
    let sent = app
        .transfer(&alice.token, "first", &from, &to, "30.00")
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);

    let check = |credit: &str, amount: &str, name: Option<&str>| {
        let body = json!({ "debit_account": from, "credit_account": credit, "amount": amount, "currency": "EUR", "payee_name": name });
        let app = &app;
        let token = alice.token.clone();
        async move { app.post("/v1/transfers/checks", &token, &body).await }
    };
    let snapshot = app.snapshot().await;
    let answer: Value = check(&to, "20.00", Some("customer  BOB"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["payee_name"], "Customer bob");
    assert_eq!(answer["own_account"], false);
    assert_eq!(answer["name_match"], "match");
    assert_eq!(answer["amount"], "20.00");
    assert_eq!(answer["available_after"], "450.00");
    assert_eq!(answer["daily_limit"], "100.00");
    assert_eq!(answer["left_today_after"], "50.00");
    // The holder's name is told only to a payer who already knows it, nearly: no directory.
    for (typed, expected, told) in [
        ("Custmer Bob", "close_match", json!("Customer bob")),
        ("Eve Jones", "no_match", Value::Null),
    ] {
        let answer: Value = check(&to, "1.00", Some(typed)).await.json().await.unwrap();
        assert_eq!(answer["name_match"], expected, "{typed}");
        assert_eq!(answer["payee_name"], told, "{typed}");
    }
    let unnamed: Value = check(&to, "1.00", None).await.json().await.unwrap();
    assert_eq!(unnamed["name_match"], Value::Null);
    assert_eq!(unnamed["payee_name"], Value::Null);

    // Over what is left today: refused with what is left, before anything is confirmed.
    let over = check(&to, "70.01", None).await;
    assert_eq!(over.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = over.json().await.unwrap();
    assert_eq!(problem["code"], "daily_limit_exceeded");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("70.00 EUR is left today"),
        "{problem}"
    );
    // Between one's own accounts no daily limit applies, and the account is named by its name.
    let own: Value = check(&savings, "400.00", Some("Somebody Else"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["own_account"], true);
    assert_eq!(own["payee_name"], "Current account");
    assert_eq!(
        own["name_match"],
        Value::Null,
        "an own account is not compared"
    );
    assert_eq!(own["daily_limit"], Value::Null);
    // A name that is no name is refused by field.
    let control = check(&to, "1.00", Some("Bob\u{7}")).await;
    assert_eq!(control.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_code(control).await, "invalid_field");
    assert_eq!(app.snapshot().await, snapshot, "a check writes nothing");
}
