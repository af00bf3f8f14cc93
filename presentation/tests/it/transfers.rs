//! Moving money through the portal: review, confirm, double submission, refusals next to their
//! field, and an outcome the logic tier could not confirm.

use reqwest::StatusCode;

use crate::portal::{ALICE, BOB, Client, LogicProxy, Portal};

struct Transfer {
    csrf: String,
    key: String,
    from: String,
    to: String,
}

async fn start(browser: &Client, from: &str, to: &str) -> Transfer {
    let form = browser.get("/transfer").await;
    assert_eq!(form.status, StatusCode::OK);
    Transfer {
        csrf: form.csrf(),
        key: form.hidden("idempotency_key"),
        from: from.to_owned(),
        to: to.to_owned(),
    }
}

impl Transfer {
    fn fields<'a>(&'a self, amount: &'a str, memo: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("csrf_token", &self.csrf),
            ("idempotency_key", &self.key),
            ("from_account", &self.from),
            ("to_account", ""),
            ("to_number", &self.to),
            ("amount", amount),
            ("memo", memo),
            // Alice pays Bob, whom she has not saved: she approves with her password.
            ("step_up_password", ALICE.1),
        ]
    }
}

#[tokio::test]
async fn a_transfer_goes_through_review_and_confirm_and_a_double_click_moves_money_once() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let from = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let to = portal.accounts(BOB).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let transfer = start(&browser, &from, &to).await;
    let before = portal.transfer_count().await;

    let review = browser
        .post("/transfer/review", &transfer.fields("125.50", "Dinner"))
        .await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(
        review
            .body
            .contains("data-testid=\"review-amount\">125.50 EUR")
    );
    let to_line = review
        .body
        .split("data-testid=\"review-to\">")
        .nth(1)
        .unwrap()
        .split("</dd>")
        .next()
        .unwrap();
    // A number typed without a name: the review says so, and tells no stranger's name.
    assert!(
        to_line.starts_with("The account number you entered · "),
        "{to_line}"
    );
    assert!(!review.body.contains("Okafor"));
    assert!(
        review.body.contains("2,374.50 EUR"),
        "the available balance afterwards is stated"
    );
    assert_eq!(
        portal.transfer_count().await,
        before,
        "reviewing moves nothing"
    );

    let fields = transfer.fields("125.50", "Dinner");
    let (first, second) = tokio::join!(
        browser.post("/transfer/confirm", &fields),
        browser.post("/transfer/confirm", &fields),
    );
    let again = browser
        .post("/transfer/confirm", &transfer.fields("125.50", "Dinner"))
        .await;
    for page in [&first, &second, &again] {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location, first.location);
    }
    assert_eq!(
        portal.transfer_count().await,
        before + 1,
        "three confirmations, one transfer"
    );
    let receipt = browser.follow(&first).await;
    assert!(
        receipt
            .body
            .contains("data-testid=\"receipt-amount\">125.50 EUR")
    );
    assert!(
        receipt
            .body
            .contains("data-testid=\"receipt-available\">2,374.50 EUR")
    );
    // A refresh of the receipt shows the same transfer and moves nothing (its forms' single-use
    // tokens are fresh, the rest is the same).
    let without_tokens = |page: &crate::portal::Page| page.body.replace(&page.csrf(), "");
    let refreshed = browser.follow(&first).await;
    assert_eq!(without_tokens(&refreshed), without_tokens(&receipt));
    assert_eq!(portal.transfer_count().await, before + 1);
}

