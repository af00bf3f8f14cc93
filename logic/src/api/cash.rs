//! `/v1/cash`: a teller's cash deposits and withdrawals, posted against the vault's cash.

use axum::extract::State;
use serde::Deserialize;
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CashRequest {
    /// Ten digits, the last a check digit.
    #[schema(example = "1000000018", pattern = "^[0-9]{10}$")]
    account: String,
    /// A decimal string with at most the currency's decimal places (2 for EUR, USD, GBP and CHF,
    /// 0 for JPY), greater than zero and at most 1000000000; JSON numbers are refused, so no
    /// amount passes through a float.
    #[schema(example = "50.00", pattern = "^[0-9]{1,10}(\\.[0-9]{1,2})?$")]
    amount: String,
    /// An ISO 4217 code the bank holds: EUR, USD, GBP, CHF or JPY.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$")]
    currency: String,
    #[serde(default)]
    #[schema(max_length = 140)]
    memo: String,
}

impl CashRequest {
    fn parse(&self, movement: fn(AccountNumber) -> Movement) -> Result<Order, ApiError> {
        let currency = Currency::parse(&self.currency)?;
        let account = AccountNumber::parse(&self.account)
            .map_err(|e| invalid_account_number("account", e))?;
        Ok(Order {
            movement: movement(account),
            amount: Amount::parse(&self.amount, currency)?,
            memo: bounded("memo", &self.memo, MEMO_MAX_CHARS)?,
        })
    }
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
    let order = request.parse(movement)?;
    crate::orders::post(state, actor(signed_in, request_id), key, &order).await
}
