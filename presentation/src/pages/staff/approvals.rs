//! The supervisors' queue of requests waiting for a second pair of eyes.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::approvals::DecisionRequest;
use serde::Deserialize;

use super::{Messages, redirect_after, require};
use crate::error::PageError;
use crate::filters;
use crate::logic::ApprovalFilter;
use crate::logic::types::{Approval, ApprovalStatus};
use crate::session::Staff;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/approvals", get(queue))
        .route("/staff/approvals/{id}/{decision}", post(decide))
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_approvals.html")]
struct QueuePage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    pending: Vec<Approval>,
    decided: Vec<Approval>,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

async fn queue(
    State(state): State<AppState>,
    staff: Staff,
    Query(messages): Query<Messages>,
) -> Result<QueuePage, PageError> {
    require(&staff, &["teller", "supervisor"])?;
    let pending_only = ApprovalFilter {
        status: Some(ApprovalStatus::Pending),
        limit: Some(200),
        ..ApprovalFilter::default()
    };
    let latest = ApprovalFilter {
        limit: Some(30),
        ..ApprovalFilter::default()
    };
    let pending = state.logic.approvals(staff.caller(), pending_only).await?;
    let recent = state.logic.approvals(staff.caller(), latest).await?;
    Ok(QueuePage {
        csrf: staff.csrf(),
        section: "approvals",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        pending: pending.approvals,
        decided: recent
            .approvals
            .into_iter()
            .filter(|a| a.status != ApprovalStatus::Pending)
            .collect(),
        error: messages.error(),
        notice: messages.notice(),
    })
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    note: String,
}

async fn decide(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, decision)): Path<(String, String)>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    if decision == "reject" && form.note.trim().is_empty() {
        return super::refuse("/staff/approvals", "reason_required");
    }
    let request = DecisionRequest { note: form.note };
    let (answer, notice) = match decision.as_str() {
        "approve" => (
            state.logic.approve(staff.caller(), id, &request).await,
            "approved",
        ),
        "reject" => (
            state.logic.reject(staff.caller(), id, &request).await,
            "rejected",
        ),
        _ => return Err(PageError::NotFound),
    };
    redirect_after(answer, "/staff/approvals", notice)
}