#[tokio::test]
async fn refusals_are_explained_next_to_the_field_they_concern() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let from = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let to = portal.accounts(BOB).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let transfer = start(&browser, &from, &to).await;
    let before = portal.transfer_count().await;
    for (amount, expected) in [
        ("0", "Enter an amount greater than zero"),
        ("12.3456", "Enter an amount greater than zero"),
        ("lots", "Enter an amount greater than zero"),
        ("1e3", "Enter an amount greater than zero"),
        ("-5", "Enter an amount greater than zero"),
        ("12.345", "This could be read two ways"),
        ("1,000", "This could be read two ways"),
        ("999999.00", "There is not enough money available"),
    ] {
        let page = browser
            .post("/transfer/review", &transfer.fields(amount, ""))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{amount}");
        let error = page
            .body
            .split("id=\"amount-error\">")
            .nth(1)
            .unwrap_or_else(|| panic!("{amount}: {}", page.body));
        assert!(error.starts_with(expected), "{amount}: {error}");
        assert!(page.body.contains("aria-invalid=\"true\""));
    }
    // A typing mistake in the number is caught by its check digit at review, before the logic
    // tier is asked anything.
    let mut mistyped = transfer.fields("1.00", "");
    let swapped: String = {
        let mut digits: Vec<char> = to.chars().collect();
        let at = (0..9).find(|&i| digits[i] != digits[i + 1]).unwrap();
        digits.swap(at, at + 1);
        digits.into_iter().collect()
    };
    mistyped[4] = ("to_number", &swapped);
    let page = browser.post("/transfer/review", &mistyped).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        to_error(&page.body).starts_with("This is not a valid account number"),
        "{}",
        page.body
    );
    // An account that does not exist, or cannot receive, is refused at review, beside the
    // destination, before "Confirm and send" is ever offered; and again if the confirm is sent
    // by hand.
    let mut unknown = transfer.fields("1.00", "");
    let nowhere = logic::domain::account_number::random_customer().to_string();
    unknown[4] = ("to_number", &nowhere);
    for step in ["/transfer/review", "/transfer/confirm"] {
        let page = browser.post(step, &unknown).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{step}");
        assert!(
            to_error(&page.body).starts_with("We could not find an open account"),
            "{step}: {}",
            page.body
        );
        assert!(!page.body.contains("id=\"confirm\""), "{step}");
    }
    portal
        .set_status(&to, data::accounts::AccountStatus::Frozen)
        .await;
    let page = browser
        .post("/transfer/review", &transfer.fields("1.00", ""))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        to_error(&page.body).starts_with("The account you are paying cannot receive money"),
        "{}",
        page.body
    );
    portal
        .set_status(&to, data::accounts::AccountStatus::Open)
        .await;
    // Over what is left of today's limit: said at review, with the figures.
    portal.set_daily_limit(&from, "EUR", "20.00").await;
    let sent = portal.transfer_as(ALICE, &from, &to, "15.00").await;
    assert_eq!(sent["status"], "posted", "{sent}");
    let page = browser
        .post("/transfer/review", &transfer.fields("5.01", ""))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = page
        .body
        .split("id=\"amount-error\">")
        .nth(1)
        .unwrap_or_default();
    assert!(
        error.starts_with(
            "This transfer would exceed the daily limit of 20.00 EUR; 5.00 EUR is left today."
        ),
        "{}",
        page.body
    );
    let page = browser
        .post("/transfer/review", &transfer.fields("5.00", ""))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("data-testid=\"left-today\">0.00 EUR"),
        "{}",
        page.body
    );
    assert_eq!(portal.transfer_count().await, before + 1);
}

