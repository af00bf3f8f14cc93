//! `/v1/admin`: staff users and the bank's limits.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, put};
use axum::{Json, Router};
use data::users::Role;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, RequestId};
use crate::auth::SignedIn;
use crate::domain::Currency;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{LimitsResponse, StaffListResponse, StaffResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/staff", get(list_staff).post(create_staff))
        .route("/admin/staff/{id}", patch(update_staff))
        .route("/admin/limits", get(limits))
        .route("/admin/limits/{currency}", put(set_limits))
}

async fn list_staff(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<StaffListResponse>, ApiError> {
    Ok(Json(StaffListResponse {
        staff: crate::admin::list_staff(&state, &signed_in.user).await?,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateStaffRequest {
    username: String,
    password: String,
    role: Role,
}

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
        request.role,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(staff)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateStaffRequest {
    role: Option<Role>,
    disabled: Option<bool>,
}

async fn update_staff(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UpdateStaffRequest>,
) -> Result<Json<StaffResponse>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: "staff_not_found",
        detail: "no such member of staff",
    })?;
    Ok(Json(
        crate::admin::update_staff(
            &state,
            &signed_in.user,
            request_id.as_deref(),
            id,
            request.role,
            request.disabled,
        )
        .await?,
    ))
}

async fn limits(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<LimitsResponse>, ApiError> {
    Ok(Json(LimitsResponse {
        currencies: crate::admin::limits(&state, &signed_in.user).await?,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetLimitsRequest {
    approval_threshold: String,
    daily_transfer_limit: String,
}

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
