//! `/v1/accounts`: opening (staff), balances, lists and history.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bank_api::ProblemCode;
use bank_api::accounts::{
    FreezeRequest, HoldRequest, OpenAccountRequest, OverdraftRequest, ReasonRequest,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, PageQuery, RequestId, actor};
use crate::accounts::{HistoryFilter, Opening};
use crate::auth::SignedIn;
use crate::domain::{AccountNumber, Day};
use crate::error::{ApiError, invalid_account_number};
use crate::state::AppState;
use crate::wire::FromData;
use crate::wire::{AccountListResponse, AccountResponse, HistoryResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, open))
        .routes(routes!(read))
        .routes(routes!(history))
        .routes(routes!(statement))
        .routes(routes!(freeze))
        .routes(routes!(unfreeze))
        .routes(routes!(close))
        .routes(routes!(holds, place_hold))
        .routes(routes!(overdraft_limit))
        .routes(routes!(release_hold))
}

#[utoipa::path(
    post,
    path = "/accounts",
    tag = "accounts",
    summary = "Open an account for a customer",
    request_body = OpenAccountRequest,
    responses(
        (status = 201, description = "Created", body = AccountResponse)
    )
)]
async fn open(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    ApiJson(request): ApiJson<OpenAccountRequest>,
) -> Result<(StatusCode, Json<AccountResponse>), ApiError> {
    let opening = Opening::parse(
        request.customer_id,
        crate::wire::product(request.product)?,
        &request.currency,
        request.name.as_deref(),
        request.overdraft_limit.as_deref(),
    )?;
    let account =
        crate::accounts::open(&state, &signed_in.user, request_id.as_deref(), &opening).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Staff: whose accounts. A customer lists their own.
    customer_id: Option<Uuid>,
    /// `next_cursor` of the previous page; absent for the first page.
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// List a customer's accounts
///
/// Oldest first, closed ones included.
#[utoipa::path(
    get,
    path = "/accounts",
    tag = "accounts",
    params(
        ListQuery
    ),
    responses(
        (status = 200, description = "A page of accounts", body = AccountListResponse)
    )
)]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<AccountListResponse>, ApiError> {
    let limit = crate::cursor::page_size_default(query.limit)?;
    let (rows, next_cursor) = crate::accounts::list(
        &state,
        &signed_in.user,
        query.customer_id,
        query.cursor.as_deref(),
        limit,
    )
    .await?;
    Ok(Json(AccountListResponse {
        accounts: rows.iter().map(AccountResponse::from_data).collect(),
        next_cursor,
    }))
}

fn parse_number(number: &str) -> Result<AccountNumber, ApiError> {
    AccountNumber::parse(number).map_err(|e| invalid_account_number("number", e))
}

#[utoipa::path(
    get,
    path = "/accounts/{number}",
    tag = "accounts",
    summary = "Read an account with its ledger and available balance",
    params(
        ("number" = String, Path)
    ),
    responses(
        (status = 200, description = "OK", body = AccountResponse)
    )
)]
async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(number): Path<String>,
) -> Result<Json<AccountResponse>, ApiError> {
    let number = parse_number(&number)?;
    let row = crate::accounts::get(&state, &signed_in.user, &number).await?;
    Ok(Json(AccountResponse::from_data(&row)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct HistoryQueryParams {
    /// First day included, `YYYY-MM-DD` (UTC), from 1900-01-01 to 9999-12-30.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Day>,
    /// Last day included, `YYYY-MM-DD` (UTC), from 1900-01-01 to 9999-12-30.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<Day>,
    cursor: Option<String>,
    limit: Option<i64>,
    /// Text the memo or counterparty account contains.
    q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/accounts/{number}/entries",
    tag = "accounts",
    summary = "An account's entries, newest first, with running balance",
    params(
        ("number" = String, Path),
        HistoryQueryParams
    ),
    responses(
        (status = 200, description = "OK", body = HistoryResponse)
    )
)]
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatementQuery {
    /// First day included, `YYYY-MM-DD` (UTC), from 1900-01-01 to 9999-12-30.
    #[param(value_type = String, format = Date)]
    from: Day,
    /// Last day included, `YYYY-MM-DD` (UTC), from 1900-01-01 to 9999-12-30.
    #[param(value_type = String, format = Date)]
    to: Day,
}

#[utoipa::path(
    get,
    path = "/accounts/{number}/statement",
    tag = "accounts",
    summary = "A statement for a period: opening and closing balance, entries, totals",
    params(
        ("number" = String, Path),
        StatementQuery
    ),
    responses(
        (status = 200, description = "OK", body = crate::wire::StatementResponse)
    )
)]
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

