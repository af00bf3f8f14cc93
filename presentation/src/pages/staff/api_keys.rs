//! Administration of internal services' API keys: issue one with scopes and a rate limit, see
//! when each was last used, rotate (optionally keeping the old secret working for a while) and
//! revoke. A secret is shown once, on the page that answers the creation or rotation, and is
//! never put in a URL.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{Messages, redirect_after, require};
use crate::error::PageError;
use crate::filters;
use crate::session::Staff;
use crate::state::AppState;

const BACK: &str = "/staff/admin/api-keys";

/// The scopes an admin may grant, with what each allows.
const SCOPES: [(&str, &str); 7] = [
    ("accounts:read", "read any account, its balance and entries"),
    ("accounts:write", "open accounts for customers"),
    ("customers:read", "search and read customers"),
    (
        "customers:write",
        "onboard customers and correct their details",
    ),
    ("transfers:read", "read transfers and pending transfers"),
    (
        "transfers:write",
        "move money: transfers, two-phase transfers, batches",
    ),
    ("events:read", "read the event feed"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BACK, get(page).post(create))
        .route("/staff/admin/api-keys/{id}/rotate", post(rotate))
        .route("/staff/admin/api-keys/{id}/revoke", post(revoke))
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub prefix: Option<String>,
    pub scopes: Vec<String>,
    pub rate_limit_per_minute: i64,
    pub service_account: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub previous_valid_until: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<time::OffsetDateTime>,
    pub revoked_by: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiKeyList {
    api_keys: Vec<ApiKey>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiKeySecret {
    key: ApiKey,
    secret: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_api_keys.html")]
struct KeysPage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    keys: Vec<ApiKey>,
    next_cursor: Option<String>,
    scopes: Vec<(&'static str, &'static str)>,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_api_key_secret.html")]
struct SecretPage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    key: ApiKey,
    secret: String,
    rotated: bool,
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
    #[serde(flatten)]
    messages: Messages,
}

async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<PageQuery>,
) -> Result<KeysPage, PageError> {
    require(&staff, &["admin"])?;
    let path = match query.cursor.as_deref().filter(|c| {
        c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        Some(cursor) => format!("/v1/admin/api-keys?limit=50&cursor={cursor}"),
        None => "/v1/admin/api-keys?limit=50".to_owned(),
    };
    let list: ApiKeyList = staff.get(&state, &path).await?;
    Ok(KeysPage {
        csrf: staff.csrf(),
        section: "admin",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        keys: list.api_keys,
        next_cursor: list.next_cursor,
        scopes: SCOPES.to_vec(),
        error: query.messages.error(),
        notice: query.messages.notice(),
    })
}

/// Form fields; each ticked scope arrives as its own `scope` field.
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    require(&staff, &["admin"])?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let scopes: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let rate = field("rate_limit_per_minute");
    let rate: Option<i64> = if rate.is_empty() {
        None
    } else {
        match rate.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                return Ok(axum::response::Redirect::to(&format!(
                    "{BACK}?error=invalid_rate_limit"
                ))
                .into_response());
            }
        }
    };
    let body = serde_json::json!({ "name": field("name"), "scopes": scopes, "rate_limit_per_minute": rate });
    let result = state
        .logic
        .call::<_, ApiKeySecret>(
            Method::POST,
            "/v1/admin/api-keys",
            staff.caller(),
            None,
            &body,
        )
        .await;
    show_secret(&staff, result, false)
}

fn show_secret(
    staff: &Staff,
    result: Result<ApiKeySecret, crate::logic::LogicError>,
    rotated: bool,
) -> Result<Response, PageError> {
    match result {
        Ok(created) => Ok(SecretPage {
            csrf: staff.csrf(),
            section: "admin",
            username: staff.auth.username.clone(),
            role: staff.auth.role.clone(),
            key: created.key,
            secret: created.secret,
            rotated,
        }
        .into_response()),
        Err(error) => redirect_after(Err(error), BACK, ""),
    }
}

#[derive(Deserialize)]
struct RotateForm {
    /// Seconds the old secret keeps working.
    grace_seconds: i64,
}

async fn rotate(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<Response, PageError> {
    require(&staff, &["admin"])?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let result = state
        .logic
        .call::<_, ApiKeySecret>(
            Method::POST,
            &format!("/v1/admin/api-keys/{id}/rotate"),
            staff.caller(),
            None,
            &serde_json::json!({ "grace_seconds": form.grace_seconds }),
        )
        .await;
    show_secret(&staff, result, true)
}

async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    require(&staff, &["admin"])?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    staff
        .act(
            &state,
            Method::POST,
            &format!("/v1/admin/api-keys/{id}/revoke"),
            None,
            &serde_json::json!({}),
            BACK,
            "api_key_revoked",
        )
        .await
}
