//! `/v1/drawers`: a teller's cash drawer, from opening to the count at closing.

use bank_api::ProblemCode;
use bank_api::drawers::{CloseDrawerRequest, Direction, OpenDrawerRequest, VaultTransferRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, RequestId, RequiredIdempotencyKey, actor};
use crate::auth::SignedIn;
use crate::domain::{Amount, Currency};
use crate::error::ApiError;
use crate::idempotency::Outcome;
use crate::posting::{Movement, Order};
use crate::state::AppState;
use crate::wire::{DrawerListResponse, DrawerResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, open))
        .routes(routes!(read))
        .routes(routes!(vault_transfer))
        .routes(routes!(close))
}

#[utoipa::path(
    post,
    path = "/drawers",
    tag = "cash drawers",
    summary = "Open your cash drawer with a float from the vault",
    params(
        ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters; repeat it to retry safely")
    ),
    request_body = OpenDrawerRequest,
    responses(
        (status = 201, description = "Opened with its float", body = crate::wire::DrawerResponse)
    )
)]
async fn open(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    ApiJson(request): ApiJson<OpenDrawerRequest>,
) -> Result<Outcome, ApiError> {
    let currency = Currency::parse(&request.currency)?;
    let actor = actor(&signed_in, &request_id);
    crate::drawers::open(&state, actor, &key, currency, &request.opening_float).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Supervisors: every open drawer of the branch.
    #[serde(default)]
    all: bool,
    /// `next_cursor` of the previous page; absent for the first page.
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// List cash drawers
///
/// Your drawers, open ones first, then the latest opened; with `all`, every open drawer.
#[utoipa::path(
    get,
    path = "/drawers",
    tag = "cash drawers",
    params(
        ListQuery
    ),
    responses(
        (status = 200, description = "A page of drawers", body = DrawerListResponse)
    )
)]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<DrawerListResponse>, ApiError> {
    let limit = crate::cursor::page_size_default(query.limit)?;
    Ok(Json(
        crate::drawers::list(
            &state,
            &signed_in.user,
            query.all,
            query.cursor.as_deref(),
            limit,
        )
        .await?,
    ))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::DrawerNotFound,
        detail: "no such drawer",
    })
}

#[utoipa::path(
    get,
    path = "/drawers/{id}",
    tag = "cash drawers",
    summary = "A drawer's position and movements",
    params(
        ("id" = String, Path)
    ),
    responses(
        (status = 200, description = "OK", body = DrawerResponse)
    )
)]
async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<DrawerResponse>, ApiError> {
    Ok(Json(
        crate::drawers::get(&state, &signed_in.user, parse_id(&id)?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/drawers/{id}/vault-transfers",
    tag = "cash drawers",
    summary = "Move cash between the vault and your drawer",
    params(
        ("id" = String, Path),
        ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters; repeat it to retry safely")
    ),
    request_body = VaultTransferRequest,
    responses(
        (status = 201, description = "Moved", body = crate::wire::TransferResponse)
    )
)]
async fn vault_transfer(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<VaultTransferRequest>,
) -> Result<Outcome, ApiError> {
    let drawer = crate::drawers::get(&state, &signed_in.user, parse_id(&id)?).await?;
    if drawer.state != bank_api::drawers::DrawerState::Open
        || drawer.teller != signed_in.user.username
    {
        return Err(ApiError::refused(
            ProblemCode::DrawerNotOpen,
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
    let actor = actor(&signed_in, &request_id);
    crate::orders::post(&state, actor, &key, &order, None).await
}

#[utoipa::path(
    post,
    path = "/drawers/{id}/close",
    tag = "cash drawers",
    summary = "Count and close a drawer",
    params(
        ("id" = String, Path),
        ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters; repeat it to retry safely")
    ),
    request_body = CloseDrawerRequest,
    responses(
        (status = 200, description = "Counted and closed", body = crate::wire::DrawerResponse)
    )
)]
async fn close(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<CloseDrawerRequest>,
) -> Result<Outcome, ApiError> {
    let actor = actor(&signed_in, &request_id);
    crate::drawers::close(&state, actor, &key, parse_id(&id)?, &request.denominations).await
}
