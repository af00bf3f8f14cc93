//! Step-up: a customer's risky action carries a fresh approval of its own, bound to it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app::{TELLER, TestApp, problem_code};
use crate::security::{code_for, enrolled};

fn payment(from: &str, to: &str, amount: &str, step_up: Option<Value>) -> Value {
    let mut body = json!({
        "debit_account": from, "credit_account": to, "amount": amount, "currency": "EUR",
    });
    if let Some(step_up) = step_up {
        body["step_up"] = step_up;
    }
    body
}

async fn field_and_code(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["code"].as_str().unwrap_or_default().to_owned(),
        body["field"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A code read for 10.00 to Bob approves that payment once, and nothing else: not 1,000.00 to
/// Eve a moment later, not the same payment under another key. A retry of the approved request
/// under its key answers from its outcome without a new code.
#[tokio::test]
async fn a_code_approves_only_the_payment_it_travels_with_and_only_once() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let eve = app.customer(&teller, "eve").await;
    let from = app.account(&teller, &alice, "2000.00").await;
    let bobs = app.account(&teller, &bob, "0").await;
    let eves = app.account(&teller, &eve, "0").await;
    let secret = enrolled(&app, &alice.token).await;

    // The review says what the confirmation will need, and why.
    let check: Value = app
        .post(
            "/v1/transfers/checks",
            &alice.token,
            &payment(&from, &bobs, "10.00", None),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        check["step_up"],
        json!({ "method": "code", "reason": "new_payee", "threshold": "1000.00" })
    );

    let before = app.snapshot().await;
    for (step_up, code, field) in [
        (None, "reauthentication_required", "step_up.code"),
        (Some(json!({})), "reauthentication_required", "step_up.code"),
        // With a second factor on, the password is no approval.
        (
            Some(json!({ "password": "alice-test-password" })),
            "reauthentication_required",
            "step_up.code",
        ),
        (
            Some(json!({ "code": "000000" })),
            "invalid_second_factor",
            "step_up.code",
        ),
    ] {
        let response = app
            .post_idempotent(
                "/v1/transfers",
                &alice.token,
                "to-bob",
                &payment(&from, &bobs, "10.00", step_up.clone()),
            )
            .await;
        assert_eq!(
            field_and_code(response).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                code.to_owned(),
                field.to_owned()
            ),
            "{step_up:?}"
        );
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused approval moves nothing"
    );

    // A payment refused for another reason does not spend the code it carried.
    let code = code_for(&secret, 1);
    let refused = app
        .post_idempotent(
            "/v1/transfers",
            &alice.token,
            "too-much",
            &payment(&from, &bobs, "5000.00", Some(json!({ "code": code }))),
        )
        .await;
    assert_eq!(problem_code(refused).await, "insufficient_funds");
    let approved = payment(&from, &bobs, "10.00", Some(json!({ "code": code })));
    let paid = app
        .post_idempotent("/v1/transfers", &alice.token, "to-bob", &approved)
        .await;
    assert_eq!(paid.status(), StatusCode::CREATED);

    // The same code for another payment, to another payee, under another key: refused.
    let before = app.snapshot().await;
    let hijacked = app
        .post_idempotent(
            "/v1/transfers",
            &alice.token,
            "to-eve",
            &payment(&from, &eves, "1000.00", Some(json!({ "code": code }))),
        )
        .await;
    assert_eq!(problem_code(hijacked).await, "invalid_second_factor");
    // Nor the same payment again under a new key.
    let again = app
        .post_idempotent("/v1/transfers", &alice.token, "to-bob-again", &approved)
        .await;
    assert_eq!(problem_code(again).await, "invalid_second_factor");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(
        app.balance(&teller, &eves).await,
        rust_decimal::Decimal::ZERO
    );

    // The approved request retried under its key is its stored answer, not a new payment.
    let retried = app
        .post_idempotent("/v1/transfers", &alice.token, "to-bob", &approved)
        .await;
    assert_eq!(retried.status(), StatusCode::CREATED);
    assert_eq!(retried.headers()["idempotent-replayed"], "true");
    assert_eq!(app.snapshot().await, before);

    // Guessing is throttled as a sign-in's second factor is, and a request that fails before
    // its approval is checked (here: more than the balance) gives its attempt back but never
    // wipes the count: after the limit, every attempt waits. Two wrong codes were counted since
    // the last accepted one (Eve's payment, the same payment again).
    for n in 0..logic::throttle::SECOND_FACTOR_FAILURES_BEFORE_LOCK - 3 {
        let guess = app
            .post_idempotent(
                "/v1/transfers",
                &alice.token,
                &format!("guess-{n}"),
                &payment(&from, &eves, "1.00", Some(json!({ "code": "000001" }))),
            )
            .await;
        assert_eq!(problem_code(guess).await, "invalid_second_factor");
        let unchecked = app
            .post_idempotent(
                "/v1/transfers",
                &alice.token,
                &format!("reset-{n}"),
                &payment(&from, &eves, "9999.00", Some(json!({ "code": "000002" }))),
            )
            .await;
        assert_eq!(problem_code(unchecked).await, "insufficient_funds");
    }
    let locked = app
        .post_idempotent(
            "/v1/transfers",
            &alice.token,
            "after-guesses",
            &payment(
                &from,
                &eves,
                "1.00",
                Some(json!({ "code": code_for(&secret, 0) })),
            ),
        )
        .await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Saving a payee is approved like a payment to a new payee; payments to a saved payee below
/// the threshold then need nothing more, and payments between one's own accounts never do. A
/// customer without a second factor approves with the password.
#[tokio::test]
async fn a_saved_payee_is_approved_once_and_then_paid_below_the_threshold_freely() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "5000.00").await;
    let savings = app.account(&teller, &alice, "0").await;
    let bobs = app.account(&teller, &bob, "0").await;

    let before = app.snapshot().await;
    let unapproved = app
        .transfer_without_step_up(&alice.token, "new-payee", &from, &bobs, "10.00")
        .await;
    assert_eq!(
        field_and_code(unapproved).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "reauthentication_required".to_owned(),
            "step_up.password".to_owned()
        )
    );
    assert_eq!(app.snapshot().await, before);

    let save = |step_up: Option<Value>| {
        let mut body = json!({ "nickname": "Bob", "account_number": bobs });
        if let Some(step_up) = step_up {
            body["step_up"] = step_up;
        }
        body
    };
    for (step_up, code) in [
        (None, "reauthentication_required"),
        (
            Some(json!({ "password": "not-her-password" })),
            "invalid_current_password",
        ),
    ] {
        let response = app.post("/v1/payees", &alice.token, &save(step_up)).await;
        assert_eq!(problem_code(response).await, code);
    }
    let none: Value = app
        .get("/v1/payees", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["payees"], json!([]));
    let saved = app
        .post(
            "/v1/payees",
            &alice.token,
            &save(Some(json!({ "password": "alice-test-password" }))),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::CREATED);

    let small = app
        .transfer_without_step_up(&alice.token, "small", &from, &bobs, "999.99")
        .await;
    assert_eq!(small.status(), StatusCode::CREATED);
    let at_threshold = app
        .transfer_without_step_up(&alice.token, "large", &from, &bobs, "1000.00")
        .await;
    assert_eq!(
        problem_code(at_threshold).await,
        "reauthentication_required"
    );
    let approved = app
        .transfer(&alice.token, "large", &from, &bobs, "1000.00")
        .await;
    assert_eq!(approved.status(), StatusCode::CREATED);
    let own = app
        .transfer_without_step_up(&alice.token, "own", &from, &savings, "2000.00")
        .await;
    assert_eq!(own.status(), StatusCode::CREATED);
}

