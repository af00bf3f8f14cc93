use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{TELLER, TestApp, problem_code};

#[tokio::test]
async fn staff_onboard_customers_and_customers_see_only_themselves() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;

    let own: Value = app
        .get(&format!("/v1/customers/{}", alice.id), &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["email"], "alice@example.org");
    assert_eq!(own["username"], "alice");

    let other = app
        .get(&format!("/v1/customers/{}", bob.id), &alice.token)
        .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let unknown = app
        .get(
            &format!("/v1/customers/{}", uuid::Uuid::new_v4()),
            &alice.token,
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem_code(other).await, problem_code(unknown).await);
}

#[tokio::test]
async fn customers_cannot_onboard_customers() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let response = app
        .post(
            "/v1/customers",
            &alice.token,
            &json!({ "full_name": "Mallory", "email": "m@example.org" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn onboarding_validates_identity_fields_and_refuses_duplicates() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let snapshot = app.snapshot().await;
    for body in [
        json!({ "full_name": "", "email": "a@example.org" }),
        json!({ "full_name": "A", "email": "not-an-email" }),
        json!({ "full_name": "A", "email": "a@example.org", "phone": "call me" }),
        json!({ "full_name": "A", "email": "a@example.org", "date_of_birth": "2999-01-01" }),
        json!({ "full_name": "A", "email": "a@example.org", "address": "x" }),
        json!({ "full_name": "A", "email": "a@example.org", "id_document": "no!" }),
        json!({ "full_name": "A", "email": "a@example.org", "login": { "username": "a", "password": "short" } }),
        // Long enough, and on every list of common passwords.
        json!({ "full_name": "A", "email": "a@example.org", "login": { "username": "anna", "password": "password1234" } }),
        json!({ "full_name": "A", "email": "a@example.org", "login": { "username": "anna", "password": "Qwerty123456!" } }),
        // Long enough, and built from the holder's own name.
        json!({ "full_name": "Anna Okafor", "email": "anna@example.org", "login": { "username": "anna", "password": "okafor123456" } }),
    ] {
        let response = app.post("/v1/customers", &teller, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        if body["login"]["password"].is_string() {
            assert_eq!(problem_code(response).await, "weak_password", "{body}");
        }
    }
    assert_eq!(app.snapshot().await, snapshot);

    let first = app
        .post(
            "/v1/customers",
            &teller,
            &json!({ "full_name": "A", "email": "a@example.org", "address": "1 High Street, York", "id_document": "p 123 456" }),
        )
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["id_document"], "P123456");
    let again = app
        .post(
            "/v1/customers",
            &teller,
            &json!({ "full_name": "B", "email": "A@example.org" }),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(problem_code(again).await, "email_taken");
}
