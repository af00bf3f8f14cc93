//! Browser tests: the real portal in a real headless Chromium (Debian's `chromium` driven through
//! `chromium-driver` with fantoccini). Screenshots of the main pages go to
//! `target/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::portal::{ALICE, BOB, Portal};

/// One chromedriver per test process, started from a thread that lives as long as the process
/// so that its parent-death signal fires only when the tests are over.
fn chromedriver() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new("setpriv");
        command
            .args([
                "--pdeathsig",
                "SIGTERM",
                "--",
                "chromedriver",
                &format!("--port={port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::thread::spawn(move || {
            let mut child = command
                .spawn()
                .expect("start chromedriver (Debian package chromium-driver)");
            let _ = child.wait();
        });
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        format!("http://127.0.0.1:{port}")
    })
}

/// The base64 SHA-256 of the test server key's SubjectPublicKeyInfo, as Chromium pins keys.
fn server_spki_pin() -> String {
    use base64::Engine;
    use sha2::Digest;
    let spki = &data::testing::tls::certificates().server_spki_der;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(spki))
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Browser {
    client: Client,
    base: String,
    /// Chromium's profile directory, downloads included: removed with the browser.
    profile: PathBuf,
    downloads: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Browser {
    async fn open(base: &str, javascript: bool) -> Self {
        Self::open_sized(base, javascript, (1280, 900)).await
    }

    async fn open_sized(base: &str, javascript: bool, (width, height): (u32, u32)) -> Self {
        let profile =
            std::env::temp_dir().join(format!("bank-chromium-{}", uuid::Uuid::new_v4().simple()));
        let downloads = profile.join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let mut prefs = json!({
            "download.default_directory": downloads.to_str().unwrap(),
            "download.prompt_for_download": false,
            "plugins.always_open_pdf_externally": true,
        });
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-extensions",
                    format!("--user-data-dir={}", profile.display()),
                    // The portal is served over HTTPS with a certificate of the tests' own
                    // authority: Chromium accepts that one key, as if the authority were
                    // installed, and nothing else.
                    format!("--ignore-certificate-errors-spki-list={}", server_spki_pin()),
                    format!("--window-size={width},{height}"),
                ],
                "prefs": prefs,
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(chromedriver())
            .await
            .unwrap();
        Self {
            client,
            base: base.to_owned(),
            profile,
            downloads,
        }
    }

    /// The downloaded file with this extension, once Chromium has finished writing it. Chromium
    /// reserves the final name with an empty file while the bytes go to a `.crdownload` file and
    /// renames that over it at the end: a file of the right name alone is no proof of a download.
    async fn finished_download(&self, extension: &str) -> PathBuf {
        for _ in 0..300 {
            let paths: Vec<PathBuf> = std::fs::read_dir(&self.downloads)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            let in_progress = paths
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "crdownload"));
            let done = paths.into_iter().find(|p| {
                p.extension().is_some_and(|e| e == extension)
                    && std::fs::metadata(p).is_ok_and(|m| m.len() > 0)
            });
            if let (Some(file), false) = (done, in_progress) {
                return file;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no finished {extension} download in 30 s");
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn fill(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Clicks something that loads a new page, and waits until that page has loaded.
    async fn click_and_load(&self, css: &str) {
        self.client
            .execute("window.__before_click = true;", vec![])
            .await
            .unwrap();
        self.click(css).await;
        for _ in 0..200 {
            let loaded = self
                .client
                .execute("return window.__before_click === undefined && document.readyState === 'complete';", vec![])
                .await
                .unwrap_or(json!(false));
            if loaded == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page after clicking {css}");
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn page(&self) -> String {
        self.client.source().await.unwrap()
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
    }

    async fn sign_in(&self, (username, password): (&str, &str)) {
        self.goto("/sign-in").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.click_and_load("button[type=submit].primary").await;
    }

    /// Waits (a few seconds at most) until `check` holds on the page's source.
    async fn wait_until(&self, what: &str, check: impl Fn(&str) -> bool) {
        for _ in 0..100 {
            if check(&self.page().await) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Whether the page is wider than the window (it would scroll sideways).
    async fn scrolls_sideways(&self) -> bool {
        self.client
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth;",
                vec![],
            )
            .await
            .unwrap()
            == json!(true)
    }

    async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}

fn number(account: &Value) -> String {
    account["number"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_signs_in_sees_balances_and_moves_money_once_despite_a_double_click() {
    let portal = Portal::spawn().await;
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(("alice", "wrong-password-1")).await;
    assert!(browser.text("[role=alert]").await.contains("not correct"));
    browser.screenshot("sign-in-error").await;
    browser.sign_in(ALICE).await;
    assert_eq!(browser.path().await, "/");
    let alices = portal.accounts(ALICE).await;
    let from = number(&alices[0]);
    assert_eq!(
        browser.text(&format!("[data-testid=ledger-{from}]")).await,
        "2,500.00 EUR"
    );
    assert_eq!(
        browser
            .text(&format!("[data-testid=available-{from}]"))
            .await,
        "2,500.00 EUR"
    );
    browser.screenshot("dashboard").await;

    let bobs = number(&portal.accounts(BOB).await[0]);
    browser.goto("/transfer").await;
    browser.screenshot("transfer-form").await;
    browser.fill("#to_number", &bobs).await;
    browser.fill("#amount", "75.25").await;
    browser.fill("#memo", "Concert tickets").await;
    browser.click_and_load("button[type=submit].primary").await;
    assert_eq!(
        browser.text("[data-testid=review-amount]").await,
        "75.25 EUR"
    );
    browser.screenshot("transfer-review").await;
    // Bob is no saved payee of Alice's: she approves this payment with her password.
    assert_eq!(
        browser.text("[data-testid=step-up] legend").await,
        "Approve this payment"
    );
    browser.fill("#step_up_password", ALICE.1).await;

    let before = portal.transfer_count().await;
    // Two clicks as fast as a person can make them, both sent: the page's own guard against a
    // second submission is lifted in between, so the server sees both.
    browser
        .client
        .execute(
            "const b = document.getElementById('confirm'); b.click(); delete b.form.dataset.sent; b.click();",
            vec![],
        )
        .await
        .unwrap();
    browser
        .wait_until("the receipt", |page| page.contains("receipt-amount"))
        .await;
    assert_eq!(
        browser.text("[data-testid=receipt-amount]").await,
        "75.25 EUR"
    );
    browser.screenshot("transfer-receipt").await;
    assert_eq!(portal.transfer_count().await, before + 1);
    // Back from the receipt is the review again, not an offer to send a form once more.
    browser.client.back().await.unwrap();
    browser
        .wait_until("the review again", |page| page.contains("review-amount"))
        .await;
    assert_eq!(
        browser.text("[data-testid=review-amount]").await,
        "75.25 EUR"
    );
    assert_eq!(portal.transfer_count().await, before + 1);
    browser.goto("/").await;
    assert_eq!(
        browser.text(&format!("[data-testid=ledger-{from}]")).await,
        "2,424.75 EUR"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_filters_as_you_type_and_loads_more() {
    let portal = Portal::spawn().await;
    let alices = portal.accounts(ALICE).await;
    let (from, to) = (number(&alices[0]), number(&alices[1]));
    let http = crate::portal::Client::new(&portal.url);
    http.signed_in(ALICE).await;
    for n in 0..30 {
        let form = http.get("/transfer").await;
        let memo = if n == 3 {
            "Birthday present".to_owned()
        } else {
            format!("Saving {n}")
        };
        http.post(
            "/transfer/confirm",
            &[
                ("csrf_token", &form.csrf()),
                ("idempotency_key", &form.hidden("idempotency_key")),
                ("from_account", &from),
                ("to_account", &to),
                ("to_number", ""),
                ("amount", "1.00"),
                ("memo", &memo),
            ],
        )
        .await;
    }
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(ALICE).await;
    browser.goto(&format!("/accounts/{from}")).await;
    browser.screenshot("account").await;
    let rows = |page: &str| page.matches("<tr>").count() - 1;
    assert_eq!(rows(&browser.page().await), 25);
    browser.click(".more a").await;
    browser
        .wait_until("the next rows", |page| page.contains("Opening deposit"))
        .await;
    let body = browser
        .client
        .find(Locator::Css("#entries"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    assert_eq!(
        body.matches("<tr").count(),
        31,
        "30 transfers and the opening deposit: {body}"
    );
    browser.fill("#q", "birthday").await;
    browser
        .wait_until("the filtered rows", |page| rows(page) == 1)
        .await;
    assert!(browser.text("#entries").await.contains("Birthday present"));
    assert_eq!(
        browser.path().await,
        format!("/accounts/{from}"),
        "filtering did not leave the page"
    );
    browser.screenshot("account-filtered").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_downloads_as_csv_and_as_a_pdf_stating_the_closing_balance() {
    let portal = Portal::spawn().await;
    let from = number(&portal.accounts(ALICE).await[0]);
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(ALICE).await;
    browser.goto(&format!("/accounts/{from}")).await;
    for (format, extension) in [("csv", "csv"), ("pdf", "pdf")] {
        browser
            .client
            .find(Locator::Css("#statement-format"))
            .await
            .unwrap()
            .select_by_value(format)
            .await
            .unwrap();
        browser
            .click("#statement-title ~ form button[type=submit]")
            .await;
        let file = browser.finished_download(extension).await;
        if extension == "csv" {
            let text = std::fs::read_to_string(&file).unwrap();
            let last: Vec<&str> = text.lines().last().unwrap().split(',').collect();
            assert_eq!((last[1], last[6]), ("Closing balance", "2500.00"), "{text}");
        } else {
            let out = Command::new("pdftotext")
                .arg(&file)
                .arg("-")
                .output()
                .expect("pdftotext (poppler-utils)");
            assert!(out.status.success(), "the PDF opens");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("Closing balance") && text.contains("2,500.00"),
                "{text}"
            );
            // A document: who holds the account, who issues the statement, and when; the
            // other side of each entry by name.
            for part in [
                "Alice Martin",
                "12 Harbour Street, Leeds LS1 4AB",
                "Northgate Bank plc",
                "Registered in England",
                "Issued ",
                "Cash at the branch",
            ] {
                assert!(text.contains(part), "{part} missing from {text}");
            }
        }
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_enrols_totp_and_signs_in_with_a_code() {
    let portal = Portal::spawn().await;
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(ALICE).await;
    browser.goto("/security").await;
    browser.screenshot("security").await;
    browser
        .click_and_load("form[action='/security/totp/start'] button")
        .await;
    let secret = browser.text("[data-testid=totp-secret]").await;
    browser.screenshot("totp-enrol").await;
    browser
        .fill("#code", &crate::portal::totp_code(&secret, 0))
        .await;
    browser
        .click_and_load("form[action='/security/totp/confirm'] button")
        .await;
    browser
        .wait_until("the recovery codes", |page| page.contains("recovery-codes"))
        .await;
    browser.screenshot("recovery-codes").await;
    browser
        .click_and_load("form[action='/sign-out'] button")
        .await;
    browser
        .wait_until("the sign-in page", |page| {
            page.contains("id=\"sign-in-title\"")
        })
        .await;
    browser.sign_in(ALICE).await;
    assert_eq!(browser.path().await, "/sign-in/code");
    browser.screenshot("sign-in-code").await;
    browser
        .fill("#code", &crate::portal::totp_code(&secret, 30))
        .await;
    browser.click_and_load("button[type=submit].primary").await;
    assert_eq!(browser.path().await, "/");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_everywhere_signs_out_the_other_browser() {
    let portal = Portal::spawn().await;
    let (first, second) = (
        Browser::open(&portal.url, true).await,
        Browser::open(&portal.url, true).await,
    );
    first.sign_in(ALICE).await;
    second.sign_in(ALICE).await;
    first.goto("/security").await;
    first
        .click_and_load("form[action='/security/sign-out-everywhere'] button")
        .await;
    assert_eq!(first.path().await, "/sign-in");
    second.goto("/").await;
    assert!(second.path().await.starts_with("/sign-in"));
    assert!(second.page().await.contains("Your session has ended"));
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_customers_account_by_url_shows_nothing_and_a_forged_post_is_refused() {
    let portal = Portal::spawn().await;
    let bobs = number(&portal.accounts(BOB).await[0]);
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(ALICE).await;
    browser.goto(&format!("/accounts/{bobs}")).await;
    assert_eq!(browser.text("h1").await, "Page not found");
    assert!(!browser.page().await.contains("1,200.00"));
    browser.screenshot("not-found").await;

    let before = portal.transfer_count().await;
    browser.goto("/transfer").await;
    browser
        .client
        .execute(
            "const form = document.querySelector('form[action=\"/transfer/review\"]');
             form.action = '/transfer/confirm';
             form.method = 'post';
             const token = document.createElement('input');
             token.type = 'hidden';
             token.name = 'csrf_token';
             token.value = 'forged';
             form.appendChild(token);
             form.querySelector('#to_number').value = arguments[0];
             form.querySelector('#amount').value = '10.00';
             form.submit();",
            vec![json!(bobs)],
        )
        .await
        .unwrap();
    browser
        .wait_until("the refusal", |page| page.contains("Not allowed"))
        .await;
    assert_eq!(portal.transfer_count().await, before);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_works_with_javascript_off() {
    let portal = Portal::spawn().await;
    let alices = portal.accounts(ALICE).await;
    let (from, to) = (number(&alices[0]), number(&alices[1]));
    let browser = Browser::open(&portal.url, false).await;
    browser.sign_in(ALICE).await;
    assert_eq!(browser.path().await, "/");
    browser.goto("/transfer").await;
    browser
        .client
        .find(Locator::Css("#from_account"))
        .await
        .unwrap()
        .select_by_value(&from)
        .await
        .unwrap();
    browser
        .client
        .find(Locator::Css("#to_account"))
        .await
        .unwrap()
        .select_by_value(&to)
        .await
        .unwrap();
    browser.fill("#amount", "10.00").await;
    browser.click_and_load("button[type=submit].primary").await;
    assert!(
        browser
            .text("[data-testid=review-to]")
            .await
            .starts_with("Your Rainy-day savings")
    );
    browser.click_and_load("#confirm").await;
    assert_eq!(
        browser.text("[data-testid=receipt-amount]").await,
        "10.00 EUR"
    );
    browser.goto(&format!("/accounts/{from}?q=opening")).await;
    assert!(browser.text("#entries").await.contains("Opening deposit"));
    browser.goto("/payees").await;
    browser.fill("#nickname", "Savings").await;
    browser.fill("#account_number", &to).await;
    browser.fill("#step_up_password", ALICE.1).await;
    browser
        .click_and_load("form[action='/payees'] button")
        .await;
    assert!(browser.page().await.contains("Pay Savings"));
    browser.goto("/security").await;
    assert!(browser.page().await.contains("Where you are signed in"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_fits_a_phone_screen() {
    let portal = Portal::spawn().await;
    // The longest reference a transfer may carry, without a space to break at.
    let accounts = portal.accounts(ALICE).await;
    let (from, other) = (number(&accounts[0]), number(&accounts[1]));
    let memo = "W".repeat(140);
    let sent = portal
        .transfer_with_memo_as(ALICE, &from, &other, "1.00", &memo)
        .await;
    assert_eq!(sent["memo"], memo.as_str(), "{sent}");
    let wide = Browser::open_sized(&portal.url, true, (1280, 900)).await;
    wide.sign_in(ALICE).await;
    wide.goto(&format!("/accounts/{from}")).await;
    assert!(
        !wide.scrolls_sideways().await,
        "a long reference does not widen the page"
    );
    wide.close().await;
    let browser = Browser::open_sized(&portal.url, true, (390, 844)).await;
    browser.sign_in(ALICE).await;
    assert!(!browser.scrolls_sideways().await, "no sideways scrolling");
    browser.screenshot("dashboard-phone").await;
    browser.goto(&format!("/accounts/{from}")).await;
    assert!(
        !browser.scrolls_sideways().await,
        "no sideways scrolling on the account page"
    );
    browser.screenshot("account-phone").await;
    browser.close().await;
}

const TELLER: (&str, &str) = ("tom.teller", "teller-demo-pass");
const SUPERVISOR: (&str, &str) = ("sue.supervisor", "supervisor-demo-pass");
const OTHER_SUPERVISOR: (&str, &str) = ("sam.supervisor", "supervisor2-demo-pass");
const ADMIN: (&str, &str) = ("ada.admin", "admin-demo-pass");

impl Browser {
    /// The text of the page's notice or error after an action.
    async fn message(&self) -> String {
        let page = self.page().await;
        if page.contains("id=\"error\"") {
            return format!("error: {}", self.text("#error").await);
        }
        if page.contains("id=\"notice\"") {
            return self.text("#notice").await;
        }
        String::new()
    }

    /// Sets a select's or a date input's value, as picking it would.
    async fn choose(&self, css: &str, value: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![json!(css), json!(value)],
            )
            .await
            .unwrap();
    }

    async fn sign_out(&self) {
        self.click_and_load("nav form[action='/sign-out'] button")
            .await;
    }
}

/// The branch's day in one browser: onboarding, an account, cash from an open drawer, a transfer,
/// its reversal approved by a second supervisor (never by its maker), a freeze that refuses
/// debits, and a drawer closed short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_day_from_onboarding_to_an_approved_reversal_and_a_drawer_closed_short() {
    let portal = Portal::spawn().await;
    let browser = Browser::open(&portal.url, true).await;

    // The teller onboards a customer with a web banking sign-in and opens an account.
    browser.sign_in(TELLER).await;
    assert_eq!(browser.path().await, "/staff");
    browser.click_and_load("#onboard").await;
    browser.fill("#full_name", "Dana Novak").await;
    browser.choose("#date_of_birth", "1990-04-05").await;
    browser.fill("#address", "5 Quay Road, Hull HU1 2AA").await;
    browser.fill("#email", "dana@example.org").await;
    browser.fill("#phone", "+44 1482 000 111").await;
    browser.fill("#id_document", "p 998 877 66").await;
    browser.choose("#id_document_kind", "passport").await;
    browser.fill("#id_document_country", "gb").await;
    browser.choose("#id_document_expires", "2034-09-30").await;
    browser.fill("#login_username", "dana").await;
    browser.fill("#login_password", "dana-first-password").await;
    browser
        .click_and_load("#onboard-form button[type=submit]")
        .await;
    assert_eq!(browser.message().await, "The customer is onboarded.");
    assert!(browser.page().await.contains("P99887766"));
    browser.screenshot("staff-customer").await;
    let dana_page = browser.path().await;
    // The same passport again, under another name: nothing is created, and the teller is shown
    // who already holds it.
    browser.goto("/staff/customers/new").await;
    browser.fill("#full_name", "Dana Novakova").await;
    browser.fill("#email", "dana.n@example.org").await;
    browser.fill("#id_document", "P99887766").await;
    browser.choose("#id_document_kind", "passport").await;
    browser.fill("#id_document_country", "GB").await;
    browser.choose("#id_document_expires", "2034-09-30").await;
    browser
        .click_and_load("#onboard-form button[type=submit]")
        .await;
    assert!(
        browser
            .message()
            .await
            .starts_with("error: Another customer already has this identity document")
    );
    assert!(
        browser
            .text("#document-holders")
            .await
            .contains("Dana Novak")
    );
    browser
        .screenshot("staff-customer-duplicate-document")
        .await;
    browser.goto(&dana_page).await;
    browser
        .click_and_load("#open-account button[type=submit]")
        .await;
    assert_eq!(browser.message().await, "The account is open.");
    let account: String = browser
        .text("#accounts tbody tr td a")
        .await
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert_eq!(account.len(), 10);

    // Cash goes in through the teller's drawer.
    browser.goto("/staff/drawer").await;
    browser.fill("#opening_float", "1000").await;
    browser
        .click_and_load("#open-drawer-form button[type=submit]")
        .await;
    assert_eq!(browser.message().await, "Your drawer is open.");
    assert_eq!(browser.text("#position").await, "1,000.00 EUR");
    browser.goto(&format!("/staff/accounts/{account}")).await;
    // One separator before three digits could be a thousand or one and a fraction: refused,
    // never guessed. A decimal comma is a decimal.
    browser.fill("#cash-amount", "1,234").await;
    browser
        .click_and_load("#cash-form button[type=submit]")
        .await;
    assert!(
        browser
            .message()
            .await
            .starts_with("error: This could be read two ways")
    );
    browser.fill("#cash-amount", "300,00").await;
    browser.fill("#cash-memo", "Opening deposit").await;
    browser
        .click_and_load("#cash-form button[type=submit]")
        .await;
    assert_eq!(browser.message().await, "Done: the money has moved.");
    assert_eq!(browser.text("#ledger-balance").await, "300.00 EUR");
    browser.goto("/staff/drawer").await;
    assert_eq!(browser.text("#position").await, "1,300.00 EUR");

    // The customer's first sign-in: the password the teller chose is replaced before anything.
    browser.sign_out().await;
    browser.sign_in(("dana", "dana-first-password")).await;
    assert_eq!(browser.path().await, "/password/replace");
    browser.screenshot("first-sign-in-replace-password").await;
    browser
        .fill("#current_password", "dana-first-password")
        .await;
    browser
        .fill("#new_password", "dana-own-lantern-gravel")
        .await;
    browser
        .click_and_load("main form button[type=submit]")
        .await;
    assert_eq!(browser.path().await, "/");
    browser.sign_out().await;
    browser.sign_in(TELLER).await;

    // The customer sends money to Alice; a supervisor asks for it back.
    let alices = portal.accounts(ALICE).await;
    let alice_account = number(&alices[0]);
    let alice_before = alices[0]["ledger_balance"].as_str().unwrap().to_owned();
    let transfer = portal
        .transfer_as(
            ("dana", "dana-own-lantern-gravel"),
            &account,
            &alice_account,
            "120.00",
        )
        .await;
    assert_eq!(transfer["amount"], "120.00", "{transfer}");
    browser.sign_out().await;
    browser.sign_in(SUPERVISOR).await;
    browser.goto(&format!("/staff/accounts/{account}")).await;
    assert_eq!(browser.text("#ledger-balance").await, "180.00 EUR");
    browser.click("#history details summary").await;
    browser
        .fill(
            "#history .reverse-form input[name=reason]",
            "Sent to the wrong person",
        )
        .await;
    browser
        .click_and_load("#history .reverse-form button[type=submit]")
        .await;
    assert!(
        browser
            .message()
            .await
            .starts_with("Sent for a supervisor's approval")
    );
    // The funds wait, held on Alice's account.
    browser
        .goto(&format!("/staff/accounts/{alice_account}"))
        .await;
    assert_eq!(browser.text("#held-amount").await, "120.00 EUR");
    assert!(
        browser
            .text("#pending")
            .await
            .contains("Reversal of 120.00 EUR")
    );
    // Its maker cannot approve it: the queue offers no button, and a forged post is refused.
    browser.goto("/staff/approvals").await;
    assert!(browser.page().await.contains("You made this request"));
    assert!(!browser.page().await.contains("approve-form"));
    let approval: String = browser
        .client
        .find(Locator::Css("#queue li"))
        .await
        .unwrap()
        .attr("data-approval")
        .await
        .unwrap()
        .unwrap();
    browser
        .client
        .execute(
            "const f = document.createElement('form'); f.method = 'post';
             f.action = '/staff/approvals/' + arguments[0] + '/approve';
             const t = document.createElement('input'); t.type = 'hidden'; t.name = 'csrf_token';
             t.value = document.querySelector('input[name=csrf_token]').value; f.appendChild(t);
             document.body.appendChild(f); window.__before_click = true; f.submit();",
            vec![json!(approval)],
        )
        .await
        .unwrap();
    browser
        .wait_until("the refusal", |page| page.contains("id=\"error\""))
        .await;
    assert_eq!(
        browser.message().await,
        "error: You made this request: a different supervisor must decide it."
    );
    browser.sign_out().await;

    // A different supervisor approves it.
    browser.sign_in(OTHER_SUPERVISOR).await;
    browser.goto("/staff/approvals").await;
    browser.screenshot("staff-approvals").await;
    browser
        .fill("#queue .approve-form input[name=note]", "Customer called")
        .await;
    browser
        .click_and_load("#queue .approve-form button[type=submit]")
        .await;
    assert_eq!(browser.message().await, "Approved and carried out.");
    browser.goto(&format!("/staff/accounts/{account}")).await;
    assert_eq!(browser.text("#ledger-balance").await, "300.00 EUR");
    browser
        .goto(&format!("/staff/accounts/{alice_account}"))
        .await;
    assert_eq!(browser.text("#held-amount").await, "0.00 EUR");
    assert_eq!(
        browser.text("#ledger-balance").await,
        format!("{} EUR", group(&alice_before))
    );
    // The audit log tells the story, with who did what.
    browser
        .goto(&format!("/staff/audit?account={alice_account}"))
        .await;
    let audit = browser.text("#audit-records").await;
    for action in ["transfer.reverse", "approval.approve", "approval.request"] {
        assert!(audit.contains(action), "{action} missing from {audit}");
    }
    assert!(audit.contains("sam.supervisor") && audit.contains("sue.supervisor"));
    browser.sign_out().await;

    // A frozen account refuses debits; the teller's drawer closes 20.00 short.
    browser.sign_in(TELLER).await;
    browser.goto(&format!("/staff/accounts/{account}")).await;
    browser.choose("#freeze-scope", "debits").await;
    browser.fill("#freeze-reason", "Lost card").await;
    browser
        .click_and_load("#freeze-form button[type=submit]")
        .await;
    assert_eq!(browser.message().await, "The account is frozen.");
    assert!(
        browser
            .text("#account-status")
            .await
            .starts_with("frozen (debits)")
    );
    browser.choose("#cash-kind", "withdrawal").await;
    browser.fill("#cash-amount", "10").await;
    browser
        .click_and_load("#cash-form button[type=submit]")
        .await;
    assert_eq!(
        browser.message().await,
        "error: This account cannot send or receive money at the moment."
    );
    assert_eq!(browser.text("#ledger-balance").await, "300.00 EUR");
    browser.goto("/staff/drawer").await;
    for (denomination, pieces) in [
        ("500.00", "2"),
        ("100.00", "2"),
        ("50.00", "1"),
        ("20.00", "1"),
        ("10.00", "1"),
    ] {
        browser
            .fill(
                &format!("input[data-denomination='{denomination}']"),
                pieces,
            )
            .await;
    }
    browser
        .click_and_load("#close-drawer-form button[type=submit]")
        .await;
    assert_eq!(
        browser.message().await,
        "Your drawer is closed and its cash is back in the vault."
    );
    let closed = browser.text("#closed-drawers tbody tr").await;
    assert!(
        closed.contains("1,280.00 EUR") && closed.contains("-20.00 EUR"),
        "{closed}"
    );
    browser.screenshot("staff-drawer-closed").await;
    browser.close().await;
}

/// "1234.50" as the pages show it: "1,234.50".
fn group(amount: &str) -> String {
    let (whole, cents) = amount.split_once('.').unwrap_or((amount, "00"));
    let digits: Vec<char> = whole.chars().collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*c);
    }
    format!("{out}.{cents}")
}

/// Rewriting one audit row in the database is caught by the page's "verify the chain".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_the_audit_log_shows_on_the_verify_page() {
    let portal = Portal::spawn().await;
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(ADMIN).await;
    browser.goto("/staff/audit").await;
    browser.click_and_load("#verify-form button").await;
    assert!(browser.text("#verification").await.starts_with("Intact"));
    let victim =
        data::testing::tamper_with_second_audit_row(portal.logic.settings.database_url.expose())
            .await;
    browser.click_and_load("#verify-form button").await;
    assert_eq!(
        browser.text("#broken-at").await,
        format!(
            "The audit chain breaks at record {victim}: that record or the one before it was changed after it was written."
        )
    );
    browser.screenshot("staff-audit-broken").await;
    browser.close().await;
}

/// An admin issues an internal service's key in the admin pages, the service calls the API with
/// it (reading the reference page first, as its developer would), and the admin revokes it: the
/// next call is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_issues_an_api_key_that_works_until_it_is_revoked() {
    let portal = Portal::spawn().await;
    let http = crate::portal::http().build().unwrap();
    let reference = http
        .get(format!("{}/v1/reference", portal.logic_url))
        .send()
        .await
        .unwrap();
    assert_eq!(reference.status(), reqwest::StatusCode::OK);
    assert!(
        reference
            .text()
            .await
            .unwrap()
            .contains("/v1/transfer-batches")
    );

    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(ADMIN).await;
    browser.goto("/staff/admin").await;
    browser.click_and_load("#api-keys-link").await;
    browser.fill("#key-name", "reporting").await;
    browser
        .click("input[name='scope'][value='events:read']")
        .await;
    browser
        .click("input[name='scope'][value='accounts:read']")
        .await;
    browser.click_and_load("#create-key button").await;
    let secret = browser.text("#api-key-secret").await;
    assert!(secret.starts_with("bak_"), "{secret}");
    browser.screenshot("staff-api-key-issued").await;

    // The service calls with the key alone.
    let feed = |key: String| {
        let http = http.clone();
        let url = format!("{}/v1/events?after=0", portal.logic_url);
        async move { http.get(url).header("x-api-key", key).send().await.unwrap() }
    };
    let response = feed(secret.clone()).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert!(response.headers().contains_key("ratelimit-remaining"));
    // Out of its scopes: refused.
    let response = http
        .get(format!("{}/v1/customers?q=alice", portal.logic_url))
        .header("x-api-key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::FORBIDDEN);

    // The list shows it, used, without its secret; revoking refuses the next call.
    browser.goto("/staff/admin/api-keys").await;
    let page = browser.page().await;
    assert!(!page.contains(&secret));
    let row = browser.text("tr[data-key='reporting']").await;
    assert!(
        row.contains("events:read") && !row.contains("never"),
        "{row}"
    );
    browser
        .click_and_load("tr[data-key='reporting'] .revoke-form button")
        .await;
    assert!(browser.message().await.starts_with("The key is revoked"));
    assert_eq!(
        feed(secret).await.status(),
        reqwest::StatusCode::UNAUTHORIZED
    );
    browser.screenshot("staff-api-keys").await;
    browser.close().await;
}

/// A form sent twice from the browser (two sendings at once, as a double click with JavaScript
/// off makes, then the same form again) opens one account; the repeat says so, on a desktop and
/// on a phone, and leads back to the page it came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_sent_twice_from_the_browser_opens_one_account() {
    let portal = Portal::spawn().await;
    let customer = portal.accounts(ALICE).await[0]["customer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(TELLER).await;
    let page = format!("/staff/customers/{customer}");
    browser.goto(&page).await;
    browser.fill("#account_name", "Rainy day").await;
    let statuses = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const form = document.querySelector('#open-account');
             const body = new URLSearchParams(new FormData(form));
             Promise.all([0, 1].map(() =>
               fetch(form.action, { method: 'POST', body, redirect: 'manual' })))
               .then(answers => done(answers.map(a => a.status).sort()));",
            vec![],
        )
        .await
        .unwrap();
    // An opaque redirect (the account opened) and a conflict (the repeat).
    assert_eq!(statuses, json!([0, 409]));
    browser
        .click_and_load("#open-account button[type=submit]")
        .await;
    assert_eq!(browser.text("h1").await, "This form was already sent");
    browser.screenshot("form-already-sent").await;
    browser.client.set_window_size(390, 844).await.unwrap();
    assert!(!browser.scrolls_sideways().await, "no sideways scrolling");
    browser.screenshot("form-already-sent-phone").await;
    browser.click_and_load("#back-to-page").await;
    assert_eq!(browser.path().await, page);
    assert_eq!(portal.accounts_named(ALICE, "Rainy day").await, 1);
    browser.close().await;
}

/// Step-up in the browser: a payment to an account Alice has not saved asks, on its review, for
/// her approval of exactly that payment; a wrong password is said beside the field and moves
/// nothing; a saved payee is then paid without it, until the amount reaches the threshold she
/// lowered herself. On a phone the approval fits the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_payee_and_a_large_payment_are_approved_on_the_review() {
    let portal = Portal::spawn().await;
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(ALICE).await;
    let bobs = number(&portal.accounts(BOB).await[0]);
    let review = |to_number: String, to_account: String, amount: &'static str| {
        let browser = &browser;
        async move {
            browser.goto("/transfer").await;
            if to_account.is_empty() {
                browser.fill("#to_number", &to_number).await;
            } else {
                browser.choose("#to_account", &to_account).await;
            }
            browser.fill("#amount", amount).await;
            browser.click_and_load("button[type=submit].primary").await;
        }
    };

    review(bobs.clone(), String::new(), "10,50").await;
    assert_eq!(
        browser.text("[data-testid=review-amount]").await,
        "10.50 EUR"
    );
    let fieldset = browser.text("[data-testid=step-up]").await;
    assert!(
        fieldset.contains("You have not saved this account as a payee"),
        "{fieldset}"
    );
    assert!(fieldset.contains("10.50 EUR"), "{fieldset}");
    browser.screenshot("transfer-review-step-up").await;
    let before = portal.transfer_count().await;
    browser
        .fill("#step_up_password", "not-alices-password")
        .await;
    browser.click_and_load("#confirm").await;
    assert_eq!(
        browser.text("#step-up-error").await,
        "Your password is not correct."
    );
    assert_eq!(portal.transfer_count().await, before, "nothing moved");
    browser.screenshot("transfer-review-step-up-refused").await;
    browser.fill("#step_up_password", ALICE.1).await;
    browser.click_and_load("#confirm").await;
    assert_eq!(
        browser.text("[data-testid=receipt-amount]").await,
        "10.50 EUR"
    );
    assert_eq!(portal.transfer_count().await, before + 1);

    // Saved as a payee (approved once), Bob is paid without approving each payment.
    browser.goto("/payees").await;
    browser.fill("#nickname", "Bob").await;
    browser.fill("#account_number", &bobs).await;
    browser.fill("#step_up_password", ALICE.1).await;
    browser
        .click_and_load("form[action='/payees'] button")
        .await;
    assert_eq!(browser.text("#notice").await, "Payee saved.");
    assert!(browser.page().await.contains("Pay Bob"));
    review(String::new(), bobs.clone(), "5.00").await;
    assert!(!browser.page().await.contains("data-testid=\"step-up\""));
    browser.click_and_load("#confirm").await;
    assert_eq!(
        browser.text("[data-testid=receipt-amount]").await,
        "5.00 EUR"
    );

    // Alice lowers her threshold to 3.00: paying Bob 4.00 now asks again, saying why.
    browser.goto("/security").await;
    browser.fill("#threshold-EUR", "3.00").await;
    browser
        .click_and_load("form[action='/security/step-up/EUR'] button")
        .await;
    assert!(
        browser
            .page()
            .await
            .contains("Saved: payments from the amount shown")
    );
    browser.screenshot("security-step-up-threshold").await;
    // Raising it again needs her approval; without it, the refusal is beside the field.
    browser.fill("#threshold-EUR", "500.00").await;
    browser
        .click_and_load("form[action='/security/step-up/EUR'] button")
        .await;
    assert!(
        browser
            .text("#threshold-EUR-error")
            .await
            .starts_with("Raising it needs your approval: enter your password")
    );
    // What she typed stays in the field, beside the reason it was refused.
    assert!(browser.page().await.contains("value=\"500.00\""));
    review(String::new(), bobs.clone(), "4.00").await;
    let fieldset = browser.text("[data-testid=step-up]").await;
    assert!(
        fieldset.contains("Payments of 3.00 EUR or more need your approval"),
        "{fieldset}"
    );

    // On a phone, the approval fits the screen.
    browser.client.set_window_size(390, 844).await.unwrap();
    assert!(!browser.scrolls_sideways().await, "no sideways scrolling");
    browser.screenshot("transfer-review-step-up-phone").await;
    browser.close().await;
}

/// Where staff must have a second factor, a teller's first sign-in leads to enrolling one: the
/// staff pages stay closed until then (a page asked for by address leads back to the
/// enrolment); after it, the recovery codes, then the staff pages; the next sign-in asks for a
/// code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teller_enrols_a_second_factor_at_the_first_sign_in() {
    let portal = Portal::spawn_requiring_staff_second_factor().await;
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(TELLER).await;
    assert_eq!(browser.path().await, "/second-factor/enrol");
    browser.screenshot("staff-second-factor-required").await;
    browser.goto("/staff").await;
    assert_eq!(browser.path().await, "/second-factor/enrol");
    browser.click_and_load("#start-second-factor").await;
    let secret = browser.text("[data-testid=totp-secret]").await;
    browser
        .fill("#code", &crate::portal::totp_code(&secret, 0))
        .await;
    browser
        .click_and_load("form[action='/second-factor/confirm'] button")
        .await;
    browser
        .wait_until("the recovery codes", |page| page.contains("recovery-codes"))
        .await;
    browser.screenshot("staff-second-factor-codes").await;
    browser.click_and_load("a[href='/staff']").await;
    assert_eq!(browser.path().await, "/staff");
    browser.sign_out().await;
    browser.sign_in(TELLER).await;
    assert_eq!(browser.path().await, "/sign-in/code");
    browser.close().await;
}

/// The admin page reads as a table: each field under its own heading, checkboxes of a normal
/// size, Save buttons that look like buttons; a role, access and limits are saved from their row;
/// on a phone the tables scroll inside their card, never the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_page_saves_each_row_from_its_own_columns() {
    let portal = Portal::spawn().await;
    let browser = Browser::open(&portal.url, true).await;
    browser.sign_in(ADMIN).await;
    browser.goto("/staff/admin").await;
    let layout = browser
        .client
        .execute(
            "const cell = id => document.getElementById(id).closest('td').cellIndex;
             const header = (table, i) => document.querySelectorAll(table + ' thead th')[i].textContent;
             const box = document.querySelector('#staff input[type=checkbox]').getBoundingClientRect();
             const save = getComputedStyle(document.querySelector('#limits-EUR button'));
             return [header('#limits', cell('threshold-EUR')), header('#limits', cell('daily-EUR')),
                     Math.round(box.width), save.borderStyle];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        layout,
        json!(["Approval threshold", "Daily transfer limit", 20, "solid"])
    );
    browser.screenshot("staff-admin").await;

    browser.fill("#daily-EUR", "7,500.00").await;
    browser.click_and_load("#limits-EUR button").await;
    assert_eq!(browser.message().await, "Saved.");
    let daily = browser
        .client
        .find(Locator::Css("#daily-EUR"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(daily.as_deref(), Some("7500.00"));

    let row = "tr[data-username='sam.supervisor']";
    browser.click(&format!("{row} input[type=checkbox]")).await;
    browser.choose(&format!("{row} select"), "teller").await;
    browser
        .click_and_load(&format!("{row} button[type=submit]"))
        .await;
    assert_eq!(browser.message().await, "Saved.");
    let saved = browser
        .client
        .execute(
            "const row = document.querySelector(arguments[0]);
             return [row.querySelector('input[type=checkbox]').checked, row.querySelector('select').value];",
            vec![json!(row)],
        )
        .await
        .unwrap();
    assert_eq!(saved, json!([true, "teller"]));

    browser.client.set_window_size(390, 844).await.unwrap();
    browser.goto("/staff/admin").await;
    assert!(
        !browser.scrolls_sideways().await,
        "no sideways scrolling of the page"
    );
    browser.screenshot("staff-admin-phone").await;
    browser.close().await;
}

/// The violations axe-core finds on the page shown, as `impact rule ×nodes (first target)`.
async fn axe_violations(browser: &Browser, bundle: &str) -> Vec<(String, String)> {
    browser
        .client
        .execute(&format!("{bundle}\nreturn typeof axe;"), vec![])
        .await
        .unwrap();
    let found = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => [v.impact || 'none',
                 v.id + ' x' + v.nodes.length + ' (' + v.nodes[0].target.join(' ') + ')'])))
               .catch(e => done([['error', String(e)]]));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

/// Every page of the portal, as a customer, a teller, a supervisor and an admin see it, passes
/// axe-core with no serious or critical violation; the count by impact of each page is printed.
/// Needs axe-core's bundle: `BANK_AXE=…/axe.min.js` (deploy/local/test installs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs axe-core: BANK_AXE=path/to/axe.min.js (deploy/local/test sets it)"]
async fn every_page_passes_axe_with_no_serious_or_critical_violation() {
    let bundle = std::fs::read_to_string(
        std::env::var("BANK_AXE").expect("BANK_AXE: the path of axe-core's axe.min.js"),
    )
    .unwrap();
    let portal = Portal::spawn().await;
    let alices = portal.accounts(ALICE).await;
    let (from, to) = (number(&alices[0]), number(&alices[1]));
    let customer = alices[0]["customer_id"].as_str().unwrap().to_owned();
    let browser = Browser::open(&portal.url, true).await;
    let mut report = Vec::new();
    let mut serious = Vec::new();
    let mut check = async |browser: &Browser, name: &str| {
        let violations = axe_violations(browser, &bundle).await;
        let count = |impact: &str| violations.iter().filter(|(i, _)| i == impact).count();
        report.push(format!(
            "{name:<28} critical {} serious {} moderate {} minor {}",
            count("critical"),
            count("serious"),
            count("moderate"),
            count("minor")
        ));
        for (impact, what) in &violations {
            if impact == "critical" || impact == "serious" || impact == "error" {
                serious.push(format!("{name}: {impact} {what}"));
            }
        }
    };

    browser.goto("/sign-in").await;
    check(&browser, "/sign-in").await;
    browser.sign_in(("alice", "wrong-password-1")).await;
    check(&browser, "/sign-in (wrong password)").await;
    browser.goto("/no-such-page").await;
    check(&browser, "not found").await;

    browser.sign_in(ALICE).await;
    check(&browser, "/").await;
    browser.goto(&format!("/accounts/{from}")).await;
    check(&browser, "/accounts/{number}").await;
    browser.goto("/transfer").await;
    check(&browser, "/transfer").await;
    browser.choose("#from_account", &from).await;
    browser.choose("#to_account", &to).await;
    browser.fill("#amount", "1.00").await;
    browser.click_and_load("button[type=submit].primary").await;
    check(&browser, "/transfer/review").await;
    browser.click_and_load("#confirm").await;
    check(&browser, "/transfer/receipt").await;
    // A payment to an account not saved: the review asks for an approval, and a wrong one is
    // said beside its field.
    browser.goto("/transfer").await;
    browser
        .fill("#to_number", &number(&portal.accounts(BOB).await[0]))
        .await;
    browser.fill("#amount", "1.00").await;
    browser.click_and_load("button[type=submit].primary").await;
    browser
        .fill("#step_up_password", "not-alices-password")
        .await;
    browser.click_and_load("#confirm").await;
    check(&browser, "/transfer/review (approval refused)").await;
    browser.goto("/payees").await;
    check(&browser, "/payees").await;
    browser.goto("/security").await;
    check(&browser, "/security").await;
    browser
        .click_and_load("form[action='/security/totp/start'] button")
        .await;
    check(&browser, "/security/totp/start").await;
    browser.goto("/").await;
    browser.sign_out().await;

    browser.sign_in(TELLER).await;
    for (path, name) in [
        ("/staff".to_owned(), "/staff"),
        ("/staff/customers?q=alice".to_owned(), "/staff/customers?q="),
        ("/staff/customers/new".to_owned(), "/staff/customers/new"),
        (
            format!("/staff/customers/{customer}"),
            "/staff/customers/{id}",
        ),
        (
            format!("/staff/accounts/{from}"),
            "/staff/accounts/{number}",
        ),
        ("/staff/drawer".to_owned(), "/staff/drawer"),
    ] {
        browser.goto(&path).await;
        check(&browser, name).await;
    }
    browser.sign_out().await;
    browser.sign_in(SUPERVISOR).await;
    browser.goto("/staff/approvals").await;
    check(&browser, "/staff/approvals").await;
    browser.sign_out().await;
    browser.sign_in(ADMIN).await;
    for path in [
        "/staff/admin",
        "/staff/admin/api-keys",
        "/staff/audit",
        "/staff/cluster",
    ] {
        browser.goto(path).await;
        check(&browser, path).await;
    }
    browser.close().await;
    println!("axe-core on {} pages:\n{}", report.len(), report.join("\n"));
    assert!(serious.is_empty(), "{}", serious.join("\n"));
}
