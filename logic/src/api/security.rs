//! `/v1/me/…`: the signed-in user's own security settings.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bank_api::sessions::{
    ChangePasswordRequest, ConfirmTotpRequest, DisableTotpRequest, EnrolTotpRequest,
    FormSubmissionRequest, SecurityActivityListResponse, SetStepUpThresholdRequest,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, ApiQuery, OptionalJson, PageQuery};
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{
    RecoveryCodesResponse, SessionListResponse, StepUpThresholdListResponse, TotpEnrolmentResponse,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sessions))
        .routes(routes!(activity))
        .routes(routes!(change_password))
        .routes(routes!(enrol_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(record_form_submission))
        .routes(routes!(step_up_thresholds))
        .routes(routes!(set_step_up_threshold))
}

/// Your step-up thresholds
///
/// Per currency: payments to others of at least the threshold need a fresh second factor (or,
/// without one, the password), whoever the payee.
#[utoipa::path(
    get,
    path = "/me/step-up-thresholds",
    tag = "portal",
    responses(
        (status = 200, description = "One threshold per currency", body = StepUpThresholdListResponse)
    )
)]
async fn step_up_thresholds(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<StepUpThresholdListResponse>, ApiError> {
    Ok(Json(
        crate::step_up::thresholds(&state, &signed_in.user).await?,
    ))
}

/// Set your step-up threshold in a currency
///
/// From 0 (every payment to others needs a code) up to the bank's threshold; null goes back to
/// the bank's. Lowering it needs nothing more; raising it needs `step_up`.
#[utoipa::path(
    put,
    path = "/me/step-up-thresholds/{currency}",
    tag = "portal",
    params(
        ("currency" = String, Path, description = "An ISO 4217 code the bank holds")
    ),
    request_body = SetStepUpThresholdRequest,
    responses(
        (status = 200, description = "Every threshold, as now set", body = StepUpThresholdListResponse)
    )
)]
async fn set_step_up_threshold(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(currency): Path<String>,
    ApiJson(request): ApiJson<SetStepUpThresholdRequest>,
) -> Result<Json<StepUpThresholdListResponse>, ApiError> {
    Ok(Json(
        crate::step_up::set_threshold(
            &state,
            &signed_in.user,
            &currency,
            request.threshold.as_deref(),
            request.step_up.as_ref(),
        )
        .await?,
    ))
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

/// What happened to your sign-in
///
/// Newest first, from the audit log: sign-ins and wrong passwords given for your username (with
/// the address and browser), your changes to your password and two-step sign-in, and resets of
/// your sign-in by the bank (`by_bank`). Anything here you did not do: change your password and
/// call the bank.
#[utoipa::path(
    get,
    path = "/me/security-activity",
    tag = "portal",
    params(
        PageQuery
    ),
    responses(
        (status = 200, description = "A page of what happened", body = SecurityActivityListResponse)
    )
)]
async fn activity(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<SecurityActivityListResponse>, ApiError> {
    let limit = query.size()?;
    Ok(Json(
        crate::security::activity(&state, &signed_in.user, query.cursor.as_deref(), limit).await?,
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
        request.code.as_deref(),
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
