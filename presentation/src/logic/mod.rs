//! The logic tier's API, as this tier calls it: one method per endpoint, each carrying the
//! portal's service credential, the customer's session token and the request id.

mod endpoints;

pub use endpoints::ApprovalFilter;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use bank_api::ProblemCode;
use bank_api::sessions::{PortalSessionRecord, SignInRequest};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

/// How long one call to the logic tier may take. The logic tier retries a failover for up to
/// about 30 s itself; past this the page says the outcome is being confirmed.
const CALL_TIMEOUT_MS: u64 = 35_000;

/// How long one page may spend on all its calls to the logic tier together, unless the settings
/// say otherwise: under the edge's 45 s wait for the portal (`timeout server`), so that a page
/// whose calls each wait out a failover answers with its own page rather than the edge's bare
/// 504.
pub const PAGE_BUDGET_MS: u64 = 40_000;

tokio::task_local! {
    /// When the page being served must have its answers from the logic tier by.
    static PAGE_DEADLINE: tokio::time::Instant;
}

/// Runs `page` with `budget` for all its calls to the logic tier together: each call may take
/// what is left of it (and never more than its own limit); one made after it is spent fails at
/// once as [`LogicError::Unavailable`].
pub async fn within_page_budget<F: std::future::Future>(budget: Duration, page: F) -> F::Output {
    PAGE_DEADLINE
        .scope(tokio::time::Instant::now() + budget, page)
        .await
}

/// What a call may take now: its own limit, or what is left of the page's budget if less.
fn call_timeout() -> Result<Duration, LogicError> {
    let limit = Duration::from_millis(CALL_TIMEOUT_MS);
    match PAGE_DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(tokio::time::Instant::now()))
    {
        Err(_) => Ok(limit),
        Ok(left) if left.is_zero() => Err(LogicError::Unavailable(
            "the page's time for the logic tier is spent".into(),
        )),
        Ok(left) => Ok(left.min(limit)),
    }
}

#[derive(Clone)]
pub struct Logic {
    http: reqwest::Client,
    base: Arc<str>,
    service_key: Arc<str>,
}

impl std::fmt::Debug for Logic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logic")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// A problem the logic tier answered with (RFC 9457).
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    pub status: u16,
    pub code: ProblemCode,
    #[serde(default)]
    pub detail: String,
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LogicError {
    /// The logic tier answered and refused.
    #[error("{}: {}", .0.code, .0.detail)]
    Problem(Problem),
    /// The logic tier did not answer in time, or could not complete: the outcome is unknown.
    #[error("the logic tier is unavailable: {0}")]
    Unavailable(String),
}

impl LogicError {
    pub fn code(&self) -> Option<ProblemCode> {
        match self {
            LogicError::Problem(problem) => Some(problem.code),
            LogicError::Unavailable(_) => None,
        }
    }

    /// Whether the user's session at the logic tier has ended (expired, revoked, idle).
    pub fn is_signed_out(&self) -> bool {
        matches!(
            self.code(),
            Some(ProblemCode::SessionInvalid | ProblemCode::SessionRequired)
        )
    }
}

/// Most pages [`Logic::get_all`] reads: at the largest page size, 2,000 items.
pub const ALL_PAGES_MAX: usize = 20;

pub use bank_api::Page;

/// The answer of an action a second member of staff may have to approve: carried out, or filed
/// for approval (`202 Accepted`) with the request that now waits.
#[derive(Debug)]
pub enum Filed<T> {
    Done(T),
    ForApproval(Box<types::Approval>),
}

/// The answer to a password: a session, or a second factor to ask for first.
#[derive(Debug)]
pub enum SignedIn {
    Session(types::Session),
    SecondFactorDue(types::Challenge),
}

/// An answer whose type its status tells: `accepted` reads a `202 Accepted`, `done` any other
/// success.
fn by_status<A: DeserializeOwned, D: DeserializeOwned, R>(
    (status, answer): (StatusCode, Value),
    accepted: fn(A) -> R,
    done: fn(D) -> R,
) -> Result<R, LogicError> {
    let read = if status == StatusCode::ACCEPTED {
        serde_json::from_value(answer).map(accepted)
    } else {
        serde_json::from_value(answer).map(done)
    };
    read.map_err(|e| LogicError::Unavailable(format!("unreadable answer: {e}")))
}

