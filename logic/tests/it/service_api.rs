//! The API as internal services use it: API keys (scopes, rate limit, rotation, revocation),
//! two-phase transfers, atomic batches and the event feed.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app::{ADMIN, SUPERVISOR, TELLER, TestApp, problem_code};

/// An admin issues a key with these scopes; returns (key id, secret).
pub async fn issue_key(app: &TestApp, name: &str, scopes: &[&str], rate: i32) -> (String, String) {
    let admin = app.sign_in(ADMIN).await;
    let response = app
        .post(
            "/v1/admin/api-keys",
            &admin,
            &json!({ "name": name, "scopes": scopes, "rate_limit_per_minute": rate }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert!(body["secret"].as_str().unwrap().starts_with("bak_"));
    (
        body["key"]["id"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

pub fn with_key(
    app: &TestApp,
    method: Method,
    path: &str,
    secret: &str,
) -> reqwest::RequestBuilder {
    app.http
        .request(method, app.url(path))
        .header("x-api-key", secret)
}

async fn key_post(app: &TestApp, secret: &str, path: &str, body: &Value) -> reqwest::Response {
    with_key(app, Method::POST, path, secret)
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn key_get(app: &TestApp, secret: &str, path: &str) -> reqwest::Response {
    with_key(app, Method::GET, path, secret)
        .send()
        .await
        .unwrap()
}

async fn available(app: &TestApp, secret: &str, number: &str) -> String {
    let body: Value = key_get(app, secret, &format!("/v1/accounts/{number}"))
        .await
        .json()
        .await
        .unwrap();
    body["available_balance"].as_str().unwrap().to_owned()
}

const ALL: [&str; 7] = [
    "accounts:read",
    "accounts:write",
    "customers:read",
    "customers:write",
    "transfers:read",
    "transfers:write",
    "events:read",
];

#[tokio::test]
async fn keys_are_scoped_rate_limited_rotated_and_revoked() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let admin = app.sign_in(ADMIN).await;
    // Only admins issue keys.
    let refused = app
        .post(
            "/v1/admin/api-keys",
            &teller,
            &json!({ "name": "sneaky", "scopes": ["transfers:write"] }),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let alice = app.customer(&teller, "alice").await;
    let number = app.account(&teller, &alice, "0").await;
    let account = format!("/v1/accounts/{number}");
    let account = account.as_str();
    let (id, secret) = issue_key(&app, "reporting", &["accounts:read"], 4).await;

    // In scope: answered, with the rate-limit headers.
    let response = key_get(&app, &secret, account).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["ratelimit-limit"], "4");
    assert_eq!(response.headers()["ratelimit-remaining"], "3");
    // Out of scope: 403 scope_missing; a staff-only endpoint: 403 as well; nothing moved.
    let before = app.snapshot().await;
    let response = key_post(
        &app,
        &secret,
        "/v1/transfers",
        &json!({"debit_account": "1000000018", "credit_account": "1000000026", "amount": "1.00", "currency": "EUR"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(problem_code(response).await, "scope_missing");
    let response = key_get(&app, &secret, "/v1/audit").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before);
    // A key acts as itself: a session token beside it is refused.
    let response = with_key(&app, Method::GET, account, &secret)
        .bearer_auth(&teller)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The limit is 4 a minute; three calls so far: the fourth passes, the fifth is refused.
    assert_eq!(
        key_get(&app, &secret, account).await.status(),
        StatusCode::OK
    );
    let limited = key_get(&app, &secret, account).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(problem_code(limited).await, "rate_limited");

    // The admin list shows the key, its last use, never the secret.
    let list: Value = app
        .get("/v1/admin/api-keys", &admin)
        .await
        .json()
        .await
        .unwrap();
    let listed = &list["api_keys"][0];
    assert_eq!(listed["id"], id.as_str());
    assert_eq!(listed["scopes"], json!(["accounts:read"]));
    assert!(listed["last_used_at"].is_string());
    assert!(!list.to_string().contains(&secret));

    // Rotation without grace: the old secret stops at once, the new one works (a fresh key
    // with a fresh budget so the limit does not interfere).
    let (id, old) = issue_key(&app, "payments-hub", &["accounts:read"], 100).await;
    let response = app
        .post(
            &format!("/v1/admin/api-keys/{id}/rotate"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let new = response.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = key_get(&app, &old, account).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(key_get(&app, &new, account).await.status(), StatusCode::OK);
    // Rotation with a grace period: both secrets work until it ends.
    let response = app
        .post(
            &format!("/v1/admin/api-keys/{id}/rotate"),
            &admin,
            &json!({ "grace_seconds": 3600 }),
        )
        .await;
    let newer = response.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    for secret in [&new, &newer] {
        assert_eq!(
            key_get(&app, secret, account).await.status(),
            StatusCode::OK
        );
    }
    // Revocation is refused from the very next request, old and new secret alike.
    let response = app
        .post(
            &format!("/v1/admin/api-keys/{id}/revoke"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    for secret in [&new, &newer] {
        let response = key_get(&app, secret, account).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(problem_code(response).await, "service_credential_invalid");
    }
    // Every change to keys is in the audit log.
    let audit: Value = app
        .get("/v1/audit?action=api_key.", &admin)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for action in ["api_key.create", "api_key.rotate", "api_key.revoke"] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_pending_transfer_is_posted_or_voided_once_and_holds_its_funds_until_then() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &bob, "0").await;
    let (_, key) = issue_key(&app, "hub", &ALL, 10_000).await;
    let pending = |amount: &str, timeout: i64| {
        json!({ "debit_account": from, "credit_account": to, "amount": amount,
                "currency": "EUR", "timeout_seconds": timeout })
    };

    // Post and void race: exactly one wins, every time.
    for _ in 0..8 {
        let response = key_post(&app, &key, "/v1/pending-transfers", &pending("5.00", 600)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let id = response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (post_path, void_path) = (
            format!("/v1/pending-transfers/{id}/post"),
            format!("/v1/pending-transfers/{id}/void"),
        );
        let empty = json!({});
        let (posted, voided) = tokio::join!(
            key_post(&app, &key, &post_path, &empty),
            key_post(&app, &key, &void_path, &empty)
        );
        let statuses = [posted.status(), voided.status()];
        assert!(
            statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT),
            "{statuses:?}"
        );
        let loser = if posted.status() == StatusCode::CONFLICT {
            posted
        } else {
            voided
        };
        assert_eq!(problem_code(loser).await, "pending_transfer_resolved");
    }
    app.assert_ledger_sound().await;
    let start = app.balance(&teller, &from).await;
    assert_eq!(available(&app, &key, &from).await, format!("{start:.2}"));

    // Partial post: 50.00 held, 20.00 posted, the other 30.00 released.
    let response = key_post(&app, &key, "/v1/pending-transfers", &pending("50.00", 600)).await;
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        available(&app, &key, &from).await,
        format!("{:.2}", start - rust_decimal::Decimal::from(50))
    );
    let response = key_post(
        &app,
        &key,
        &format!("/v1/pending-transfers/{id}/post"),
        &json!({ "amount": "50.01" }),
    )
    .await;
    assert_eq!(problem_code(response).await, "amount_exceeds_pending");
    let response = key_post(
        &app,
        &key,
        &format!("/v1/pending-transfers/{id}/post"),
        &json!({ "amount": "20.00" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "posted");
    assert_eq!(body["posted_amount"], "20.00");
    let after = start - rust_decimal::Decimal::from(20);
    assert_eq!(app.balance(&teller, &from).await, after);
    assert_eq!(available(&app, &key, &from).await, format!("{after:.2}"));

    // Expiry: after its timeout a pending transfer reads as voided, its hold no longer counts,
    // and it can no longer be posted.
    let response = key_post(&app, &key, "/v1/pending-transfers", &pending("10.00", 1)).await;
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        available(&app, &key, &from).await,
        format!("{:.2}", after - rust_decimal::Decimal::from(10))
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let body: Value = key_get(&app, &key, &format!("/v1/pending-transfers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (body["status"].as_str(), body["void_reason"].as_str()),
        (Some("voided"), Some("expired"))
    );
    assert_eq!(available(&app, &key, &from).await, format!("{after:.2}"));
    let response = key_post(
        &app,
        &key,
        &format!("/v1/pending-transfers/{id}/post"),
        &json!({}),
    )
    .await;
    assert_eq!(problem_code(response).await, "pending_transfer_expired");
    assert_eq!(app.balance(&teller, &from).await, after);
    // Now written as voided, and a void is reported in the feed.
    let feed: Value = key_get(&app, &key, "/v1/events?types=transfer.voided&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["subject_id"] == id.as_str() && e["data"]["void_reason"] == "expired")
    );
    // The bank voided it, not the service: the audit log says so, as the logic tier's own act.
    let supervisor = app.sign_in(SUPERVISOR).await;
    let audit: Value = app
        .get("/v1/audit?action=pending_transfer.expire", &supervisor)
        .await
        .json()
        .await
        .unwrap();
    let records: Vec<&Value> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["subject_id"] == id.as_str())
        .collect();
    assert_eq!(records.len(), 1, "{audit}");
    assert_eq!(records[0]["actor_service"], "logic");
    assert_eq!(records[0]["before"]["status"], "pending");
    assert_eq!(records[0]["after"]["void_reason"], "expired");
    app.assert_ledger_sound().await;
    // Its events rewritten around the privileges (a million held, a million released): the
    // offline check names it.
    let id = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(
        data::testing::rewrite_event_amounts(&app.database_url, id).await,
        2
    );
    let report = app.verify_ledger().await;
    assert_eq!(report.feed_misreported, vec![id], "{report:?}");
    assert!(!report.intact);
}

#[tokio::test]
async fn a_batch_with_one_bad_leg_writes_nothing_and_a_retried_batch_applies_once() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let a = app.account(&teller, &alice, "100.00").await;
    let b = app.account(&teller, &bob, "10.00").await;
    let (_, key) = issue_key(
        &app,
        "payroll",
        &["transfers:write", "transfers:read"],
        1_000,
    )
    .await;
    let leg = |from: &str, to: &str, amount: &str| json!({ "debit_account": from, "credit_account": to, "amount": amount, "currency": "EUR" });
    // The third leg overdraws b: nothing of the batch is written.
    let before = app.snapshot().await;
    let response = key_post(
        &app,
        &key,
        "/v1/transfer-batches",
        &json!({ "transfers": [leg(&a, &b, "30.00"), leg(&b, &a, "5.00"), leg(&b, &a, "500.00")] }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "insufficient_funds");
    assert_eq!(problem["field"], "transfers[2]");
    assert_eq!(app.snapshot().await, before);
    // A malformed leg is refused before anything starts.
    let response = key_post(
        &app,
        &key,
        "/v1/transfer-batches",
        &json!({ "transfers": [leg(&a, &b, "1.00"), leg(&a, &b, "1.001")] }),
    )
    .await;
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["field"], "transfers[1].amount");
    assert_eq!(app.snapshot().await, before);

    // A good batch, sent three times with one key: applied once, the same answer each time.
    let body =
        json!({ "transfers": [leg(&a, &b, "30.00"), leg(&b, &a, "5.00"), leg(&b, &a, "15.00")] });
    let send = || {
        with_key(&app, Method::POST, "/v1/transfer-batches", &key)
            .header("idempotency-key", "batch-1")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["transfers"].as_array().unwrap().len(), 3);
    for _ in 0..2 {
        let again = send().await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap(), first);
    }
    // The batch reads back with its legs in the request's order; another service finds nothing.
    let path = format!("/v1/transfer-batches/{}", first["id"].as_str().unwrap());
    let read = key_get(&app, &key, &path).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.json::<Value>().await.unwrap(), first);
    let (_, other) = issue_key(&app, "reporting", &["transfers:read"], 1_000).await;
    let response = key_get(&app, &other, &path).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem_code(response).await, "batch_not_found");
    let unknown = format!("/v1/transfer-batches/{}", uuid::Uuid::new_v4());
    assert_eq!(
        key_get(&app, &key, &unknown).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.balance(&teller, &a).await,
        rust_decimal::Decimal::from(90)
    );
    assert_eq!(
        app.balance(&teller, &b).await,
        rust_decimal::Decimal::from(20)
    );
    app.assert_ledger_sound().await;
}

/// Reads the whole feed after `after`, `page` events at a time.
async fn drain(app: &TestApp, key: &str, mut after: String, page: usize) -> (Vec<Value>, String) {
    let mut events = Vec::new();
    loop {
        let body: Value = key_get(app, key, &format!("/v1/events?after={after}&limit={page}"))
            .await
            .json()
            .await
            .unwrap();
        let batch = body["events"].as_array().unwrap().clone();
        after = body["next_cursor"].as_str().unwrap().to_owned();
        let done = batch.len() < page;
        events.extend(batch);
        if done {
            return (events, after);
        }
    }
}

#[tokio::test]
async fn the_feed_holds_every_posted_transfer_once_in_commit_order_and_resumes_from_a_cursor() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let mut accounts = Vec::new();
    for _ in 0..4 {
        accounts.push(app.account(&teller, &alice, "500.00").await);
    }
    let (_, key) = issue_key(&app, "ledger-mirror", &ALL, 100_000).await;
    let (_, start) = drain(&app, &key, "0".into(), 1000).await;

    // A consumer polls while eight clients post transfers among the four accounts.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let consumer = {
        let (app_base, key, start, done) =
            (app.base.clone(), key.clone(), start.clone(), done.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut seen = Vec::new();
            let mut after = start;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let body: Value = http
                    .get(format!("{app_base}/v1/events?after={after}&limit=7"))
                    .header("x-api-key", &key)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let batch = body["events"].as_array().unwrap().clone();
                after = body["next_cursor"].as_str().unwrap().to_owned();
                if batch.is_empty() && finished {
                    return seen;
                }
                seen.extend(batch);
            }
        })
    };
    let mut clients = Vec::new();
    for client in 0..8 {
        let (app_base, key, accounts) = (app.base.clone(), key.clone(), accounts.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut posted = Vec::new();
            for n in 0..25 {
                let from = &accounts[(client + n) % 4];
                let to = &accounts[(client + n + 1 + n % 2) % 4];
                let response = http
                    .post(format!("{app_base}/v1/transfers"))
                    .header("x-api-key", &key)
                    .header("idempotency-key", format!("c{client}-{n}"))
                    .json(&json!({ "debit_account": from, "credit_account": to,
                                   "amount": format!("{}.00", 1 + n % 3), "currency": "EUR" }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::CREATED);
                posted.push(
                    response.json::<Value>().await.unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            posted
        }));
    }
    let mut posted = HashSet::new();
    for client in clients {
        posted.extend(client.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let live = consumer.await.unwrap();
    assert_eq!(posted.len(), 200);

    // The whole feed from the start of the workload, read in pages of 13.
    let (feed, _) = drain(&app, &key, start.clone(), 13).await;
    let transfers: Vec<&Value> = feed
        .iter()
        .filter(|e| e["type"] == "transfer.posted")
        .collect();
    let ids: Vec<&str> = transfers
        .iter()
        .map(|e| e["subject_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 200, "one event per posted transfer");
    assert_eq!(
        ids.iter().copied().collect::<HashSet<_>>(),
        posted.iter().map(String::as_str).collect()
    );
    // Positions are gap-free and increasing.
    let positions: Vec<i64> = feed
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        positions.windows(2).all(|w| w[1] == w[0] + 1),
        "{positions:?}"
    );
    // The live consumer, polling during the workload, saw exactly the same events in the same order.
    assert_eq!(live, feed);
    // Resuming from any cursor yields exactly the rest.
    let middle = feed[feed.len() / 2]["cursor"].as_str().unwrap().to_owned();
    let (rest, _) = drain(&app, &key, middle, 50).await;
    assert_eq!(rest, feed[feed.len() / 2 + 1..].to_vec());

    // Commit order: for each account, the feed lists its transfers in the order the ledger
    // applied them (entries are numbered under the account's lock).
    for number in &accounts {
        let mut ledger: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                None => format!("/v1/accounts/{number}/entries?limit=100"),
                Some(c) => format!("/v1/accounts/{number}/entries?limit=100&cursor={c}"),
            };
            let page: Value = key_get(&app, &key, &path).await.json().await.unwrap();
            for entry in page["entries"].as_array().unwrap() {
                ledger.push(entry["transfer_id"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        ledger.reverse();
        let in_feed: Vec<String> = transfers
            .iter()
            .filter(|e| {
                e["data"]["debit_account"] == number.as_str()
                    || e["data"]["credit_account"] == number.as_str()
            })
            .map(|e| e["subject_id"].as_str().unwrap().to_owned())
            .collect();
        let ledger: Vec<String> = ledger
            .into_iter()
            .filter(|id| posted.contains(id))
            .collect();
        assert_eq!(in_feed, ledger, "account {number}");
    }
}

/// A reader that asks to wait gets the next event when it is posted, not an empty page first; with
/// nothing posted it gets an empty page after the wait; a longer wait than allowed is refused.
#[tokio::test]
async fn a_feed_reader_may_wait_for_the_next_event() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &alice, "0").await;
    let (_, key) = issue_key(&app, "ledger-mirror", &["events:read"], 1_000).await;
    let (_, end) = drain(&app, &key, "0".into(), 1000).await;

    let waiting = format!("/v1/events?after={end}&wait=15");
    let (answer, posted) = tokio::join!(key_get(&app, &key, &waiting), async {
        // Posted a second after the reader asked: an answer without waiting would be empty.
        tokio::time::sleep(Duration::from_secs(1)).await;
        app.transfer(&alice.token, "after-the-ask", &from, &to, "5.00")
            .await
    });
    assert_eq!(posted.status(), StatusCode::CREATED);
    let posted: Value = posted.json().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let page: Value = answer.json().await.unwrap();
    let events = page["events"].as_array().unwrap();
    assert_eq!(
        events.len(),
        1,
        "the one event posted while the reader waited"
    );
    assert_eq!(events[0]["type"], "transfer.posted");
    assert_eq!(events[0]["subject_id"], posted["id"]);

    // Nothing more: an empty page after the wait, at the same place.
    let after = page["next_cursor"].as_str().unwrap();
    let quiet: Value = key_get(&app, &key, &format!("/v1/events?after={after}&wait=1"))
        .await
        .json()
        .await
        .unwrap();
    assert!(quiet["events"].as_array().unwrap().is_empty());
    assert_eq!(quiet["next_cursor"], after);

    let refused = key_get(&app, &key, &format!("/v1/events?after={after}&wait=21")).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_code(refused).await, "invalid_query");
}

#[tokio::test]
async fn the_contract_is_published_without_a_credential() {
    let app = TestApp::spawn().await;
    let doc = app.openapi().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    // The bank's own title and version, not those of the crate that gathered the routes.
    assert_eq!(doc["info"]["title"], "Bank logic tier API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["info"].get("contact").is_none(), "{}", doc["info"]);
    assert!(
        doc["info"]["description"]
            .as_str()
            .unwrap()
            .starts_with("The bank's")
    );
    // Every operation has an id of its own, `<module>.<handler>`: a client generated from the
    // document names its methods by them.
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap_or_default();
            let (module, handler) = id.split_once('.').unwrap_or_default();
            assert!(
                !module.is_empty() && !handler.is_empty(),
                "{method} {path}: operationId {id:?} is not <module>.<handler>"
            );
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        }
    }
    assert_eq!(
        doc["paths"]["/v1/transfers"]["post"]["operationId"],
        "transfers.create"
    );
    for (path, method) in [
        ("/v1/transfers", "post"),
        ("/v1/pending-transfers/{id}/post", "post"),
        ("/v1/transfer-batches", "post"),
        ("/v1/events", "get"),
        ("/v1/admin/api-keys", "post"),
    ] {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} missing");
        assert!(operation["responses"]["422"]["content"]["application/problem+json"].is_object());
    }
    assert_eq!(
        doc["paths"]["/v1/events"]["get"]["x-required-scope"],
        "events:read"
    );
    let idempotency = doc["paths"]["/v1/transfers"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
    assert!(idempotency);
    assert!(
        doc["paths"]["/v1/events"]["get"]["responses"]["200"]["headers"]["RateLimit-Remaining"]
            .is_object()
    );
    assert!(
        doc["paths"]["/v1/events"]["get"]["responses"]["429"]["headers"]["Retry-After"].is_object()
    );
    let page = app.http.get(app.url("/v1/reference")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("/v1/pending-transfers/{id}/void"));
    assert!(html.contains("Idempotency-Key"));
    assert!(!html.contains("<script"));
}

/// The document lists each enumeration's values from a mirror in `wire::values`; the database
/// type is the truth, so a label added to one and not the other fails here.
#[tokio::test]
async fn the_documented_values_are_the_databases() {
    let app = TestApp::spawn().await;
    let doc = app.openapi().await;
    let mut conn = app.state.pool.acquire().await.unwrap();
    for (schema, database_type) in logic::wire::DATABASE_TYPES {
        let documented: Vec<String> =
            serde_json::from_value(doc["components"]["schemas"][schema]["enum"].clone())
                .unwrap_or_else(|_| panic!("{schema} is documented with its values"));
        let labels = data::testing::enum_labels(&mut conn, database_type).await;
        assert!(
            !labels.is_empty(),
            "{database_type} is a type of the schema"
        );
        assert_eq!(
            documented, labels,
            "{schema} lists the labels of {database_type}"
        );
    }
    // Staff roles are some of the users' roles.
    let roles = data::testing::enum_labels(&mut conn, "user_role").await;
    let staff_roles = doc["components"]["schemas"]["StaffRole"]["enum"]
        .as_array()
        .unwrap();
    assert!(!staff_roles.is_empty());
    assert!(
        staff_roles
            .iter()
            .all(|r| roles.contains(&r.as_str().unwrap().to_owned()))
    );
    // The fields refer to them.
    assert_eq!(
        doc["components"]["schemas"]["TransferResponse"]["properties"]["kind"]["$ref"],
        "#/components/schemas/TransferKind"
    );
}

#[tokio::test]
async fn a_request_id_offered_from_outside_is_never_the_banks_own() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let supervisor = app.sign_in(crate::app::SUPERVISOR).await;
    let (_, secret) = issue_key(&app, "request-ids", &ALL, 600).await;
    let audited_request_id = |customer_id: String| {
        let (app, supervisor) = (&app, &supervisor);
        async move {
            let audit: Value = app
                .get(&format!("/v1/audit?customer_id={customer_id}"), supervisor)
                .await
                .json()
                .await
                .unwrap();
            audit["records"][0]["request_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let new_customer = |name: &str| json!({ "full_name": format!("Customer {name}"), "email": format!("{name}@example.org") });

    // An API key's client: the bank names the request itself and echoes the offer apart.
    let response = with_key(&app, Method::POST, "/v1/customers", &secret)
        .header("x-request-id", "chosen-by-the-caller")
        .json(&new_customer("keyed"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let bank_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&bank_id).is_ok(), "{bank_id}");
    assert_eq!(
        response.headers()["x-caller-request-id"],
        "chosen-by-the-caller"
    );
    let created: Value = response.json().await.unwrap();
    let customer_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(audited_request_id(customer_id).await, bank_id);

    // The web tier's id (minted at its own edge) is the request's: page, log and audit agree.
    let response = app
        .request(Method::POST, "/v1/customers", Some(&teller))
        .header("x-request-id", "minted-by-the-web-tier")
        .json(&new_customer("counter"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["x-request-id"], "minted-by-the-web-tier");
    assert!(response.headers().get("x-caller-request-id").is_none());
    let created: Value = response.json().await.unwrap();
    let customer_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        audited_request_id(customer_id).await,
        "minted-by-the-web-tier"
    );

    // Without a valid credential, or outside /v1, the offer is never the bank's id either.
    for request in [
        app.http
            .get(app.url("/v1/accounts"))
            .header("x-api-key", "bak_not-a-key"),
        app.http.get(app.url("/v1/accounts")),
        app.http.get(app.url("/v1/no-such-route")),
        app.http.get(app.url("/healthz")),
    ] {
        let response = request
            .header("x-request-id", "chosen-by-the-caller")
            .send()
            .await
            .unwrap();
        let bank_id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(uuid::Uuid::parse_str(&bank_id).is_ok(), "{bank_id}");
        if response.status().is_client_error() {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["request_id"], bank_id.as_str());
        }
    }
}

/// What a request body's fields must look like is in the document, and it is what the parsers
/// accept: every account number ten digits, every amount a decimal string no longer than the
/// largest amount with at most the most decimal places any currency has, every memo within its
/// limit. A field the document leaves unconstrained fails here.
#[tokio::test]
async fn the_document_states_the_limits_the_parsers_hold() {
    let app = TestApp::spawn().await;
    let doc = app.openapi().await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let most_decimals = logic::domain::Currency::ALL
        .into_iter()
        .map(logic::domain::Currency::minor_units)
        .max()
        .unwrap();
    let integer_digits = logic::domain::money::AMOUNT_MAX_UNITS.to_string().len();
    let amount = format!("^[0-9]{{1,{integer_digits}}}(\\.[0-9]{{1,{most_decimals}}})?$");
    let mut checked = 0;
    for (name, schema) in schemas.iter().filter(|(name, _)| name.ends_with("Request")) {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            let pattern = property["pattern"].as_str();
            if field.ends_with("account") || field == "account_number" {
                assert_eq!(pattern, Some("^[0-9]{10}$"), "{name}.{field}");
                // Its example is a real account number, check digit and all.
                let example = property["example"].as_str().unwrap_or_default();
                assert!(
                    logic::domain::AccountNumber::parse(example).is_ok(),
                    "{name}.{field}: example {example:?}"
                );
            } else if field == "amount" || field == "opening_float" {
                assert_eq!(pattern, Some(amount.as_str()), "{name}.{field}");
            } else if field == "currency" {
                assert_eq!(pattern, Some("^[A-Z]{3}$"), "{name}.{field}");
            } else if field == "memo" {
                assert_eq!(
                    property["maxLength"].as_u64(),
                    Some(logic::domain::text::MEMO_MAX_CHARS as u64),
                    "{name}.{field}"
                );
            } else {
                continue;
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} fields checked");
    // Spot checks that the stated limits are the parsers' own: the largest amount, the decimal
    // places, the number's length and check digit. (The parsers are a little more lenient than
    // the patterns, reading "2.500" and "1000 0000-18" too; the patterns state the canonical form.)
    let eur = logic::domain::Currency::Eur;
    assert!(logic::domain::Amount::parse("1000000000.00", eur).is_ok());
    assert!(logic::domain::Amount::parse("10000000000", eur).is_err());
    assert!(logic::domain::Amount::parse("1.005", eur).is_err());
    assert!(logic::domain::AccountNumber::parse("1000000018").is_ok());
    assert!(logic::domain::AccountNumber::parse("100000001").is_err());
}
