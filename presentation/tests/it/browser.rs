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

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Browser {
    client: Client,
    base: String,
    downloads: PathBuf,
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
            downloads,
        }
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

    async fn close(self) {
        self.client.close().await.unwrap();
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
        let mut file = None;
        for _ in 0..100 {
            file = std::fs::read_dir(&browser.downloads)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == extension));
            if file.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let file = file.unwrap_or_else(|| panic!("no {extension} download"));
        if extension == "csv" {
            let text = std::fs::read_to_string(&file).unwrap();
            let last: Vec<&str> = text.lines().last().unwrap().split(',').collect();
            assert_eq!((last[1], last[5]), ("Closing balance", "2500.00"), "{text}");
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
             form.querySelector('[name=csrf_token]').value = 'forged';
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
    let browser = Browser::open_sized(&portal.url, true, (390, 844)).await;
    browser.sign_in(ALICE).await;
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(false), "no sideways scrolling");
    browser.screenshot("dashboard-phone").await;
    let from = number(&portal.accounts(ALICE).await[0]);
    browser.goto(&format!("/accounts/{from}")).await;
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        json!(false),
        "no sideways scrolling on the account page"
    );
    browser.screenshot("account-phone").await;
    browser.close().await;
}
