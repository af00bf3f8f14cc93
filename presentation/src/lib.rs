//! The presentation tier: the web banking portal, rendered on the server with askama and made
//! lively with htmx, talking to the logic tier over HTTP only.
//!
//! It depends on neither the `data` crate nor sqlx and holds no state of its own: sessions live
//! in the logic tier ([`session_store`]), so any instance serves any customer and a restart signs
//! nobody out. Every page and form works with JavaScript off.

pub mod device;
pub mod error;
pub mod filters;
pub mod logic;
pub mod metrics;
pub mod middleware;
mod pages;
pub mod request_id;
pub mod session;
pub mod session_store;
pub mod state;
pub mod statement;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Level;

use crate::logic::Logic;
use crate::session_store::LogicSessionStore;
use crate::state::AppState;

/// How long a portal session lasts without use: fifteen minutes, as the logic tier's own.
pub const IDLE_EXPIRY_MIN: i64 = 15;
/// Largest request body: forms are small.
const BODY_MAX_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct Settings {
    pub logic_url: String,
    pub service_key: String,
    pub static_dir: String,
    /// Send the session cookie over HTTPS only; on wherever the portal is served over TLS.
    pub secure_cookies: bool,
    /// The certificate authority (PEM) whose certificate the logic tier must present; without
    /// it, the system's roots.
    pub logic_ca_pem: Option<Vec<u8>>,
    /// The directory of the statements' TrueType faces (`statement::Fonts`).
    pub font_dir: std::path::PathBuf,
    /// How long one page may spend on its calls to the logic tier together
    /// (`logic::PAGE_BUDGET_MS` unless set).
    pub page_budget: std::time::Duration,
}

pub fn app(settings: &Settings) -> anyhow::Result<Router> {
    let logic = Logic::new(
        &settings.logic_url,
        &settings.service_key,
        settings.logic_ca_pem.as_deref(),
    )?;
    let sessions = SessionManagerLayer::new(LogicSessionStore::new(logic.clone()))
        .with_name("bank_session")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(Duration::minutes(IDLE_EXPIRY_MIN)));
    let state = AppState {
        logic,
        secure_cookies: settings.secure_cookies,
        fonts: std::sync::Arc::new(statement::Fonts::load(&settings.font_dir)?),
    };
    bank_api::metrics::install(&metrics::REQUESTS, "portal", env!("CARGO_PKG_VERSION"));
    Ok(Router::new()
        .merge(pages::router())
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .route_layer(axum::middleware::from_fn_with_state(
            &metrics::REQUESTS,
            bank_api::metrics::track,
        ))
        .nest_service("/static", ServeDir::new(&settings.static_dir))
        .fallback(|| async { error::PageError::NotFound })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::verify_csrf,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            settings.page_budget,
            middleware::page_budget,
        ))
        .layer(axum::middleware::from_fn(error::render_errors))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_MAX_BYTES))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                // A trace of its own for every request: a browser's `traceparent` is not taken.
                .make_span_with(|request: &axum::extract::Request| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let route = request
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map(axum::extract::MatchedPath::as_str);
                    tracing::info_span!(
                        "request",
                        otel.name = bank_api::telemetry::span_name(request.method(), route),
                        otel.kind = "server",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state))
}

/// Ready when the logic tier answers.
async fn readyz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (StatusCode, Json<serde_json::Value>) {
    if state.logic.is_alive().await {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "logic_unreachable" })),
        )
    }
}
