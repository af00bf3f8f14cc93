//! Administration: staff users and their roles, the approval threshold and the bank's daily
//! transfer limit.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::admin::{CreateStaffRequest, SetLimitsRequest, StaffRole, UpdateStaffRequest};
use bank_api::{Currency, ProblemCode};
use serde::Deserialize;

use super::{Messages, redirect_after, refuse, require};
use crate::error::PageError;
use crate::filters;
use crate::logic::LogicError;
use crate::logic::types::{CurrencyLimits, Role, StaffMember};
use crate::session::Staff;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/admin", get(page))
        .route("/staff/admin/staff", post(create))
        .route("/staff/admin/staff/{id}", post(update))
        .route("/staff/admin/staff/{id}/sign-in-reset", post(reset_sign_in))
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
    let members = state.logic.staff_members(staff.caller()).await?;
    let limits = state.logic.bank_limits(staff.caller()).await?;
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
    let Some(role) = StaffRole::parse(&form.role) else {
        return refuse("/staff/admin", "unknown_choice");
    };
    let request = CreateStaffRequest {
        username: form.username,
        password: form.password,
        role,
    };
    let answer = state.logic.create_staff(staff.caller(), &request).await;
    if let Err(LogicError::Problem(problem)) = &answer
        && problem.code == ProblemCode::InvalidField
        && problem.field.as_deref() == Some("username")
    {
        // "Check this field" would not say which.
        return refuse("/staff/admin", "invalid_username");
    }
    redirect_after(answer, "/staff/admin", "staff_created")
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
    let Some(role) = StaffRole::parse(&form.role) else {
        return refuse("/staff/admin", "unknown_choice");
    };
    let request = UpdateStaffRequest {
        role: Some(role),
        disabled: Some(form.disabled.is_some()),
    };
    let answer = state.logic.update_staff(staff.caller(), id, &request).await;
    redirect_after(answer, "/staff/admin", "saved")
}

#[derive(Deserialize)]
struct SignInResetForm {
    password: String,
}

/// Resets a member of staff's sign-in: they sign in once with the password chosen here, then
/// choose their own and enrol a new second factor.
async fn reset_sign_in(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<SignInResetForm>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let request = bank_api::customers::SignInResetRequest {
        password: form.password,
    };
    let answer = state
        .logic
        .reset_staff_sign_in(staff.caller(), id, &request)
        .await;
    redirect_after(answer, "/staff/admin", "sign_in_reset")
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
    let Ok(currency) = Currency::parse(&currency) else {
        return refuse("/staff/admin", ProblemCode::InvalidCurrency.as_str());
    };
    let typed = |text: &str| crate::pages::typed_amount(text);
    let (threshold, daily) = match (
        typed(&form.approval_threshold),
        typed(&form.daily_transfer_limit),
    ) {
        (Ok(threshold), Ok(daily)) => (threshold, daily),
        (Err(code), _) | (_, Err(code)) => return refuse("/staff/admin", code),
    };
    let request = SetLimitsRequest {
        approval_threshold: threshold,
        daily_transfer_limit: daily,
    };
    let answer = state
        .logic
        .set_bank_limits(staff.caller(), currency, &request)
        .await;
    redirect_after(answer, "/staff/admin", "saved")
}
