//! Request ids. The bank names every request itself: each gets a fresh id at the door. An id
//! offered in `X-Request-Id` is adopted only from the web tier, whose own edge minted it (so the
//! customer's page, this tier's log and the audit row share one id). Anyone else's offer — an API
//! key's client, a caller without a valid credential — is kept beside the bank's id, labelled
//! `caller_request_id` in the log and echoed in `X-Caller-Request-Id`, never as the bank's own.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const X_REQUEST_ID: &str = "x-request-id";
const X_CALLER_REQUEST_ID: &str = "x-caller-request-id";
/// Longest offered id kept; the rest is cut.
const OFFERED_MAX_CHARS: usize = 128;

/// What a caller offered in `X-Request-Id`, printable ASCII only.
#[derive(Debug, Clone)]
struct Offered(String);

/// The request's names once settled, shared by every layer around the handler.
#[derive(Debug, Clone, Default)]
pub struct Naming(Arc<Mutex<Option<Names>>>);

#[derive(Debug, Clone)]
struct Names {
    bank: String,
    caller: Option<String>,
}

impl Naming {
    /// The bank's id of the request, once settled.
    pub fn id(&self) -> Option<String> {
        self.names().map(|names| names.bank)
    }

    fn names(&self) -> Option<Names> {
        self.0.lock().ok().and_then(|names| names.clone())
    }

    /// Settles the names once and writes them on the request's span; later calls change nothing.
    fn settle(&self, bank: String, caller: Option<String>) {
        let Ok(mut names) = self.0.lock() else {
            return;
        };
        if names.is_some() {
            return;
        }
        let span = tracing::Span::current();
        span.record("request_id", bank.as_str());
        if let Some(caller) = &caller {
            span.record("caller_request_id", caller.as_str());
        }
        *names = Some(Names { bank, caller });
    }
}

/// Inside the request's span: a fresh id for every request, the offered one set aside. A `/v1`
/// request that offers one is settled by [`settle_for_caller`] once its credential is known;
/// everything else here and now.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let offered = request
        .headers_mut()
        .remove(X_REQUEST_ID)
        .and_then(|value| {
            value.to_str().ok().map(|text| {
                text.chars()
                    .filter(char::is_ascii_graphic)
                    .take(OFFERED_MAX_CHARS)
                    .collect::<String>()
            })
        })
        .filter(|text| !text.is_empty());
    let fresh = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = HeaderValue::from_str(&fresh) {
        request.headers_mut().insert(X_REQUEST_ID, value);
    }
    let naming = Naming::default();
    request.extensions_mut().insert(naming.clone());
    match offered {
        Some(offered) if request.uri().path().starts_with("/v1/") => {
            request.extensions_mut().insert(Offered(offered));
        }
        offered => naming.settle(fresh.clone(), offered),
    }
    let mut response = next.run(request).await;
    // A /v1 request that never reached the credential check (no such route) keeps the fresh id.
    naming.settle(fresh, None);
    if let Some(names) = naming.names() {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&names.bank) {
            headers.insert(X_REQUEST_ID, value);
        }
        if let Some(value) = names.caller.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(X_CALLER_REQUEST_ID, value);
        }
    }
    response
}

/// Settles a `/v1` request's id once its credential is known: the web tier's offer becomes the
/// request's id; anyone else's stays the caller's own.
pub fn settle_for_caller(request: &mut Request, web_tier: bool) {
    let Some(naming) = request.extensions().get::<Naming>().cloned() else {
        return;
    };
    let offered = request
        .extensions()
        .get::<Offered>()
        .map(|offered| offered.0.clone());
    let fresh = request
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match offered {
        Some(offered) if web_tier => {
            if let Ok(value) = HeaderValue::from_str(&offered) {
                request.headers_mut().insert(X_REQUEST_ID, value);
            }
            naming.settle(offered, None);
        }
        offered => naming.settle(fresh, offered),
    }
}