/// Who a call is made for.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub token: Option<&'a str>,
    pub request_id: &'a str,
}

/// What a client header tells about the person at the browser, passed on at sign-in.
#[derive(Debug, Clone, Default)]
pub struct EndUser {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// Where the portal's session records are kept, each under its key.
const PORTAL_SESSIONS: &str = "/v1/portal-sessions/";
/// That path as spans and the log name it.
const PORTAL_SESSION_ROUTE: &str = "/v1/portal-sessions/{key}";

impl Logic {
    /// A client of the logic tier at `base`; with `ca_pem`, only a certificate of that authority
    /// is trusted for it.
    pub fn new(base: &str, service_key: &str, ca_pem: Option<&[u8]>) -> anyhow::Result<Self> {
        let mut http = reqwest::Client::builder()
            .timeout(Duration::from_millis(CALL_TIMEOUT_MS))
            .pool_idle_timeout(Duration::from_secs(30));
        if let Some(pem) = ca_pem {
            http = http.tls_certs_only([reqwest::Certificate::from_pem(pem)?]);
        }
        Ok(Self {
            http: http.build()?,
            base: base.trim_end_matches('/').into(),
            service_key: service_key.into(),
        })
    }

    fn request(&self, method: Method, path: &str, caller: Caller<'_>) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", &*self.service_key)
            .header("x-request-id", caller.request_id);
        if let Some(token) = caller.token {
            request = request.bearer_auth(token);
        }
        request
    }

    /// Sends and decodes a JSON answer; problems and transport failures become [`LogicError`].
    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, T), LogicError> {
        let mut request = request
            .build()
            .map_err(|e| LogicError::Unavailable(e.to_string()))?;
        *request.timeout_mut() = Some(call_timeout()?);
        // The call's own span, whose trace the logic tier continues.
        let call = tracing::info_span!(
            "logic call",
            otel.name = %request.method(),
            otel.kind = "client",
            method = %request.method(),
            // A portal session's key stays out of traces and the log.
            url.path = if request.url().path().starts_with(PORTAL_SESSIONS) {
                PORTAL_SESSION_ROUTE
            } else {
                request.url().path()
            },
            status = tracing::field::Empty,
        );
        bank_api::telemetry::propagate(&call, request.headers_mut());
        let response = self
            .http
            .execute(request)
            .instrument(call.clone())
            .await
            .map_err(|e| LogicError::Unavailable(e.to_string()))?;
        let status = response.status();
        call.record("status", status.as_u16());
        if status.is_success() {
            let bytes = response
                .bytes()
                .await
                .map_err(|e| LogicError::Unavailable(e.to_string()))?;
            let body = if bytes.is_empty() {
                serde_json::from_value(Value::Null)
            } else {
                serde_json::from_slice(&bytes)
            };
            return body
                .map(|body| (status, body))
                .map_err(|e| LogicError::Unavailable(format!("unreadable answer: {e}")));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE
            || status == StatusCode::GATEWAY_TIMEOUT
            || status.is_server_error()
        {
            return Err(LogicError::Unavailable(format!("answered {status}")));
        }
        let problem = response.json::<Problem>().await.unwrap_or(Problem {
            status: status.as_u16(),
            code: ProblemCode::Unrecognised,
            detail: String::new(),
            field: None,
        });
        Err(LogicError::Problem(problem))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        caller: Caller<'_>,
    ) -> Result<T, LogicError> {
        Ok(self.send(self.request(Method::GET, path, caller)).await?.1)
    }

    /// Every item of a paged list, following `next_cursor` from page to page, up to
    /// [`ALL_PAGES_MAX`] pages. For lists a page shows whole, such as a customer's own accounts in
    /// a form's choices.
    async fn get_all<P: Page + DeserializeOwned>(
        &self,
        path: &str,
        caller: Caller<'_>,
    ) -> Result<Vec<P::Item>, LogicError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..ALL_PAGES_MAX {
            let page_path = match &next {
                // Cursors are URL-safe base64: they go into a query as they are.
                Some(cursor) => format!("{path}{separator}cursor={cursor}"),
                None => path.to_owned(),
            };
            let (page, cursor) = self.get::<P>(&page_path, caller).await?.into_parts();
            items.extend(page);
            match cursor {
                Some(cursor) => next = Some(cursor),
                None => break,
            }
        }
        Ok(items)
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        caller: Caller<'_>,
        body: &B,
    ) -> Result<(StatusCode, T), LogicError> {
        self.send(self.request(Method::POST, path, caller).json(body))
            .await
    }

