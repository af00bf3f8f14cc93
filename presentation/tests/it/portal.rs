//! `Portal`: a logic tier seeded with the demo bank and presentation instances in front of it,
//! each on its own loopback port, plus a browser-like HTTP client.

use std::sync::Arc;

use logic::AppState as LogicState;
use logic::config::{Secret, Settings as LogicSettings};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::Value;

pub const ALICE: (&str, &str) = ("alice", "alice-demo-pass");
pub const BOB: (&str, &str) = ("bob", "bob-demo-password");

pub struct Portal {
    pub url: String,
    pub logic_url: String,
    pub logic: LogicState,
    /// The seeded database, for a tier started as a process of its own.
    pub database_url: String,
    pub portal_key: String,
    /// A credential for calling the logic tier directly, as the tests' own service.
    pub api_key: String,
}

/// Serves `router` over HTTPS on a port of its own, with the test authority's certificate.
async fn serve(router: axum::Router) -> String {
    let tls = data::testing::tls::certificates();
    let config =
        axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert_file, &tls.key_file)
            .await
            .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let server = axum_server::from_tcp_rustls(listener, config).unwrap();
    tokio::spawn(async move { server.serve(router.into_make_service()).await.unwrap() });
    url
}

/// An HTTP client that trusts the test authority, and only it, as the tiers do theirs.
pub fn http() -> reqwest::ClientBuilder {
    let authority = reqwest::Certificate::from_pem(&data::testing::tls::certificates().ca_pem);
    reqwest::Client::builder().tls_certs_only([authority.unwrap()])
}

impl Portal {
    /// Both tiers with staff's second factor optional: staff sign in many times a minute here,
    /// and a TOTP code signs in once.
    pub async fn spawn() -> Self {
        Self::spawn_with(false).await
    }

    /// Both tiers where staff must have a second factor, as the bank runs by default.
    pub async fn spawn_requiring_staff_second_factor() -> Self {
        Self::spawn_with(true).await
    }

    async fn spawn_with(staff_second_factor_required: bool) -> Self {
        // Both tiers run in this one process and share its one metrics recorder.
        bank_api::metrics::handle();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let db = data::testing::fresh_database(10).await;
        let settings = LogicSettings {
            database_url: Secret::new(db.url.clone()),
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            database: data::pool::PoolSettings::default(),
            retry_budget_ms: 10_000,
            session_ttl_s: 3_600,
            session_idle_s: 900,
            approval_ttl_s: 3_600,
            log_json: false,
            patroni_urls: Vec::new(),
            ca_file: None,
            listen: logic::config::Listen::PlainHttpForDevelopment,
            server_key_file: Some(data::testing::server_key_file().to_path_buf()),
            audit_anchor_file: None,
            sign_in_unknown_device_checks_per_minute: 300,
            staff_second_factor_required,
            group_commit: logic::config::GroupCommit::default(),
        };
        let logic = LogicState::new(db.pool.clone(), settings).await.unwrap();
        logic::seed::seed_demo(&logic).await.unwrap();
        let mut conn = db.pool.acquire().await.unwrap();
        let portal_key = logic::auth::secrets::generate("bsk");
        let api_key = logic::auth::secrets::generate("bsk");
        for (name, key) in [("presentation", &portal_key), ("tests", &api_key)] {
            data::sessions::insert_service_client(
                &mut conn,
                uuid::Uuid::new_v4(),
                name,
                &logic::auth::secrets::digest(key),
            )
            .await
            .unwrap();
        }
        drop(conn);
        let logic_url = serve(logic::router(logic.clone())).await;
        let url = Self::instance_at(&logic_url, &portal_key).await;
        Self {
            url,
            logic_url,
            logic,
            database_url: db.url.clone(),
            portal_key,
            api_key,
        }
    }

    /// Another presentation instance in front of the same logic tier.
    pub async fn instance(&self) -> String {
        Self::instance_at(&self.logic_url, &self.portal_key).await
    }

    /// A presentation instance in front of any logic URL (for a faithful stand-in that fails).
    pub async fn instance_at(logic_url: &str, portal_key: &str) -> String {
        Self::instance_with_budget(
            logic_url,
            portal_key,
            std::time::Duration::from_millis(presentation::logic::PAGE_BUDGET_MS),
        )
        .await
    }

    /// A presentation instance whose pages may spend `page_budget` on the logic tier.
    pub async fn instance_with_budget(
        logic_url: &str,
        portal_key: &str,
        page_budget: std::time::Duration,
    ) -> String {
        let settings = presentation::Settings {
            logic_url: logic_url.to_owned(),
            service_key: portal_key.to_owned(),
            static_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../static").to_owned(),
            secure_cookies: true,
            logic_ca_pem: Some(data::testing::tls::certificates().ca_pem.clone()),
            font_dir: presentation::statement::DEFAULT_FONT_DIR.into(),
            page_budget,
        };
        serve(presentation::app(&settings).unwrap()).await
    }

    pub fn browser(&self) -> Client {
        Client::new(&self.url)
    }

