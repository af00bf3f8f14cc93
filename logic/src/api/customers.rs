//! `/v1/customers`: onboarding (staff) and profiles.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::extract::{ApiJson, RequestId};
use crate::auth::SignedIn;
use crate::customers::Onboarding;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::CustomerResponse;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", post(create))
        .route("/customers/{id}", get(read))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCustomerRequest {
    full_name: String,
    email: String,
    phone: Option<String>,
    date_of_birth: Option<Date>,
    login: Option<LoginRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    ApiJson(request): ApiJson<CreateCustomerRequest>,
) -> Result<(StatusCode, Json<CustomerResponse>), ApiError> {
    let onboarding = Onboarding::parse(
        &request.full_name,
        &request.email,
        request.phone.as_deref(),
        request.date_of_birth,
        request
            .login
            .as_ref()
            .map(|l| (l.username.as_str(), l.password.clone())),
    )?;
    let customer =
        crate::customers::onboard(&state, &signed_in.user, request_id.as_deref(), &onboarding)
            .await?;
    Ok((StatusCode::CREATED, Json(customer)))
}

async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<CustomerResponse>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: "customer_not_found",
        detail: "no such customer",
    })?;
    Ok(Json(
        crate::customers::profile(&state, &signed_in.user, id).await?,
    ))
}
