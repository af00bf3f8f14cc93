//! `/v1/audit`: searching the audit log and verifying the chain and the ledger.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiQuery, RequestId};
use crate::auth::SignedIn;
use crate::domain::Day;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{AuditListResponse, VerificationResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(verify))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// The staff member's username.
    actor: Option<String>,
    customer_id: Option<Uuid>,
    account: Option<String>,
    /// An action (`account.freeze`) or a family of them (`account.`).
    action: Option<String>,
    /// First day included, `YYYY-MM-DD` (UTC), from 1900-01-01 to 9999-12-30.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<Day>,
    /// Last day included, `YYYY-MM-DD` (UTC), from 1900-01-01 to 9999-12-30.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<Day>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    summary = "Search the audit log",
    params(
        SearchQuery
    ),
    responses(
        (status = 200, description = "OK", body = AuditListResponse)
    )
)]
async fn search(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<AuditListResponse>, ApiError> {
    let search = crate::audit::Search {
        actor: query.actor,
        customer_id: query.customer_id,
        account: query.account,
        action: query.action,
        from: query.from,
        to: query.to,
        cursor: query.cursor,
        limit: query.limit,
    };
    Ok(Json(
        crate::audit::search(&state, &signed_in.user, &search).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/audit/verify",
    tag = "audit",
    summary = "Verify the audit chain and the ledger",
    responses(
        (status = 200, description = "OK", body = VerificationResponse)
    )
)]
async fn verify(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
) -> Result<Json<VerificationResponse>, ApiError> {
    Ok(Json(
        crate::audit::verify(&state, &signed_in.user, request_id.as_deref()).await?,
    ))
}
