//! `/v1/transfers`: moving money between customer accounts, idempotently.

use axum::Json;
use axum::extract::{Path, State};
use bank_api::ProblemCode;
use bank_api::transfers::{
    ReversalRequest, TransferCheckRequest, TransferCheckResponse, TransferRequest,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiJson, RequestId, RequiredIdempotencyKey, actor};
use crate::auth::SignedIn;
use crate::domain::text::{MEMO_MAX_CHARS, bounded};
use crate::domain::{AccountNumber, Amount, Currency};
use crate::error::{ApiError, invalid_account_number};
use crate::idempotency::Outcome;
use crate::posting::{Movement, Order};
use crate::state::AppState;
use crate::wire::FromData;
use crate::wire::TransferResponse;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, find_by_key))
        .routes(routes!(read))
        .routes(routes!(check))
        .routes(routes!(reverse))
}

/// A transfer request's fields, parsed into an order; each error names its field.
pub fn parse_request(request: &TransferRequest) -> Result<Order, ApiError> {
    parse_transfer(
        &request.debit_account,
        &request.credit_account,
        &request.amount,
        &request.currency,
        &request.memo,
    )
}

/// The fields of any movement between two customer accounts, parsed into an order; each error
/// names its field.
pub fn parse_transfer(
    debit_account: &str,
    credit_account: &str,
    amount: &str,
    currency: &str,
    memo: &str,
) -> Result<Order, ApiError> {
    let currency = Currency::parse(currency)?;
    Ok(Order {
        movement: Movement::Transfer {
            debit: AccountNumber::parse(debit_account)
                .map_err(|e| invalid_account_number("debit_account", e))?,
            credit: AccountNumber::parse(credit_account)
                .map_err(|e| invalid_account_number("credit_account", e))?,
        },
        amount: Amount::parse(amount, currency)?,
        memo: bounded("memo", memo, MEMO_MAX_CHARS)?,
    })
}

#[utoipa::path(
    post,
    path = "/transfers",
    tag = "transfers",
    summary = "Move money between two customer accounts",
    params(
        ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters; repeat it to retry safely")
    ),
    request_body = TransferRequest,
    responses(
        (status = 201, description = "Posted", body = TransferResponse),
        (status = 202, description = "Above the teller approval threshold: filed for a supervisor, the funds held", body = crate::wire::ApprovalResponse)
    )
)]
async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    ApiJson(request): ApiJson<TransferRequest>,
) -> Result<Outcome, ApiError> {
    let order = parse_request(&request)?;
    let actor = actor(&signed_in, &request_id);
    crate::orders::post(&state, actor, &key, &order, request.step_up.as_ref()).await
}

/// Checks a transfer before it is confirmed, the way a review page does: every rule the transfer
/// would meet is applied and its refusal answered with the same code; nothing is written. The
/// answer names the destination's holder as the bank holds the name and, when the request gives
/// `payee_name`, says how well that name matches.
#[utoipa::path(
    post,
    path = "/transfers/checks",
    tag = "transfers",
    summary = "Check a transfer before confirming it",
    request_body = TransferCheckRequest,
    responses(
        (status = 200, description = "The transfer would be posted now", body = TransferCheckResponse)
    )
)]
async fn check(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<TransferCheckRequest>,
) -> Result<Json<TransferCheckResponse>, ApiError> {
    let order = parse_transfer(
        &request.debit_account,
        &request.credit_account,
        &request.amount,
        &request.currency,
        &request.memo,
    )?;
    let payee_name = match request.payee_name.as_deref() {
        Some(name) => Some(bounded("payee_name", name, 200)?).filter(|name| !name.is_empty()),
        None => None,
    };
    Ok(Json(
        crate::review::check(&state, &signed_in.user, &order, payee_name.as_deref()).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/transfers/{id}",
    tag = "transfers",
    summary = "Read a transfer",
    params(
        ("id" = String, Path)
    ),
    responses(
        (status = 200, description = "OK", body = TransferResponse)
    )
)]
async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<TransferResponse>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::TransferNotFound,
        detail: "no such transfer",
    })?;
    let row = crate::posting::find(&state, &signed_in.user, id).await?;
    let mut transfer = TransferResponse::from_data(&row);
    if !signed_in.user.reaches_every_customer() {
        // The bank's own accounts (a teller's drawer, the vault) are never numbered to customers.
        for number in [&mut transfer.debit_account, &mut transfer.credit_account] {
            if AccountNumber::parse(number).is_ok_and(|n| n.is_internal()) {
                number.clear();
            }
        }
    }
    Ok(Json(transfer))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ByKeyQuery {
    idempotency_key: String,
}

/// The caller's transfer made with this idempotency key, if that request completed.
#[utoipa::path(
    get,
    path = "/transfers",
    tag = "transfers",
    params(
        ByKeyQuery
    ),
    responses(
        (status = 200, description = "The stored answer to that request: a transfer, or an approval request", body = Object)
    )
)]
async fn find_by_key(
    State(state): State<AppState>,
    signed_in: SignedIn,
    super::extract::ApiQuery(query): super::extract::ApiQuery<ByKeyQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = crate::idempotency::IdempotencyKey::parse(&query.idempotency_key)?;
    Ok(Json(
        crate::posting::find_by_key(&state, &signed_in.user, &key).await?,
    ))
}

/// Asks for a reversal: always filed for a supervisor's approval (202).
#[utoipa::path(
    post,
    path = "/transfers/{id}/reversals",
    tag = "transfers",
    params(
        ("id" = String, Path),
        ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters; repeat it to retry safely")
    ),
    request_body = ReversalRequest,
    responses(
        (status = 202, description = "Filed for a second supervisor's approval", body = crate::wire::ApprovalResponse)
    )
)]
async fn reverse(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReversalRequest>,
) -> Result<Outcome, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::TransferNotFound,
        detail: "no such transfer",
    })?;
    let reason = crate::domain::text::required("reason", &request.reason, 200)?;
    let actor = actor(&signed_in, &request_id);
    crate::approvals::file_reversal(&state, actor, &key, id, &reason).await
}
