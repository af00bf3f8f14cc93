//! `/v1/sessions` and `/v1/me`: signing in and out, and who the caller is.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bank_api::sessions::{SecondFactorRequest, SignInRequest};
use data::sessions::ClientInfo;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::ApiJson;
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::identity::SignIn;
use crate::state::AppState;
use crate::wire::IntoWire;
use crate::wire::{SessionResponse, UserResponse, WhoAmIResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in, sign_out_everywhere))
        .routes(routes!(sign_out))
        .routes(routes!(second_factor))
        .routes(routes!(who_am_i))
}

/// Where the person signing in is, as the calling service saw them; shown in their session list.
fn client_info(headers: &HeaderMap) -> ClientInfo {
    let header = |name: &str, max: usize| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.chars()
                    .filter(|c| !c.is_control())
                    .take(max)
                    .collect::<String>()
            })
            .filter(|v| !v.is_empty())
    };
    ClientInfo {
        user_agent: header("x-end-user-agent", 300),
        // An address or nothing: the holder reads it on their security page as where a
        // sign-in came from, so no caller writes prose there.
        ip: header("x-end-user-ip", 64)
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok())
            .map(|ip| ip.to_string()),
    }
}

/// 201 with a session, or 202 with a challenge when a second factor is due.
#[utoipa::path(
    post,
    path = "/sessions",
    tag = "sessions",
    request_body = SignInRequest,
    responses(
        (status = 201, description = "Signed in", body = crate::wire::SessionResponse),
        (status = 202, description = "Password accepted; the second factor is due", body = crate::wire::SecondFactorChallenge)
    )
)]
async fn sign_in(
    State(state): State<AppState>,
    _: crate::auth::Caller,
    headers: HeaderMap,
    ApiJson(request): ApiJson<SignInRequest>,
) -> Result<Response, ApiError> {
    let client = client_info(&headers);
    match crate::identity::sign_in(
        &state,
        &request.username,
        request.password,
        &client,
        request.device_token.as_deref(),
    )
    .await?
    {
        SignIn::Session(session) => Ok((StatusCode::CREATED, Json(session)).into_response()),
        SignIn::SecondFactor(challenge) => {
            Ok((StatusCode::ACCEPTED, Json(challenge)).into_response())
        }
    }
}

#[utoipa::path(
    post,
    path = "/sessions/second-factor",
    tag = "sessions",
    summary = "Finish a sign-in with a TOTP or recovery code",
    request_body = SecondFactorRequest,
    responses(
        (status = 201, description = "Created", body = SessionResponse)
    )
)]
async fn second_factor(
    State(state): State<AppState>,
    _: crate::auth::Caller,
    ApiJson(request): ApiJson<SecondFactorRequest>,
) -> Result<(StatusCode, Json<SessionResponse>), ApiError> {
    let session = crate::identity::second_factor(&state, &request.challenge, &request.code).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

#[utoipa::path(
    delete,
    path = "/sessions/current",
    tag = "sessions",
    summary = "Sign out this session",
    responses(
        (status = 204, description = "Done")
    )
)]
async fn sign_out(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<StatusCode, ApiError> {
    crate::identity::sign_out(&state, &signed_in.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/sessions",
    tag = "sessions",
    summary = "Sign out every session of the user",
    responses(
        (status = 204, description = "Done")
    )
)]
async fn sign_out_everywhere(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<StatusCode, ApiError> {
    crate::identity::sign_out_everywhere(&state, &signed_in.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/me",
    tag = "sessions",
    summary = "Who the signed-in user is",
    responses(
        (status = 200, description = "OK", body = WhoAmIResponse)
    )
)]
async fn who_am_i(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<WhoAmIResponse>, ApiError> {
    let user = signed_in.user;
    let totp_enabled = crate::security::totp_enabled(&state, user.user_id).await?;
    Ok(Json(WhoAmIResponse {
        totp_enabled,
        user: UserResponse {
            id: user.user_id,
            username: user.username,
            role: user.role.into_wire(),
            customer_id: user.customer_id,
            password_change_due: user.password_change_due,
            second_factor_due: user.second_factor_due,
        },
        service: signed_in.service.name,
        session_expires_at: user.expires_at,
    }))
}
