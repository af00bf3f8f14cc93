//! A customer account as staff see it: status, holds, overdraft, cash at the counter, history
//! with reversals, and what awaits approval.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use bank_api::accounts::{
    FreezeRequest, FreezeScope, HoldRequest, OverdraftRequest, ReasonRequest,
};
use bank_api::transfers::{CashRequest, ReversalRequest};
use serde::Deserialize;

use super::outcome::{Sent, after_keyed};
use super::{Messages, new_key, redirect_after, refuse};
use crate::error::PageError;
use crate::filters;
use crate::logic::ApprovalFilter;
use crate::logic::types::{
    Account, AccountStatus, Approval, ApprovalStatus, CustomerProfile, Entry, Hold, HoldState,
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
    /// Who holds the account, with the identity the bank checked.
    holder: Option<CustomerProfile>,
    holds: Vec<Hold>,
    pending: Vec<Approval>,
    entries: Vec<Entry>,
    /// The page's key; each of its forms sends its own (`-cash`, `-payout`, `-reverse-<transfer>`),
    /// so two forms of one page never share one, and one form sent twice is one request.
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
    let logic = &state.logic;
    let account = logic.account(staff.caller(), &number).await?;
    let holds = logic.holds(staff.caller(), &number).await?;
    let pending = if matches!(staff.role(), "teller" | "supervisor") {
        let filter = ApprovalFilter {
            status: Some(ApprovalStatus::Pending),
            account: Some(&number),
            ..ApprovalFilter::default()
        };
        logic.approvals(staff.caller(), filter).await?.approvals
    } else {
        Vec::new()
    };
    let history = logic.entries(staff.caller(), &number, 50, "").await?;
    let holder = match account.customer_id {
        Some(id) => Some(logic.customer(staff.caller(), id).await?),
        None => None,
    };
    let in_a_week = time::OffsetDateTime::now_utc().date() + time::Duration::days(7);
    Ok(AccountPage {
        csrf: staff.csrf(),
        section: "home",
        username: staff.auth.username.clone(),
        role: staff.auth.role.clone(),
        account,
        holder,
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
    let caller = staff.caller();
    let reason = ReasonRequest {
        reason: form.reason.clone(),
    };
    match form.action.as_str() {
        "freeze" => {
            let Some(scope) = FreezeScope::parse(&form.scope) else {
                return refuse(&back, "unknown_choice");
            };
            let request = FreezeRequest {
                scope,
                reason: form.reason,
            };
            let answer = state.logic.freeze(caller, &number, &request).await;
            redirect_after(answer, &back, "frozen")
        }
        "unfreeze" => {
            let answer = state.logic.unfreeze(caller, &number, &reason).await;
            redirect_after(answer, &back, "unfrozen")
        }
        "close" => {
            let answer = state.logic.close_account(caller, &number, &reason).await;
            redirect_after(answer, &back, "closed")
        }
        _ => Err(PageError::NotFound),
    }
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
    let amount = match crate::pages::typed_amount(&form.amount) {
        Ok(amount) => amount,
        Err(code) => return refuse(&back, code),
    };
    let request = HoldRequest {
        amount,
        reason: form.reason,
        expires_at: next_day.with_time(time::Time::MIDNIGHT).assume_utc(),
    };
    let answer = state
        .logic
        .place_hold(staff.caller(), &number, &request)
        .await;
    redirect_after(answer, &back, "held")
}

async fn release_hold(
    State(state): State<AppState>,
    staff: Staff,
    Path((number, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let number = crate::pages::account_in_path(&number)?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let back = format!("/staff/accounts/{number}");
    let answer = state.logic.release_hold(staff.caller(), id).await;
    redirect_after(answer, &back, "released")
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
    let limit = match crate::pages::typed_amount(&form.limit) {
        Ok(limit) => limit,
        Err(code) => return refuse(&back, code),
    };
    let request = OverdraftRequest {
        limit,
        reason: form.reason,
    };
    let answer = state
        .logic
        .request_overdraft(staff.caller(), &number, &request)
        .await;
    redirect_after(answer, &back, "pending")
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
    let amount = match crate::pages::typed_amount(&form.amount) {
        Ok(amount) => amount,
        Err(code) => return refuse(&back, code),
    };
    let sent = Sent::new(
        &format!("{back}/cash"),
        &back,
        &format!(
            "{} of {amount} {} for account {number}",
            if form.kind == "deposit" {
                "Cash deposit"
            } else {
                "Cash withdrawal"
            },
            form.currency
        ),
        fields([
            ("kind", &form.kind),
            ("amount", &form.amount),
            ("currency", &form.currency),
            ("memo", &form.memo),
            ("idempotency_key", &form.idempotency_key),
        ]),
    );
    let request = CashRequest {
        account: number.as_str().to_owned(),
        amount,
        currency: form.currency,
        memo: form.memo,
    };
    let (caller, key) = (staff.caller(), &form.idempotency_key);
    let answer = match form.kind.as_str() {
        "deposit" => state.logic.cash_deposit(caller, key, &request).await,
        "withdrawal" => state.logic.cash_withdrawal(caller, key, &request).await,
        _ => return Err(PageError::NotFound),
    };
    after_keyed(&staff, answer, sent, "posted")
}

/// A form's fields as sent, to send them again.
pub(super) fn fields<const N: usize>(pairs: [(&str, &String); N]) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.clone()))
        .collect()
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
    let sent = Sent::new(
        &format!("{back}/reverse/{transfer}"),
        &back,
        &format!("Reversal request for transfer {transfer}"),
        fields([
            ("reason", &form.reason),
            ("idempotency_key", &form.idempotency_key),
        ]),
    );
    let request = ReversalRequest {
        reason: form.reason,
    };
    let answer = state
        .logic
        .request_reversal(staff.caller(), transfer, &form.idempotency_key, &request)
        .await;
    after_keyed(&staff, answer, sent, "pending")
}
