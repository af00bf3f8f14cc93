//! `/v1/me/…`: the signed-in user's own security settings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::ApiJson;
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{RecoveryCodesResponse, SessionListResponse, TotpEnrolmentResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/sessions", get(sessions))
        .route("/me/password", post(change_password))
        .route("/me/totp", post(enrol_totp))
        .route("/me/totp/confirm", post(confirm_totp))
        .route("/me/totp/disable", post(disable_totp))
}

async fn sessions(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<SessionListResponse>, ApiError> {
    Ok(Json(
        crate::security::sessions(&state, &signed_in.user).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePasswordRequest {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    crate::security::change_password(
        &state,
        &signed_in.user,
        request.current_password,
        request.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enrol_totp(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<TotpEnrolmentResponse>, ApiError> {
    Ok(Json(
        crate::security::enrol_totp(&state, &signed_in.user).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmTotpRequest {
    code: String,
}

async fn confirm_totp(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<ConfirmTotpRequest>,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    Ok(Json(
        crate::security::confirm_totp(&state, &signed_in.user, &request.code).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisableTotpRequest {
    password: String,
}

async fn disable_totp(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<DisableTotpRequest>,
) -> Result<StatusCode, ApiError> {
    crate::security::disable_totp(&state, &signed_in.user, request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
