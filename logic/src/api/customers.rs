//! `/v1/customers`: onboarding, search, profiles, edits, recent activity and daily limits.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bank_api::ProblemCode;
use bank_api::customers::{
    CreateCustomerRequest, SetLimitRequest, SignInResetRequest, SignInResetResponse,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, PageQuery, RequestId};
use crate::auth::SignedIn;
use crate::customers::{Identity, IdentityFields, Onboarding};
use crate::domain::Currency;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{
    ActivityListResponse, CustomerListResponse, CustomerResponse, DailyLimitListResponse,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search, create))
        .routes(routes!(read, update))
        .routes(routes!(activity))
        .routes(routes!(limits))
        .routes(routes!(set_limit))
        .routes(routes!(reset_sign_in))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::CustomerNotFound,
        detail: "no such customer",
    })
}

#[utoipa::path(
    post,
    path = "/customers",
    tag = "customers",
    summary = "Onboard a customer",
    request_body = CreateCustomerRequest,
    responses(
        (status = 201, description = "Created", body = CustomerResponse)
    )
)]
async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    ApiJson(request): ApiJson<CreateCustomerRequest>,
) -> Result<(StatusCode, Json<CustomerResponse>), ApiError> {
    let onboarding = Onboarding::parse(
        &request.identity,
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// Part of a name or email, a phone number, an identity document or an account number.
    q: String,
    /// `next_cursor` of the previous page; absent for the first page.
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// Find customers by name, email, phone, document or account number
///
/// In order of name. Pass the same `q` with each page's cursor.
#[utoipa::path(
    get,
    path = "/customers",
    tag = "customers",
    params(
        SearchQuery
    ),
    responses(
        (status = 200, description = "A page of matching customers", body = CustomerListResponse)
    )
)]
async fn search(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<CustomerListResponse>, ApiError> {
    let limit = crate::cursor::page_size_default(query.limit)?;
    Ok(Json(
        crate::customers::search(
            &state,
            &signed_in.user,
            &query.q,
            query.cursor.as_deref(),
            limit,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/customers/{id}",
    tag = "customers",
    summary = "Read a customer",
    params(
        ("id" = String, Path)
    ),
    responses(
        (status = 200, description = "OK", body = CustomerResponse)
    )
)]
async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<CustomerResponse>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(
        crate::customers::profile(&state, &signed_in.user, id).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/customers/{id}",
    tag = "customers",
    summary = "Correct a customer's identity details",
    params(
        ("id" = String, Path)
    ),
    request_body = IdentityFields,
    responses(
        (status = 200, description = "OK", body = CustomerResponse)
    )
)]
async fn update(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<IdentityFields>,
) -> Result<Json<CustomerResponse>, ApiError> {
    let id = parse_id(&id)?;
    let identity = Identity::parse(&request)?;
    Ok(Json(
        crate::customers::update(
            &state,
            &signed_in.user,
            request_id.as_deref(),
            id,
            &identity,
        )
        .await?,
    ))
}

/// A customer's entries across their accounts
///
/// Newest first.
#[utoipa::path(
    get,
    path = "/customers/{id}/activity",
    tag = "customers",
    params(
        ("id" = String, Path),
        PageQuery
    ),
    responses(
        (status = 200, description = "A page of entries", body = ActivityListResponse)
    )
)]
async fn activity(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<ActivityListResponse>, ApiError> {
    let id = parse_id(&id)?;
    let limit = query.size()?;
    Ok(Json(
        crate::customers::activity(&state, &signed_in.user, id, query.cursor.as_deref(), limit)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/customers/{id}/limits",
    tag = "customers",
    summary = "A customer's daily transfer limits and what is used today",
    params(
        ("id" = String, Path)
    ),
    responses(
        (status = 200, description = "OK", body = DailyLimitListResponse)
    )
)]
async fn limits(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<DailyLimitListResponse>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(DailyLimitListResponse {
        limits: crate::customers::daily_limits(&state, &signed_in.user, id).await?,
    }))
}

#[utoipa::path(
    put,
    path = "/customers/{id}/limits/{currency}",
    tag = "customers",
    summary = "Set a customer's daily transfer limit in a currency",
    params(
        ("id" = String, Path),
        ("currency" = String, Path)
    ),
    request_body = SetLimitRequest,
    responses(
        (status = 200, description = "OK", body = DailyLimitListResponse)
    )
)]
async fn set_limit(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path((id, currency)): Path<(String, String)>,
    ApiJson(request): ApiJson<SetLimitRequest>,
) -> Result<Json<DailyLimitListResponse>, ApiError> {
    let id = parse_id(&id)?;
    let currency = Currency::parse(&currency)?;
    Ok(Json(DailyLimitListResponse {
        limits: crate::customers::set_daily_limit(
            &state,
            &signed_in.user,
            request_id.as_deref(),
            id,
            &currency,
            request.daily_limit.as_deref(),
        )
        .await?,
    }))
}

/// Reset a customer's web banking sign-in
///
/// For a customer who lost it (a forgotten password, a lost authenticator and its recovery codes,
/// a lock): once you have checked who they are, choose a password for them to sign in with once.
/// They must replace it before anything else; their second factor is turned off, every session
/// of theirs ends and the name's failed attempts are forgotten. Tellers and supervisors;
/// audited as `user.sign_in_reset`.
#[utoipa::path(
    post,
    path = "/customers/{id}/sign-in-reset",
    tag = "customers",
    params(
        ("id" = String, Path)
    ),
    request_body = SignInResetRequest,
    responses(
        (status = 200, description = "OK", body = SignInResetResponse)
    )
)]
async fn reset_sign_in(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<SignInResetRequest>,
) -> Result<Json<SignInResetResponse>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(
        crate::identity::reset_sign_in(
            &state,
            &signed_in.user,
            request_id.as_deref(),
            crate::identity::ResetOf::Customer(id),
            request.password,
        )
        .await?,
    ))
}
