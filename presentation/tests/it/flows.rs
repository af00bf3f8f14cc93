//! Router-level flows: every page, against the real logic tier.

use reqwest::StatusCode;

use crate::portal::{ALICE, BOB, Client, LogicProxy, Portal};

#[tokio::test]
async fn a_customer_signs_in_and_sees_every_account_with_both_balances() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    let signed_in = browser.sign_in(ALICE).await;
    let cookies: Vec<&str> = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("bank_session=")),
        "{cookies:?}"
    );
    // The device cookie: nothing but HTTPS, this host and this site may set or read it.
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-bank_device=bdt_") && c.contains("Path=/;")),
        "{cookies:?}"
    );
    for cookie in &cookies {
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
                && cookie.contains("Secure"),
            "{cookie}"
        );
    }
    assert_eq!(
        signed_in.headers["strict-transport-security"],
        "max-age=31536000"
    );
    let dashboard = browser.follow(&signed_in).await;
    assert!(dashboard.body.contains("Hello, Alice Martin"));
    for account in portal.accounts(ALICE).await {
        let number = account["number"].as_str().unwrap();
        assert!(
            dashboard
                .body
                .contains(&format!("data-testid=\"ledger-{number}\">")),
            "{number}"
        );
    }
    assert!(dashboard.body.contains("2,500.00 EUR") && dashboard.body.contains("10,000.00 EUR"));
    let headers = &dashboard.headers;
    assert_eq!(headers["cache-control"], "no-store");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(!dashboard.body.contains("<script>") && !dashboard.body.contains("style="));
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_plain_message() {
    let portal = Portal::spawn().await;
    let page = portal
        .browser()
        .sign_in(("alice", "not-her-password"))
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.body
            .contains("The username or password is not correct.")
    );
    let unknown = portal
        .browser()
        .sign_in(("nobody", "not-her-password"))
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pages_need_a_signed_in_customer() {
    let portal = Portal::spawn().await;
    for path in [
        "/",
        "/transfer",
        "/payees",
        "/security",
        "/accounts/1234567890",
    ] {
        let page = portal.browser().get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location.as_deref(), Some("/sign-in"), "{path}");
    }
}

#[tokio::test]
async fn a_customer_who_edits_the_url_to_another_customers_account_gets_nothing() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let bobs = portal.accounts(BOB).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/accounts/{bobs}"),
        format!("/accounts/{bobs}/statement?from=2026-01-01&to=2026-12-31&format=csv"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.body.contains("1,200.00"), "{path} leaked a balance");
    }
    let partial = browser.get_htmx(&format!("/accounts/{bobs}/entries")).await;
    assert_eq!(partial.status, StatusCode::NOT_FOUND);
    let page = browser.get(&format!("/accounts/{bobs}")).await;
    assert!(
        page.body.contains("Reference:"),
        "the error page shows the request id"
    );
}