    async fn post_idempotent<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        caller: Caller<'_>,
        key: &str,
        body: &B,
    ) -> Result<T, LogicError> {
        let request = self
            .request(Method::POST, path, caller)
            .header("idempotency-key", key)
            .json(body);
        Ok(self.send(request).await?.1)
    }

    /// Any JSON call: the staff pages use PATCH and PUT too, and money-moving ones carry a key.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        caller: Caller<'_>,
        key: Option<&str>,
        body: &B,
    ) -> Result<T, LogicError> {
        Ok(self
            .call_with_status(method, path, caller, key, body)
            .await?
            .1)
    }

    async fn call_with_status<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        caller: Caller<'_>,
        key: Option<&str>,
        body: &B,
    ) -> Result<(StatusCode, T), LogicError> {
        let mut request = self.request(method, path, caller).json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.send(request).await
    }

    /// An action a second member of staff may have to approve: its answer, or (202) the
    /// approval request filed instead.
    async fn call_filed<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        caller: Caller<'_>,
        key: &str,
        body: &B,
    ) -> Result<Filed<T>, LogicError> {
        let answer = self
            .call_with_status::<_, Value>(Method::POST, path, caller, Some(key), body)
            .await?;
        by_status(answer, Filed::ForApproval, Filed::Done)
    }

    async fn delete(&self, path: &str, caller: Caller<'_>) -> Result<(), LogicError> {
        self.send::<Value>(self.request(Method::DELETE, path, caller))
            .await
            .map(|_| ())
    }

    /// `POST /v1/sessions`: signs in; the end user's browser and address are passed on for
    /// their session list.
    pub async fn sign_in(
        &self,
        caller: Caller<'_>,
        end_user: &EndUser,
        request: &SignInRequest,
    ) -> Result<SignedIn, LogicError> {
        let mut http = self
            .request(Method::POST, "/v1/sessions", caller)
            .json(request);
        if let Some(agent) = &end_user.user_agent {
            http = http.header("x-end-user-agent", agent);
        }
        if let Some(ip) = &end_user.ip {
            http = http.header("x-end-user-ip", ip);
        }
        by_status(
            self.send(http).await?,
            SignedIn::SecondFactorDue,
            SignedIn::Session,
        )
    }

    /// A call of the portal's own session store: no user's token, a fixed request id.
    fn store_request(&self, method: Method, key: &str) -> reqwest::RequestBuilder {
        let caller = Caller {
            token: None,
            request_id: "session-store",
        };
        self.request(method, &format!("{PORTAL_SESSIONS}{key}"), caller)
    }

    /// `POST /v1/portal-sessions/{key}`: stores a new record; a 409 if the key is taken.
    pub async fn create_portal_session(
        &self,
        key: &str,
        record: &PortalSessionRecord,
    ) -> Result<(), LogicError> {
        let request = self.store_request(Method::POST, key).json(record);
        self.send::<Value>(request).await.map(drop)
    }

    /// `PUT /v1/portal-sessions/{key}`.
    pub async fn save_portal_session(
        &self,
        key: &str,
        record: &PortalSessionRecord,
    ) -> Result<(), LogicError> {
        let request = self.store_request(Method::PUT, key).json(record);
        self.send::<Value>(request).await.map(drop)
    }

    /// `GET /v1/portal-sessions/{key}`.
    pub async fn load_portal_session(&self, key: &str) -> Result<PortalSessionRecord, LogicError> {
        let request = self.store_request(Method::GET, key);
        Ok(self.send(request).await?.1)
    }

    /// `DELETE /v1/portal-sessions/{key}`.
    pub async fn delete_portal_session(&self, key: &str) -> Result<(), LogicError> {
        let request = self.store_request(Method::DELETE, key);
        self.send::<Value>(request).await.map(drop)
    }

    /// Whether the logic tier answers its liveness probe.
    pub async fn is_alive(&self) -> bool {
        self.http
            .get(format!("{}/healthz", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}
