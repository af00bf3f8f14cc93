//! `/v1/audit`: searching the audit log and verifying the chain and the ledger.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::extract::{ApiQuery, RequestId};
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{AuditListResponse, VerificationResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(search))
        .route("/audit/verify", post(verify))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    /// The staff member's username.
    actor: Option<String>,
    customer_id: Option<Uuid>,
    account: Option<String>,
    /// An action (`account.freeze`) or a family of them (`account.`).
    action: Option<String>,
    from: Option<Date>,
    to: Option<Date>,
    cursor: Option<String>,
    limit: Option<i64>,
}

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

async fn verify(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
) -> Result<Json<VerificationResponse>, ApiError> {
    Ok(Json(
        crate::audit::verify(&state, &signed_in.user, request_id.as_deref()).await?,
    ))
}
