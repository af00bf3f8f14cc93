//! The HTTP surface: `/v1` (JSON, behind the service credential) and the health probes. Each
//! feature module owns its routes; this module merges them and wraps them in the cross-cutting
//! layers (request id, tracing, body limit, panic catching).

mod accounts;
mod admin;
mod api_keys;
mod approvals;
mod audit;
mod cash;
mod cluster;
mod customers;
pub mod docs;
mod drawers;
pub mod extract;
mod gate;
mod health;
pub mod metrics;
mod payees;
mod portal_sessions;
pub mod request_id;
mod security;
mod service;
mod sessions;
mod transfers;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use bank_api::ProblemCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::{ApiError, PROBLEM_JSON};
use crate::state::AppState;

/// Largest request body accepted: 16 KiB is far above any legitimate request of this API and
/// keeps a flood of large bodies cheap to refuse.
pub const BODY_MAX_BYTES: usize = 16 * 1024;
/// Largest problem body the request-id stamping will read back; ours are a few hundred bytes.
const PROBLEM_MAX_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let (router, _) = router_and_openapi(state);
    router
}

/// The routes and the OpenAPI document generated from the same handlers, so the two cannot
/// disagree.
pub fn router_and_openapi(state: AppState) -> (Router, serde_json::Value) {
    let v1 = utoipa_axum::router::OpenApiRouter::with_openapi(docs::base())
        .merge(docs::namespaced("sessions", sessions::router()))
        .merge(docs::namespaced("customers", customers::router()))
        .merge(docs::namespaced("accounts", accounts::router()))
        .merge(docs::namespaced("transfers", transfers::router()))
        .merge(docs::namespaced("cash", cash::router()))
        .merge(docs::namespaced("cluster", cluster::router()))
        .merge(docs::namespaced("security", security::router()))
        .merge(docs::namespaced("payees", payees::router()))
        .merge(docs::namespaced(
            "portal_sessions",
            portal_sessions::router(),
        ))
        .merge(docs::namespaced("drawers", drawers::router()))
        .merge(docs::namespaced("approvals", approvals::router()))
        .merge(docs::namespaced("audit", audit::router()))
        .merge(docs::namespaced("admin", admin::router()))
        .merge(docs::namespaced("api_keys", api_keys::router()))
        .merge(docs::namespaced("service", service::router()))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            gate::require_service,
        ));
    // The outer router carries the document's own parts too: one made with `new()` would put
    // utoipa-axum's name, version and author in the published document's info.
    let (v1, openapi) = utoipa_axum::router::OpenApiRouter::with_openapi(docs::base())
        .nest("/v1", v1)
        .split_for_parts();
    let openapi = docs::finish(openapi);
    let published = docs::Published::new(&openapi);
    bank_api::metrics::install(&metrics::REQUESTS, "logic", env!("CARGO_PKG_VERSION"));
    metrics::describe();
    let router = Router::new()
        .merge(v1)
        .merge(docs::router(published))
        .merge(health::router())
        .route("/metrics", axum::routing::get(metrics::render))
        .route_layer(middleware::from_fn_with_state(
            &metrics::REQUESTS,
            bank_api::metrics::track,
        ))
        .fallback(|| async {
            ApiError::NotFound {
                code: ProblemCode::RouteNotFound,
                detail: "there is no such endpoint",
            }
        })
        .layer(DefaultBodyLimit::max(BODY_MAX_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), one_budget))
        .layer(middleware::from_fn(stamp_problem_request_id))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a handler panicked".into()).into_response()
        }))
        .layer(middleware::from_fn(request_id::layer))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    // Named by its route, never its raw path (an account number in a trace's
                    // name would make one name per account).
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str);
                    // Both ids are written once the request's is settled (`request_id`).
                    let span = tracing::info_span!(
                        "request",
                        otel.name = bank_api::telemetry::span_name(request.method(), route),
                        otel.kind = "server",
                        method = %request.method(),
                        path = bank_api::telemetry::loggable_path(route, request.uri().path()),
                        request_id = tracing::field::Empty,
                        caller_request_id = tracing::field::Empty,
                    );
                    // A service's trace goes on here (the portal's, an internal service's).
                    bank_api::telemetry::continue_trace(&span, request.headers());
                    span
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state);
    (router, openapi)
}

/// One retry budget for all the units of work of a request (`unit_of_work::within_budget`).
async fn one_budget(
    State(state): State<AppState>,
    request: Request,
    next: middleware::Next,
) -> Response {
    crate::unit_of_work::within_budget(state.settings.retry_budget_ms, next.run(request)).await
}

/// Adds the request id to every problem body, so a client can quote it and an operator find it.
async fn stamp_problem_request_id(request: Request, next: Next) -> Response {
    let naming = request.extensions().get::<request_id::Naming>().cloned();
    // The id as it is now, for a request that is never settled otherwise (no such route).
    let fresh = request.headers().get(request_id::X_REQUEST_ID).cloned();
    let response = next.run(request).await;
    let request_id = naming
        .and_then(|naming| naming.id())
        .and_then(|id| HeaderValue::from_str(&id).ok())
        .or(fresh);
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    let Some(request_id) = request_id.filter(|_| is_problem) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, PROBLEM_MAX_BYTES).await else {
        return ApiError::Internal("unreadable problem body".into()).into_response();
    };
    let mut problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if let (Some(object), Ok(id)) = (problem.as_object_mut(), request_id.to_str()) {
        object.insert("request_id".into(), id.into());
    }
    let body = serde_json::to_vec(&problem).unwrap_or_else(|_| bytes.to_vec());
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Body::from(body))
}
