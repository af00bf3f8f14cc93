//! `TestApp`: a logic tier on a loopback port over a fresh database, with one helper per
//! endpoint so that each test reads as the scenario it checks.

use std::sync::Arc;

use data::users::Role;
use logic::AppState;
use logic::config::{Secret, Settings};
use reqwest::{Response, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

pub const TELLER: (&str, &str) = ("tina.teller", "teller-test-password");
pub const SUPERVISOR: (&str, &str) = ("sid.supervisor", "supervisor-test-password");
pub const ADMIN: (&str, &str) = ("adam.admin", "admin-test-password");
pub const SUPERVISOR2: (&str, &str) = ("sara.supervisor", "supervisor2-test-password");

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub http: reqwest::Client,
    pub service_key: String,
    pub state: AppState,
    /// Between the logic tier and the database, when the options ask for it.
    pub cutter: Option<CommitCutter>,
    /// By session token: the password a customer approves a step-up with (none for staff).
    step_up_passwords: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
}

/// Options for a test app whose settings differ from the defaults.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub session_ttl_s: i64,
    pub connections_max: u32,
    pub patroni_urls: Vec<String>,
    /// The authority the Patroni endpoints' certificates are checked against.
    pub ca_file: Option<std::path::PathBuf>,
    pub approval_ttl_s: i64,
    pub sign_in_unknown_device_checks_per_minute: u32,
    pub retry_budget_ms: u64,
    /// Off here unless a test turns it on: most tests sign staff in many times a minute, and a
    /// TOTP code signs in once (the rule itself is tested on its own).
    pub staff_second_factor_required: bool,
    pub group_commit: logic::config::GroupCommit,
    /// The logic tier reaches the database through a [`CommitCutter`].
    pub cut_commits: bool,
    /// Where the instance keeps the newest audit record it vouched for (none by default).
    pub audit_anchor_file: Option<std::path::PathBuf>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            approval_ttl_s: 3_600,
            sign_in_unknown_device_checks_per_minute: 300,
            session_ttl_s: 3_600,
            connections_max: 10,
            patroni_urls: Vec::new(),
            ca_file: None,
            retry_budget_ms: 10_000,
            staff_second_factor_required: false,
            cut_commits: false,
            group_commit: logic::config::GroupCommit::default(),
            audit_anchor_file: None,
        }
    }
}

impl TestApp {
    /// A logic tier over an empty, migrated database with a vault, staff of every role and a
    /// registered service credential.
    pub async fn spawn() -> Self {
        Self::spawn_with(AppOptions::default()).await
    }

