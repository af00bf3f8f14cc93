//! `/v1/accounts`: opening (staff), balances, lists and history.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use data::accounts::Product;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, RequestId};
use crate::accounts::{HistoryFilter, Opening};
use crate::auth::SignedIn;
use crate::domain::AccountNumber;
use crate::error::{ApiError, invalid_account_number};
use crate::state::AppState;
use crate::wire::{AccountListResponse, AccountResponse, HistoryResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts", get(list).post(open))
        .route("/accounts/{number}", get(read))
        .route("/accounts/{number}/entries", get(history))
        .route("/accounts/{number}/statement", get(statement))
        .route("/accounts/{number}/freeze", post(freeze))
        .route("/accounts/{number}/unfreeze", post(unfreeze))
        .route("/accounts/{number}/close", post(close))
        .route("/accounts/{number}/holds", get(holds).post(place_hold))
        .route("/accounts/{number}/overdraft-limit", post(overdraft_limit))
        .route("/holds/{id}/release", post(release_hold))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenAccountRequest {
    customer_id: Uuid,
    product: Product,
    currency: String,
    name: Option<String>,
    /// Decimal string; only supervisors may grant one.
    overdraft_limit: Option<String>,
}

async fn open(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    ApiJson(request): ApiJson<OpenAccountRequest>,
) -> Result<(StatusCode, Json<AccountResponse>), ApiError> {
    let opening = Opening::parse(
        request.customer_id,
        request.product,
        &request.currency,
        request.name.as_deref(),
        request.overdraft_limit.as_deref(),
    )?;
    let account =
        crate::accounts::open(&state, &signed_in.user, request_id.as_deref(), &opening).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    customer_id: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<AccountListResponse>, ApiError> {
    let rows = crate::accounts::list(&state, &signed_in.user, query.customer_id).await?;
    Ok(Json(AccountListResponse {
        accounts: rows.iter().map(AccountResponse::from).collect(),
    }))
}

fn parse_number(number: &str) -> Result<AccountNumber, ApiError> {
    AccountNumber::parse(number).map_err(|e| invalid_account_number("number", e))
}

async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(number): Path<String>,
) -> Result<Json<AccountResponse>, ApiError> {
    let number = parse_number(&number)?;
    let row = crate::accounts::get(&state, &signed_in.user, &number).await?;
    Ok(Json(AccountResponse::from(&row)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQueryParams {
    /// First day included, `YYYY-MM-DD` (UTC).
    from: Option<Date>,
    /// Last day included, `YYYY-MM-DD` (UTC).
    to: Option<Date>,
    cursor: Option<String>,
    limit: Option<i64>,
    /// Text the memo or counterparty account contains.
    q: Option<String>,
}

async fn history(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(number): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQueryParams>,
) -> Result<Json<HistoryResponse>, ApiError> {
    let number = parse_number(&number)?;
    let filter = HistoryFilter {
        from: query.from,
        to: query.to,
        cursor: query.cursor,
        limit: query.limit,
        text: query.q,
    };
    Ok(Json(
        crate::accounts::history(&state, &signed_in.user, &number, &filter).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatementQuery {
    from: Date,
    to: Date,
}

async fn statement(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(number): Path<String>,
    ApiQuery(query): ApiQuery<StatementQuery>,
) -> Result<Json<crate::wire::StatementResponse>, ApiError> {
    let number = parse_number(&number)?;
    Ok(Json(
        crate::accounts::statement(&state, &signed_in.user, &number, query.from, query.to).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FreezeRequest {
    /// `all`, `debits` or `credits`.
    scope: data::accounts::FreezeScope,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonRequest {
    reason: String,
}

async fn change_status(
    state: &AppState,
    signed_in: &SignedIn,
    request_id: &RequestId,
    number: &str,
    change: crate::accounts::StatusChange,
    reason: &str,
) -> Result<Json<AccountResponse>, ApiError> {
    let number = parse_number(number)?;
    Ok(Json(
        crate::accounts::change_status(
            state,
            &signed_in.user,
            request_id.as_deref(),
            &number,
            change,
            reason,
        )
        .await?,
    ))
}

async fn freeze(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(number): Path<String>,
    ApiJson(request): ApiJson<FreezeRequest>,
) -> Result<Json<AccountResponse>, ApiError> {
    let change = crate::accounts::StatusChange::Freeze(request.scope);
    change_status(
        &state,
        &signed_in,
        &request_id,
        &number,
        change,
        &request.reason,
    )
    .await
}

async fn unfreeze(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(number): Path<String>,
    ApiJson(request): ApiJson<ReasonRequest>,
) -> Result<Json<AccountResponse>, ApiError> {
    let change = crate::accounts::StatusChange::Unfreeze;
    change_status(
        &state,
        &signed_in,
        &request_id,
        &number,
        change,
        &request.reason,
    )
    .await
}

async fn close(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(number): Path<String>,
    ApiJson(request): ApiJson<ReasonRequest>,
) -> Result<Json<AccountResponse>, ApiError> {
    let change = crate::accounts::StatusChange::Close;
    change_status(
        &state,
        &signed_in,
        &request_id,
        &number,
        change,
        &request.reason,
    )
    .await
}

async fn holds(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(number): Path<String>,
) -> Result<Json<crate::wire::HoldListResponse>, ApiError> {
    let number = parse_number(&number)?;
    Ok(Json(crate::wire::HoldListResponse {
        holds: crate::accounts::holds(&state, &signed_in.user, &number).await?,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldRequest {
    amount: String,
    reason: String,
    /// When the hold releases itself, RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    expires_at: time::OffsetDateTime,
}

async fn place_hold(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(number): Path<String>,
    ApiJson(request): ApiJson<HoldRequest>,
) -> Result<(StatusCode, Json<crate::wire::HoldResponse>), ApiError> {
    let number = parse_number(&number)?;
    let hold = crate::accounts::place_hold(
        &state,
        &signed_in.user,
        request_id.as_deref(),
        &number,
        &request.amount,
        &request.reason,
        request.expires_at,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(hold)))
}

async fn release_hold(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
) -> Result<Json<crate::wire::HoldResponse>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: "hold_not_found",
        detail: "no such hold",
    })?;
    Ok(Json(
        crate::accounts::release_hold(&state, &signed_in.user, request_id.as_deref(), id).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverdraftRequest {
    /// The new limit, a decimal string; "0" removes the overdraft.
    limit: String,
    reason: String,
}

/// Files the change for a supervisor's approval (202).
async fn overdraft_limit(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(number): Path<String>,
    ApiJson(request): ApiJson<OverdraftRequest>,
) -> Result<(StatusCode, Json<crate::wire::ApprovalResponse>), ApiError> {
    let number = parse_number(&number)?;
    let reason = crate::domain::text::required("reason", &request.reason, 200)?;
    let actor = crate::ledger::Actor {
        user: &signed_in.user,
        request_id: request_id.as_deref(),
    };
    let approval =
        crate::approvals::file_overdraft_limit(&state, actor, &number, &request.limit, &reason)
            .await?;
    Ok((StatusCode::ACCEPTED, Json(approval)))
}
