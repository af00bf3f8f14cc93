//! The published contract: the OpenAPI 3.1 document generated from the handlers' annotations
//! (`/v1/openapi.json`) and a reference page rendered from it by this tier (`/v1/reference`),
//! with no script and nothing fetched from elsewhere. Neither needs a credential.
//!
//! [`finish`] adds what is true of every operation once, from the same code that enforces it:
//! the problem responses, the security each operation needs, the scope an API key needs
//! ([`crate::auth::scopes::required_scope`]), and the request-id, rate-limit and Retry-After
//! headers.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::auth::scopes::{Scope, required_scope};
use crate::state::AppState;

/// An RFC 9457 problem, the body of every error.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDoc {
    /// `urn:bank:problem:<code>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:bank:problem:insufficient_funds")]
    type_: String,
    #[schema(example = "Refused")]
    title: String,
    #[schema(example = 422)]
    status: u16,
    #[schema(example = "the available balance is not enough for this amount")]
    detail: String,
    /// Stable, machine-readable: branch on this, never on `detail`.
    code: bank_api::ProblemCode,
    /// The request field at fault, when there is one (`transfers[2].amount` in a batch).
    field: Option<String>,
    /// The request's id (also in the `X-Request-Id` header): quote it to the bank.
    request_id: Option<String>,
}

const INTRO: &str = "The bank's business-logic tier. Internal services (a payments hub, reporting, a mobile back end) call it with an API key issued by an admin; the web tier calls it with its own credential on behalf of signed-in users.

**Authentication.** Send your key as `X-Api-Key: bak_…`. A key acts as its own service account, only on the operations its scopes open (each operation names the scope it needs) and within its rate limit. Operations marked *session* serve the bank's own web tier and refuse API keys.

**Idempotency.** Every money-moving request carries an `Idempotency-Key` header (1 to 128 visible ASCII characters). Repeating the request with the same key returns the original answer (with `Idempotent-Replayed: true`) and moves nothing again; the same key with a different request is refused with `idempotency_key_reused`. After a timeout, retry with the same key; `GET /v1/transfers?idempotency_key=` tells what happened.

**Money.** Amounts are decimal strings in the currency's scale (`\"12.50\"`, `\"1000\"` for JPY); JSON numbers are refused.

**Errors.** Every error is `application/problem+json` with a stable `code`. `503` and `429` carry `Retry-After`.

**Lists.** Every list is read a page at a time. `limit` sets the page size (1 to 100, default 50; up to 200 for entries, audit records and approvals). A page carries `next_cursor`: pass it back as `cursor` — with the same filters — to read the next page; it is `null` on the last one. Cursors are opaque: keep them as they are and do not build them. Pages are cut by the rows' place rather than by counting, so rows added while you read never make you see a row twice or skip one that was there. The event feed pages with `after` instead. Settings kept per currency (`/v1/admin/limits`, a customer's daily limits) come whole: one row per currency the bank holds.

**Rate limits.** Answers to an API key carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds); past the limit the answer is `429` with `Retry-After`.

**Request ids.** The bank names every request itself: read `X-Request-Id` on the answer (it is in every problem too) and quote it. An `X-Request-Id` you send stays yours: it comes back in `X-Caller-Request-Id` and is logged beside the bank's id, never as it.";

/// The document's fixed parts; the operations come from the routers.
pub fn base() -> utoipa::openapi::OpenApi {
    #[derive(OpenApi)]
    #[openapi(
        info(title = "Bank logic tier API", version = "1", description = ""),
        components(schemas(ProblemDoc, Scope))
    )]
    struct Base;
    let mut doc = Base::openapi();
    doc.info.description = Some(INTRO.into());
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc
}

/// Names a module's operations `<module>.<handler>` (`transfers.create`), so that an id is
/// unique in the document and says where its handler is.
pub fn namespaced(
    module: &str,
    mut router: utoipa_axum::router::OpenApiRouter<AppState>,
) -> utoipa_axum::router::OpenApiRouter<AppState> {
    for item in router.get_openapi_mut().paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            if let Some(id) = operation.operation_id.as_mut() {
                *id = format!("{module}.{id}");
            }
        }
    }
    router
}

/// Operations that need no signed-in user: the sign-in steps and the web tier's session store.
fn takes_no_session(path: &str) -> bool {
    path == "/v1/sessions"
        || path.starts_with("/v1/sessions/second")
        || path.starts_with("/v1/portal-sessions")
}

