//! `/v1/drawers`: a teller's cash drawer, from opening to the count at closing.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, RequestId, RequiredIdempotencyKey};
use crate::auth::SignedIn;
use crate::domain::{Amount, Currency};
use crate::error::ApiError;
use crate::ledger::{Actor, Movement, Order, Outcome};
use crate::state::AppState;
use crate::wire::{DrawerListResponse, DrawerResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/drawers", get(list).post(open))
        .route("/drawers/{id}", get(read))
        .route("/drawers/{id}/vault-transfers", post(vault_transfer))
        .route("/drawers/{id}/close", post(close))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    currency: String,
    /// Cash taken from the vault, a decimal string; "0" opens an empty drawer.
    opening_float: String,
}

async fn open(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    ApiJson(request): ApiJson<OpenRequest>,
) -> Result<Outcome, ApiError> {
    let currency = Currency::parse(&request.currency)?;
    let actor = Actor {
        user: &signed_in.user,
        request_id: request_id.as_deref(),
    };
    crate::drawers::open(&state, actor, &key, currency, &request.opening_float).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Supervisors: every open drawer of the branch.
    #[serde(default)]
    all: bool,
}

async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<DrawerListResponse>, ApiError> {
    Ok(Json(DrawerListResponse {
        drawers: crate::drawers::list(&state, &signed_in.user, query.all).await?,
    }))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound {
        code: "drawer_not_found",
        detail: "no such drawer",
    })
}

async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<DrawerResponse>, ApiError> {
    Ok(Json(
        crate::drawers::get(&state, &signed_in.user, parse_id(&id)?).await?,
    ))
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Direction {
    /// Cash from the vault into the drawer.
    ToDrawer,
    /// Cash from the drawer back to the vault.
    ToVault,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultTransferRequest {
    direction: Direction,
    amount: String,
}

async fn vault_transfer(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<VaultTransferRequest>,
) -> Result<Outcome, ApiError> {
    let drawer = crate::drawers::get(&state, &signed_in.user, parse_id(&id)?).await?;
    if drawer.state != "open" || drawer.teller != signed_in.user.username {
        return Err(ApiError::refused(
            "drawer_not_open",
            "this is not an open drawer of yours",
        ));
    }
    let currency = Currency::parse(&drawer.currency)?;
    let order = Order {
        movement: match request.direction {
            Direction::ToDrawer => Movement::DrawerFromVault,
            Direction::ToVault => Movement::DrawerToVault,
        },
        amount: Amount::parse(&request.amount, currency)?,
        memo: match request.direction {
            Direction::ToDrawer => "Cash from the vault".into(),
            Direction::ToVault => "Cash to the vault".into(),
        },
    };
    let actor = Actor {
        user: &signed_in.user,
        request_id: request_id.as_deref(),
    };
    crate::ledger::post(&state, actor, &key, &order).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseRequest {
    /// The count: denomination (such as "50.00" or "0.20") to number of pieces.
    denominations: BTreeMap<String, u32>,
}

async fn close(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<CloseRequest>,
) -> Result<Outcome, ApiError> {
    let actor = Actor {
        user: &signed_in.user,
        request_id: request_id.as_deref(),
    };
    crate::drawers::close(&state, actor, &key, parse_id(&id)?, &request.denominations).await
}
