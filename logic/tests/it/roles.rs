//! Every back-office action tried by every role: only the roles allowed succeed, the others are
//! refused before anything changes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app::{ADMIN, SUPERVISOR, TELLER, TestApp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Customer,
    Teller,
    Supervisor,
    Admin,
}

const EVERYONE: [Who; 4] = [Who::Customer, Who::Teller, Who::Supervisor, Who::Admin];

struct Action {
    method: Method,
    path: String,
    body: Option<Value>,
    idempotent: bool,
    allowed: &'static [Who],
}

fn action(method: Method, path: String, body: Option<Value>, allowed: &'static [Who]) -> Action {
    Action {
        method,
        path,
        body,
        idempotent: false,
        allowed,
    }
}

fn keyed(method: Method, path: String, body: Value, allowed: &'static [Who]) -> Action {
    Action {
        method,
        path,
        body: Some(body),
        idempotent: true,
        allowed,
    }
}

#[tokio::test]
async fn every_action_is_allowed_to_its_roles_only() {
    use Who::*;
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(SUPERVISOR).await;
    let admin = app.sign_in(ADMIN).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let account = app.account(&teller, &alice, "500").await;
    let other = app.account(&teller, &bob, "0").await;
    let transfer: Value = app
        .transfer(&alice.token, "t", &account, &other, "10")
        .await
        .json()
        .await
        .unwrap();
    let transfer = transfer["id"].as_str().unwrap().to_owned();
    let pending: Value = app
        .post(
            &format!("/v1/accounts/{account}/overdraft-limit"),
            &teller,
            &json!({ "limit": "100", "reason": "Matrix" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let pending = pending["id"].as_str().unwrap().to_owned();
    let in_a_week = (time::OffsetDateTime::now_utc() + time::Duration::days(7))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let customer = &alice.id;
    let spare: Value = app
        .post(
            "/v1/admin/staff",
            &admin,
            &json!({ "username": "spare.teller", "password": "a-long-enough-password", "role": "teller" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let spare = spare["id"].as_str().unwrap().to_owned();
    let actions = vec![
        keyed(
            Method::POST,
            "/v1/transfers".into(),
            json!({ "debit_account": account, "credit_account": other, "amount": "1", "currency": "EUR",
                    "step_up": { "password": "alice-test-password" } }),
            &[Customer, Teller, Supervisor],
        ),
        action(
            Method::GET,
            "/v1/customers?q=customer".into(),
            None,
            &[Teller, Supervisor, Admin],
        ),
        action(
            Method::POST,
            "/v1/customers".into(),
            Some(json!({ "full_name": "New Customer", "email": "new-{who}@example.org" })),
            &[Teller, Supervisor],
        ),
        action(
            Method::PATCH,
            format!("/v1/customers/{customer}"),
            Some(json!({
                "full_name": "Customer alice", "email": "alice@example.org",
                "date_of_birth": "1980-04-21", "address": "1 Test Street, York YO1 1AA",
                "id_document": "T-ALICE", "id_document_kind": "passport",
                "id_document_country": "GB", "id_document_expires": "2036-01-31",
            })),
            &[Teller, Supervisor],
        ),
        action(
            Method::GET,
            format!("/v1/customers/{customer}/activity"),
            None,
            &[Teller, Supervisor, Admin],
        ),
        action(
            Method::POST,
            "/v1/accounts".into(),
            Some(json!({ "customer_id": customer, "product": "savings", "currency": "EUR" })),
            &[Teller, Supervisor],
        ),
        action(
            Method::POST,
            format!("/v1/accounts/{other}/freeze"),
            Some(json!({ "scope": "all", "reason": "Matrix" })),
            &[Teller, Supervisor],
        ),
        action(
            Method::POST,
            format!("/v1/accounts/{other}/unfreeze"),
            Some(json!({ "reason": "Matrix" })),
            &[Supervisor],
        ),
        action(
            Method::POST,
            format!("/v1/accounts/{account}/holds"),
            Some(json!({ "amount": "1", "reason": "Matrix", "expires_at": in_a_week })),
            &[Teller, Supervisor],
        ),
        action(
            Method::GET,
            format!("/v1/accounts/{account}/holds"),
            None,
            &[Teller, Supervisor, Admin],
        ),
        action(
            Method::POST,
            format!("/v1/accounts/{account}/overdraft-limit"),
            Some(json!({ "limit": "200", "reason": "Matrix" })),
            &[Teller, Supervisor],
        ),
        keyed(
            Method::POST,
            "/v1/drawers".into(),
            json!({ "currency": "EUR", "opening_float": "0" }),
            &[Teller, Supervisor],
        ),
        keyed(
            Method::POST,
            "/v1/cash/deposits".into(),
            json!({ "account": account, "amount": "5", "currency": "EUR" }),
            &[Teller, Supervisor],
        ),
        keyed(
            Method::POST,
            format!("/v1/transfers/{transfer}/reversals"),
            json!({ "reason": "Matrix" }),
            &[Teller, Supervisor],
        ),
        action(
            Method::GET,
            "/v1/approvals?status=pending".into(),
            None,
            &[Teller, Supervisor],
        ),
        action(
            Method::POST,
            format!("/v1/approvals/{pending}/approve"),
            Some(json!({})),
            &[Supervisor],
        ),
        action(
            Method::GET,
            "/v1/drawers?all=true".into(),
            None,
            &[Supervisor],
        ),
        action(Method::GET, "/v1/audit".into(), None, &[Supervisor, Admin]),
        action(
            Method::POST,
            "/v1/audit/verify".into(),
            Some(json!({})),
            &[Supervisor, Admin],
        ),
        action(
            Method::POST,
            format!("/v1/customers/{}/sign-in-reset", bob.id),
            // Each role chooses another: the one she has now may not be chosen again.
            Some(json!({ "password": "counter-chosen-river-lamp-{who}" })),
            &[Teller, Supervisor],
        ),
        action(
            Method::POST,
            format!("/v1/admin/staff/{spare}/sign-in-reset"),
            Some(json!({ "password": "admin-chosen-copper-kettle" })),
            &[Admin],
        ),
        action(Method::GET, "/v1/admin/staff".into(), None, &[Admin]),
        action(
            Method::POST,
            "/v1/admin/staff".into(),
            Some(
                json!({ "username": "new.{who}", "password": "a-long-enough-password", "role": "teller" }),
            ),
            &[Admin],
        ),
        action(
            Method::PUT,
            "/v1/admin/limits/EUR".into(),
            Some(json!({ "approval_threshold": "10000", "daily_transfer_limit": "5000" })),
            &[Admin],
        ),
        action(
            Method::PUT,
            format!("/v1/customers/{customer}/limits/EUR"),
            Some(json!({ "daily_limit": "2500" })),
            &[Admin],
        ),
    ];
    let mut outcomes = Vec::new();
    for action in &actions {
        // The refused roles first: a refusal must change nothing the allowed roles then need.
        let mut order: Vec<Who> = EVERYONE
            .iter()
            .copied()
            .filter(|w| !action.allowed.contains(w))
            .collect();
        order.extend(action.allowed.iter().copied());
        for who in order {
            let token = match who {
                Customer => &alice.token,
                Teller => &teller,
                Supervisor => &supervisor,
                Admin => &admin,
            };
            let snapshot = app.snapshot().await;
            let who_name = format!("{who:?}").to_lowercase();
            let mut request = app.request(action.method.clone(), &action.path, Some(token));
            if let Some(body) = &action.body {
                let body = body.to_string().replace("{who}", &who_name);
                request = request
                    .header("content-type", "application/json")
                    .body(body);
            }
            if action.idempotent {
                request = request.header("idempotency-key", format!("matrix-{who_name}"));
            }
            let status = request.send().await.unwrap().status();
            let allowed = action.allowed.contains(&who);
            if allowed {
                // A second allowed role may find the work done (a conflict), never a refusal.
                assert!(
                    status.is_success() || status == StatusCode::CONFLICT,
                    "{who:?} {} {}: expected success, got {status}",
                    action.method,
                    action.path
                );
            } else {
                assert!(
                    status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                    "{who:?} {} {}: expected a refusal, got {status}",
                    action.method,
                    action.path
                );
                assert_eq!(
                    app.snapshot().await,
                    snapshot,
                    "{who:?} {} {}",
                    action.method,
                    action.path
                );
            }
            outcomes.push((who, status));
        }
    }
    assert_eq!(outcomes.len(), actions.len() * EVERYONE.len());
}
