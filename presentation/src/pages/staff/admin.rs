//! Administration: staff users and their roles, the approval threshold and the bank's daily
//! transfer limit.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{Messages, require};
use crate::error::PageError;
use crate::filters;
use crate::logic::types::{CurrencyLimits, Limits, Role, StaffList, StaffMember};
use crate::session::Staff;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/admin", get(page))
        .route("/staff/admin/staff", post(create))
        .route("/staff/admin/staff/{id}", post(update))
        .route("/staff/admin/limits/{currency}", post(limits))
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_admin.html")]
struct AdminPage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    staff: Vec<StaffMember>,
    limits: Vec<CurrencyLimits>,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(messages): Query<Messages>,
) -> Result<AdminPage, PageError> {
    require(&staff, &["admin"])?;
    let members = state
        .logic
        .get_all::<StaffList>("/v1/admin/staff?limit=100", staff.caller())
        .await?;
    let limits: Limits = staff.get(&state, "/v1/admin/limits").await?;
    Ok(AdminPage {
        csrf: staff.csrf(),
        section: "admin",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        staff: members,
        limits: limits.currencies,
        error: messages.error(),
        notice: messages.notice(),
    })
}

#[derive(Deserialize)]
struct CreateForm {
    username: String,
    password: String,
    role: String,
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<CreateForm>,
) -> Result<Response, PageError> {
    let body = serde_json::json!({ "username": form.username, "password": form.password, "role": form.role });
    staff
        .act(
            &state,
            Method::POST,
            "/v1/admin/staff",
            None,
            &body,
            "/staff/admin",
            "staff_created",
        )
        .await
}

#[derive(Deserialize)]
struct UpdateForm {
    role: String,
    /// `on` when the box "access disabled" is ticked.
    #[serde(default)]
    disabled: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let body = serde_json::json!({ "role": form.role, "disabled": form.disabled.is_some() });
    staff
        .act(
            &state,
            Method::PATCH,
            &format!("/v1/admin/staff/{id}"),
            None,
            &body,
            "/staff/admin",
            "saved",
        )
        .await
}

#[derive(Deserialize)]
struct LimitsForm {
    approval_threshold: String,
    daily_transfer_limit: String,
}

async fn limits(
    State(state): State<AppState>,
    staff: Staff,
    Path(currency): Path<String>,
    Form(form): Form<LimitsForm>,
) -> Result<Response, PageError> {
    let currency: String = currency
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(3)
        .collect();
    let body = serde_json::json!({
        "approval_threshold": form.approval_threshold.trim(),
        "daily_transfer_limit": form.daily_transfer_limit.trim(),
    });
    staff
        .act(
            &state,
            Method::PUT,
            &format!("/v1/admin/limits/{currency}"),
            None,
            &body,
            "/staff/admin",
            "saved",
        )
        .await
}