/// Confirmation of Payee: the review names the holder as the bank holds the name and compares it
/// with the name the customer typed; a payee's nickname never stands in for the holder.
#[tokio::test]
async fn the_review_names_the_payee_and_checks_the_name_typed() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let from = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let to = portal.accounts(BOB).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let transfer = start(&browser, &from, &to).await;
    for (typed, verdict, says, named) in [
        ("", None, None, false),
        (
            "bob okafor",
            Some("match"),
            Some("matches the name on this account"),
            true,
        ),
        (
            "B. Okafor",
            Some("close_match"),
            Some("the account is held by <strong>Bob Okafor</strong>"),
            true,
        ),
        (
            "Eve Mallory",
            Some("no_match"),
            Some("does not match the name on this account"),
            false,
        ),
    ] {
        let mut fields = transfer.fields("1.00", "");
        fields.push(("to_name", typed));
        let review = browser.post("/transfer/review", &fields).await;
        assert_eq!(review.status, StatusCode::OK, "{typed}: {}", review.body);
        let to_line = review
            .body
            .split("data-testid=\"review-to\">")
            .nth(1)
            .unwrap();
        // The holder's name only to a customer who knew it: Confirmation of Payee, no directory.
        if named {
            assert!(to_line.starts_with("Bob Okafor · "), "{typed}: {to_line}");
        } else {
            assert!(!review.body.contains("Okafor"), "{typed}: {}", review.body);
        }
        match (verdict, says) {
            (Some(verdict), Some(says)) => {
                assert!(
                    review.body.contains(&format!("data-verdict=\"{verdict}\"")),
                    "{typed}: {}",
                    review.body
                );
                assert!(review.body.contains(says), "{typed}: {}", review.body);
            }
            _ => assert!(!review.body.contains("data-testid=\"name-check\"")),
        }
        // The name travels to the confirm with the rest of the form.
        assert!(
            review
                .body
                .contains(&format!("name=\"to_name\" value=\"{typed}\"")),
            "{typed}"
        );
    }
    // A name that does not match is confirmed only by a customer who says they checked.
    let before = portal.transfer_count().await;
    let mut fields = transfer.fields("1.00", "");
    fields.push(("to_name", "Eve Mallory"));
    let unchecked = browser.post("/transfer/confirm", &fields).await;
    assert_eq!(unchecked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unchecked.body.contains("tick the box"),
        "{}",
        unchecked.body
    );
    assert_eq!(portal.transfer_count().await, before);
    fields.push(("name_checked", "yes"));
    let checked = browser.post("/transfer/confirm", &fields).await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.body);
    assert_eq!(portal.transfer_count().await, before + 1);
}

/// Back from the receipt to the review, change the amount, confirm: the first payment stands,
/// its receipt is not passed off as the answer, and the new details come back for review under
/// a fresh key, to be sent only when confirmed.
#[tokio::test]
async fn a_sent_form_changed_and_confirmed_again_is_reviewed_afresh_not_answered_with_the_old_receipt()
 {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let from = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let to = portal.accounts(BOB).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let transfer = start(&browser, &from, &to).await;
    let before = portal.transfer_count().await;
    let sent = browser
        .post("/transfer/confirm", &transfer.fields("5.00", "Lunch"))
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(portal.transfer_count().await, before + 1);

    let changed = browser
        .post("/transfer/confirm", &transfer.fields("7.00", "Lunch"))
        .await;
    assert_eq!(changed.status, StatusCode::CONFLICT, "{}", changed.body);
    assert!(changed.body.contains("data-testid=\"review-notice\""));
    assert!(
        changed
            .body
            .contains("data-testid=\"review-amount\">7.00 EUR"),
        "{}",
        changed.body
    );
    assert!(
        !changed.body.contains("We moved"),
        "no receipt of the first"
    );
    let fresh_key = changed.hidden("idempotency_key");
    assert_ne!(fresh_key, transfer.key, "a fresh key for the new details");
    assert_eq!(
        portal.transfer_count().await,
        before + 1,
        "nothing more moved"
    );
    // The same changed form sent once more (Back, then the browser's "send again") meets the
    // same key: confirming both reviews moves the new amount once.
    let resent = browser
        .post("/transfer/confirm", &transfer.fields("7.00", "Lunch"))
        .await;
    assert_eq!(resent.status, StatusCode::CONFLICT);
    assert_eq!(resent.hidden("idempotency_key"), fresh_key);

    let again = Transfer {
        key: fresh_key,
        csrf: changed.csrf(),
        from: from.clone(),
        to: to.clone(),
    };
    let confirmed = browser
        .post("/transfer/confirm", &again.fields("7.00", "Lunch"))
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let receipt = browser.follow(&confirmed).await;
    assert!(
        receipt
            .body
            .contains("data-testid=\"receipt-amount\">7.00 EUR")
    );
    let confirmed_again = browser
        .post("/transfer/confirm", &again.fields("7.00", "Lunch"))
        .await;
    assert_eq!(confirmed_again.location, confirmed.location);
    assert_eq!(portal.transfer_count().await, before + 2, "7.00 moved once");
}

