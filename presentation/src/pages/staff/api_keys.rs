//! Administration of internal services' API keys: issue one with scopes and a rate limit, see
//! when each was last used, rotate (optionally keeping the old secret working for a while) and
//! revoke. A secret is shown once, on the page that answers the creation or rotation, and is
//! never put in a URL.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::admin::{
    ApiKeyResponse as ApiKey, ApiKeySecretResponse as ApiKeySecret, CreateKeyRequest,
    RotateKeyRequest, Scope,
};
use serde::Deserialize;

use super::{Messages, redirect_after, refuse, require};
use crate::error::PageError;
use crate::filters;
use crate::session::Staff;
use crate::state::AppState;

const BACK: &str = "/staff/admin/api-keys";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BACK, get(page).post(create))
        .route("/staff/admin/api-keys/{id}/rotate", post(rotate))
        .route("/staff/admin/api-keys/{id}/revoke", post(revoke))
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
    let list = state
        .logic
        // A cursor is URL-safe base64; anything else starts from the first page.
        .api_keys(
            staff.caller(),
            query.cursor.as_deref().filter(|c| {
                c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }),
        )
        .await?;
    Ok(KeysPage {
        csrf: staff.csrf(),
        section: "admin",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        keys: list.api_keys,
        next_cursor: list.next_cursor,
        scopes: Scope::ALL
            .iter()
            .map(|scope| (scope.as_str(), scope.describe()))
            .collect(),
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
    let Some(scopes) = fields
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| Scope::parse(v))
        .collect::<Option<Vec<Scope>>>()
    else {
        return refuse(BACK, "unknown_choice");
    };
    let rate = field("rate_limit_per_minute");
    let rate: Option<i32> = if rate.is_empty() {
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
    let request = CreateKeyRequest {
        name: field("name"),
        scopes,
        rate_limit_per_minute: rate,
    };
    let result = state.logic.create_api_key(staff.caller(), &request).await;
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
        Err(error) => redirect_after(Err::<ApiKey, _>(error), BACK, ""),
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
    let request = RotateKeyRequest {
        grace_seconds: Some(form.grace_seconds),
    };
    let result = state
        .logic
        .rotate_api_key(staff.caller(), id, &request)
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
    let answer = state.logic.revoke_api_key(staff.caller(), id).await;
    redirect_after(answer, BACK, "api_key_revoked")
}