/// A customer lowers their threshold freely (a safer setting), never above the bank's, and
/// raises it again only with a step-up: a stolen session cannot lift the guard before it pays.
#[tokio::test]
async fn a_customer_lowers_their_threshold_freely_and_raises_it_only_with_a_step_up() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "500.00").await;
    let bobs = app.account(&teller, &bob, "0").await;
    let saved = app
        .post(
            "/v1/payees",
            &alice.token,
            &json!({ "nickname": "Bob", "account_number": bobs,
                     "step_up": { "password": "alice-test-password" } }),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::CREATED);
    let set = |threshold: Value, step_up: Option<Value>| {
        let mut body = json!({ "threshold": threshold });
        if let Some(step_up) = step_up {
            body["step_up"] = step_up;
        }
        let app = &app;
        let token = alice.token.clone();
        async move {
            app.request(Method::PUT, "/v1/me/step-up-thresholds/EUR", Some(&token))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let eur = |list: &Value| {
        list["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["currency"] == "EUR")
            .unwrap()
            .clone()
    };
    let list: Value = app
        .get("/v1/me/step-up-thresholds", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        eur(&list),
        json!({ "currency": "EUR", "threshold": "1000.00", "bank_threshold": "1000.00", "own": false })
    );
    let jpy = list["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["currency"] == "JPY")
        .unwrap();
    assert_eq!(jpy["threshold"], "150000");

    let lowered = set(json!("50.00"), None).await;
    assert_eq!(lowered.status(), StatusCode::OK);
    assert_eq!(eur(&lowered.json().await.unwrap())["threshold"], "50.00");
    let over = app
        .transfer_without_step_up(&alice.token, "over", &from, &bobs, "60.00")
        .await;
    assert_eq!(problem_code(over).await, "reauthentication_required");
    let under = app
        .transfer_without_step_up(&alice.token, "under", &from, &bobs, "40.00")
        .await;
    assert_eq!(under.status(), StatusCode::CREATED);

    for (threshold, step_up, code) in [
        (json!("5000.00"), None, "invalid_amount"),
        (json!("-1"), None, "invalid_amount"),
        (json!("1e3"), None, "invalid_amount"),
        (json!("500.00"), None, "reauthentication_required"),
        (
            json!("500.00"),
            Some(json!({ "password": "wrong-password" })),
            "invalid_current_password",
        ),
        (json!(null), None, "reauthentication_required"),
    ] {
        let refused = set(threshold.clone(), step_up).await;
        assert_eq!(problem_code(refused).await, code, "{threshold}");
    }
    let unchanged: Value = app
        .get("/v1/me/step-up-thresholds", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(eur(&unchanged)["threshold"], "50.00");
    let raised = set(
        json!(null),
        Some(json!({ "password": "alice-test-password" })),
    )
    .await;
    assert_eq!(raised.status(), StatusCode::OK);
    assert_eq!(
        eur(&raised.json().await.unwrap()),
        json!({ "currency": "EUR", "threshold": "1000.00", "bank_threshold": "1000.00", "own": false })
    );
    let unknown = app
        .request(
            Method::PUT,
            "/v1/me/step-up-thresholds/XXX",
            Some(&alice.token),
        )
        .json(&json!({ "threshold": "1" }))
        .send()
        .await
        .unwrap();
    assert!(unknown.status().is_client_error(), "{}", unknown.status());
    // Thresholds are customers'; staff have none.
    let staff = app.get("/v1/me/step-up-thresholds", &teller).await;
    assert_eq!(staff.status(), StatusCode::FORBIDDEN);
}

/// With two-step sign-in on, the password alone (perhaps the one that leaked) does not change
/// the password.
#[tokio::test]
async fn changing_the_password_with_a_second_factor_on_needs_a_code() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let secret = enrolled(&app, &alice.token).await;
    let change = |code: Option<String>| {
        let mut body = json!({
            "current_password": "alice-test-password",
            "new_password": "a-brand-new-passphrase",
        });
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        body
    };
    let without = app
        .post("/v1/me/password", &alice.token, &change(None))
        .await;
    assert_eq!(
        field_and_code(without).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "reauthentication_required".to_owned(),
            "code".to_owned()
        )
    );
    let wrong = app
        .post(
            "/v1/me/password",
            &alice.token,
            &change(Some("000000".into())),
        )
        .await;
    assert_eq!(problem_code(wrong).await, "invalid_second_factor");
    let changed = app
        .post(
            "/v1/me/password",
            &alice.token,
            &change(Some(code_for(&secret, 1))),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
}

/// Where staff must have a second factor (the bank's default), a member of staff without one may
/// only enrol one (and see who they are, or sign out) until they have; then they work as before
/// and each sign-in asks for a code. Customers are not held to it.
#[tokio::test]
async fn staff_enrol_a_second_factor_at_their_first_sign_in_before_anything_else() {
    let app = TestApp::spawn_with(crate::app::AppOptions {
        staff_second_factor_required: true,
        ..crate::app::AppOptions::default()
    })
    .await;
    let signed_in = app.sign_in_response(TELLER.0, TELLER.1).await;
    assert_eq!(signed_in.status(), StatusCode::CREATED);
    let body: Value = signed_in.json().await.unwrap();
    assert_eq!(body["user"]["second_factor_due"], true);
    let teller = body["token"].as_str().unwrap().to_owned();

    for (method, path) in [
        (Method::GET, "/v1/customers?q=customer"),
        (Method::GET, "/v1/drawers"),
        (Method::GET, "/v1/approvals"),
    ] {
        let refused = app
            .request(method.clone(), path, Some(&teller))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(
            problem_code(refused).await,
            "second_factor_enrolment_required"
        );
    }
    let me: Value = app.get("/v1/me", &teller).await.json().await.unwrap();
    assert_eq!(me["user"]["second_factor_due"], true);

    let secret = enrolled(&app, &teller).await;
    let allowed = app.get("/v1/customers?q=customer", &teller).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    let me: Value = app.get("/v1/me", &teller).await.json().await.unwrap();
    assert_eq!(me["user"]["second_factor_due"], false);
    // The next sign-in asks for a code.
    let again = app.sign_in_response(TELLER.0, TELLER.1).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    drop(secret);

    // Customers are not held to it.
    let alice = app.customer(&teller, "alice").await;
    let mine = app.get("/v1/accounts", &alice.token).await;
    assert_eq!(mine.status(), StatusCode::OK);
}
