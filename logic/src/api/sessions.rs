//! `/v1/sessions` and `/v1/me`: signing in and out, and who the caller is.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::ApiJson;
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{SessionResponse, UserResponse, WhoAmIResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", post(sign_in).delete(sign_out_everywhere))
        .route("/sessions/current", delete(sign_out))
        .route("/me", get(who_am_i))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInRequest {
    username: String,
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    _: crate::auth::Caller,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<(StatusCode, Json<SessionResponse>), ApiError> {
    let session = crate::identity::sign_in(&state, &request.username, request.password).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

async fn sign_out(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<StatusCode, ApiError> {
    crate::identity::sign_out(&state, &signed_in.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<StatusCode, ApiError> {
    crate::identity::sign_out_everywhere(&state, &signed_in.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn who_am_i(signed_in: SignedIn) -> Json<WhoAmIResponse> {
    let user = signed_in.user;
    Json(WhoAmIResponse {
        user: UserResponse {
            id: user.user_id,
            username: user.username,
            role: user.role,
            customer_id: user.customer_id,
        },
        service: signed_in.service.name,
        session_expires_at: user.expires_at,
    })
}
