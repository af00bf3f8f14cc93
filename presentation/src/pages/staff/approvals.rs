//! The supervisors' queue of requests waiting for a second pair of eyes.

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
use crate::logic::types::{Approval, ApprovalList, ApprovalStatus};
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
    let pending: ApprovalList = staff
        .get(&state, "/v1/approvals?status=pending&limit=200")
        .await?;
    let recent: ApprovalList = staff.get(&state, "/v1/approvals?limit=30").await?;
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
    let (verb, notice) = match decision.as_str() {
        "approve" => ("approve", "approved"),
        "reject" => ("reject", "rejected"),
        _ => return Err(PageError::NotFound),
    };
    let body = serde_json::json!({ "note": form.note });
    staff
        .act(
            &state,
            Method::POST,
            &format!("/v1/approvals/{id}/{verb}"),
            None,
            &body,
            "/staff/approvals",
            notice,
        )
        .await
}
