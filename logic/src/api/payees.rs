//! `/v1/payees`: a customer's saved payees.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bank_api::ProblemCode;
use bank_api::payees::AddPayeeRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, PageQuery};
use crate::auth::SignedIn;
use crate::domain::AccountNumber;
use crate::error::{ApiError, invalid_account_number};
use crate::state::AppState;
use crate::wire::{PayeeListResponse, PayeeResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(remove))
}

/// List your saved payees
///
/// In order of nickname.
#[utoipa::path(
    get,
    path = "/payees",
    tag = "portal",
    params(
        PageQuery
    ),
    responses(
        (status = 200, description = "A page of payees", body = PayeeListResponse)
    )
)]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<PayeeListResponse>, ApiError> {
    let limit = query.size()?;
    Ok(Json(
        crate::payees::list(&state, &signed_in.user, query.cursor.as_deref(), limit).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/payees",
    tag = "portal",
    summary = "Save a payee",
    request_body = AddPayeeRequest,
    responses(
        (status = 201, description = "Created", body = PayeeResponse)
    )
)]
async fn add(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<AddPayeeRequest>,
) -> Result<(StatusCode, Json<PayeeResponse>), ApiError> {
    let number = AccountNumber::parse(&request.account_number)
        .map_err(|e| invalid_account_number("account_number", e))?;
    let payee = crate::payees::add(
        &state,
        &signed_in.user,
        &request.nickname,
        &number,
        request.step_up.as_ref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(payee)))
}

#[utoipa::path(
    delete,
    path = "/payees/{id}",
    tag = "portal",
    summary = "Remove a saved payee",
    params(
        ("id" = String, Path)
    ),
    responses(
        (status = 204, description = "Done")
    )
)]
async fn remove(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::PayeeNotFound,
        detail: "no such payee",
    })?;
    crate::payees::remove(&state, &signed_in.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