#[tokio::test]
async fn a_post_without_a_valid_csrf_token_is_refused() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let accounts = portal.accounts(ALICE).await;
    let (from, to) = (
        accounts[0]["number"].as_str().unwrap(),
        accounts[1]["number"].as_str().unwrap(),
    );
    let form = [
        ("idempotency_key", "0b5d3c4e-1111-4222-8333-944455556666"),
        ("from_account", from),
        ("to_account", to),
        ("to_number", ""),
        ("amount", "5.00"),
        ("memo", ""),
    ];
    let before = portal.transfer_count().await;
    let missing = browser.post("/transfer/confirm", &form).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let mut forged = form.to_vec();
    forged.push(("csrf_token", "forged-token"));
    assert_eq!(
        browser.post("/transfer/confirm", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    let cross_site = browser
        .http
        .post(format!("{}/sign-out", browser.base))
        .header("sec-fetch-site", "cross-site")
        .form(&[(
            "csrf_token",
            browser
                .get("/")
                .await
                .body
                .split("csrf_token\" value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap(),
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(portal.transfer_count().await, before);
    assert_eq!(
        browser.get("/").await.status,
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn history_filters_and_loads_more_with_and_without_javascript() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let accounts = portal.accounts(ALICE).await;
    let (from, to) = (
        accounts[0]["number"].as_str().unwrap(),
        accounts[1]["number"].as_str().unwrap(),
    );
    for n in 0..30 {
        let form = browser.get(&format!("/transfer?from={from}&to={to}")).await;
        let csrf = form.csrf();
        let key = form.hidden("idempotency_key");
        let memo = if n == 7 {
            "Holiday fund".to_owned()
        } else {
            format!("Saving {n}")
        };
        let page = browser
            .post(
                "/transfer/confirm",
                &[
                    ("csrf_token", &csrf),
                    ("idempotency_key", &key),
                    ("from_account", from),
                    ("to_account", to),
                    ("to_number", ""),
                    ("amount", "1.00"),
                    ("memo", &memo),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    }
    let page = browser.get(&format!("/accounts/{from}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches("<tr>").count() - 1,
        25,
        "one page of 25 rows under the header"
    );
    assert!(page.body.contains("Load more"));
    // Without JavaScript, "load more" is a link to the next page.
    let next = page
        .body
        .split("class=\"button\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let older = browser.get(&next).await;
    assert!(
        older.body.contains("Opening deposit"),
        "the oldest entry is on the second page"
    );
    // With htmx, the rows come as a fragment.
    let partial = browser
        .get_htmx(&next.replacen(
            &format!("/accounts/{from}?"),
            &format!("/accounts/{from}/entries?"),
            1,
        ))
        .await;
    assert!(partial.body.contains("Opening deposit") && !partial.body.contains("<html"));
    let filtered = browser
        .get_htmx(&format!("/accounts/{from}/entries?q=holiday"))
        .await;
    assert_eq!(
        filtered.body.matches("<tr>").count(),
        1,
        "{}",
        filtered.body
    );
    assert!(filtered.body.contains("Holiday fund"));
    let bad = browser
        .get(&format!("/accounts/{from}?from=2026-12-01&to=2026-01-01"))
        .await;
    assert!(
        bad.body
            .contains("The first date must not be after the second.")
    );
    // Days the bank cannot answer for get a message beside the filter, as a mistyped one does,
    // on the page and in the rows htmx swaps in.
    for days in ["to=9999-12-31", "from=-9999-01-01", "from=1899-12-31"] {
        let page = browser.get(&format!("/accounts/{from}?{days}")).await;
        assert_eq!(page.status, StatusCode::OK, "{days}");
        assert!(
            page.body
                .contains("Enter dates between 1900-01-01 and 9999-12-30."),
            "{days}: {}",
            page.body
        );
        let rows = browser
            .get_htmx(&format!("/accounts/{from}/entries?{days}"))
            .await;
        assert!(
            rows.body
                .contains("Enter dates between 1900-01-01 and 9999-12-30."),
            "{days}: {}",
            rows.body
        );
    }
    // An edited "load more" link is refused with a page that says so, not a server error.
    for cursor in ["not-a-cursor", "%21%21", "e30"] {
        let page = browser
            .get(&format!("/accounts/{from}?cursor={cursor}"))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{cursor}");
        assert!(page.body.contains("nothing was changed"), "{}", page.body);
    }
}

#[tokio::test]
async fn statements_download_as_csv_and_pdf_with_the_closing_balance() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let number = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let today = time::OffsetDateTime::now_utc().date();
    let (status, content_type, csv) = browser
        .get_bytes(&format!(
            "/accounts/{number}/statement?from={today}&to={today}&format=csv"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"));
    let csv = String::from_utf8(csv).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][0], "date");
    assert!(rows.iter().all(|r| r.len() == 9), "{csv}");
    assert_eq!(rows[1][1], "Opening balance");
    assert_eq!(rows[1][6], "0.00");
    // The opening deposit was paid in at the counter: named, never numbered.
    assert_eq!(rows[0][3..5], ["counterparty", "counterparty_account"]);
    assert_eq!(rows[2][3..5], ["Cash at the branch", ""], "{csv}");
    assert_eq!(rows.last().unwrap()[1], "Closing balance");
    assert_eq!(rows.last().unwrap()[6], "2500.00");
    let (status, content_type, pdf) = browser
        .get_bytes(&format!(
            "/accounts/{number}/statement?from={today}&to={today}&format=pdf"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    let file = std::env::temp_dir().join(format!("statement-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&file, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    std::fs::remove_file(&file).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Closing balance") && text.contains("2,500.00"),
        "{text}"
    );
    // A period the bank cannot answer for: the account page again, the reason beside the form.
    for (days, message) in [
        (
            "from=2026-01-01&to=9999-12-31",
            "between 1900-01-01 and 9999-12-30",
        ),
        (
            "from=-9999-01-01&to=2026-01-01",
            "between 1900-01-01 and 9999-12-30",
        ),
        ("from=2026-02-01&to=2026-01-01", "must not be after"),
        ("from=someday&to=2026-01-01", "year-month-day"),
        ("to=2026-01-01", "Enter the first and the last day."),
        (
            "from=2026-01-01&to=2026-01-31&format=xls",
            "Choose PDF or CSV.",
        ),
    ] {
        let format = if days.contains("format=") {
            ""
        } else {
            "&format=csv"
        };
        let page = browser
            .get(&format!("/accounts/{number}/statement?{days}{format}"))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{days}");
        assert!(page.body.contains("id=\"statement-error\""), "{days}");
        assert!(page.body.contains(message), "{days}: {}", page.body);
    }
}

#[tokio::test]
async fn payees_are_saved_paid_and_removed() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let bobs = portal.accounts(BOB).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = browser.get("/payees").await;
    let csrf = page.csrf();
    let added = browser
        .post(
            "/payees",
            &[
                ("csrf_token", &csrf),
                ("nickname", "Bob"),
                ("account_number", &bobs),
                ("step_up_password", ALICE.1),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let list = browser.get("/payees").await;
    assert!(list.body.contains("Pay Bob"));
    let bad = browser
        .post(
            "/payees",
            &[
                ("csrf_token", &list.csrf()),
                ("nickname", "Nobody"),
                ("account_number", "123"),
                ("step_up_password", ALICE.1),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("This is not a valid account number"));
    // A form edited by hand, a field left out or sent twice: a page that says so, nothing added.
    for fields in [
        vec![("nickname", "Nobody".to_owned())],
        vec![
            ("nickname", "Nobody".into()),
            ("nickname", "Again".into()),
            ("account_number", bobs.clone()),
            ("step_up_password", ALICE.1.into()),
        ],
    ] {
        let csrf = browser.get("/payees").await.csrf();
        let fields: Vec<(&str, &str)> = std::iter::once(("csrf_token", csrf.as_str()))
            .chain(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .collect();
        let unread = browser.post("/payees", &fields).await;
        assert!(unread.status.is_client_error(), "{fields:?}");
        assert!(
            unread.body.contains("This form could not be read"),
            "{}",
            unread.body
        );
        assert!(unread.body.contains("<html"), "a page of the portal");
    }
    let csrf = browser.get("/payees").await.csrf();
    let long = "x".repeat(17_000);
    let too_large = browser
        .post(
            "/payees",
            &[
                ("csrf_token", csrf.as_str()),
                ("nickname", long.as_str()),
                ("account_number", bobs.as_str()),
            ],
        )
        .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        too_large.body.contains("This form is too large"),
        "{}",
        too_large.body
    );
    assert!(!browser.get("/payees").await.body.contains("Nobody"));
    let pay = browser.get(&format!("/transfer?to={bobs}")).await;
    assert!(
        pay.body
            .contains(&format!("<option value=\"{bobs}\" selected>Bob")),
        "the payee is chosen"
    );
    let id = list
        .body
        .split("action=\"/payees/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let removed = browser
        .post(
            &format!("/payees/{id}/remove"),
            &[("csrf_token", &bad.csrf())],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(!browser.get("/payees").await.body.contains("Pay Bob"));
}

/// The TOTP secret the enrolment page shows for typing in by hand.
fn shown_secret(body: &str) -> String {
    body.split("data-testid=\"totp-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned()
}

fn current_code(secret: &str) -> String {
    crate::portal::totp_code(secret, 0)
}

fn next_code(secret: &str) -> String {
    crate::portal::totp_code(secret, 30)
}

#[tokio::test]
async fn a_customer_enrols_totp_and_signs_in_with_a_code() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let security = browser.get("/security").await;
    let enrol = browser
        .post("/security/totp/start", &[("csrf_token", &security.csrf())])
        .await;
    assert_eq!(enrol.status, StatusCode::OK);
    assert!(enrol.body.contains("<svg"), "a QR code is drawn");
    let secret = shown_secret(&enrol.body);
    // A wrong code shows the same secret again, whatever secret or otpauth URL a hand-made form
    // sends along (the page keeps neither in the form: a 4 KB URL once drew no QR code and a 500).
    let planted = format!("otpauth://totp/Bank:x?secret={}", "A".repeat(4096));
    let wrong = browser
        .post(
            "/security/totp/confirm",
            &[
                ("csrf_token", enrol.csrf().as_str()),
                ("secret", "JBSWY3DPEHPK3PXP"),
                ("otpauth_url", planted.as_str()),
                ("code", "000000"),
            ],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert!(
        wrong
            .body
            .contains(&format!("data-testid=\"totp-secret\">{secret}<"))
    );
    assert!(!wrong.body.contains("JBSWY3DPEHPK3PXP") && !wrong.body.contains(&planted));
    let form = [
        ("csrf_token", wrong.csrf()),
        ("code", current_code(&secret)),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let codes = browser.post("/security/totp/confirm", &form).await;
    assert_eq!(codes.status, StatusCode::OK, "{}", codes.body);
    assert_eq!(
        codes.body.matches("<li><code>").count(),
        10,
        "ten recovery codes"
    );
    assert!(
        browser
            .get("/security")
            .await
            .body
            .contains("Turn off two-step sign-in")
    );

    let other = portal.browser();
    let answer = other.sign_in(ALICE).await;
    assert_eq!(answer.location.as_deref(), Some("/sign-in/code"));
    let code_page = other.follow(&answer).await;
    let wrong = other
        .post(
            "/sign-in/code",
            &[("csrf_token", &code_page.csrf()), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("That code is not correct"));
    let right = other
        .post(
            "/sign-in/code",
            &[
                ("csrf_token", &code_page.csrf()),
                ("code", &next_code(&secret)),
            ],
        )
        .await;
    assert_eq!(right.location.as_deref(), Some("/"), "{}", right.body);
    assert_eq!(other.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session() {
    let portal = Portal::spawn().await;
    let (first, second) = (portal.browser(), portal.browser());
    first.signed_in(ALICE).await;
    second.signed_in(ALICE).await;
    let security = first.get("/security").await;
    let sessions = security
        .body
        .split("id=\"sessions-title\"")
        .nth(1)
        .and_then(|card| card.split("</table>").next())
        .unwrap_or_default();
    assert_eq!(
        sessions.matches("<tr>").count(),
        3,
        "two sessions listed under the header: {}",
        security.body
    );
    let out = first
        .post(
            "/security/sign-out-everywhere",
            &[("csrf_token", &security.csrf())],
        )
        .await;
    assert_eq!(out.location.as_deref(), Some("/sign-in"));
    let after = second.get("/").await;
    assert_eq!(after.location.as_deref(), Some("/sign-in?expired=1"));
    assert!(
        second
            .follow(&after)
            .await
            .body
            .contains("Your session has ended")
    );
}

#[tokio::test]
async fn two_instances_serve_one_customer_and_a_new_instance_keeps_them_signed_in() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let other = browser.at(&portal.instance().await);
    let page = other.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Hello, Alice Martin"));
}

#[tokio::test]
async fn a_password_change_is_checked_and_signs_other_sessions_out() {
    let portal = Portal::spawn().await;
    let (first, second) = (portal.browser(), portal.browser());
    first.signed_in(ALICE).await;
    second.signed_in(ALICE).await;
    // Each page's form acts once: every post sends the token of the page before it.
    let mut csrf = first.get("/security").await.csrf();
    let wrong = first
        .post(
            "/security/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", "wrong-password-x"),
                ("new_password", "another-long-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Beside the field at fault, which says so.
    assert!(
        wrong.body.contains(
            "id=\"current_password-error\" role=\"alert\">Your current password is not correct."
        ),
        "{}",
        wrong.body
    );
    assert!(
        wrong
            .body
            .contains("aria-describedby=\"current_password-error\"")
    );
    csrf = wrong.csrf();
    for common in ["password1234", "Password1234!", "iloveyou2024"] {
        let weak = first
            .post(
                "/security/password",
                &[
                    ("csrf_token", &csrf),
                    ("current_password", ALICE.1),
                    ("new_password", common),
                ],
            )
            .await;
        assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY, "{common}");
        assert!(
            weak.body.contains("hard to guess"),
            "{common}: {}",
            weak.body
        );
        csrf = weak.csrf();
    }
    let changed = first
        .post(
            "/security/password",
            &[
                ("csrf_token", &csrf),
                ("current_password", ALICE.1),
                ("new_password", "another-long-password"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert!(changed.body.contains("Your password is changed"));
    assert_eq!(
        second.get("/").await.location.as_deref(),
        Some("/sign-in?expired=1")
    );
    // Going back to the one she had is refused beside the new password.
    let back = first
        .post(
            "/security/password",
            &[
                ("csrf_token", &changed.csrf()),
                ("current_password", "another-long-password"),
                ("new_password", ALICE.1),
            ],
        )
        .await;
    assert_eq!(back.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        back.body.contains(
            "id=\"new_password-error\" role=\"alert\">You have used this password here before."
        ),
        "{}",
        back.body
    );
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    let page = browser.signed_in(ALICE).await;
    let out = browser
        .post("/sign-out", &[("csrf_token", &page.csrf())])
        .await;
    assert_eq!(out.location.as_deref(), Some("/sign-in"));
    assert_eq!(browser.get("/").await.location.as_deref(), Some("/sign-in"));
}

#[tokio::test]
async fn staff_land_on_the_staff_area_and_customers_never_see_it() {
    let portal = Portal::spawn().await;
    let staff = portal.browser();
    let answer = staff.sign_in(("tom.teller", "teller-demo-pass")).await;
    assert_eq!(answer.location.as_deref(), Some("/staff"));
    let page = staff.follow(&answer).await;
    assert!(page.body.contains("tom.teller") && page.body.contains("teller"));
    assert_eq!(
        staff.get("/").await.location.as_deref(),
        Some("/staff"),
        "no customer pages for staff"
    );
    let customer = portal.browser();
    customer.signed_in(ALICE).await;
    assert_eq!(customer.get("/staff").await.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn a_hold_until_a_day_the_bank_cannot_answer_for_is_refused_beside_the_form() {
    let portal = Portal::spawn().await;
    let number = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let teller = portal.browser();
    teller.sign_in(("tom.teller", "teller-demo-pass")).await;
    let page = teller.get(&format!("/staff/accounts/{number}")).await;
    assert_eq!(page.status, StatusCode::OK);
    // Each post redirects: the next one is sent from the page as shown again.
    let path = format!("/staff/accounts/{number}");
    let back = format!("/staff/accounts/{number}?error=hold_expiry_out_of_range");
    // 9999-12-31 has no day after it; a year before 1900 (or BC) is no day a hold can end.
    for until in ["9999-12-31", "-9999-01-01", "1899-12-31", "tomorrow", ""] {
        let answer = teller
            .post(
                &format!("/staff/accounts/{number}/holds"),
                &[
                    ("csrf_token", teller.get(&path).await.csrf().as_str()),
                    ("amount", "10.00"),
                    ("reason", "Card dispute"),
                    ("until", until),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{until}");
        assert_eq!(answer.location.as_deref(), Some(back.as_str()), "{until}");
    }
    // A day the bank can name but further than a hold may last: refused by the logic tier, with
    // the same message.
    let answer = teller
        .post(
            &format!("/staff/accounts/{number}/holds"),
            &[
                ("csrf_token", teller.get(&path).await.csrf().as_str()),
                ("amount", "10.00"),
                ("reason", "Card dispute"),
                ("until", "2999-01-01"),
            ],
        )
        .await;
    assert_eq!(answer.location.as_deref(), Some(back.as_str()));
    let page = teller.get(&back).await;
    assert!(
        page.body.contains("A hold lasts until the end of a day"),
        "{}",
        page.body
    );
    let in_a_week = time::OffsetDateTime::now_utc().date() + time::Duration::days(7);
    let held = teller
        .post(
            &format!("/staff/accounts/{number}/holds"),
            &[
                ("csrf_token", teller.get(&path).await.csrf().as_str()),
                ("amount", "10.00"),
                ("reason", "Card dispute"),
                ("until", &in_a_week.to_string()),
            ],
        )
        .await;
    assert_eq!(
        held.location.as_deref(),
        Some(format!("/staff/accounts/{number}?notice=held").as_str())
    );
    // Listed as lasting until the end of the day the teller chose, not from the next day.
    let listed = in_a_week
        .format(time::macros::format_description!(
            "[day] [month repr:short] [year], end of day UTC"
        ))
        .unwrap();
    let page = teller.get(&path).await;
    assert!(page.body.contains(&listed), "{listed}: {}", page.body);
}

#[tokio::test]
async fn a_session_records_the_address_the_balancer_saw_never_one_the_browser_chose() {
    let portal = Portal::spawn().await;
    // The balancer's hop is the last; a browser can only put words before it.
    let browser = portal.browser();
    let answer = browser
        .sign_in_from(ALICE, "203.0.113.66, 198.18.0.9")
        .await;
    assert_eq!(answer.location.as_deref(), Some("/"));
    let page = browser.get("/security").await;
    assert!(page.body.contains("198.18.0.9"), "{}", page.body);
    assert!(!page.body.contains("203.0.113.66"));
    // Something that is not an address is no address at all.
    let other = portal.browser();
    other.sign_in_from(BOB, "<script>alert(1)</script>").await;
    let page = other.get("/security").await;
    assert!(!page.body.contains("alert(1)"));
    assert!(page.body.contains("unknown"));
}

#[tokio::test]
async fn change_details_goes_back_to_the_form_as_filled_in() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let accounts = portal.accounts(ALICE).await;
    let (from, to) = (
        accounts[0]["number"].as_str().unwrap(),
        accounts[1]["number"].as_str().unwrap(),
    );
    let form = browser.get("/transfer").await;
    let (csrf, key) = (form.csrf(), form.hidden("idempotency_key"));
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("from_account", from),
        ("to_account", to),
        ("to_number", ""),
        ("amount", "12.00"),
        ("memo", "Books"),
    ];
    let review = browser.post("/transfer/review", &fields).await;
    assert_eq!(review.status, StatusCode::OK);
    let edit = browser.post("/transfer/edit", &fields).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains("value=\"12.00\"") && edit.body.contains("value=\"Books\""));
    assert_eq!(
        edit.hidden("idempotency_key"),
        key,
        "the same key travels on"
    );
}

#[tokio::test]
async fn two_step_sign_in_is_turned_off_only_with_the_password_and_a_code() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let security = browser.get("/security").await;
    let enrol = browser
        .post("/security/totp/start", &[("csrf_token", &security.csrf())])
        .await;
    let secret = shown_secret(&enrol.body);
    let code = current_code(&secret);
    let confirm = [("csrf_token", enrol.csrf()), ("code", code)];
    let confirm: Vec<(&str, &str)> = confirm.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        browser
            .post("/security/totp/confirm", &confirm)
            .await
            .status,
        StatusCode::OK
    );
    let csrf = browser.get("/security").await.csrf();
    let wrong = browser
        .post(
            "/security/totp/disable",
            &[
                ("csrf_token", &csrf),
                ("password", "not-the-password"),
                ("code", &next_code(&secret)),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("Turn off two-step sign-in"), "still on");
    // The password alone (a stolen session knows it, say) is not enough.
    let no_code = browser
        .post(
            "/security/totp/disable",
            &[
                ("csrf_token", &wrong.csrf()),
                ("password", ALICE.1),
                ("code", "000001"),
            ],
        )
        .await;
    assert_eq!(no_code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_code.body.contains("That code is not correct"),
        "{}",
        no_code.body
    );
    let off = browser
        .post(
            "/security/totp/disable",
            &[
                ("csrf_token", &no_code.csrf()),
                ("password", ALICE.1),
                ("code", &next_code(&secret)),
            ],
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert!(off.body.contains("Two-step sign-in is off."));
    let again = portal.browser().sign_in(ALICE).await;
    assert_eq!(
        again.location.as_deref(),
        Some("/"),
        "the password alone signs in again"
    );
}

/// A page whose calls to the logic tier are each slow (a failover, say) answers with the portal's
/// own page once its budget for them all is spent, rather than waiting call after call until the
/// edge gives up on it with a bare 504; within the budget, pages are served as usual.
#[tokio::test]
async fn a_page_spends_one_budget_on_all_its_calls_to_the_logic_tier() {
    let portal = Portal::spawn().await;
    let proxy = crate::portal::LogicProxy::spawn(&portal.logic_url).await;
    // How many calls the accounts page makes (its session's own among them).
    let counting =
        crate::portal::Client::new(&Portal::instance_at(&proxy.url, &portal.portal_key).await);
    counting.signed_in(ALICE).await;
    let before = proxy.request_ids().len();
    assert_eq!(counting.get("/").await.status, StatusCode::OK);
    let calls = (proxy.request_ids().len() - before) as u64;
    assert!(calls >= 2, "the page makes {calls} calls");
    // Each call takes 1.2 s: the budget lets all but the last finish.
    let delay_ms = 1_200;
    let budget = std::time::Duration::from_millis(delay_ms * calls - delay_ms / 2);
    let browser = crate::portal::Client::new(
        &Portal::instance_with_budget(&proxy.url, &portal.portal_key, budget).await,
    );
    browser.signed_in(ALICE).await;
    proxy.delay_calls(delay_ms);
    let slow = browser.get("/").await;
    assert_eq!(
        slow.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        slow.body
    );
    assert!(slow.body.contains("briefly unavailable"), "{}", slow.body);
    // Half as slow, the same page fits its budget.
    proxy.delay_calls(delay_ms / 2 - 100);
    let served = browser.get("/").await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.body);
}

#[tokio::test]
async fn the_request_id_is_shown_on_error_pages_and_travels_to_the_logic_tier() {
    let portal = Portal::spawn().await;
    let proxy = crate::portal::LogicProxy::spawn(&portal.logic_url).await;
    let browser =
        crate::portal::Client::new(&Portal::instance_at(&proxy.url, &portal.portal_key).await);
    browser.signed_in(ALICE).await;
    // A well-formed number of no account of hers: the portal asks the logic tier, which refuses.
    let nobodys = logic::domain::account_number::random_customer();
    let response = browser
        .http
        .get(format!("{}/accounts/{nobodys}", browser.base))
        .header("x-request-id", "trace-me-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-0001");
    let body = response.text().await.unwrap();
    assert!(body.contains("<code>trace-me-0001</code>"), "{body}");
    assert!(
        proxy.request_ids().iter().any(|id| id == "trace-me-0001"),
        "{:?}",
        proxy.request_ids()
    );
}

#[tokio::test]
async fn metrics_count_pages_by_route() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let number = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    browser.get(&format!("/accounts/{number}")).await;
    let text = browser.get("/metrics").await.body;
    assert!(
        text.contains(
            "portal_requests_total{route=\"/accounts/{number}\",method=\"GET\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(text.contains("portal_request_duration_seconds_bucket"));
    assert!(!text.contains(&number));
    // Prometheus's conventions: every family described, the process's own series, the build.
    for name in text.lines().filter_map(|line| line.strip_prefix("# TYPE ")) {
        let name = name.split(' ').next().unwrap();
        assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
    }
    for expected in [
        "# HELP portal_requests_total ",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        &format!(
            "bank_build_info{{tier=\"portal\",version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
}

#[tokio::test]
async fn the_cluster_page_is_for_admins_only() {
    let portal = Portal::spawn().await;
    let admin = portal.browser();
    let answer = admin.sign_in(("ada.admin", "admin-demo-pass")).await;
    let staff = admin.follow(&answer).await;
    assert!(staff.body.contains("href=\"/staff/cluster\""));
    let page = admin.get("/staff/cluster").await;
    assert_eq!(page.status, StatusCode::OK);
    // This test's logic tier has no Patroni to ask, and the page says so.
    assert!(
        page.body.contains("Patroni cannot be reached"),
        "{}",
        page.body
    );
    // It is a staff page like the others: their menu, and a way to sign out.
    assert!(
        page.body.contains("aria-label=\"Staff\"") && page.body.contains("Sign out ada.admin"),
        "{}",
        page.body
    );
    let teller = portal.browser();
    teller.sign_in(("tom.teller", "teller-demo-pass")).await;
    assert_eq!(
        teller.get("/staff/cluster").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn staff_page_through_many_search_matches() {
    let portal = Portal::spawn().await;
    let http = crate::portal::http().build().unwrap();
    let session: serde_json::Value = http
        .post(format!("{}/v1/sessions", portal.logic_url))
        .header("x-api-key", &portal.api_key)
        .json(&serde_json::json!({ "username": "tom.teller", "password": "teller-demo-pass" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    for n in 0..30 {
        let response = http
            .post(format!("{}/v1/customers", portal.logic_url))
            .header("x-api-key", &portal.api_key)
            .bearer_auth(token)
            .json(&serde_json::json!({
                "full_name": format!("Searchable Person {n:02}"),
                "email": format!("searchable{n}@example.org"),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let staff = portal.browser();
    let answer = staff.sign_in(("tom.teller", "teller-demo-pass")).await;
    assert_eq!(answer.location.as_deref(), Some("/staff"));
    let names = |body: &str| -> Vec<String> {
        body.split("Searchable Person ")
            .skip(1)
            .map(|rest| rest[..2].to_owned())
            .collect()
    };
    let first = staff.get("/staff/customers?q=searchable").await;
    assert_eq!(first.status, StatusCode::OK);
    let first_names = names(&first.body);
    assert_eq!(first_names.len(), 25, "one page of 25 matches");
    assert!(first.body.contains("More matches"));
    let next = first
        .body
        .split("href=\"")
        .find(|part| part.starts_with("/staff/customers?q=") && part.contains("cursor="))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let second = staff.get(&next).await;
    assert_eq!(second.status, StatusCode::OK);
    let second_names = names(&second.body);
    assert_eq!(second_names.len(), 5, "the rest on the second page");
    assert!(!second.body.contains("More matches"), "no third page");
    let mut all: Vec<String> = first_names.into_iter().chain(second_names).collect();
    let listed = all.clone();
    all.sort();
    all.dedup();
    assert_eq!(listed, all, "every match once, in order of name");
    assert_eq!(all.len(), 30);
    // A cursor that is not one is a plain refusal, not an error page.
    let bad = staff
        .get("/staff/customers?q=searchable&cursor=nonsense")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_stranger_locking_a_name_does_not_lock_its_owner_out_of_her_own_browser() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    // Alice has signed in from this browser before, and signed out.
    let dashboard = browser.signed_in(ALICE).await;
    let out = browser
        .post("/sign-out", &[("csrf_token", &dashboard.csrf())])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);

    // Someone else fails under her name until it is locked; her password no longer works there.
    let stranger = portal.browser();
    let mut locked = false;
    for _ in 0..8 {
        let page = stranger.sign_in((ALICE.0, "not-her-password")).await;
        locked |= page.status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(locked);
    let page = stranger.sign_in(ALICE).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);

    // Her own browser still signs her in.
    let page = browser.sign_in(ALICE).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(
        browser
            .follow(&page)
            .await
            .body
            .contains("Hello, Alice Martin")
    );
}

/// Names, not numbers: the other side of every entry is named as the bank holds the name, a
/// customer's own account as theirs, and the bank's own accounts (vault, tellers' drawers) are
/// never numbered on a customer's page, statement or receipt.
#[tokio::test]
async fn history_statements_and_receipts_name_the_other_side_and_never_show_internal_numbers() {
    let portal = Portal::spawn().await;
    let browser = portal.browser();
    browser.signed_in(ALICE).await;
    let alices = portal.accounts(ALICE).await;
    let from = alices[0]["number"].as_str().unwrap().to_owned();
    let bobs = portal.accounts(BOB).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let paid = portal
        .transfer_with_memo_as(BOB, &bobs, &from, "12.00", "Dinner")
        .await;
    assert_eq!(paid["status"], "posted", "{paid}");
    let internal = data::testing::internal_account_numbers(&portal.logic.pool).await;
    assert!(!internal.is_empty());
    let page = browser.get(&format!("/accounts/{from}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let named: Vec<&str> = page
        .body
        .split("data-testid=\"counterparty\">")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap())
        .collect();
    assert!(named.contains(&"Bob Okafor"), "{named:?}");
    assert!(named.contains(&"Cash at the branch"), "{named:?}");
    let today = time::OffsetDateTime::now_utc().date();
    let (_, _, csv) = browser
        .get_bytes(&format!(
            "/accounts/{from}/statement?from={today}&to={today}&format=csv"
        ))
        .await;
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("Bob Okafor"), "{csv}");
    // Search finds the entry by the payer's name.
    let found = browser
        .get_htmx(&format!("/accounts/{from}/entries?q=okafor"))
        .await;
    assert!(found.body.contains("Dinner"), "{}", found.body);
    assert!(!found.body.contains("Cash at the branch"), "{}", found.body);
    // A receipt names the payee.
    let receipt_key = {
        let confirmed = browser.pay(&from, &bobs, "2.00", "", ALICE.1).await;
        assert_eq!(
            confirmed.status,
            StatusCode::SEE_OTHER,
            "{}",
            confirmed.body
        );
        browser.follow(&confirmed).await
    };
    assert!(
        receipt_key
            .body
            .contains("data-testid=\"receipt-to\">Bob Okafor · "),
        "{}",
        receipt_key.body
    );
    for (what, body) in [
        ("account page", &page.body),
        ("statement", &csv),
        ("receipt", &receipt_key.body),
    ] {
        for number in &internal {
            let grouped = format!("{} {} {}", &number[..4], &number[4..8], &number[8..]);
            assert!(
                !body.contains(number.as_str()) && !body.contains(&grouped),
                "the {what} shows the bank's own account {number}"
            );
        }
    }
}

/// A teller onboards a customer with a first password; at their first sign-in the customer is
/// taken to replace it, every page leads back there until they do, a guessable replacement is
/// refused beside the form, and then the portal is theirs.
#[tokio::test]
async fn a_first_password_a_teller_chose_is_replaced_at_the_first_sign_in() {
    let portal = Portal::spawn().await;
    let teller = portal.browser();
    teller.sign_in(("tom.teller", "teller-demo-pass")).await;
    let form = teller.get("/staff/customers/new").await;
    let onboarded = teller
        .post(
            "/staff/customers/new",
            &[
                ("csrf_token", form.csrf().as_str()),
                ("full_name", "Dana Reyes"),
                ("email", "dana@example.org"),
                ("phone", ""),
                ("date_of_birth", "1990-05-17"),
                ("address", "4 Quay Road, Hull HU1 2AB"),
                ("id_document", "P5550123"),
                ("login_username", "dana"),
                ("login_password", "handed-over-at-the-counter"),
            ],
        )
        .await;
    assert_eq!(
        onboarded.status,
        StatusCode::SEE_OTHER,
        "{}",
        onboarded.body
    );

    let dana = portal.browser();
    let signed = dana.sign_in(("dana", "handed-over-at-the-counter")).await;
    assert_eq!(signed.location.as_deref(), Some("/password/replace"));
    for page in ["/", "/transfer", "/security"] {
        let answer = dana.get(page).await;
        assert_eq!(
            answer.location.as_deref(),
            Some("/password/replace"),
            "{page}: {}",
            answer.body
        );
    }
    let replace = dana.get("/password/replace").await;
    assert_eq!(replace.status, StatusCode::OK);
    let csrf = replace.csrf();
    let weak = dana
        .post(
            "/password/replace",
            &[
                ("csrf_token", csrf.as_str()),
                ("current_password", "handed-over-at-the-counter"),
                ("new_password", "password1234"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("hard to guess"), "{}", weak.body);
    // Her name and birth year run together are no better.
    let personal = dana
        .post(
            "/password/replace",
            &[
                ("csrf_token", weak.csrf().as_str()),
                ("current_password", "handed-over-at-the-counter"),
                ("new_password", "danareyes1990"),
            ],
        )
        .await;
    assert_eq!(personal.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        personal.body.contains("not built from your name"),
        "{}",
        personal.body
    );
    let weak = personal;
    let replaced = dana
        .post(
            "/password/replace",
            &[
                ("csrf_token", weak.csrf().as_str()),
                ("current_password", "handed-over-at-the-counter"),
                ("new_password", "lantern-orchard-gravel-9"),
            ],
        )
        .await;
    assert_eq!(replaced.location.as_deref(), Some("/"), "{}", replaced.body);
    let home = dana.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    // The teller's password no longer opens the account.
    let stranger = portal.browser();
    let refused = stranger
        .sign_in(("dana", "handed-over-at-the-counter"))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

/// A supervisor rejects a request only with a reason, which the queue then shows; the queue shows
/// the amount in the currency's format and the account it concerns.
#[tokio::test]
async fn a_rejection_needs_a_reason_and_the_queue_shows_what_it_concerns() {
    let portal = Portal::spawn().await;
    let http = crate::portal::http().build().unwrap();
    let session: serde_json::Value = http
        .post(format!("{}/v1/sessions", portal.logic_url))
        .header("x-api-key", &portal.api_key)
        .json(&serde_json::json!({ "username": "tom.teller", "password": "teller-demo-pass" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let filed = http
        .post(format!(
            "{}/v1/accounts/{number}/overdraft-limit",
            portal.logic_url
        ))
        .header("x-api-key", &portal.api_key)
        .header("idempotency-key", "overdraft-for-alice")
        .bearer_auth(session["token"].as_str().unwrap())
        .json(&serde_json::json!({ "limit": "12500", "reason": "Asked at the counter" }))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), StatusCode::ACCEPTED);
    let supervisor = portal.browser();
    supervisor
        .sign_in(("sue.supervisor", "supervisor-demo-pass"))
        .await;
    let queue = supervisor.get("/staff/approvals").await;
    assert!(
        queue
            .body
            .contains("data-testid=\"approval-amount\">12,500.00 EUR"),
        "{}",
        queue.body
    );
    let grouped = format!("{} {} {}", &number[..4], &number[4..8], &number[8..]);
    assert!(queue.body.contains(&grouped), "{}", queue.body);
    let id = queue
        .body
        .split("data-approval=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let csrf = queue.csrf();
    let unexplained = supervisor
        .post(
            &format!("/staff/approvals/{id}/reject"),
            &[("csrf_token", csrf.as_str()), ("note", " ")],
        )
        .await;
    let page = supervisor.follow(&unexplained).await;
    assert!(
        page.body.contains("Say why you reject the request"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("data-approval=\"{id}\"")),
        "still waiting"
    );
    let rejected = supervisor
        .post(
            &format!("/staff/approvals/{id}/reject"),
            &[
                ("csrf_token", page.csrf().as_str()),
                ("note", "The customer did not ask for it"),
            ],
        )
        .await;
    let page = supervisor.follow(&rejected).await;
    assert!(
        page.body.contains("Rejected; any held funds are released."),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("rejected: The customer did not ask for it"),
        "{}",
        page.body
    );
}

/// The audit log reads as who did what and what changed, field by field, and downloads as CSV;
/// a customer's own sign-in is in it.
#[tokio::test]
async fn the_audit_log_shows_what_changed_and_exports_the_search() {
    let portal = Portal::spawn().await;
    let number = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let teller = portal.browser();
    teller.sign_in(("tom.teller", "teller-demo-pass")).await;
    let account = teller.get(&format!("/staff/accounts/{number}")).await;
    let frozen = teller
        .post(
            &format!("/staff/accounts/{number}/status"),
            &[
                ("csrf_token", account.csrf().as_str()),
                ("action", "freeze"),
                ("scope", "debits"),
                ("reason", "Lost card"),
            ],
        )
        .await;
    assert_eq!(frozen.status, StatusCode::SEE_OTHER, "{}", frozen.body);
    let admin = portal.browser();
    admin.sign_in(("ada.admin", "admin-demo-pass")).await;
    let page = admin.get(&format!("/staff/audit?account={number}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<dt>status</dt><dd><del>open</del> → <ins>frozen</ins></dd>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("{&quot;"), "no raw JSON: {}", page.body);
    let (status, content_type, csv) = admin
        .get_bytes(&format!("/staff/audit/export.csv?account={number}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/csv"));
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("id,occurred_at,who,action,"), "{csv}");
    let freeze = csv
        .lines()
        .find(|line| line.contains("account.freeze"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(
        freeze.contains("tom.teller") && freeze.contains("status: open → frozen"),
        "{freeze}"
    );
    // A customer's own sign-in is audited, and found by the customer's id.
    portal.browser().signed_in(ALICE).await;
    let customer = portal.accounts(ALICE).await[0]["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = admin
        .get(&format!(
            "/staff/audit?customer_id={customer}&action=session."
        ))
        .await;
    assert!(page.body.contains("session.sign_in"), "{}", page.body);
    // Customers never reach the log or its export.
    let alice = portal.browser();
    alice.signed_in(ALICE).await;
    let refused = alice.get("/staff/audit/export.csv").await;
    assert_ne!(refused.status, StatusCode::OK);
}

/// A form that moves no money acts once: sent twice at once (a double click with JavaScript off)
/// or again later (Back, send), it opens one account; the repeat says so and links back to the
/// page the form was on. A signed-in form without its single-use token is refused.
#[tokio::test]
async fn a_form_sent_twice_acts_once() {
    let portal = Portal::spawn().await;
    let alices = portal.accounts(ALICE).await;
    let customer = alices[0]["customer_id"].as_str().unwrap().to_owned();
    let teller = portal.browser();
    teller.sign_in(("tom.teller", "teller-demo-pass")).await;
    let page_path = format!("/staff/customers/{customer}");
    let page = teller.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let action = format!("/staff/customers/{customer}/accounts");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("product", "savings"),
        ("currency", "EUR"),
        ("name", "Rainy day"),
    ];
    let (first, second) = tokio::join!(teller.post(&action, &form), teller.post(&action, &form));
    let mut answers = [first, second];
    answers.sort_by_key(|a| a.status);
    assert_eq!(
        answers[0].status,
        StatusCode::SEE_OTHER,
        "{}",
        answers[0].body
    );
    assert_eq!(
        answers[1].status,
        StatusCode::CONFLICT,
        "{}",
        answers[1].body
    );
    assert!(answers[1].body.contains("This form was already sent"));
    assert!(
        answers[1]
            .body
            .contains(&format!("href=\"{page_path}\" id=\"back-to-page\"")),
        "{}",
        answers[1].body
    );
    // Later, from the same page again (Back, send): still one.
    let again = teller.post(&action, &form).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(portal.accounts_named(ALICE, "Rainy day").await, 1);

    // Another form of the same page still acts once of its own: a hold, from the page's token.
    let number = alices[0]["number"].as_str().unwrap().to_owned();
    let account_page = teller.get(&format!("/staff/accounts/{number}")).await;
    let page_token = account_page.csrf();
    let in_a_week = (time::OffsetDateTime::now_utc().date() + time::Duration::days(7)).to_string();
    let hold = [
        ("csrf_token", page_token.as_str()),
        ("amount", "1.00"),
        ("reason", "Card dispute"),
        ("until", in_a_week.as_str()),
    ];
    let held = teller
        .post(&format!("/staff/accounts/{number}/holds"), &hold)
        .await;
    assert_eq!(held.status, StatusCode::SEE_OTHER, "{}", held.body);
    let overdraft = teller
        .post(
            &format!("/staff/accounts/{number}/overdraft"),
            &[
                ("csrf_token", page_token.as_str()),
                ("limit", "0.00"),
                ("reason", "Reviewed"),
            ],
        )
        .await;
    assert_eq!(
        overdraft.status,
        StatusCode::SEE_OTHER,
        "{}",
        overdraft.body
    );
    let again = teller
        .post(&format!("/staff/accounts/{number}/holds"), &hold)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // The CSRF part alone is no single-use token.
    let bare = csrf.split('.').next().unwrap();
    let refused = teller
        .post(
            &action,
            &[
                ("csrf_token", bare),
                ("product", "savings"),
                ("currency", "EUR"),
                ("name", "Second rainy day"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // A customer's form too: a payee added twice is added once.
    let browser = portal.browser();
    browser.signed_in(BOB).await;
    let alices_number = alices[0]["number"].as_str().unwrap().to_owned();
    let payees = browser.get("/payees").await;
    let form = [
        ("csrf_token", payees.csrf()),
        ("nickname", "Alice".to_owned()),
        ("account_number", alices_number),
        ("step_up_password", BOB.1.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let added = browser.post("/payees", &form).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let repeat = browser.post("/payees", &form).await;
    assert_eq!(repeat.status, StatusCode::CONFLICT);
    // A money form's key field means nothing on a route that does not keep it.
    let mut keyed = form.clone();
    keyed.push(("idempotency_key", "d2b0a3f1-5c43-4c53-9a35-1b2f0e7f3c11"));
    assert_eq!(
        browser.post("/payees", &keyed).await.status,
        StatusCode::CONFLICT
    );
    assert!(repeat.body.contains("href=\"/payees\""), "{}", repeat.body);
    let list = browser.get("/payees").await;
    assert_eq!(list.body.matches("Pay Alice").count(), 1, "{}", list.body);
}

/// A teller's cash withdrawal whose answer is lost (the logic tier carried it out): the page says
/// the outcome is unknown and to pay out nothing yet, never "try again" on a fresh form (a new
/// key would pay out twice); sending it again from there is safe, and the check by its key
/// confirms it. A key never used is reported as not carried out, and the check goes back only
/// to this portal's staff pages.
#[tokio::test]
async fn a_tellers_cash_whose_outcome_is_unknown_is_resolved_by_its_key() {
    let portal = Portal::spawn().await;
    let proxy = LogicProxy::spawn(&portal.logic_url).await;
    let teller = Client::new(&Portal::instance_at(&proxy.url, &portal.portal_key).await);
    teller.sign_in(("tom.teller", "teller-demo-pass")).await;
    let drawer = teller.get("/staff/drawer").await;
    let opened = teller
        .post(
            "/staff/drawer/open",
            &[
                ("csrf_token", drawer.csrf().as_str()),
                ("currency", "EUR"),
                ("opening_float", "1000.00"),
                ("idempotency_key", drawer.hidden("idempotency_key").as_str()),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let number = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = format!("/staff/accounts/{number}");
    let action = format!("{back}/cash");
    let page = teller.get(&back).await;
    let key = page.hidden("idempotency_key");
    let withdrawal = |csrf: String| {
        [
            ("csrf_token", csrf),
            ("kind", "withdrawal".to_owned()),
            ("amount", "50.00".to_owned()),
            ("currency", "EUR".to_owned()),
            ("memo", String::new()),
            ("idempotency_key", key.clone()),
        ]
    };
    let before = portal.transfer_count().await;

    proxy.lose_transfers(true);
    let fields = withdrawal(page.csrf());
    let pairs = pairs_of(&fields);
    let unknown = teller.post(&action, &pairs).await;
    assert_eq!(unknown.status, StatusCode::ACCEPTED, "{}", unknown.body);
    assert!(
        unknown
            .body
            .contains("Not known yet whether it was carried out"),
        "{}",
        unknown.body
    );
    assert!(
        unknown.body.contains(&format!(
            "Cash withdrawal of 50.00 EUR for account {number}"
        )),
        "{}",
        unknown.body
    );
    assert!(unknown.body.contains("Hand over or take in no cash"));
    assert!(!unknown.body.contains("try again in a moment"));
    assert_eq!(
        portal.transfer_count().await,
        before + 1,
        "it was carried out"
    );

    // Sent again from the page that says so: the same key, still one withdrawal.
    let fields = withdrawal(unknown.csrf());
    let pairs = pairs_of(&fields);
    let again = teller.post(&action, &pairs).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(portal.transfer_count().await, before + 1);

    // Checked by its key once the bank answers: confirmed, and still one; checking twice from
    // the same page is no "form already sent".
    proxy.lose_transfers(false);
    let check = |csrf: String, back: String, key: String| {
        [
            ("csrf_token", csrf),
            ("action", action.clone()),
            ("back", back),
            ("what", "cash withdrawal".to_owned()),
            ("sent.kind", "withdrawal".to_owned()),
            ("sent.amount", "50.00".to_owned()),
            ("sent.currency", "EUR".to_owned()),
            ("sent.memo", String::new()),
            ("sent.idempotency_key", key),
        ]
    };
    // Checked while the bank still does not answer: not known yet, said again.
    proxy.lose_lookups(true);
    let fields = check(again.csrf(), back.clone(), key.clone());
    let pairs = pairs_of(&fields);
    let down = teller.post("/staff/outcome", &pairs).await;
    assert_eq!(down.status, StatusCode::ACCEPTED, "{}", down.body);
    assert!(
        down.body
            .contains("Not known yet whether it was carried out")
    );
    proxy.lose_lookups(false);

    let fields = check(again.csrf(), back.clone(), key.clone());
    let pairs = pairs_of(&fields);
    let checked = teller.post("/staff/outcome", &pairs).await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.body);
    let twice = teller.post("/staff/outcome", &pairs).await;
    assert_eq!(twice.location, checked.location, "{}", twice.body);
    let shown = teller.follow(&checked).await;
    assert!(
        shown.body.contains("Confirmed: it was carried out."),
        "{}",
        shown.body
    );
    assert_eq!(portal.transfer_count().await, before + 1);

    // A key nothing was carried out under: said so, with the offer to send it.
    let fields = check(shown.csrf(), back.clone(), uuid::Uuid::new_v4().to_string());
    let pairs = pairs_of(&fields);
    let not_made = teller.post("/staff/outcome", &pairs).await;
    assert_eq!(not_made.status, StatusCode::OK, "{}", not_made.body);
    assert!(
        not_made
            .body
            .contains("We checked: this was not carried out"),
        "{}",
        not_made.body
    );
    assert!(not_made.body.contains("id=\"send-again\""));

    // Where the check goes back to is the browser's to say, so only a staff page of this portal.
    let fields = check(
        not_made.csrf(),
        "//evil.example/staff".to_owned(),
        key.clone(),
    );
    let pairs = pairs_of(&fields);
    let refused = teller.post("/staff/outcome", &pairs).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.location, None);
}

/// A form's fields as the client sends them.
fn pairs_of<'f>(fields: &'f [(&'f str, String)]) -> Vec<(&'f str, &'f str)> {
    fields.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// A customer who lost her sign-in gets back in at the counter: the teller resets it on her
/// profile, her open session ends, and the password the teller chose works once, to choose her
/// own. An admin resets a member of staff's the same way, from the staff table, but not their own.
#[tokio::test]
async fn a_lost_sign_in_is_reset_at_the_counter_and_replaced_at_the_next_sign_in() {
    let portal = Portal::spawn().await;
    let alices = portal.accounts(ALICE).await;
    let customer = alices[0]["customer_id"].as_str().unwrap().to_owned();
    let alice = portal.browser();
    alice.sign_in(ALICE).await;
    assert_eq!(alice.get("/").await.status, StatusCode::OK);

    let teller = portal.browser();
    teller.sign_in(("tom.teller", "teller-demo-pass")).await;
    let profile = teller.get(&format!("/staff/customers/{customer}")).await;
    assert!(
        profile.body.contains("id=\"sign-in-reset\""),
        "{}",
        profile.body
    );
    let action = format!("/staff/customers/{customer}/sign-in-reset");
    // A guessable password is refused and changes nothing.
    let weak = teller
        .post(
            &action,
            &[
                ("csrf_token", profile.csrf().as_str()),
                ("password", "password1234"),
            ],
        )
        .await;
    let back = weak.location.clone().unwrap_or_default();
    assert!(back.contains("error=weak_password"), "{back}");
    assert_eq!(alice.get("/").await.status, StatusCode::OK);
    let profile = teller.get(&back).await;
    assert!(
        profile.body.contains("too easy to guess"),
        "{}",
        profile.body
    );
    let reset = teller
        .post(
            &action,
            &[
                ("csrf_token", profile.csrf().as_str()),
                ("password", "handed-over-with-her-passport"),
            ],
        )
        .await;
    let back = reset.location.clone().unwrap_or_default();
    assert!(back.contains("notice=sign_in_reset"), "{back}");
    let shown = teller.get(&back).await;
    assert!(
        shown.body.contains("The sign-in is reset"),
        "{}",
        shown.body
    );

    // Her open session has ended; the old password opens nothing; the new one leads to
    // choosing her own.
    let ended = alice.get("/").await;
    let to = ended.location.unwrap_or_default();
    assert!(to.starts_with("/sign-in"), "{to}");
    let stranger = portal.browser();
    assert_eq!(
        stranger.sign_in(ALICE).await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = portal.browser();
    let signed = again
        .sign_in((ALICE.0, "handed-over-with-her-passport"))
        .await;
    assert_eq!(signed.location.as_deref(), Some("/password/replace"));
    let replace = again.get("/password/replace").await;
    let replaced = again
        .post(
            "/password/replace",
            &[
                ("csrf_token", replace.csrf().as_str()),
                ("current_password", "handed-over-with-her-passport"),
                ("new_password", "her-own-quiet-harbour-choice"),
            ],
        )
        .await;
    assert_eq!(replaced.location.as_deref(), Some("/"), "{}", replaced.body);
    // Her security page tells her what happened, newest first: the bank's reset, and the
    // stranger's try with her old password in between.
    let security = again.get("/security").await;
    assert_eq!(security.status, StatusCode::OK, "{}", security.body);
    let activity = security
        .body
        .split("data-testid=\"security-activity\"")
        .nth(1)
        .unwrap_or_default();
    let order: Vec<usize> = [
        "Password changed",
        "Signed in",
        "Wrong password given",
        "Sign-in reset by the bank",
    ]
    .iter()
    .map(|what| {
        activity
            .find(what)
            .unwrap_or_else(|| panic!("{what}: {}", security.body))
    })
    .collect();
    assert!(order.is_sorted(), "{order:?}: {}", security.body);
    assert!(activity.contains("class=\"notable\""), "{activity}");

    // An admin resets a teller's sign-in from the staff table, and has no form for their own.
    let admin = portal.browser();
    admin.sign_in(("ada.admin", "admin-demo-pass")).await;
    let page = admin.get("/staff/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        !page.body.contains("New password for ada.admin"),
        "{}",
        page.body
    );
    let row = page
        .body
        .split("data-username=\"tom.teller\"")
        .nth(1)
        .unwrap();
    let id = row
        .split("/staff/admin/staff/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let reset = admin
        .post(
            &format!("/staff/admin/staff/{id}/sign-in-reset"),
            &[
                ("csrf_token", page.csrf().as_str()),
                ("password", "admin-chose-this-for-tom"),
            ],
        )
        .await;
    let back = reset.location.clone().unwrap_or_default();
    assert!(back.contains("notice=sign_in_reset"), "{back}");
    let to = teller.get("/staff").await.location.unwrap_or_default();
    assert!(to.starts_with("/sign-in"), "{to}");
    let tom = portal.browser();
    let signed = tom
        .sign_in(("tom.teller", "admin-chose-this-for-tom"))
        .await;
    assert_eq!(signed.location.as_deref(), Some("/password/replace"));
}

/// A customer whose account is frozen reads so on the account's page, with what the freeze
/// stops and whom to ask, and is not offered to move money out of it; the reason staff wrote
/// stays with the bank.
#[tokio::test]
async fn a_frozen_account_says_so_to_its_holder_and_offers_no_payment_out() {
    let portal = Portal::spawn().await;
    let number = portal.accounts(ALICE).await[0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice = portal.browser();
    alice.sign_in(ALICE).await;
    let page = alice.get(&format!("/accounts/{number}")).await;
    assert!(!page.body.contains("id=\"account-state\""), "{}", page.body);
    assert!(page.body.contains("Move money from this account"));

    let teller = portal.browser();
    teller.sign_in(("tom.teller", "teller-demo-pass")).await;
    let account = teller.get(&format!("/staff/accounts/{number}")).await;
    let frozen = teller
        .post(
            &format!("/staff/accounts/{number}/status"),
            &[
                ("csrf_token", account.csrf().as_str()),
                ("action", "freeze"),
                ("scope", "debits"),
                ("reason", "Suspected card fraud under review"),
            ],
        )
        .await;
    assert_eq!(frozen.status, StatusCode::SEE_OTHER, "{}", frozen.body);

    let page = alice.get(&format!("/accounts/{number}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("This account is frozen: no money can go out of it."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Move money from this account"));
    assert!(!page.body.contains("Suspected card fraud"), "{}", page.body);
}

/// The Security page lists the newest fifteen things that happened to the sign-in and pages back
/// to older ones; a cursor edited by hand shows the newest rather than an error.
#[tokio::test]
async fn the_sign_ins_activity_pages_back_to_older_things() {
    let portal = Portal::spawn().await;
    for _ in 0..15 {
        portal.browser().signed_in(ALICE).await;
    }
    let alice = portal.browser();
    alice.signed_in(ALICE).await;
    let newest = alice.get("/security").await;
    assert_eq!(newest.status, StatusCode::OK, "{}", newest.body);
    assert!(newest.body.contains("Recent activity on your sign-in"));
    let rows = |body: &str| {
        body.split("data-testid=\"security-activity\"")
            .nth(1)
            .and_then(|table| table.split("</table>").next())
            .map_or(0, |table| table.matches("<tr").count() - 1)
    };
    assert_eq!(rows(&newest.body), 15, "{}", newest.body);
    let older = newest
        .body
        .split("href=\"/security?activity=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no link to older: {}", newest.body));
    let page = alice
        .get(&format!(
            "/security?activity={}",
            older.replace("&amp;", "&")
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Earlier activity on your sign-in"));
    assert!(
        page.body
            .contains("href=\"/security#activity-title\">Newest")
    );
    assert!((1..15).contains(&rows(&page.body)), "{}", page.body);
    for edited in ["garbage", "e30", "%00"] {
        let page = alice.get(&format!("/security?activity={edited}")).await;
        assert_eq!(page.status, StatusCode::OK, "{edited}: {}", page.body);
        assert!(
            page.body.contains("Recent activity on your sign-in"),
            "{edited}"
        );
        assert_eq!(rows(&page.body), 15, "{edited}");
    }
}