    /// How many of a customer's accounts bear this name.
    pub async fn accounts_named(&self, user: (&str, &str), name: &str) -> usize {
        self.accounts(user)
            .await
            .iter()
            .filter(|a| a["name"] == name)
            .count()
    }

    /// The number of a customer's first account.
    pub async fn first_account(&self, user: (&str, &str)) -> String {
        self.accounts(user).await[0]["number"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A customer's accounts, as the logic tier has them.
    pub async fn accounts(&self, (username, password): (&str, &str)) -> Vec<Value> {
        let http = http().build().unwrap();
        let session: Value = http
            .post(format!("{}/v1/sessions", self.logic_url))
            .header("x-api-key", &self.api_key)
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = session["token"].as_str().unwrap();
        let list: Value = http
            .get(format!("{}/v1/accounts", self.logic_url))
            .header("x-api-key", &self.api_key)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["accounts"].as_array().unwrap().clone()
    }

    /// A transfer made by the customer through the API, as another channel would; the response.
    pub async fn transfer_as(
        &self,
        (username, password): (&str, &str),
        from: &str,
        to: &str,
        amount: &str,
    ) -> Value {
        self.transfer_with_memo_as((username, password), from, to, amount, "")
            .await
    }

    /// A transfer made at the logic tier, with a reference.
    pub async fn transfer_with_memo_as(
        &self,
        (username, password): (&str, &str),
        from: &str,
        to: &str,
        amount: &str,
        memo: &str,
    ) -> Value {
        let http = http().build().unwrap();
        let session: Value = http
            .post(format!("{}/v1/sessions", self.logic_url))
            .header("x-api-key", &self.api_key)
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        http.post(format!("{}/v1/transfers", self.logic_url))
            .header("x-api-key", &self.api_key)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .bearer_auth(session["token"].as_str().unwrap())
            .json(&serde_json::json!({
                "debit_account": from,
                "credit_account": to,
                "amount": amount,
                "currency": "EUR",
                "memo": memo,
                // Approved with the password, as a customer without a second factor does; read
                // only when the payment needs it.
                "step_up": { "password": password },
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Sets an account's status directly, as staff would have (frozen means frozen for all).
    pub async fn set_status(&self, number: &str, status: data::accounts::AccountStatus) {
        let mut conn = self.logic.pool.acquire().await.unwrap();
        let account = data::accounts::find_account_by_number(&mut conn, number)
            .await
            .unwrap()
            .unwrap();
        let scope = (status == data::accounts::AccountStatus::Frozen)
            .then_some(data::accounts::FreezeScope::All);
        data::accounts::set_status(&mut conn, account.id, status, scope, "set by a test")
            .await
            .unwrap();
    }

    /// Gives the holder of `number` a daily limit of their own, as staff would have.
    pub async fn set_daily_limit(&self, number: &str, currency: &str, limit: &str) {
        let mut conn = self.logic.pool.acquire().await.unwrap();
        let account = data::accounts::find_account_by_number(&mut conn, number)
            .await
            .unwrap()
            .unwrap();
        data::limits::set_customer_daily_limit(
            &mut conn,
            account.customer_id.unwrap(),
            currency,
            Some(limit.parse().unwrap()),
        )
        .await
        .unwrap();
    }

    pub async fn transfer_count(&self) -> i64 {
        let mut conn = self.logic.pool.acquire().await.unwrap();
        data::transfers::count_transfers(&mut conn).await.unwrap()
    }
}

/// A browser-like client: a cookie jar, no automatic redirects (tests follow them explicitly).
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the first hidden input with this name.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} on the page"))
            + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_owned()
    }

    pub fn csrf(&self) -> String {
        self.hidden("csrf_token")
    }
}

impl Client {
    pub fn new(base: &str) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = http()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .build()
            .unwrap();
        Self {
            base: base.to_owned(),
            http,
            jar,
        }
    }

    /// The same cookies, sent to another instance.
    pub fn at(&self, base: &str) -> Self {
        let url: reqwest::Url = self.base.parse().unwrap();
        let other: reqwest::Url = base.parse().unwrap();
        let jar = Arc::new(reqwest::cookie::Jar::default());
        use reqwest::cookie::CookieStore;
        if let Some(cookies) = self.jar.cookies(&url) {
            for cookie in cookies.to_str().unwrap().split("; ") {
                jar.add_cookie_str(cookie, &other);
            }
        }
        let http = http()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .build()
            .unwrap();
        Self {
            base: base.to_owned(),
            http,
            jar,
        }
    }

    async fn read(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn get_htmx(&self, path: &str) -> Page {
        Self::read(
            self.http
                .get(format!("{}{path}", self.base))
                .header("hx-request", "true")
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn get_bytes(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            status,
            content_type,
            response.bytes().await.unwrap().to_vec(),
        )
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::read(
            self.http
                .post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Pays `to_number` from `from` through the transfer page's form, approving with
    /// `password`; the confirmation's answer.
    pub async fn pay(
        &self,
        from: &str,
        to_number: &str,
        amount: &str,
        memo: &str,
        password: &str,
    ) -> Page {
        let form = self.get("/transfer").await;
        assert_eq!(form.status, StatusCode::OK);
        let key = form.hidden("idempotency_key");
        self.post(
            "/transfer/confirm",
            &[
                ("csrf_token", form.csrf().as_str()),
                ("idempotency_key", key.as_str()),
                ("from_account", from),
                ("to_account", ""),
                ("to_number", to_number),
                ("amount", amount),
                ("memo", memo),
                ("step_up_password", password),
            ],
        )
        .await
    }

    /// Follows a redirect once.
    pub async fn follow(&self, page: &Page) -> Page {
        self.get(page.location.as_deref().expect("a redirect"))
            .await
    }

    /// Signs in through a balancer that says the browser is at `forwarded_for`.
    pub async fn sign_in_from(
        &self,
        (username, password): (&str, &str),
        forwarded_for: &str,
    ) -> Page {
        let csrf = self.get("/sign-in").await.csrf();
        Self::read(
            self.http
                .post(format!("{}/sign-in", self.base))
                .header("x-forwarded-for", forwarded_for)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("username", username),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn sign_in(&self, (username, password): (&str, &str)) -> Page {
        let form = self.get("/sign-in").await;
        let csrf = form.csrf();
        self.post(
            "/sign-in",
            &[
                ("csrf_token", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Signs in and returns the dashboard.
    pub async fn signed_in(&self, user: (&str, &str)) -> Page {
        let answer = self.sign_in(user).await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "sign in: {}",
            answer.body
        );
        assert_eq!(answer.location.as_deref(), Some("/"));
        let dashboard = self.get("/").await;
        assert_eq!(dashboard.status, StatusCode::OK);
        dashboard
    }
}

/// Stands in front of the logic tier: passes everything through and notes each request's id, and
/// while told to, loses the answer to every transfer it forwards, as a dropped connection during
/// a failover would (the logic tier does the work; the portal never hears back).
#[derive(Clone)]
pub struct LogicProxy {
    pub url: String,
    state: ProxyState,
}

#[derive(Clone)]
struct ProxyState {
    target: String,
    http: reqwest::Client,
    lose: Arc<std::sync::atomic::AtomicBool>,
    /// Answers 503 to a lookup by idempotency key, passing it on to nobody.
    lose_lookups: Arc<std::sync::atomic::AtomicBool>,
    /// Milliseconds every call waits before it is passed on (a slow logic tier, a failover).
    delay_ms: Arc<std::sync::atomic::AtomicU64>,
    request_ids: Arc<std::sync::Mutex<Vec<String>>>,
}

impl LogicProxy {
    pub async fn spawn(target: &str) -> Self {
        let state = ProxyState {
            target: target.to_owned(),
            http: http().build().unwrap(),
            lose: Arc::default(),
            lose_lookups: Arc::default(),
            delay_ms: Arc::default(),
            request_ids: Arc::default(),
        };
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        Self {
            url: serve(router).await,
            state,
        }
    }

    pub fn lose_transfers(&self, lose: bool) {
        self.state
            .lose
            .store(lose, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn lose_lookups(&self, lose: bool) {
        self.state
            .lose_lookups
            .store(lose, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every call from now on waits `ms` before it is passed on.
    pub fn delay_calls(&self, ms: u64) {
        self.state
            .delay_ms
            .store(ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn request_ids(&self) -> Vec<String> {
        self.state.request_ids.lock().unwrap().clone()
    }
}

async fn forward(
    axum::extract::State(proxy): axum::extract::State<ProxyState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    if let Some(id) = parts.headers.get("x-request-id") {
        proxy
            .request_ids
            .lock()
            .unwrap()
            .push(id.to_str().unwrap().to_owned());
    }
    if parts.method == axum::http::Method::GET
        && parts.uri.path() == "/v1/transfers"
        && proxy.lose_lookups.load(std::sync::atomic::Ordering::SeqCst)
    {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let delay = proxy.delay_ms.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let mut outgoing = proxy.http.request(
        parts.method.clone(),
        format!("{}{}", proxy.target, parts.uri),
    );
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.body(bytes.to_vec()).send().await.unwrap();
    // Money movements: a customer's transfer, a teller's cash.
    let lost = parts.method == axum::http::Method::POST
        && (parts.uri.path() == "/v1/transfers" || parts.uri.path().starts_with("/v1/cash/"))
        && proxy.lose.load(std::sync::atomic::Ordering::SeqCst);
    if lost {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let status = answer.status();
    let headers = answer.headers().clone();
    let mut response =
        axum::response::Response::new(axum::body::Body::from(answer.bytes().await.unwrap()));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != "transfer-encoding" && name != "content-length" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// The TOTP code of `secret` (base32) for the time step `offset_s` seconds from now.
pub fn totp_code(secret: &str, offset_s: i64) -> String {
    use totp_rs::{Algorithm, Builder, Secret};
    let secret = Secret::try_from_base32(secret).unwrap();
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(secret.as_bytes().to_vec())
        .with_account_name("test")
        .build()
        .unwrap();
    let at = time::OffsetDateTime::now_utc().unix_timestamp() + offset_s;
    totp.generate(u64::try_from(at).unwrap()).to_string()
}
