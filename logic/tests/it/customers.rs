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

/// Know your customer: an account opens only for a customer whose identity is complete and
/// valid; a document is described in full, unexpired, and identifies one customer only.
#[tokio::test]
async fn an_account_needs_a_complete_identity_and_a_document_identifies_one_customer() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let bare: serde_json::Value = app
        .post(
            "/v1/customers",
            &teller,
            &json!({ "full_name": "Erin Walsh", "email": "erin@example.org" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let open = |id: String| {
        let (app, teller) = (&app, teller.clone());
        async move {
            app.post(
                "/v1/accounts",
                &teller,
                &json!({ "customer_id": id, "product": "current", "currency": "EUR" }),
            )
            .await
        }
    };
    let refused = open(bare["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "identity_incomplete");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("date of birth, address, id document"),
        "{problem}"
    );

    let complete = json!({
        "full_name": "Erin Walsh", "email": "erin@example.org",
        "date_of_birth": "1991-02-03", "address": "9 Bridge Street, Chester CH1 1AA",
        "id_document": "p 555 0001", "id_document_kind": "passport",
        "id_document_country": "gb", "id_document_expires": "2031-06-30",
    });
    let snapshot = app.snapshot().await;
    for (change, field) in [
        (
            json!({ "id_document_expires": null }),
            "id_document_expires",
        ),
        (
            json!({ "id_document_expires": "2020-01-01" }),
            "id_document_expires",
        ),
        (json!({ "id_document_kind": null }), "id_document_kind"),
        (
            json!({ "id_document_kind": "library_card" }),
            "id_document_kind",
        ),
        (
            json!({ "id_document_country": "GBR" }),
            "id_document_country",
        ),
        // Two letters, but no country's: no document is issued by "XX" or "UK".
        (
            json!({ "id_document_country": "XX" }),
            "id_document_country",
        ),
        (
            json!({ "id_document_country": "UK" }),
            "id_document_country",
        ),
        (json!({ "date_of_birth": "1890-01-01" }), "date_of_birth"),
        (json!({ "id_document": null }), "id_document"),
    ] {
        let mut body = complete.clone();
        body["email"] = json!("erin2@example.org");
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let response = app.post("/v1/customers", &teller, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{change}"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["field"], field, "{change}: {problem}");
    }
    assert_eq!(app.snapshot().await, snapshot);

    let id = bare["id"].as_str().unwrap();
    let completed = app
        .request(
            reqwest::Method::PATCH,
            &format!("/v1/customers/{id}"),
            Some(&teller),
        )
        .json(&complete)
        .send()
        .await
        .unwrap();
    assert_eq!(completed.status(), StatusCode::OK);
    let completed: serde_json::Value = completed.json().await.unwrap();
    assert_eq!(completed["id_document"], "P5550001");
    assert_eq!(completed["id_document_country"], "GB");
    assert_eq!(open(id.to_owned()).await.status(), StatusCode::CREATED);

    // The same document for someone else: refused, naming who holds it; nothing is created.
    let mut twin = complete.clone();
    twin["full_name"] = json!("Erin Walsh-Jones");
    twin["email"] = json!("erin.twin@example.org");
    let snapshot = app.snapshot().await;
    let taken = app.post("/v1/customers", &teller, &twin).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    let problem: serde_json::Value = taken.json().await.unwrap();
    assert_eq!(problem["code"], "identity_document_taken");
    assert!(
        problem["detail"].as_str().unwrap().contains(id),
        "{problem}"
    );
    // Written with separators, or recorded as another kind: the same document still.
    for (key, value) in [
        ("id_document", json!("P-555-0001")),
        ("id_document_kind", json!("national_id")),
    ] {
        let mut variant = twin.clone();
        variant[key] = value;
        let taken = app.post("/v1/customers", &teller, &variant).await;
        assert_eq!(taken.status(), StatusCode::CONFLICT, "{key}");
    }
    assert_eq!(app.snapshot().await, snapshot);

    // A customer who holds an account keeps a complete identity: an edit cannot remove it.
    let stripped = app
        .request(
            reqwest::Method::PATCH,
            &format!("/v1/customers/{id}"),
            Some(&teller),
        )
        .json(&json!({ "full_name": "Erin Walsh", "email": "erin@example.org" }))
        .send()
        .await
        .unwrap();
    assert_eq!(stripped.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_code(stripped).await, "identity_incomplete");
    assert_eq!(app.snapshot().await, snapshot);
}
