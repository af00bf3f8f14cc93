//! `/v1/me/…`: the signed-in user's own security settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bank_api::sessions::{
    ChangePasswordRequest, ConfirmTotpRequest, DisableTotpRequest, EnrolTotpRequest,
    FormSubmissionRequest,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiQuery, OptionalJson, PageQuery};
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{RecoveryCodesResponse, SessionListResponse, TotpEnrolmentResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sessions))
        .routes(routes!(change_password))
        .routes(routes!(enrol_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(record_form_submission))
}

/// List your live sessions
///
/// Newest sign-in first; `current` marks the one making the request.
#[utoipa::path(
    get,
    path = "/me/sessions",
    tag = "portal",
    params(
        PageQuery
    ),
    responses(
        (status = 200, description = "A page of sessions", body = SessionListResponse)
    )
)]
async fn sessions(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<SessionListResponse>, ApiError> {
    let limit = query.size()?;
    Ok(Json(
        crate::security::sessions(&state, &signed_in.user, query.cursor.as_deref(), limit).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/me/password",
    tag = "portal",
    summary = "Change your password (signs your other sessions out)",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Done")
    )
)]
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

#[utoipa::path(
    post,
    path = "/me/totp",
    tag = "portal",
    summary = "Start enrolling a TOTP second factor (replacing one needs the password and a current code)",
    request_body(content = Option<EnrolTotpRequest>),
    responses(
        (status = 200, description = "OK", body = TotpEnrolmentResponse)
    )
)]
async fn enrol_totp(
    State(state): State<AppState>,
    signed_in: SignedIn,
    OptionalJson(request): OptionalJson<EnrolTotpRequest>,
) -> Result<Json<TotpEnrolmentResponse>, ApiError> {
    Ok(Json(
        crate::security::enrol_totp(
            &state,
            &signed_in.user,
            request.password,
            request.code.as_deref(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/me/totp/confirm",
    tag = "portal",
    summary = "Confirm TOTP enrolment with a code (returns recovery codes once)",
    request_body = ConfirmTotpRequest,
    responses(
        (status = 200, description = "OK", body = RecoveryCodesResponse)
    )
)]
async fn confirm_totp(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<ConfirmTotpRequest>,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    Ok(Json(
        crate::security::confirm_totp(&state, &signed_in.user, &request.code).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/me/totp/disable",
    tag = "portal",
    summary = "Turn the TOTP second factor off (needs the password and a current code)",
    request_body = DisableTotpRequest,
    responses(
        (status = 204, description = "Done")
    )
)]
async fn disable_totp(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<DisableTotpRequest>,
) -> Result<StatusCode, ApiError> {
    crate::security::disable_totp(&state, &signed_in.user, request.password, &request.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record a portal form as sent
///
/// For the portal's single-use form tokens: the first sending of a token by a user answers
/// 204; any later one `409 form_already_sent`, so a form sent twice (a double click, Back and
/// send again) acts once. Allowed while a password change is due.
#[utoipa::path(
    post,
    path = "/me/form-submissions",
    tag = "portal",
    request_body = FormSubmissionRequest,
    responses(
        (status = 204, description = "First sending: go on")
    )
)]
async fn record_form_submission(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<FormSubmissionRequest>,
) -> Result<StatusCode, ApiError> {
    crate::security::record_form_submission(&state, &signed_in.user, &request.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