fn problem(description: &str, retry_after: bool) -> Value {
    let mut headers = Map::new();
    headers.insert(
        "X-Request-Id".into(),
        json!({"description": "The request's id", "schema": {"type": "string"}}),
    );
    if retry_after {
        headers.insert("Retry-After".into(), json!({"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 0}}));
    }
    json!({
        "description": description,
        "headers": headers,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

const PROBLEMS: [(&str, &str); 10] = [
    (
        "400",
        "Malformed request: bad JSON, a missing or invalid header",
    ),
    (
        "401",
        "No valid credential (X-Api-Key), or no valid session where one is needed",
    ),
    (
        "403",
        "The caller's role or the key's scopes do not allow this",
    ),
    ("404", "No such resource, or not the caller's to see"),
    (
        "409",
        "Conflicts with the resource's state or an earlier use of the Idempotency-Key",
    ),
    ("413", "The body is larger than the API accepts"),
    ("415", "The body is not application/json"),
    (
        "422",
        "A field is invalid, or a business rule refused the operation",
    ),
    ("429", "Rate limit reached; retry after Retry-After seconds"),
    (
        "503",
        "The bank cannot complete this right now; retry with the same Idempotency-Key",
    ),
];

/// Adds the facts shared by every operation (see the module's documentation).
pub fn finish(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = doc;
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Api-Key",
            "An API key issued by an admin (or the web tier's own credential)",
        ))),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A signed-in user's session token, forwarded by the web tier",
                ))
                .build(),
        ),
    );
    let mut value = serde_json::to_value(&doc).unwrap_or_default();
    let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) else {
        return value;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            let Some(operation) = operation.as_object_mut() else {
                continue;
            };
            let scope = required_scope(&method, path.trim_start_matches("/v1"));
            let idempotent = operation
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
            let security = match scope {
                Some(_) => json!([{"api_key": []}]),
                None if takes_no_session(path) => json!([{"api_key": []}]),
                None => json!([{"api_key": [], "session": []}]),
            };
            operation.insert("security".into(), security);
            let note = match scope {
                Some(scope) => format!("**API keys:** scope `{}`.", scope.as_str()),
                None => "**Session:** serves the bank's web tier; API keys are refused.".into(),
            };
            let description = operation
                .get("description")
                .and_then(Value::as_str)
                .map(|d| format!("{d}\n\n{note}"))
                .unwrap_or(note);
            operation.insert("description".into(), description.into());
            if let Some(scope) = scope {
                operation.insert("x-required-scope".into(), scope.as_str().into());
            }
            let responses = operation
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            let Some(responses) = responses else { continue };
            for (status, response) in responses.iter_mut() {
                let Some(headers) = response
                    .as_object_mut()
                    .map(|r| r.entry("headers").or_insert_with(|| json!({})))
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                headers.insert(
                    "X-Request-Id".into(),
                    json!({"description": "The request's id", "schema": {"type": "string"}}),
                );
                if scope.is_some() && status.starts_with('2') {
                    for (name, what) in [
                        ("RateLimit-Limit", "Requests a minute this key may make"),
                        ("RateLimit-Remaining", "Requests left before the limit"),
                        (
                            "RateLimit-Reset",
                            "Seconds until the full limit is available again",
                        ),
                    ] {
                        headers.insert(name.into(), json!({"description": what, "schema": {"type": "integer", "minimum": 0}}));
                    }
                }
                if idempotent && status.starts_with('2') {
                    headers.insert("Idempotent-Replayed".into(), json!({"description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key", "schema": {"type": "string", "enum": ["true"]}}));
                }
            }
            for (status, description) in PROBLEMS {
                responses
                    .entry(status)
                    .or_insert_with(|| problem(description, status == "429" || status == "503"));
            }
        }
    }
    value
}

/// The document and its reference page, rendered once at start-up.
#[derive(Debug, Clone)]
pub struct Published {
    json: Arc<str>,
    html: Arc<str>,
}

impl Published {
    pub fn new(doc: &Value) -> Self {
        Self {
            json: serde_json::to_string_pretty(doc).unwrap_or_default().into(),
            html: crate::api::docs::reference::render(doc).into(),
        }
    }
}

pub fn router(published: Published) -> Router<AppState> {
    let json = published.json.clone();
    let html = published.html;
    Router::new()
        .route(
            "/v1/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        json.to_string(),
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/v1/reference",
            get(move || {
                let html = html.clone();
                async move {
                    (
                        [
                            (
                                header::CONTENT_TYPE,
                                HeaderValue::from_static("text/html; charset=utf-8"),
                            ),
                            (
                                header::CONTENT_SECURITY_POLICY,
                                HeaderValue::from_static(
                                    "default-src 'none'; style-src 'unsafe-inline'",
                                ),
                            ),
                        ],
                        html.to_string(),
                    )
                        .into_response()
                }
            }),
        )
}

pub mod reference;