    pub async fn spawn_with(options: AppOptions) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let db = data::testing::fresh_database(options.connections_max).await;
        let settings = Settings {
            database_url: Secret::new(db.url.clone()),
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            database: data::pool::PoolSettings::default(),
            retry_budget_ms: options.retry_budget_ms,
            session_ttl_s: options.session_ttl_s,
            session_idle_s: 900,
            approval_ttl_s: options.approval_ttl_s,
            log_json: false,
            patroni_urls: options.patroni_urls.clone(),
            ca_file: options.ca_file.clone(),
            listen: logic::config::Listen::PlainHttpForDevelopment,
            server_key_file: Some(data::testing::server_key_file().to_path_buf()),
            audit_anchor_file: options.audit_anchor_file.clone(),
            sign_in_unknown_device_checks_per_minute: options
                .sign_in_unknown_device_checks_per_minute,
            staff_second_factor_required: options.staff_second_factor_required,
            group_commit: options.group_commit,
        };
        let (pool, cutter) = if options.cut_commits {
            let cutter = CommitCutter::spawn(&db.url).await;
            let pool = data::pool::connect_lazy(
                &cutter.url,
                &data::pool::PoolSettings {
                    connections_max: options.connections_max,
                    ..data::pool::PoolSettings::default()
                },
            )
            .unwrap();
            (pool, Some(cutter))
        } else {
            (db.pool.clone(), None)
        };
        let state = AppState::new(pool, settings).await.unwrap();
        let service_key = logic::auth::secrets::generate("bsk");
        let mut conn = db.pool.acquire().await.unwrap();
        data::sessions::insert_service_client(
            &mut conn,
            uuid::Uuid::new_v4(),
            "tests",
            &logic::auth::secrets::digest(&service_key),
        )
        .await
        .unwrap();
        for (username, password, role) in [
            (TELLER.0, TELLER.1, Role::Teller),
            (SUPERVISOR.0, SUPERVISOR.1, Role::Supervisor),
            (ADMIN.0, ADMIN.1, Role::Admin),
            (SUPERVISOR2.0, SUPERVISOR2.1, Role::Supervisor),
        ] {
            logic::identity::new_user(
                &mut conn,
                username,
                (password.into(), logic::identity::FirstPassword::Published),
                role,
                None,
            )
            .await
            .unwrap();
        }
        create_vault(&mut conn, 1_000_000).await;
        drop(conn);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = logic::router(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            base,
            database_url: db.url,
            http: reqwest::Client::new(),
            service_key,
            step_up_passwords: std::sync::Mutex::default(),
            state,
            cutter,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The API document, as published at `/v1/openapi.json` (no credential needed).
    pub async fn openapi(&self) -> Value {
        let response = self
            .http
            .get(self.url("/v1/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.json().await.unwrap()
    }

    /// A request carrying the service credential and, if given, the user's token.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("x-api-key", &self.service_key);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(reqwest::Method::GET, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(reqwest::Method::POST, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_idempotent(
        &self,
        path: &str,
        token: &str,
        key: &str,
        body: &Value,
    ) -> Response {
        self.request(reqwest::Method::POST, path, Some(token))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in_response(&self, username: &str, password: &str) -> Response {
        self.http
            .post(self.url("/v1/sessions"))
            .header("x-api-key", &self.service_key)
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, (username, password): (&str, &str)) -> String {
        let response = self.sign_in_response(username, password).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "sign in as {username}"
        );
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// Onboards a customer with a portal sign-in, through the API as the teller.
    /// Onboards a customer with a sign-in, as a teller would, and signs them in; like any customer
    /// given a first password by a teller, they replace it (with `<username>-test-password`)
    /// before anything else.
    pub async fn customer(&self, teller: &str, username: &str) -> Customer {
        let first = format!("{username}-teller-chose-this-one");
        let password = format!("{username}-test-password");
        let response = self
            .post(
                "/v1/customers",
                teller,
                &json!({
                    "full_name": format!("Customer {username}"),
                    "email": format!("{username}@example.org"),
                    "date_of_birth": "1980-04-21",
                    "address": "1 Test Street, York YO1 1AA",
                    "id_document": format!("T-{}", username.to_uppercase().replace(['.', '_'], "-")),
                    "id_document_kind": "passport",
                    "id_document_country": "GB",
                    "id_document_expires": "2036-01-31",
                    "login": { "username": username, "password": first },
                }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let token = self.sign_in((username, &first)).await;
        let changed = self
            .post(
                "/v1/me/password",
                &token,
                &json!({ "current_password": first, "new_password": password }),
            )
            .await;
        assert_eq!(
            changed.status(),
            StatusCode::NO_CONTENT,
            "replace the first password"
        );
        Customer {
            id: body["id"].as_str().unwrap().to_owned(),
            token,
        }
    }

    /// Opens an account for the customer as the teller, funded with a cash deposit.
    pub async fn account(&self, teller: &str, customer: &Customer, deposit: &str) -> String {
        let response = self
            .post(
                "/v1/accounts",
                teller,
                &json!({ "customer_id": customer.id, "product": "current", "currency": "EUR" }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let number = response.json::<Value>().await.unwrap()["number"]
            .as_str()
            .unwrap()
            .to_owned();
        if deposit != "0" {
            self.open_drawer(teller).await;
            let response = self
                .post_idempotent(
                    "/v1/cash/deposits",
                    teller,
                    &uuid::Uuid::new_v4().to_string(),
                    &json!({ "account": number, "amount": deposit, "currency": "EUR" }),
                )
                .await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        number
    }

    /// Opens the member of staff's EUR drawer (empty) unless it is open already; returns its id.
    pub async fn open_drawer(&self, staff: &str) -> String {
        let response = self
            .post_idempotent(
                "/v1/drawers",
                staff,
                &uuid::Uuid::new_v4().to_string(),
                &json!({ "currency": "EUR", "opening_float": "0" }),
            )
            .await;
        let status = response.status();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "open a drawer: {status}"
        );
        let drawers: Value = self.get("/v1/drawers", staff).await.json().await.unwrap();
        drawers["drawers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["state"] == "open" && d["currency"] == "EUR")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A transfer as a client makes it; a customer's carries their password as its step-up
    /// (customers here have no second factor), which the bank reads only when the payment
    /// needs it (a new payee, or at least the threshold).
    pub async fn transfer(
        &self,
        token: &str,
        key: &str,
        from: &str,
        to: &str,
        amount: &str,
    ) -> Response {
        let mut body = transfer_body(from, to, amount);
        if let Some(password) = self.step_up_password(token).await {
            body["step_up"] = json!({ "password": password });
        }
        self.post_idempotent("/v1/transfers", token, key, &body)
            .await
    }

    /// A transfer with no step-up: refused when the payment needs one.
    pub async fn transfer_without_step_up(
        &self,
        token: &str,
        key: &str,
        from: &str,
        to: &str,
        amount: &str,
    ) -> Response {
        self.post_idempotent(
            "/v1/transfers",
            token,
            key,
            &transfer_body(from, to, amount),
        )
        .await
    }

    /// The password a customer signed in with `token` approves a step-up with, by the tests'
    /// convention (`<username>-test-password`); `None` for anyone else.
    async fn step_up_password(&self, token: &str) -> Option<String> {
        if let Some(known) = self.step_up_passwords.lock().unwrap().get(token) {
            return known.clone();
        }
        let response = self.get("/v1/me", token).await;
        let password = if response.status() == StatusCode::OK {
            let me: Value = response.json().await.unwrap();
            (me["user"]["role"] == "customer")
                .then(|| format!("{}-test-password", me["user"]["username"].as_str().unwrap()))
        } else {
            None
        };
        self.step_up_passwords
            .lock()
            .unwrap()
            .insert(token.to_owned(), password.clone());
        password
    }

    /// The ledger balance of an account as the API shows it, read as staff.
    pub async fn balance(&self, staff: &str, number: &str) -> Decimal {
        let body: Value = self
            .get(&format!("/v1/accounts/{number}"), staff)
            .await
            .json()
            .await
            .unwrap();
        body["ledger_balance"].as_str().unwrap().parse().unwrap()
    }

    /// Everything a refused request must leave untouched.
    pub async fn snapshot(&self) -> Snapshot {
        let mut conn = self.state.pool.acquire().await.unwrap();
        Snapshot {
            transfers: data::transfers::count_transfers(&mut conn).await.unwrap(),
            idempotency_records: data::idempotency::count_records(&mut conn).await.unwrap(),
            audit_records: data::audit::count_records(&mut conn).await.unwrap(),
            balances: data::accounts::reconcile_accounts(&mut conn)
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.number, a.balance))
                .collect(),
        }
    }

    /// Everything `verify-ledger` checks holds: the audit chain (anchored first, as the
    /// janitor does each minute, so the checkpoint is held against it too), every transfer's
    /// entries, every balance, and the event feed against the ledger.
    pub async fn assert_ledger_sound(&self) {
        assert!(
            !matches!(
                logic::audit::anchor(&self.state).await.unwrap(),
                logic::audit::Anchored::Broken(_)
            ),
            "the chain anchors"
        );
        let report = self.verify_ledger().await;
        assert!(report.intact, "{report:?}");
        assert!(report.audit_checkpoints_authenticated);
    }

    /// What `verify-ledger` reports, with the server key.
    pub async fn verify_ledger(&self) -> bank_api::audit::VerificationResponse {
        let anchors = match self
            .state
            .settings
            .audit_anchor_file
            .as_deref()
            .and_then(std::path::Path::parent)
        {
            Some(dir) => logic::audit::read_anchors(dir).unwrap(),
            None => Vec::new(),
        };
        let mut conn = self.state.pool.acquire().await.unwrap();
        logic::audit::verify_ledger(&mut conn, Some(&self.state.server_key), &anchors)
            .await
            .unwrap()
    }

    pub async fn set_status(&self, number: &str, status: data::accounts::AccountStatus) {
        let mut conn = self.state.pool.acquire().await.unwrap();
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub transfers: i64,
    pub idempotency_records: i64,
    pub audit_records: i64,
    pub balances: Vec<(String, Decimal)>,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub token: String,
}

/// Reads a problem response and returns its `code`, checking the media type on the way.
/// A transfer request's body in EUR.
fn transfer_body(from: &str, to: &str, amount: &str) -> Value {
    json!({ "debit_account": from, "credit_account": to, "amount": amount, "currency": "EUR" })
}

pub async fn problem_code(response: Response) -> String {
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["request_id"].is_string(),
        "problem without request id: {body}"
    );
    body["code"].as_str().unwrap().to_owned()
}

async fn create_vault(conn: &mut data::PgConnection, cash: i64) {
    use data::accounts::{AccountKind, InternalLedger, NewAccount, NormalSide};
    let mut ids = Vec::new();
    for (ledger, name, side, floor) in [
        (InternalLedger::VaultCash, "Vault", NormalSide::Debit, true),
        (
            InternalLedger::Capital,
            "Capital",
            NormalSide::Credit,
            false,
        ),
    ] {
        let number = logic::domain::account_number::random_internal();
        let row = data::accounts::insert_account(
            conn,
            &NewAccount {
                id: uuid::Uuid::new_v4(),
                number: number.as_str(),
                kind: AccountKind::Internal,
                product: None,
                name,
                customer_id: None,
                ledger: Some(ledger),
                currency: "EUR",
                normal_side: side,
                overdraft_limit: Decimal::ZERO,
                floor_enforced: floor,
            },
        )
        .await
        .unwrap();
        ids.push(row.id);
    }
    let mut tx = data::savepoint(conn).await.unwrap();
    data::transfers::post_transfer(
        &mut tx,
        &data::transfers::NewTransfer {
            id: uuid::Uuid::new_v4(),
            idempotency_key: "opening",
            kind: data::transfers::TransferKind::OpeningCash,
            amount: Decimal::from(cash),
            currency: "EUR",
            debit_account_id: ids[0],
            credit_account_id: ids[1],
            memo: "opening cash",
            initiated_by: None,
            reverses_transfer_id: None,
            request_id: None,
            batch_id: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Shares a value between concurrent tasks.
pub fn shared<T>(value: T) -> Arc<T> {
    Arc::new(value)
}

/// A TCP proxy between the logic tier and PostgreSQL (without TLS, to read the protocol) that
/// loses one COMMIT's answer: once armed with a statement's text, the next connection to send
/// that text has its next COMMIT passed on, and is then cut before the answer comes back. The
/// database commits; the logic tier only sees its connection drop, as in a failover.
pub struct CommitCutter {
    /// The database URL through the proxy.
    pub url: String,
    armed: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    cuts: Arc<std::sync::atomic::AtomicUsize>,
}

/// The simple-protocol message sqlx commits with.
const COMMIT_MESSAGE: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";

impl CommitCutter {
    pub async fn spawn(database_url: &str) -> Self {
        let mut target = reqwest::Url::parse(database_url).unwrap();
        let server = format!("{}:{}", target.host_str().unwrap(), target.port().unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        target
            .set_port(Some(listener.local_addr().unwrap().port()))
            .unwrap();
        target.set_query(Some("sslmode=disable"));
        let cutter = Self {
            url: target.to_string(),
            armed: Arc::default(),
            cuts: Arc::default(),
        };
        let (armed, cuts) = (cutter.armed.clone(), cutter.cuts.clone());
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                let server = tokio::net::TcpStream::connect(&server).await.unwrap();
                tokio::spawn(relay(client, server, armed.clone(), cuts.clone()));
            }
        });
        cutter
    }

    /// Loses the answer to the COMMIT of the next transaction that sends `statement`.
    pub fn arm(&self, statement: &str) {
        *self.armed.lock().unwrap() = Some(statement.as_bytes().to_vec());
    }

    /// How many COMMITs it has lost the answer to.
    pub fn cuts(&self) -> usize {
        self.cuts.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    armed: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    cuts: Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let cut = Arc::new(AtomicBool::new(false));
    let answers = {
        let cut = cut.clone();
        tokio::spawn(async move {
            let mut client_write = Some(client_write);
            let mut buffer = vec![0u8; 65_536];
            while let Ok(n) = server_read.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                if cut.load(Ordering::SeqCst) {
                    // The answer to the COMMIT, and anything after it, is read and dropped: the
                    // client's connection closes instead.
                    client_write = None;
                }
                if let Some(writer) = client_write.as_mut()
                    && writer.write_all(&buffer[..n]).await.is_err()
                {
                    break;
                }
            }
        })
    };
    let mut marked = false;
    let mut buffer = vec![0u8; 65_536];
    loop {
        let n = match client_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buffer[..n];
        if !marked {
            let mut armed = armed.lock().unwrap();
            if armed.as_deref().is_some_and(|text| contains(chunk, text)) {
                *armed = None;
                marked = true;
            }
        }
        let commit = marked && contains(chunk, COMMIT_MESSAGE);
        if commit {
            cut.store(true, Ordering::SeqCst);
            cuts.fetch_add(1, Ordering::SeqCst);
        }
        if server_write.write_all(chunk).await.is_err() || commit {
            break;
        }
    }
    // The server reads the COMMIT, then the end of its connection: it commits, answers into the
    // void, and ends the session.
    drop(server_write);
    let _ = answers.await;
}
