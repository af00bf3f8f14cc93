//! `/v1/payees`: a customer's saved payees.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::ApiJson;
use crate::auth::SignedIn;
use crate::domain::AccountNumber;
use crate::error::{ApiError, invalid_account_number};
use crate::state::AppState;
use crate::wire::{PayeeListResponse, PayeeResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payees", get(list).post(add))
        .route("/payees/{id}", delete(remove))
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<PayeeListResponse>, ApiError> {
    Ok(Json(crate::payees::list(&state, &signed_in.user).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddPayeeRequest {
    nickname: String,
    account_number: String,
}

async fn add(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<AddPayeeRequest>,
) -> Result<(StatusCode, Json<PayeeResponse>), ApiError> {
    let number = AccountNumber::parse(&request.account_number)
        .map_err(|e| invalid_account_number("account_number", e))?;
    let payee = crate::payees::add(&state, &signed_in.user, &request.nickname, &number).await?;
    Ok((StatusCode::CREATED, Json(payee)))
}

async fn remove(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: "payee_not_found",
        detail: "no such payee",
    })?;
    crate::payees::remove(&state, &signed_in.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
