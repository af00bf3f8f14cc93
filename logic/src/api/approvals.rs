//! `/v1/approvals`: the four-eyes queue.

use axum::Json;
use axum::extract::{Path, State};
use bank_api::ProblemCode;
use bank_api::approvals::DecisionRequest;
use data::approvals::{ApprovalFilter, ApprovalStatus};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, RequestId};
use crate::approvals::Decision;
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{ApprovalListResponse, ApprovalResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read))
        .routes(routes!(approve))
        .routes(routes!(reject))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[param(value_type = Option<bank_api::approvals::ApprovalStatus>)]
    status: Option<ApprovalStatus>,
    customer_id: Option<Uuid>,
    account: Option<String>,
    /// `next_cursor` of the previous page; absent for the first page.
    cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// List approval requests
///
/// Newest first. Pending requests past their expiry are left out when `status` is `pending`.
#[utoipa::path(
    get,
    path = "/approvals",
    tag = "approvals",
    params(
        ListQuery
    ),
    responses(
        (status = 200, description = "A page of approval requests", body = ApprovalListResponse)
    )
)]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ApprovalListResponse>, ApiError> {
    let limit = crate::cursor::page_size(
        query.limit,
        crate::cursor::PAGE_DEFAULT,
        crate::approvals::LIST_MAX,
    )?;
    let before = query
        .cursor
        .as_deref()
        .map(crate::cursor::decode_time)
        .transpose()?;
    let account_id = match query.account.as_deref() {
        None => None,
        Some(number) => {
            let number = crate::domain::AccountNumber::parse(number)
                .map_err(|e| crate::error::invalid_account_number("account", e))?;
            Some(
                crate::accounts::get(&state, &signed_in.user, &number)
                    .await?
                    .id,
            )
        }
    };
    let filter = ApprovalFilter {
        status: query.status,
        account_id,
        customer_id: query.customer_id,
        before,
        limit,
    };
    Ok(Json(
        crate::approvals::list(&state, &signed_in.user, filter).await?,
    ))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::ApprovalNotFound,
        detail: "no such approval request",
    })
}

#[utoipa::path(
    get,
    path = "/approvals/{id}",
    tag = "approvals",
    summary = "Read an approval request",
    params(
        ("id" = String, Path)
    ),
    responses(
        (status = 200, description = "OK", body = ApprovalResponse)
    )
)]
async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ApprovalResponse>, ApiError> {
    Ok(Json(
        crate::approvals::get(&state, &signed_in.user, parse_id(&id)?).await?,
    ))
}

async fn decide(
    state: AppState,
    signed_in: SignedIn,
    request_id: RequestId,
    id: String,
    decision: Decision,
    note: &str,
) -> Result<Json<ApprovalResponse>, ApiError> {
    // A rejection says why: the maker and the audit log read it.
    let note = match decision {
        Decision::Approve => crate::domain::text::bounded("note", note, 200)?,
        Decision::Reject => crate::domain::text::required("note", note, 200)?,
    };
    Ok(Json(
        crate::approvals::decide(
            &state,
            &signed_in.user,
            parse_id(&id)?,
            decision,
            &note,
            request_id.as_deref(),
        )
        .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/approvals/{id}/approve",
    tag = "approvals",
    summary = "Approve a request (a supervisor other than its maker); carries it out",
    params(
        ("id" = String, Path)
    ),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "OK", body = ApprovalResponse)
    )
)]
async fn approve(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> Result<Json<ApprovalResponse>, ApiError> {
    decide(
        state,
        signed_in,
        request_id,
        id,
        Decision::Approve,
        &request.note,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/approvals/{id}/reject",
    tag = "approvals",
    summary = "Reject a request, releasing any held funds; `note` (why) is required",
    params(
        ("id" = String, Path)
    ),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "OK", body = ApprovalResponse)
    )
)]
async fn reject(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> Result<Json<ApprovalResponse>, ApiError> {
    decide(
        state,
        signed_in,
        request_id,
        id,
        Decision::Reject,
        &request.note,
    )
    .await
}