#[utoipa::path(
    post,
    path = "/accounts/{number}/freeze",
    tag = "accounts",
    summary = "Freeze an account (all movements, debits or credits)",
    params(
        ("number" = String, Path)
    ),
    request_body = FreezeRequest,
    responses(
        (status = 200, description = "OK", body = AccountResponse)
    )
)]
async fn freeze(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(number): Path<String>,
    ApiJson(request): ApiJson<FreezeRequest>,
) -> Result<Json<AccountResponse>, ApiError> {
    let change = crate::accounts::StatusChange::Freeze(crate::wire::freeze_scope(request.scope)?);
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

#[utoipa::path(
    post,
    path = "/accounts/{number}/unfreeze",
    tag = "accounts",
    summary = "Lift a freeze (supervisors)",
    params(
        ("number" = String, Path)
    ),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "OK", body = AccountResponse)
    )
)]
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

#[utoipa::path(
    post,
    path = "/accounts/{number}/close",
    tag = "accounts",
    summary = "Close an account at a zero balance",
    params(
        ("number" = String, Path)
    ),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "OK", body = AccountResponse)
    )
)]
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

/// List an account's holds
///
/// Newest first: active, released and expired.
#[utoipa::path(
    get,
    path = "/accounts/{number}/holds",
    tag = "accounts",
    params(
        ("number" = String, Path),
        PageQuery
    ),
    responses(
        (status = 200, description = "A page of holds", body = crate::wire::HoldListResponse)
    )
)]
async fn holds(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(number): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<crate::wire::HoldListResponse>, ApiError> {
    let number = parse_number(&number)?;
    let limit = query.size()?;
    Ok(Json(
        crate::accounts::holds(
            &state,
            &signed_in.user,
            &number,
            query.cursor.as_deref(),
            limit,
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/accounts/{number}/holds",
    tag = "accounts",
    summary = "Place a hold on an account",
    params(
        ("number" = String, Path)
    ),
    request_body = HoldRequest,
    responses(
        (status = 201, description = "Created", body = crate::wire::HoldResponse)
    )
)]
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

#[utoipa::path(
    post,
    path = "/holds/{id}/release",
    tag = "accounts",
    summary = "Release a hold",
    params(
        ("id" = String, Path)
    ),
    responses(
        (status = 200, description = "OK", body = crate::wire::HoldResponse)
    )
)]
async fn release_hold(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
) -> Result<Json<crate::wire::HoldResponse>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::HoldNotFound,
        detail: "no such hold",
    })?;
    Ok(Json(
        crate::accounts::release_hold(&state, &signed_in.user, request_id.as_deref(), id).await?,
    ))
}

/// Files the change for a supervisor's approval (202).
#[utoipa::path(
    post,
    path = "/accounts/{number}/overdraft-limit",
    tag = "accounts",
    params(
        ("number" = String, Path)
    ),
    request_body = OverdraftRequest,
    responses(
        (status = 202, description = "Filed for approval", body = crate::wire::ApprovalResponse)
    )
)]
async fn overdraft_limit(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(number): Path<String>,
    ApiJson(request): ApiJson<OverdraftRequest>,
) -> Result<(StatusCode, Json<crate::wire::ApprovalResponse>), ApiError> {
    let number = parse_number(&number)?;
    let reason = crate::domain::text::required("reason", &request.reason, 200)?;
    let actor = actor(&signed_in, &request_id);
    let approval =
        crate::approvals::file_overdraft_limit(&state, actor, &number, &request.limit, &reason)
            .await?;
    Ok((StatusCode::ACCEPTED, Json(approval)))
}
