//! `/v1/admin`: staff users and the bank's limits.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bank_api::ProblemCode;
use bank_api::admin::{CreateStaffRequest, SetLimitsRequest, UpdateStaffRequest};
use bank_api::customers::{SignInResetRequest, SignInResetResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, PageQuery, RequestId};
use crate::auth::SignedIn;
use crate::domain::Currency;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{LimitsResponse, StaffListResponse, StaffResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_staff, create_staff))
        .routes(routes!(update_staff))
        .routes(routes!(reset_staff_sign_in))
        .routes(routes!(limits))
        .routes(routes!(set_limits))
}

/// List staff
///
/// Tellers, supervisors and admins in order of username, disabled ones included.
#[utoipa::path(
    get,
    path = "/admin/staff",
    tag = "administration",
    params(
        PageQuery
    ),
    responses(
        (status = 200, description = "A page of staff", body = StaffListResponse)
    )
)]
async fn list_staff(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<StaffListResponse>, ApiError> {
    let limit = query.size()?;
    Ok(Json(
        crate::admin::list_staff(&state, &signed_in.user, query.cursor.as_deref(), limit).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/admin/staff",
    tag = "administration",
    summary = "Add a member of staff",
    request_body = CreateStaffRequest,
    responses(
        (status = 201, description = "Created", body = StaffResponse)
    )
)]
async fn create_staff(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    ApiJson(request): ApiJson<CreateStaffRequest>,
) -> Result<(StatusCode, Json<StaffResponse>), ApiError> {
    let staff = crate::admin::create_staff(
        &state,
        &signed_in.user,
        request_id.as_deref(),
        &request.username,
        request.password,
        crate::wire::staff_role(request.role)?,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(staff)))
}

#[utoipa::path(
    patch,
    path = "/admin/staff/{id}",
    tag = "administration",
    summary = "Change a member of staff's role or access",
    params(
        ("id" = String, Path)
    ),
    request_body = UpdateStaffRequest,
    responses(
        (status = 200, description = "OK", body = StaffResponse)
    )
)]
async fn update_staff(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateStaffRequest>,
) -> Result<Json<StaffResponse>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::StaffNotFound,
        detail: "no such member of staff",
    })?;
    Ok(Json(
        crate::admin::update_staff(
            &state,
            &signed_in.user,
            request_id.as_deref(),
            id,
            request.role.map(crate::wire::staff_role).transpose()?,
            request.disabled,
        )
        .await?,
    ))
}

/// Reset a member of staff's sign-in
///
/// For one who lost it (a forgotten password, a lost authenticator and its recovery codes, a
/// lock): choose a password for them to sign in with once. They must replace it, and enrol a
/// new second factor, before the staff pages open; every session of theirs ends and the name's
/// failed attempts are forgotten. Admins, for anyone but themselves; audited as
/// `user.sign_in_reset`.
#[utoipa::path(
    post,
    path = "/admin/staff/{id}/sign-in-reset",
    tag = "administration",
    params(
        ("id" = String, Path)
    ),
    request_body = SignInResetRequest,
    responses(
        (status = 200, description = "OK", body = SignInResetResponse)
    )
)]
async fn reset_staff_sign_in(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<SignInResetRequest>,
) -> Result<Json<SignInResetResponse>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::StaffNotFound,
        detail: "no such member of staff",
    })?;
    Ok(Json(
        crate::identity::reset_sign_in(
            &state,
            &signed_in.user,
            request_id.as_deref(),
            crate::identity::ResetOf::Staff(id),
            request.password,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/admin/limits",
    tag = "administration",
    summary = "The approval threshold and default daily limit per currency",
    responses(
        (status = 200, description = "OK", body = LimitsResponse)
    )
)]
async fn limits(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<LimitsResponse>, ApiError> {
    Ok(Json(LimitsResponse {
        currencies: crate::admin::limits(&state, &signed_in.user).await?,
    }))
}

#[utoipa::path(
    put,
    path = "/admin/limits/{currency}",
    tag = "administration",
    summary = "Set a currency's approval threshold and default daily limit",
    params(
        ("currency" = String, Path)
    ),
    request_body = SetLimitsRequest,
    responses(
        (status = 200, description = "OK", body = LimitsResponse)
    )
)]
async fn set_limits(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(currency): Path<String>,
    ApiJson(request): ApiJson<SetLimitsRequest>,
) -> Result<Json<LimitsResponse>, ApiError> {
    let currency = Currency::parse(&currency)?;
    Ok(Json(LimitsResponse {
        currencies: crate::admin::set_limits(
            &state,
            &signed_in.user,
            request_id.as_deref(),
            currency,
            &request.approval_threshold,
            &request.daily_transfer_limit,
        )
        .await?,
    }))
}
