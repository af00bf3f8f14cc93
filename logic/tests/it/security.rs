use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

use crate::app::{TELLER, TestApp, problem_code};

pub fn code_for(secret_base32: &str, step_offset: i64) -> String {
    let secret = Secret::try_from_base32(secret_base32).unwrap();
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(secret.as_bytes().to_vec())
        .with_account_name("x")
        .build()
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + step_offset * 30;
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

/// Turns two-step sign-in on for the session's user; returns the secret (step 0 is spent).
pub async fn enrolled(app: &TestApp, token: &str) -> String {
    let enrolment: Value = app
        .post("/v1/me/totp", token, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let confirmed = app
        .post(
            "/v1/me/totp/confirm",
            token,
            &json!({ "code": code_for(&secret, 0) }),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    secret
}

#[tokio::test]
async fn a_customer_enrols_totp_and_then_signs_in_with_a_code_or_a_recovery_code() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let enrolment: Value = app
        .post("/v1/me/totp", &alice.token, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    assert!(
        enrolment["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let wrong = app
        .post(
            "/v1/me/totp/confirm",
            &alice.token,
            &json!({ "code": "000000" }),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let enrolment_code = code_for(&secret, 0);
    let confirmed = app
        .post(
            "/v1/me/totp/confirm",
            &alice.token,
            &json!({ "code": enrolment_code }),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let codes: Value = confirmed.json().await.unwrap();
    let recovery = codes["recovery_codes"][0].as_str().unwrap().to_owned();
    let me: Value = app.get("/v1/me", &alice.token).await.json().await.unwrap();
    assert_eq!(me["totp_enabled"], true);

    // The password alone no longer signs in: it asks for the second factor.
    let first = app.sign_in_response("alice", "alice-test-password").await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let challenge = first.json::<Value>().await.unwrap()["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_factor = |code: String| {
        let (app, challenge) = (&app, challenge.clone());
        async move {
            app.request(Method::POST, "/v1/sessions/second-factor", None)
                .json(&json!({ "challenge": challenge, "code": code }))
                .send()
                .await
                .unwrap()
        }
    };
    let bad = second_factor("123456".into()).await;
    assert_eq!(problem_code(bad).await, "invalid_second_factor");
    // The code that confirmed enrolment was used already: it is not accepted again.
    let replayed = second_factor(enrolment_code.clone()).await;
    assert_eq!(problem_code(replayed).await, "invalid_second_factor");
    let next = second_factor(code_for(&secret, 1)).await;
    assert_eq!(next.status(), StatusCode::CREATED);
    let token = next.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get("/v1/me", &token).await.status(), StatusCode::OK);
    // A used challenge is spent.
    assert_eq!(
        problem_code(second_factor(code_for(&secret, 1)).await).await,
        "challenge_invalid"
    );

    let again = app.sign_in_response("alice", "alice-test-password").await;
    let challenge = again.json::<Value>().await.unwrap()["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let with_recovery = app
        .request(Method::POST, "/v1/sessions/second-factor", None)
        .json(&json!({ "challenge": challenge, "code": recovery }))
        .send()
        .await
        .unwrap();
    assert_eq!(with_recovery.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_challenge_allows_five_attempts() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let secret = enrolled(&app, &alice.token).await;
    let response = app.sign_in_response("alice", "alice-test-password").await;
    let challenge = response.json::<Value>().await.unwrap()["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..5 {
        let response = app
            .request(Method::POST, "/v1/sessions/second-factor", None)
            .json(&json!({ "challenge": challenge, "code": "111111" }))
            .send()
            .await
            .unwrap();
        assert_eq!(problem_code(response).await, "invalid_second_factor");
    }
    let response = app
        .request(Method::POST, "/v1/sessions/second-factor", None)
        .json(&json!({ "challenge": challenge, "code": code_for(&secret, 1) }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem_code(response).await, "challenge_invalid");
}

#[tokio::test]
async fn changing_the_password_signs_other_sessions_out() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let other = app.sign_in(("alice", "alice-test-password")).await;
    let sessions: Value = app
        .get("/v1/me/sessions", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 2);
    let wrong = app
        .post("/v1/me/password", &alice.token, &json!({ "current_password": "nope-nope-nope", "new_password": "a-brand-new-password" }))
        .await;
    assert_eq!(problem_code(wrong).await, "invalid_current_password");
    let changed = app
        .post("/v1/me/password", &alice.token, &json!({ "current_password": "alice-test-password", "new_password": "a-brand-new-password" }))
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/v1/me", &other).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/v1/me", &alice.token).await.status(),
        StatusCode::OK
    );
    app.sign_in(("alice", "a-brand-new-password")).await;
}

#[tokio::test]
async fn customers_save_pay_and_remove_payees() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let bobs = app.account(&teller, &bob, "0").await;
    let added = app
        .post(
            "/v1/payees",
            &alice.token,
            &json!({ "nickname": "Bob", "account_number": bobs, "step_up": { "password": "alice-test-password" } }),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let id = added.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let duplicate = app
        .post(
            "/v1/payees",
            &alice.token,
            &json!({ "nickname": "bob", "account_number": bobs, "step_up": { "password": "alice-test-password" } }),
        )
        .await;
    assert_eq!(problem_code(duplicate).await, "nickname_taken");
    let unknown = logic::domain::account_number::random_customer().to_string();
    let nobody = app
        .post(
            "/v1/payees",
            &alice.token,
            &json!({ "nickname": "X", "account_number": unknown, "step_up": { "password": "alice-test-password" } }),
        )
        .await;
    assert_eq!(nobody.status(), StatusCode::NOT_FOUND);
    let list: Value = app
        .get("/v1/payees", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["payees"][0]["account_number"], bobs.as_str());
    // Bob cannot remove Alice's payee; Alice can.
    let theirs = app
        .request(
            Method::DELETE,
            &format!("/v1/payees/{id}"),
            Some(&bob.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let removed = app
        .request(
            Method::DELETE,
            &format!("/v1/payees/{id}"),
            Some(&alice.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_statement_states_opening_and_closing_balances_and_totals() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &alice, "0").await;
    app.transfer(&alice.token, "a", &from, &to, "30.00").await;
    app.transfer(&alice.token, "b", &to, &from, "5.50").await;
    let today = time::OffsetDateTime::now_utc().date();
    let statement: Value = app
        .get(
            &format!("/v1/accounts/{from}/statement?from={today}&to={today}"),
            &alice.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(statement["opening_balance"], "0.00");
    assert_eq!(statement["closing_balance"], "75.50");
    assert_eq!(statement["total_in"], "105.50");
    assert_eq!(statement["total_out"], "30.00");
    assert_eq!(statement["entries"].as_array().unwrap().len(), 3);
    let tomorrow = today.next_day().unwrap();
    let later: Value = app
        .get(
            &format!("/v1/accounts/{from}/statement?from={tomorrow}&to={tomorrow}"),
            &alice.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(later["opening_balance"], "75.50");
    assert_eq!(later["closing_balance"], "75.50");
}

#[tokio::test]
async fn history_filters_by_text_and_a_transfer_is_found_by_its_key() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let from = app.account(&teller, &alice, "100.00").await;
    let to = app.account(&teller, &alice, "0").await;
    app.post_idempotent("/v1/transfers", &alice.token, "rent", &json!({ "debit_account": from, "credit_account": to, "amount": "10.00", "currency": "EUR", "memo": "Rent 100%" })).await;
    app.post_idempotent("/v1/transfers", &alice.token, "food", &json!({ "debit_account": from, "credit_account": to, "amount": "2.00", "currency": "EUR", "memo": "Groceries" })).await;
    let found: Value = app
        .get(
            &format!("/v1/accounts/{from}/entries?q=rent%20100%25"),
            &alice.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["entries"].as_array().unwrap().len(), 1);
    assert_eq!(found["entries"][0]["memo"], "Rent 100%");
    let none: Value = app
        .get(
            &format!("/v1/accounts/{from}/entries?q=%25%25x"),
            &alice.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["entries"], json!([]));

    let by_key: Value = app
        .get("/v1/transfers?idempotency_key=rent", &alice.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_key["memo"], "Rent 100%");
    let missing = app
        .get("/v1/transfers?idempotency_key=never-sent", &alice.token)
        .await;
    assert_eq!(problem_code(missing).await, "transfer_not_found");
    // Keys belong to their user.
    let bob = app.customer(&teller, "bob").await;
    assert_eq!(
        app.get("/v1/transfers?idempotency_key=rent", &bob.token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_the_presentation_service_keeps_portal_sessions() {
    let app = TestApp::spawn().await;
    let key = "ab".repeat(32);
    let record = json!({ "payload": "aGVsbG8=", "expires_at": "2099-01-01T00:00:00Z" });
    let refused = app
        .request(Method::PUT, &format!("/v1/portal-sessions/{key}"), None)
        .json(&record)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let portal_key = logic::auth::secrets::generate("bsk");
    let mut conn = app.state.pool.acquire().await.unwrap();
    data::sessions::insert_service_client(
        &mut conn,
        uuid::Uuid::new_v4(),
        "presentation",
        &logic::auth::secrets::digest(&portal_key),
    )
    .await
    .unwrap();
    let portal = |method: Method| {
        app.http
            .request(method, app.url(&format!("/v1/portal-sessions/{key}")))
            .header("x-api-key", &portal_key)
    };
    assert_eq!(
        portal(Method::POST)
            .json(&record)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        portal(Method::POST)
            .json(&record)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CONFLICT
    );
    let loaded: Value = portal(Method::GET)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(loaded["payload"], "aGVsbG8=");
    assert_eq!(
        portal(Method::DELETE).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        portal(Method::GET).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn wrong_codes_are_limited_per_account_across_challenges() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let secret = enrolled(&app, &alice.token).await;
    let password = std::cell::Cell::new("alice-test-password");
    let challenge = || async {
        let response = app.sign_in_response("alice", password.get()).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        response.json::<Value>().await.unwrap()["challenge"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let answer = |challenge: String, code: String| {
        let app = &app;
        async move {
            app.request(Method::POST, "/v1/sessions/second-factor", None)
                .json(&json!({ "challenge": challenge, "code": code }))
                .send()
                .await
                .unwrap()
        }
    };
    // New challenges buy no new guesses: two challenges' worth of wrong codes use the account's.
    let per_challenge = 5;
    let limit = logic::throttle::SECOND_FACTOR_FAILURES_BEFORE_LOCK;
    for _ in 0..limit / per_challenge {
        let challenge = challenge().await;
        for _ in 0..per_challenge {
            let response = answer(challenge.clone(), "000001".to_owned()).await;
            assert_eq!(problem_code(response).await, "invalid_second_factor");
        }
    }
    // A fresh challenge with the right code waits out the lock.
    let response = answer(challenge().await, code_for(&secret, 0)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(problem_code(response).await, "second_factor_throttled");

    // A reset at the counter lifts that lock with the rest: she chooses her password, enrols a
    // new authenticator, and its first code signs her in.
    let token = crate::sessions::reset_at_the_counter(&app, &teller, &alice, "alice").await;
    let replaced = app
        .post(
            "/v1/me/password",
            &token,
            &json!({ "current_password": "counter-chosen-river-lamp",
                     "new_password": "her-own-quiet-harbour-choice" }),
        )
        .await;
    assert_eq!(replaced.status(), StatusCode::NO_CONTENT);
    password.set("her-own-quiet-harbour-choice");
    let secret = enrolled(&app, &token).await;
    let response = answer(challenge().await, code_for(&secret, 1)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // Each wrong code after her right password is hers to see: someone had the password.
    let activity: Value = app
        .get("/v1/me/security-activity?limit=100", &token)
        .await
        .json()
        .await
        .unwrap();
    let wrong_codes = activity["activity"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["kind"] == "second_factor_failed")
        .count();
    assert_eq!(wrong_codes, limit as usize, "{activity}");
}

#[tokio::test]
async fn replacing_the_second_factor_needs_the_password_and_a_current_code() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let secret = enrolled(&app, &alice.token).await;
    // A token alone (stolen, say) cannot replace it, nor with one proof of the two.
    for (body, code) in [
        (json!({}), "reauthentication_required"),
        (
            json!({ "password": "alice-test-password" }),
            "reauthentication_required",
        ),
        (
            json!({ "password": "not-her-password", "code": code_for(&secret, 0) }),
            "invalid_current_password",
        ),
        (
            json!({ "password": "alice-test-password", "code": "000001" }),
            "invalid_second_factor",
        ),
    ] {
        let response = app.post("/v1/me/totp", &alice.token, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        assert_eq!(problem_code(response).await, code, "{body}");
    }
    // The field named is the one missing.
    let response = app
        .post(
            "/v1/me/totp",
            &alice.token,
            &json!({ "password": "alice-test-password" }),
        )
        .await;
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["field"], "code");
    // A first enrolment needs no body at all.
    let bob = app.customer(&teller, "bob").await;
    let response = app
        .request(Method::POST, "/v1/me/totp", Some(&bob.token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // With both, a new secret is issued (the old one stays until the new one is confirmed).
    let response = app
        .post(
            "/v1/me/totp",
            &alice.token,
            &json!({ "password": "alice-test-password", "code": code_for(&secret, 1) }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let replacement: Value = response.json().await.unwrap();
    assert_ne!(replacement["secret"], secret.as_str());
}

#[tokio::test]
async fn a_session_guessing_its_own_password_is_throttled_like_a_sign_in() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let change = |current: &str| json!({ "current_password": current, "new_password": "a-brand-new-password" });
    for n in 0..logic::throttle::FAILURES_BEFORE_LOCK {
        let response = app
            .post(
                "/v1/me/password",
                &alice.token,
                &change(&format!("guess-{n}-guess")),
            )
            .await;
        assert_eq!(problem_code(response).await, "invalid_current_password");
    }
    // Locked: even the right one waits, and so does signing in by that name.
    let response = app
        .post(
            "/v1/me/password",
            &alice.token,
            &change("alice-test-password"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let response = app.sign_in_response("alice", "alice-test-password").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// A second-factor challenge for the user, then the answer to it with `code`.
async fn answer_challenge(app: &TestApp, username: &str, code: &str) -> reqwest::Response {
    let first = app
        .sign_in_response(username, &format!("{username}-test-password"))
        .await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let challenge = first.json::<Value>().await.unwrap()["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    app.request(Method::POST, "/v1/sessions/second-factor", None)
        .json(&json!({ "challenge": challenge, "code": code }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_database_alone_yields_no_second_factor_and_no_recovery_code() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let enrolment: Value = app
        .post("/v1/me/totp", &alice.token, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let codes: Value = app
        .post(
            "/v1/me/totp/confirm",
            &alice.token,
            &json!({ "code": code_for(&secret, 0) }),
        )
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<String> = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let bob_secret = enrolled(&app, &bob.token).await;

    // What a stolen backup shows: the secret sealed (not its bytes), the codes under a key.
    let (stored, digests) = data::testing::stored_second_factor(&app.database_url, "alice").await;
    let stored = stored.unwrap();
    let raw = Secret::try_from_base32(&secret)
        .unwrap()
        .as_bytes()
        .to_vec();
    assert!(!stored.windows(raw.len()).any(|w| w == raw.as_slice()));
    assert_eq!(digests.len(), 10);
    for code in &codes {
        // 20 characters of 31: about 99 bits.
        assert_eq!(code.replace('-', "").len(), 20, "{code}");
        for form in [code.clone(), code.replace('-', "")] {
            assert!(!digests.contains(&logic::auth::secrets::digest(&form)));
        }
    }

    // Alice's sealed secret copied onto Bob's row does not open there: Alice's codes do not
    // sign Bob in.
    let (bobs, _) = data::testing::stored_second_factor(&app.database_url, "bob").await;
    data::testing::overwrite_totp_secret(&app.database_url, "bob", &stored).await;
    let moved = answer_challenge(&app, "bob", &code_for(&secret, 1)).await;
    assert_ne!(moved.status(), StatusCode::CREATED);
    data::testing::overwrite_totp_secret(&app.database_url, "bob", &bobs.unwrap()).await;

    // A recovery code typed in capitals with spaces still signs in, once.
    let typed = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(
        answer_challenge(&app, "alice", &typed).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        problem_code(answer_challenge(&app, "alice", &codes[0]).await).await,
        "invalid_second_factor"
    );

    // A secret stored in the clear before sealing still works, and is sealed on its first use.
    data::testing::overwrite_totp_secret(&app.database_url, "alice", &raw).await;
    assert_eq!(
        answer_challenge(&app, "alice", &code_for(&secret, 1))
            .await
            .status(),
        StatusCode::CREATED
    );
    let (resealed, _) = data::testing::stored_second_factor(&app.database_url, "alice").await;
    let resealed = resealed.unwrap();
    assert_ne!(resealed, raw);
    assert!(!resealed.windows(raw.len()).any(|w| w == raw.as_slice()));

    // `logic seal-secrets` (which `up` runs) seals what is still in the clear without waiting.
    let bob_raw = Secret::try_from_base32(&bob_secret)
        .unwrap()
        .as_bytes()
        .to_vec();
    data::testing::overwrite_totp_secret(&app.database_url, "bob", &bob_raw).await;
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_logic"))
        .arg("seal-secrets")
        .env("BANK_DATABASE_URL", &app.database_url)
        .env("BANK_SECRETS_KEY_FILE", data::testing::server_key_file())
        .output()
        .unwrap();
    assert!(cli.status.success(), "{cli:?}");
    assert!(
        String::from_utf8_lossy(&cli.stdout).contains("of 1 users"),
        "{cli:?}"
    );
    let (sealed, _) = data::testing::stored_second_factor(&app.database_url, "bob").await;
    let sealed = sealed.unwrap();
    assert!(
        !sealed
            .windows(bob_raw.len())
            .any(|w| w == bob_raw.as_slice())
    );
    assert_eq!(
        answer_challenge(&app, "bob", &code_for(&bob_secret, 1))
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_form_token_is_accepted_once_per_user() {
    let app = TestApp::spawn().await;
    let teller = app.sign_in(TELLER).await;
    let alice = app.customer(&teller, "alice").await;
    let bob = app.customer(&teller, "bob").await;
    let token = "kW3v9xQ0aZ7mN2pL5sT8uY1bC4dE6fG";
    let body = json!({ "token": token });
    let send = |who: String| {
        let body = body.clone();
        let app = &app;
        async move { app.post("/v1/me/form-submissions", &who, &body).await }
    };

    let first = send(alice.token.clone()).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let again = send(alice.token.clone()).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(problem_code(again).await, "form_already_sent");
    // Another session of the same user is the same user: still refused.
    let other = app.sign_in(("alice", "alice-test-password")).await;
    assert_eq!(
        problem_code(send(other.clone()).await).await,
        "form_already_sent"
    );
    // Tokens are the user's own: the same text from someone else is their first sending.
    assert_eq!(
        send(bob.token.clone()).await.status(),
        StatusCode::NO_CONTENT
    );

    // Sent at once from many connections, one wins.
    let racing = "R4c3R4c3R4c3R4c3R4c3R4c3R4c3R4c3";
    let racing = json!({ "token": racing });
    let answers = futures::future::join_all(
        (0..8).map(|_| app.post("/v1/me/form-submissions", &alice.token, &racing)),
    )
    .await;
    let firsts = answers
        .iter()
        .filter(|r| r.status() == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(firsts, 1);

    for bad in ["short", &"x".repeat(129), "has a space in it, see: no good"] {
        let refused = app
            .post(
                "/v1/me/form-submissions",
                &alice.token,
                &json!({ "token": bad }),
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(problem_code(refused).await, "invalid_field");
    }
    let anonymous = app
        .request(reqwest::Method::POST, "/v1/me/form-submissions", None)
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