/// A frozen account is never silently missing from the form: an account frozen for outgoing money
/// is said to be unable to send, one frozen for incoming money still sends.
#[tokio::test]
async fn a_frozen_account_is_explained_on_the_form_not_silently_left_out() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let accounts = portal.accounts(ALICE).await;
    let (first, second) = (
        accounts[0]["number"].as_str().unwrap().to_owned(),
        accounts[1]["number"].as_str().unwrap().to_owned(),
    );
    let http = crate::portal::http().build().unwrap();
    let teller: serde_json::Value = http
        .post(format!("{}/v1/sessions", portal.logic_url))
        .header("x-api-key", &portal.api_key)
        .json(&serde_json::json!({ "username": "tom.teller", "password": "teller-demo-pass" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (number, scope) in [(&first, "debits"), (&second, "credits")] {
        let frozen = http
            .post(format!("{}/v1/accounts/{number}/freeze", portal.logic_url))
            .header("x-api-key", &portal.api_key)
            .bearer_auth(teller["token"].as_str().unwrap())
            .json(&serde_json::json!({ "scope": scope, "reason": "Test" }))
            .send()
            .await
            .unwrap();
        assert!(
            frozen.status().is_success(),
            "{}",
            frozen.text().await.unwrap()
        );
    }
    let form = browser.get("/transfer").await;
    assert_eq!(form.status, StatusCode::OK);
    let from_list = form
        .body
        .split("id=\"from_account\"")
        .nth(1)
        .unwrap()
        .split("</select>")
        .next()
        .unwrap();
    assert!(
        !from_list.contains(&first),
        "frozen for debits: cannot send"
    );
    assert!(
        from_list.contains(&second),
        "frozen for credits: still sends"
    );
    let said: Vec<&str> = form
        .body
        .split("data-testid=\"cannot-send\">")
        .skip(1)
        .collect();
    assert_eq!(said.len(), 1, "{}", form.body);
    assert!(
        said[0].contains("is frozen and cannot send money now"),
        "{}",
        said[0]
    );
}

/// The message beside the destination field of a form page.
fn to_error(body: &str) -> &str {
    body.split("id=\"to-error\">").nth(1).unwrap_or_default()
}

#[tokio::test]
async fn an_unconfirmed_outcome_is_said_plainly_and_resolved_by_the_key() {
    let portal = Portal::spawn().await;
    let proxy = LogicProxy::spawn(&portal.logic_url).await;
    proxy.lose_transfers(true);
    let instance = Portal::instance_at(&proxy.url, &portal.portal_key).await;
    let browser = Client::new(&instance);
    browser.signed_in(ALICE).await;
    let accounts = portal.accounts(ALICE).await;
    let (from, to) = (
        accounts[0]["number"].as_str().unwrap(),
        accounts[1]["number"].as_str().unwrap(),
    );
    let transfer = start(&browser, from, to).await;
    let before = portal.transfer_count().await;

    let page = browser
        .post("/transfer/confirm", &transfer.fields("40.00", ""))
        .await;
    assert_eq!(page.status, StatusCode::ACCEPTED);
    assert!(page.body.contains("We are confirming your transfer"));
    assert!(page.body.contains("it will never be made twice"));
    assert_eq!(
        portal.transfer_count().await,
        before + 1,
        "the logic tier did make it"
    );

    proxy.lose_transfers(false);
    let checked = browser
        .post("/transfer/status", &transfer.fields("40.00", ""))
        .await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.body);
    let receipt = browser.follow(&checked).await;
    assert!(
        receipt
            .body
            .contains("data-testid=\"receipt-amount\">40.00 EUR")
    );
    // Sending it again after all is harmless: the same key, the same single transfer.
    let again = browser
        .post("/transfer/confirm", &transfer.fields("40.00", ""))
        .await;
    assert_eq!(again.location, checked.location);
    assert_eq!(portal.transfer_count().await, before + 1);

    // A transfer whose request never reached the logic tier is reported as not made.
    let other = start(&browser, from, to).await;
    let not_made = browser
        .post("/transfer/status", &other.fields("1.00", ""))
        .await;
    assert_eq!(not_made.status, StatusCode::OK);
    assert!(not_made.body.contains("Your transfer was not made"));
}
