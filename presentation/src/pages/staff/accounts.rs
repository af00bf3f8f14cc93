//! A customer account as staff see it: status, holds, overdraft, cash at the counter, history
//! with reversals, and what awaits approval.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{Messages, new_key};
use crate::error::PageError;
use crate::filters;
use crate::logic::types::{
    Account, AccountStatus, Approval, ApprovalList, Entry, History, Hold, HoldList, HoldState,
    TransferKind,
};
use crate::session::Staff;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/accounts/{number}", get(page))
        .route("/staff/accounts/{number}/status", post(status))
        .route("/staff/accounts/{number}/holds", post(place_hold))
        .route(
            "/staff/accounts/{number}/holds/{id}/release",
            post(release_hold),
        )
        .route("/staff/accounts/{number}/overdraft", post(overdraft))
        .route("/staff/accounts/{number}/cash", post(cash))
        .route("/staff/accounts/{number}/reverse/{transfer}", post(reverse))
}

#[derive(Template, WebTemplate)]
#[template(path = "staff_account.html")]
struct AccountPage {
    csrf: String,
    section: &'static str,
    username: String,
    role: String,
    account: Account,
    holds: Vec<Hold>,
    pending: Vec<Approval>,
    entries: Vec<Entry>,
    key: String,
    hold_expiry: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(number): Path<String>,
    Query(messages): Query<Messages>,
) -> Result<AccountPage, PageError> {
    let number = crate::pages::account_in_path(&number)?;
    let account: Account = staff.get(&state, &format!("/v1/accounts/{number}")).await?;
    let holds: HoldList = staff
        .get(&state, &format!("/v1/accounts/{number}/holds?limit=100"))
        .await?;
    let pending = if matches!(staff.role(), "teller" | "supervisor") {
        let list: ApprovalList = staff
            .get(
                &state,
                &format!("/v1/approvals?status=pending&account={number}"),
            )
            .await?;
        list.approvals
    } else {
        Vec::new()
    };
    let history: History = staff
        .get(&state, &format!("/v1/accounts/{number}/entries?limit=50"))
        .await?;
    let in_a_week = time::OffsetDateTime::now_utc().date() + time::Duration::days(7);
    Ok(AccountPage {
        csrf: staff.csrf(),
        section: "home",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        account,
        holds: holds.holds,
        pending,
        entries: history.entries,
        key: new_key(),
        hold_expiry: in_a_week.to_string(),
        error: messages.error(),
        notice: messages.notice(),
    })
}

#[derive(Deserialize)]
struct StatusForm {
    /// `freeze`, `unfreeze` or `close`.
    action: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    reason: String,
}

async fn status(
    State(state): State<AppState>,
    staff: Staff,
    Path(number): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, PageError> {
    let number = crate::pages::account_in_path(&number)?;
    let back = format!("/staff/accounts/{number}");
    let (verb, notice, body) = match form.action.as_str() {
        "freeze" => (
            "freeze",
            "frozen",
            serde_json::json!({ "scope": form.scope, "reason": form.reason }),
        ),
        "unfreeze" => (
            "unfreeze",
            "unfrozen",
            serde_json::json!({ "reason": form.reason }),
        ),
        "close" => (
            "close",
            "closed",
            serde_json::json!({ "reason": form.reason }),
        ),
        _ => return Err(PageError::NotFound),
    };
    staff
        .act(
            &state,
            Method::POST,
            &format!("/v1/accounts/{number}/{verb}"),
            None,
            &body,
            &back,
            notice,
        )
        .await
}

#[derive(Deserialize)]
struct HoldForm {
    amount: String,
    reason: String,
    /// The last day the hold counts (UTC).
    until: String,
}

async fn place_hold(
    State(state): State<AppState>,
    staff: Staff,
    Path(number): Path<String>,
    Form(form): Form<HoldForm>,
) -> Result<Response, PageError> {
    let number = crate::pages::account_in_path(&number)?;
    let back = format!("/staff/accounts/{number}");
    // A hold ends at the end of its last day: a day the bank answers for, with a day after it.
    let Some(next_day) = super::super::parse_day(&form.until)
        .ok()
        .flatten()
        .and_then(time::Date::next_day)
    else {
        return super::refuse(&back, "hold_expiry_out_of_range");
    };
    let expires_at = next_day
        .with_time(time::Time::MIDNIGHT)
        .assume_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let body = serde_json::json!({ "amount": form.amount.trim(), "reason": form.reason, "expires_at": expires_at });
    staff
        .act(
            &state,
            Method::POST,
            &format!("/v1/accounts/{number}/holds"),
            None,
            &body,
            &back,
            "held",
        )
        .await
}

async fn release_hold(
    State(state): State<AppState>,
    staff: Staff,
    Path((number, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let number = crate::pages::account_in_path(&number)?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let back = format!("/staff/accounts/{number}");
    staff
        .act(
            &state,
            Method::POST,
            &format!("/v1/holds/{id}/release"),
            None,
            &serde_json::json!({}),
            &back,
            "released",
        )
        .await
}

#[derive(Deserialize)]
struct OverdraftForm {
    limit: String,
    reason: String,
}

async fn overdraft(
    State(state): State<AppState>,
    staff: Staff,
    Path(number): Path<String>,
    Form(form): Form<OverdraftForm>,
) -> Result<Response, PageError> {
    let number = crate::pages::account_in_path(&number)?;
    let back = format!("/staff/accounts/{number}");
    let body = serde_json::json!({ "limit": form.limit.trim(), "reason": form.reason });
    staff
        .act(
            &state,
            Method::POST,
            &format!("/v1/accounts/{number}/overdraft-limit"),
            None,
            &body,
            &back,
            "pending",
        )
        .await
}

#[derive(Deserialize)]
struct CashForm {
    /// `deposit` or `withdrawal`.
    kind: String,
    amount: String,
    currency: String,
    #[serde(default)]
    memo: String,
    idempotency_key: String,
}

async fn cash(
    State(state): State<AppState>,
    staff: Staff,
    Path(number): Path<String>,
    Form(form): Form<CashForm>,
) -> Result<Response, PageError> {
    let number = crate::pages::account_in_path(&number)?;
    let back = format!("/staff/accounts/{number}");
    let path = match form.kind.as_str() {
        "deposit" => "/v1/cash/deposits",
        "withdrawal" => "/v1/cash/withdrawals",
        _ => return Err(PageError::NotFound),
    };
    let body = serde_json::json!({ "account": number.as_str(), "amount": form.amount.trim(), "currency": form.currency, "memo": form.memo });
    staff
        .act(
            &state,
            Method::POST,
            path,
            Some(&form.idempotency_key),
            &body,
            &back,
            "posted",
        )
        .await
}

#[derive(Deserialize)]
struct ReverseForm {
    reason: String,
    idempotency_key: String,
}

async fn reverse(
    State(state): State<AppState>,
    staff: Staff,
    Path((number, transfer)): Path<(String, String)>,
    Form(form): Form<ReverseForm>,
) -> Result<Response, PageError> {
    let number = crate::pages::account_in_path(&number)?;
    let transfer = uuid::Uuid::parse_str(&transfer).map_err(|_| PageError::NotFound)?;
    let back = format!("/staff/accounts/{number}");
    let body = serde_json::json!({ "reason": form.reason });
    staff
        .act(
            &state,
            Method::POST,
            &format!("/v1/transfers/{transfer}/reversals"),
            Some(&form.idempotency_key),
            &body,
            &back,
            "pending",
        )
        .await
}
