use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app::{AppOptions, TELLER, TestApp, problem_code};

#[tokio::test]
async fn sign_in_returns_a_token_that_identifies_the_user() {
    let app = TestApp::spawn().await;
    let token = app.sign_in(TELLER).await;
    let me: Value = app.get("/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["user"]["username"], TELLER.0);
    assert_eq!(me["user"]["role"], "teller");
    assert_eq!(me["service"], "tests");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer_in_about_the_same_time() {
    let app = TestApp::spawn().await;
    let mut answers = Vec::new();
    let mut timings = Vec::new();
    for (username, password) in [
        (TELLER.0, "not-the-password"),
        ("nobody.here", "not-the-password"),
    ] {
        let mut durations = Vec::new();
        // The fastest of five: the suite runs many tests at once on two cores, and only the
        // fastest attempt shows what the path itself costs rather than what it waited for.
        for _ in 0..5 {
            let started = Instant::now();
            let response = app.sign_in_response(username, password).await;
            durations.push(started.elapsed());
            let status = response.status();
            let mut body: Value = response.json().await.unwrap();
            body.as_object_mut().unwrap().remove("request_id");
            answers.push((status, body));
        }
        timings.push(durations.into_iter().min().unwrap());
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert_eq!(answers[0].1["code"], "invalid_credentials");
    // Both paths verify an Argon2id hash, so neither is several times faster than the other.
    let (known, unknown) = (timings[0].as_secs_f64(), timings[1].as_secs_f64());
    assert!(
        unknown > known / 3.0 && known > unknown / 3.0,
        "known {known}s, unknown {unknown}s"
    );
}

#[tokio::test]
async fn repeated_failures_throttle_known_and_unknown_usernames_alike() {
    let app = TestApp::spawn().await;
    for username in [TELLER.0, "nobody.here"] {
        for _ in 0..5 {
            let response = app.sign_in_response(username, "wrong-password").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        let response = app.sign_in_response(username, "wrong-password").await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(problem_code(response).await, "sign_in_throttled");
    }
    // While locked, even the right password is refused.
    let response = app.sign_in_response(TELLER.0, TELLER.1).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_call_without_a_valid_service_credential_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.sign_in(TELLER).await;
    let missing = app
        .http
        .get(app.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(missing).await, "service_credential_missing");
    let forged = app
        .http
        .get(app.url("/v1/me"))
        .header("x-api-key", "bsk_forged")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(forged).await, "service_credential_invalid");
    let sign_in = app
        .http
        .post(app.url("/v1/sessions"))
        .json(&json!({ "username": TELLER.0, "password": TELLER.1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(sign_in.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn forged_revoked_and_missing_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let forged = app.get("/v1/me", "bts_forged-token").await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(forged).await, "session_invalid");

    let none = app
        .request(Method::GET, "/v1/me", None)
        .send()
        .await
        .unwrap();
    assert_eq!(problem_code(none).await, "session_required");

    let token = app.sign_in(TELLER).await;
    let out = app
        .request(Method::DELETE, "/v1/sessions/current", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let revoked = app.get("/v1/me", &token).await;
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(revoked).await, "session_invalid");
}

#[tokio::test]
async fn signing_out_everywhere_revokes_every_session_of_the_user() {
    let app = TestApp::spawn().await;
    let first = app.sign_in(TELLER).await;
    let second = app.sign_in(TELLER).await;
    assert_ne!(first, second, "each sign-in gets a new token");
    let out = app
        .request(Method::DELETE, "/v1/sessions", Some(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    for token in [first, second] {
        assert_eq!(
            app.get("/v1/me", &token).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let app = TestApp::spawn_with(AppOptions {
        session_ttl_s: 1,
        ..AppOptions::default()
    })
    .await;
    let token = app.sign_in(TELLER).await;
    assert_eq!(app.get("/v1/me", &token).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let expired = app.get("/v1/me", &token).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(expired).await, "session_invalid");
}

#[tokio::test]
async fn health_probes_answer_without_credentials() {
    let app = TestApp::spawn().await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], "writable");
}

/// Sends a sign-in as the web tier does for a person at `address`.
async fn sign_in_from(
    app: &TestApp,
    credentials: (&str, &str),
    address: &str,
) -> reqwest::Response {
    sign_in_on_device(app, credentials, address, None).await
}

/// A sign-in from `address` presenting the device token a previous sign-in returned.
async fn sign_in_on_device(
    app: &TestApp,
    (username, password): (&str, &str),
    address: &str,
    device_token: Option<&str>,
) -> reqwest::Response {
    app.request(Method::POST, "/v1/sessions", None)
        .header("x-end-user-ip", address)
        .json(&json!({ "username": username, "password": password, "device_token": device_token }))
        .send()
        .await
        .unwrap()
}

/// The device token of a successful sign-in.
async fn device_token_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["device_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_burst_of_guesses_gets_no_more_checks_than_the_limit() {
    let app = TestApp::spawn().await;
    // 25 wrong passwords at once: each is counted before it is checked, and the one that reaches
    // the limit locks the name before its own check.
    let answers = futures::future::join_all(
        (0..25).map(|_| app.sign_in_response(TELLER.0, "wrong-password")),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        checked <= logic::throttle::FAILURES_BEFORE_LOCK as usize,
        "{checked} checked: {statuses:?}"
    );
    assert_eq!(checked + throttled, 25, "{statuses:?}");
    // The right password after the burst waits out the lock like any other guess.
    let response = app.sign_in_response(TELLER.0, TELLER.1).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn one_address_trying_many_names_is_stopped_and_other_addresses_are_not() {
    let app = TestApp::spawn().await;
    // Spraying: one wrong password for each of many names, from one address.
    for n in 0..logic::throttle::SOURCE_FAILURES_BEFORE_LOCK {
        let response =
            sign_in_from(&app, (&format!("sprayed.{n}"), "Winter2026!"), "198.18.0.7").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    // The address is locked: even a real user's right password from it is refused unchecked.
    let response = sign_in_from(&app, TELLER, "198.18.0.7").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(problem_code(response).await, "sign_in_throttled");
    // The name itself was never tried wrongly: from another address it signs in.
    let response = sign_in_from(&app, TELLER, "198.18.0.8").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // Correct sign-ins do not use up an address (one office behind one address).
    let app = TestApp::spawn().await;
    for _ in 0..logic::throttle::SOURCE_FAILURES_BEFORE_LOCK + 5 {
        let response = sign_in_from(&app, TELLER, "198.18.0.9").await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}

#[tokio::test]
async fn a_stranger_failing_under_a_name_cannot_lock_its_owner_out_of_a_known_device() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    app.customer(&teller, "alice").await;
    app.customer(&teller, "bob").await;
    let alice = ("alice", "alice-test-password");
    let home = "198.18.1.10";
    let first = device_token_of(sign_in_from(&app, alice, home).await).await;
    let bobs = device_token_of(sign_in_from(&app, ("bob", "bob-test-password"), home).await).await;

    // A stranger fails under Alice's name until it is locked.
    let burst = futures::future::join_all(
        (0..10).map(|_| sign_in_from(&app, ("alice", "guess-guess"), "198.18.1.66")),
    )
    .await;
    assert!(
        burst
            .iter()
            .any(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
    );
    // The name is locked for anyone without Alice's device, even with her password, and Bob's
    // device token is no key to Alice's name.
    for device in [None, Some(bobs.as_str()), Some("bdt_made-up")] {
        let response = sign_in_on_device(&app, alice, home, device).await;
        assert_eq!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{device:?}"
        );
    }
    // From her own device she signs in, and the device gets a new token for the old one.
    let second = device_token_of(sign_in_on_device(&app, alice, home, Some(&first)).await).await;
    assert_ne!(second, first);
    let response = sign_in_on_device(&app, alice, home, Some(&first)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    // The device token signs nobody in by itself, and its own guesses are limited like a name's.
    for _ in 0..logic::throttle::FAILURES_BEFORE_LOCK {
        let response = sign_in_on_device(&app, ("alice", "guess-guess"), home, Some(&second)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = sign_in_on_device(&app, alice, home, Some(&second)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(problem_code(response).await, "sign_in_throttled");
}

#[tokio::test]
async fn spraying_from_many_addresses_meets_a_bank_wide_brake_that_known_devices_pass() {
    let app = TestApp::spawn_with(AppOptions {
        sign_in_unknown_device_checks_per_minute: 3,
        ..AppOptions::default()
    })
    .await;
    let teller = app.sign_in(TELLER).await;
    app.customer(&teller, "alice").await;
    let alice = ("alice", "alice-test-password");
    // Correct sign-ins give their check back: any number of them pass.
    let mut device = String::new();
    for _ in 0..5 {
        device = device_token_of(sign_in_from(&app, alice, "198.18.2.1").await).await;
    }
    // One wrong password for each of three names, each from an address of its own: the budget.
    for n in 0..3 {
        let response = sign_in_from(
            &app,
            (&format!("sprayed.{n}"), "Winter2026!"),
            &format!("198.18.2.{}", 100 + n),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    // The next unknown device is slowed down, right password or not, and told why.
    let response = sign_in_from(&app, TELLER, "198.18.2.200").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "sign_in_throttled");
    assert!(
        problem["detail"].as_str().unwrap().contains("new devices"),
        "{problem}"
    );
    // A device Alice has signed in from before passes.
    let response = sign_in_on_device(&app, alice, "198.18.2.1", Some(&device)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// A password someone else chose is known to two people: its holder replaces it before anything
/// else, whoever chose it (a teller for a customer, an admin for a member of staff).
#[tokio::test]
async fn a_password_set_by_someone_else_must_be_replaced_before_anything_else() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let admin = app.sign_in(crate::app::ADMIN).await;
    let created = app
        .post(
            "/v1/customers",
            &teller,
            &json!({ "full_name": "Dana Reyes", "email": "dana@example.org",
                     "login": { "username": "dana", "password": "dana-first-password" } }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let staffed = app
        .post(
            "/v1/admin/staff",
            &admin,
            &json!({ "username": "new.teller", "password": "a-long-enough-password", "role": "teller" }),
        )
        .await;
    assert_eq!(staffed.status(), StatusCode::CREATED);

    for (username, first, then) in [
        ("dana", "dana-first-password", "/v1/accounts"),
        (
            "new.teller",
            "a-long-enough-password",
            "/v1/customers?q=dana",
        ),
    ] {
        let session: Value = app
            .sign_in_response(username, first)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(session["user"]["password_change_due"], true, "{username}");
        let token = session["token"].as_str().unwrap();
        // Everything else is refused, reads and writes alike, until the password is replaced.
        let refused = app.get(then, token).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{username}");
        assert_eq!(problem_code(refused).await, "password_change_required");
        let totp = app.post("/v1/me/totp", token, &json!({})).await;
        assert_eq!(problem_code(totp).await, "password_change_required");
        let me: Value = app.get("/v1/me", token).await.json().await.unwrap();
        assert_eq!(me["user"]["password_change_due"], true);
        // The same password again is no replacement.
        let same = app
            .post(
                "/v1/me/password",
                token,
                &json!({ "current_password": first, "new_password": first }),
            )
            .await;
        assert_eq!(same.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let replaced = app
            .post(
                "/v1/me/password",
                token,
                &json!({ "current_password": first, "new_password": "quiet-river-lantern-42" }),
            )
            .await;
        assert_eq!(replaced.status(), StatusCode::NO_CONTENT, "{username}");
        assert_eq!(
            app.get(then, token).await.status(),
            StatusCode::OK,
            "{username}"
        );
        let again: Value = app
            .sign_in_response(username, "quiet-river-lantern-42")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(again["user"]["password_change_due"], false, "{username}");
    }
}

/// Someone who lost their sign-in (a forgotten password, a lost authenticator, a locked name)
/// gets back in through the bank: a teller, for a customer, or an admin, for staff, chooses a
/// password that must be replaced before anything else. The second factor, every session and
/// the name's lock go with the old password, and the reset is audited. No one else may do it,
/// and a weak password changes nothing.
#[tokio::test]
async fn a_lost_sign_in_is_reset_by_the_bank_and_must_be_replaced() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let admin = app.sign_in(crate::app::ADMIN).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    crate::security::enrolled(&app, &alice.token).await;
    for _ in 0..6 {
        app.sign_in_response("alice", "not-her-password").await;
    }
    let locked = app.sign_in_response("alice", "alice-test-password").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);

    let path = format!("/v1/customers/{}/sign-in-reset", alice.id);
    let chosen = json!({ "password": "counter-chosen-river-lamp" });
    for (who, token) in [("bob", &bob.token), ("the admin", &admin)] {
        let refused = app.post(&path, token, &chosen).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{who}");
    }
    // Her name and birth year run together, at the counter as anywhere.
    let weak = app
        .post(&path, &teller, &json!({ "password": "customeralice1980" }))
        .await;
    assert_eq!(problem_code(weak).await, "weak_password");
    assert_eq!(
        app.get("/v1/me", &alice.token).await.status(),
        StatusCode::OK
    );
    let nobody = format!("/v1/customers/{}/sign-in-reset", uuid::Uuid::new_v4());
    let missing = app.post(&nobody, &teller, &chosen).await;
    assert_eq!(problem_code(missing).await, "customer_not_found");

    let reset = app.post(&path, &teller, &chosen).await;
    assert_eq!(reset.status(), StatusCode::OK);
    let reset: Value = reset.json().await.unwrap();
    assert_eq!(reset["username"], "alice");
    assert_eq!(reset["second_factor_removed"], true);
    assert!(reset["sessions_ended"].as_u64().unwrap() >= 1, "{reset}");
    // Her session and old password are gone; the new one signs in at once (no lock, no code)
    // and opens nothing until she has replaced it.
    assert_eq!(
        app.get("/v1/me", &alice.token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let old = app.sign_in_response("alice", "alice-test-password").await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let session = app
        .sign_in_response("alice", "counter-chosen-river-lamp")
        .await;
    assert_eq!(session.status(), StatusCode::CREATED);
    let session: Value = session.json().await.unwrap();
    assert_eq!(session["user"]["password_change_due"], true);
    let token = session["token"].as_str().unwrap();
    let refused = app.get("/v1/accounts", token).await;
    assert_eq!(problem_code(refused).await, "password_change_required");
    let replaced = app
        .post(
            "/v1/me/password",
            token,
            &json!({ "current_password": "counter-chosen-river-lamp",
                     "new_password": "her-own-quiet-harbour-choice" }),
        )
        .await;
    assert_eq!(replaced.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/v1/accounts", token).await.status(),
        StatusCode::OK
    );

    // Staff: an admin resets a teller's, never their own; a teller resets no one's.
    let me: Value = app.get("/v1/me", &teller).await.json().await.unwrap();
    let teller_id = me["user"]["id"].as_str().unwrap().to_owned();
    let me: Value = app.get("/v1/me", &admin).await.json().await.unwrap();
    let admin_id = me["user"]["id"].as_str().unwrap().to_owned();
    let staff_path = |id: &str| format!("/v1/admin/staff/{id}/sign-in-reset");
    let chosen = json!({ "password": "admin-chosen-copper-kettle" });
    let own = app.post(&staff_path(&admin_id), &admin, &chosen).await;
    assert_eq!(problem_code(own).await, "own_access");
    let by_teller = app.post(&staff_path(&admin_id), &teller, &chosen).await;
    assert_eq!(by_teller.status(), StatusCode::FORBIDDEN);
    // A customer is no member of staff.
    let me: Value = app.get("/v1/me", token).await.json().await.unwrap();
    let alice_id = me["user"]["id"].as_str().unwrap().to_owned();
    let not_staff = app.post(&staff_path(&alice_id), &admin, &chosen).await;
    assert_eq!(problem_code(not_staff).await, "staff_not_found");
    let reset = app.post(&staff_path(&teller_id), &admin, &chosen).await;
    assert_eq!(reset.status(), StatusCode::OK);
    let reset: Value = reset.json().await.unwrap();
    assert_eq!(reset["username"], TELLER.0);
    assert_eq!(reset["second_factor_removed"], false);
    assert_eq!(
        app.get("/v1/me", &teller).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let session: Value = app
        .sign_in_response(TELLER.0, "admin-chosen-copper-kettle")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["password_change_due"], true);

    let audit: Value = app
        .get("/v1/audit?action=user.sign_in_reset", &admin)
        .await
        .json()
        .await
        .unwrap();
    let records = audit["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{audit}");
    let subjects: Vec<&str> = records
        .iter()
        .map(|r| r["subject_id"].as_str().unwrap())
        .collect();
    assert!(subjects.contains(&alice_id.as_str()) && subjects.contains(&teller_id.as_str()));
    assert!(
        records
            .iter()
            .all(|r| r["after"]["password_change_due"] == true)
    );
    // Nothing of the chosen password reaches the record.
    assert!(!audit.to_string().contains("chosen"), "{audit}");
}

/// A session's own change to its sign-in, under way when a reset ended that session, yields to
/// the reset: it waits for the row the reset holds, finds its session ended, and changes nothing
/// (else whoever took the account over keeps it, with the password they chose).
#[tokio::test]
async fn a_password_change_under_way_yields_to_a_reset_that_ends_its_session() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let held = data::testing::hold_user(&app.database_url, "alice").await;
    let body = json!({ "current_password": "alice-test-password",
                       "new_password": "taken-over-quiet-harbour" });
    let change = app.post("/v1/me/password", &alice.token, &body);
    let reset = async {
        // Long enough for the change to check the password, hash the new one and wait.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        held.end_sessions().await;
    };
    let (answer, ()) = tokio::join!(change, reset);
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(answer).await, "session_invalid");
    let taken = app
        .sign_in_response("alice", "taken-over-quiet-harbour")
        .await;
    assert_eq!(taken.status(), StatusCode::UNAUTHORIZED);
    let still = app.sign_in_response("alice", "alice-test-password").await;
    assert_eq!(still.status(), StatusCode::CREATED);
}

/// A teller resets the customer's sign-in to `counter-chosen-river-lamp`; the session token
/// its holder then signs in with (due to replace that password).
pub async fn reset_at_the_counter(
    app: &TestApp,
    teller: &str,
    customer: &crate::app::Customer,
    username: &str,
) -> String {
    let reset = app
        .post(
            &format!("/v1/customers/{}/sign-in-reset", customer.id),
            teller,
            &json!({ "password": "counter-chosen-river-lamp" }),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    let session: Value = app
        .sign_in_response(username, "counter-chosen-river-lamp")
        .await
        .json()
        .await
        .unwrap();
    session["token"].as_str().unwrap().to_owned()
}

/// The kinds of a page of `/v1/me/security-activity`, newest first, and the page itself.
async fn activity(app: &TestApp, token: &str, query: &str) -> (Vec<String>, Value) {
    let response = app
        .get(&format!("/v1/me/security-activity{query}"), token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    let kinds = page["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["kind"].as_str().unwrap().to_owned())
        .collect();
    (kinds, page)
}

#[tokio::test]
async fn a_user_sees_what_happened_to_their_own_sign_in_and_no_one_elses() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let guess = app
        .request(Method::POST, "/v1/sessions", None)
        .header("x-end-user-ip", "198.18.7.7")
        .header("x-end-user-agent", "Mozilla/5.0 Firefox/140.0")
        .json(&json!({ "username": "alice", "password": "someone-guessing-this" }))
        .send()
        .await
        .unwrap();
    assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    let changed = app
        .post("/v1/me/password", &alice.token, &json!({ "current_password": "alice-test-password", "new_password": "a-brand-new-password" }))
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let token = &reset_at_the_counter(&app, &teller, &alice, "alice").await;
    // Until the bank's password is replaced, not even this opens.
    let refused = app.get("/v1/me/security-activity", token).await;
    assert_eq!(problem_code(refused).await, "password_change_required");
    let replaced = app
        .post(
            "/v1/me/password",
            token,
            &json!({ "current_password": "counter-chosen-river-lamp",
                     "new_password": "her-own-quiet-harbour-choice" }),
        )
        .await;
    assert_eq!(replaced.status(), StatusCode::NO_CONTENT);

    let (kinds, page) = activity(&app, token, "").await;
    assert_eq!(
        kinds,
        [
            "password_changed",
            "signed_in",
            "sign_in_reset",
            "password_changed",
            "sign_in_failed",
            // Her first sign-in, replacing the teller's password.
            "password_changed",
            "signed_in",
        ],
        "{page}"
    );
    let items = page["activity"].as_array().unwrap();
    assert_eq!(items[2]["by_bank"], true, "the reset was the bank's");
    assert!(
        items
            .iter()
            .enumerate()
            .all(|(i, item)| i == 2 || item["by_bank"] == false),
        "{page}"
    );
    assert_eq!(items[4]["client_ip"], "198.18.7.7");
    assert_eq!(items[4]["user_agent"], "Mozilla/5.0 Firefox/140.0");
    assert!(page["next_cursor"].is_null());

    // Page by page, the same list; a cursor is no way into another user's.
    let (first, page) = activity(&app, token, "?limit=4").await;
    assert_eq!(first, kinds[..4]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (rest, page) = activity(&app, token, &format!("?limit=4&cursor={cursor}")).await;
    assert_eq!(rest, kinds[4..]);
    assert!(page["next_cursor"].is_null());
    let (bobs, _) = activity(&app, &bob.token, "").await;
    assert_eq!(bobs, ["password_changed", "signed_in"]);
    let (bobs_after_hers, _) = activity(&app, &bob.token, &format!("?cursor={cursor}")).await;
    assert_eq!(bobs_after_hers, bobs);
    // The teller's own list holds their sign-in, not the reset they made.
    let (tellers, _) = activity(&app, &teller, "").await;
    assert_eq!(tellers, ["signed_in"]);
    // An address is an address: a caller's prose is not shown to the holder as one.
    let prose = app
        .request(Method::POST, "/v1/sessions", None)
        .header("x-end-user-ip", "London - your usual device")
        .json(&json!({ "username": "bob", "password": "bob-test-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(prose.status(), StatusCode::CREATED);
    let (_, page) = activity(&app, &bob.token, "?limit=1").await;
    assert_eq!(page["activity"][0]["kind"], "signed_in");
    assert!(page["activity"][0]["client_ip"].is_null(), "{page}");
    for query in ["?cursor=garbage", "?limit=0", "?limit=101"] {
        let response = app
            .get(&format!("/v1/me/security-activity{query}"), token)
            .await;
        assert_eq!(problem_code(response).await, "invalid_query", "{query}");
    }
}

#[tokio::test]
async fn none_of_the_last_four_passwords_is_chosen_again_not_even_after_a_reset() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let change = |token: String, current: &'static str, new: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/v1/me/password",
                &token,
                &json!({ "current_password": current, "new_password": new }),
            )
            .await
        }
    };
    let changed = change(
        alice.token.clone(),
        "alice-test-password",
        "a-brand-new-password",
    )
    .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let back = change(
        alice.token.clone(),
        "a-brand-new-password",
        "alice-test-password",
    )
    .await;
    assert_eq!(back.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_code(back).await, "password_reused");

    // Nor may the teller hand her the password she has, or one she had: a reset is for a password
    // that leaked. The refusal changes nothing: her session and password stand.
    for used in ["a-brand-new-password", "alice-test-password"] {
        let refused = app
            .post(
                &format!("/v1/customers/{}/sign-in-reset", alice.id),
                &teller,
                &json!({ "password": used }),
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{used}");
        assert_eq!(problem_code(refused).await, "password_reused", "{used}");
        assert_eq!(
            app.get("/v1/accounts", &alice.token).await.status(),
            StatusCode::OK
        );
    }

    // The bank resets her sign-in (the old password may have leaked): she may not go back to it,
    // nor to any password she had before, not even the teller's first one.
    let token = reset_at_the_counter(&app, &teller, &alice, "alice").await;
    for used in [
        "a-brand-new-password",
        "alice-test-password",
        "alice-teller-chose-this-one",
    ] {
        let refused = change(token.clone(), "counter-chosen-river-lamp", used).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{used}");
        assert_eq!(problem_code(refused).await, "password_reused", "{used}");
        // Nothing changed: the bank's password still must be replaced, and still opens.
        let still = app.get("/v1/accounts", &token).await;
        assert_eq!(problem_code(still).await, "password_change_required");
    }
    let replaced = change(
        token.clone(),
        "counter-chosen-river-lamp",
        "her-own-quiet-harbour-choice",
    )
    .await;
    assert_eq!(replaced.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/v1/accounts", &token).await.status(),
        StatusCode::OK
    );
    // Four replacements today (the teller's first password, hers, the bank's reset, the bank's
    // password): no more until tomorrow, so five quick changes cannot bring an old one back.
    let again = change(
        token.clone(),
        "her-own-quiet-harbour-choice",
        "yet-another-fresh-passphrase",
    )
    .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem_code(again).await, "password_change_limit");
    app.sign_in(("alice", "her-own-quiet-harbour-choice")).await;
}
