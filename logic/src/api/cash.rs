//! `/v1/cash`: a teller's cash deposits and withdrawals, posted against the vault's cash.

use axum::extract::State;
use bank_api::transfers::CashRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, RequestId, RequiredIdempotencyKey, actor};
use crate::auth::SignedIn;
use crate::domain::text::{MEMO_MAX_CHARS, bounded};
use crate::domain::{AccountNumber, Amount, Currency};
use crate::error::{ApiError, invalid_account_number};
use crate::idempotency::{IdempotencyKey, Outcome};
use crate::posting::{Movement, Order};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(deposit))
        .routes(routes!(withdraw))
}

/// A cash request's fields, parsed into an order for `movement`; each error names its field.
fn parse_request(
    request: &CashRequest,
    movement: fn(AccountNumber) -> Movement,
) -> Result<Order, ApiError> {
    let currency = Currency::parse(&request.currency)?;
    let account =
        AccountNumber::parse(&request.account).map_err(|e| invalid_account_number("account", e))?;
    Ok(Order {
        movement: movement(account),
        amount: Amount::parse(&request.amount, currency)?,
        memo: bounded("memo", &request.memo, MEMO_MAX_CHARS)?,
    })
}

#[utoipa::path(
    post,
    path = "/cash/deposits",
    tag = "cash",
    summary = "Pay cash in at the counter (through your open drawer)",
    params(
        ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters; repeat it to retry safely")
    ),
    request_body = CashRequest,
    responses(
        (status = 201, description = "Posted", body = crate::wire::TransferResponse),
        (status = 202, description = "Filed for approval", body = crate::wire::ApprovalResponse)
    )
)]
async fn deposit(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    ApiJson(request): ApiJson<CashRequest>,
) -> Result<Outcome, ApiError> {
    cash(&state, &signed_in, &request_id, &key, request, |account| {
        Movement::CashDeposit { account }
    })
    .await
}

#[utoipa::path(
    post,
    path = "/cash/withdrawals",
    tag = "cash",
    summary = "Pay cash out at the counter (through your open drawer)",
    params(
        ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters; repeat it to retry safely")
    ),
    request_body = CashRequest,
    responses(
        (status = 201, description = "Posted", body = crate::wire::TransferResponse),
        (status = 202, description = "Filed for approval", body = crate::wire::ApprovalResponse)
    )
)]
async fn withdraw(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    ApiJson(request): ApiJson<CashRequest>,
) -> Result<Outcome, ApiError> {
    cash(&state, &signed_in, &request_id, &key, request, |account| {
        Movement::CashWithdrawal { account }
    })
    .await
}

/// Pays cash in or out: the request read as the `movement` of its account, then posted as an
/// order like any other.
async fn cash(
    state: &AppState,
    signed_in: &SignedIn,
    request_id: &RequestId,
    key: &IdempotencyKey,
    request: CashRequest,
    movement: fn(AccountNumber) -> Movement,
) -> Result<Outcome, ApiError> {
    let order = parse_request(&request, movement)?;
    crate::orders::post(state, actor(signed_in, request_id), key, &order, None).await
}
