//! `/v1/cash`: a teller's cash deposits and withdrawals, posted against the vault's cash.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;

use super::extract::{ApiJson, RequestId, RequiredIdempotencyKey};
use crate::auth::SignedIn;
use crate::domain::text::{MEMO_MAX_CHARS, bounded};
use crate::domain::{AccountNumber, Amount, Currency};
use crate::error::{ApiError, invalid_account_number};
use crate::ledger::{Actor, Movement, Order, Outcome};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cash/deposits", post(deposit))
        .route("/cash/withdrawals", post(withdraw))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CashRequest {
    account: String,
    amount: String,
    currency: String,
    #[serde(default)]
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

async fn deposit(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    ApiJson(request): ApiJson<CashRequest>,
) -> Result<Outcome, ApiError> {
    let order = request.parse(|account| Movement::CashDeposit { account })?;
    let actor = Actor {
        user: &signed_in.user,
        request_id: request_id.as_deref(),
    };
    crate::ledger::post(&state, actor, &key, &order).await
}

async fn withdraw(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    ApiJson(request): ApiJson<CashRequest>,
) -> Result<Outcome, ApiError> {
    let order = request.parse(|account| Movement::CashWithdrawal { account })?;
    let actor = Actor {
        user: &signed_in.user,
        request_id: request_id.as_deref(),
    };
    crate::ledger::post(&state, actor, &key, &order).await
}
