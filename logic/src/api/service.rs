//! The money-movement primitives of the service API: two-phase transfers, atomic batches and
//! the event feed. API keys only (role `service`), each endpoint behind its scope.

use axum::Json;
use axum::extract::{Path, State};
use bank_api::ProblemCode;
use bank_api::transfers::{BatchRequest, PendingTransferRequest, PostPendingRequest};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{
    ApiJson, ApiQuery, OptionalJson, PageQuery, RequestId, RequiredIdempotencyKey, actor,
};
use super::transfers::parse_transfer;
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::idempotency::Outcome;
use crate::pending::{PendingOrder, Resolution};
use crate::posting::{Movement, Order};
use crate::state::AppState;
use crate::wire::{BatchResponse, EventPage, PendingTransferListResponse, PendingTransferResponse};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_pending, list_pending))
        .routes(routes!(read_pending))
        .routes(routes!(post_pending))
        .routes(routes!(void_pending))
        .routes(routes!(create_batch))
        .routes(routes!(read_batch))
        .routes(routes!(events))
}

fn pending_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound {
        code: ProblemCode::PendingTransferNotFound,
        detail: "no pending transfer of yours has this id",
    })
}

/// Create a pending transfer
///
/// Holds the amount on the debit account (it stops counting towards the available balance)
/// until the transfer is posted, voided or expires.
#[utoipa::path(post, path = "/pending-transfers", tag = "two-phase transfers",
    params(("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters; repeat it to retry safely")),
    request_body = PendingTransferRequest,
    responses((status = 201, description = "Held and pending", body = PendingTransferResponse)))]
async fn create_pending(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    ApiJson(request): ApiJson<PendingTransferRequest>,
) -> Result<Outcome, ApiError> {
    let Order {
        movement: Movement::Transfer { debit, credit },
        amount,
        memo,
    } = parse_transfer(
        &request.debit_account,
        &request.credit_account,
        &request.amount,
        &request.currency,
        &request.memo,
    )?
    else {
        return Err(ApiError::Internal(
            "a transfer parsed as another movement".into(),
        ));
    };
    let order = PendingOrder {
        debit,
        credit,
        amount,
        memo,
        timeout_s: crate::pending::timeout(request.timeout_seconds)?,
    };
    crate::pending::create(&state, actor(&signed_in, &request_id), &key, &order).await
}

/// List your pending transfers
///
/// Newest first, including those already posted or voided.
#[utoipa::path(get, path = "/pending-transfers", tag = "two-phase transfers", params(PageQuery),
    responses((status = 200, description = "A page of pending transfers", body = PendingTransferListResponse)))]
async fn list_pending(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<PendingTransferListResponse>, ApiError> {
    let limit = query.size()?;
    let (rows, next_cursor) = crate::pending::list(
        &state,
        actor(&signed_in, &request_id),
        query.cursor.as_deref(),
        limit,
    )
    .await?;
    let now = time::OffsetDateTime::now_utc();
    Ok(Json(PendingTransferListResponse {
        pending_transfers: rows
            .iter()
            .map(|row| crate::pending::response(row, now))
            .collect(),
        next_cursor,
    }))
}

/// Read a pending transfer
#[utoipa::path(get, path = "/pending-transfers/{id}", tag = "two-phase transfers",
    params(("id" = String, Path, description = "The pending transfer's id")),
    responses((status = 200, description = "The pending transfer", body = PendingTransferResponse)))]
async fn read_pending(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
) -> Result<Json<PendingTransferResponse>, ApiError> {
    let row = crate::pending::get(&state, actor(&signed_in, &request_id), pending_id(&id)?).await?;
    Ok(Json(crate::pending::response(
        &row,
        time::OffsetDateTime::now_utc(),
    )))
}

/// Post a pending transfer
///
/// Posts the full amount, or less, releasing the rest. A pending transfer is resolved once:
/// posting one already posted or voided is refused with `pending_transfer_resolved`, one past
/// its expiry with `pending_transfer_expired`.
#[utoipa::path(post, path = "/pending-transfers/{id}/post", tag = "two-phase transfers",
    params(("id" = String, Path, description = "The pending transfer's id"),
        ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters")),
    request_body(content = Option<PostPendingRequest>),
    responses((status = 200, description = "Posted", body = PendingTransferResponse)))]
async fn post_pending(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<PostPendingRequest>,
) -> Result<Outcome, ApiError> {
    let id = pending_id(&id)?;
    crate::pending::resolve(
        &state,
        actor(&signed_in, &request_id),
        &key,
        id,
        &Resolution::Post(request.amount),
    )
    .await
}

/// Void a pending transfer
///
/// Releases the held amount; nothing is posted.
#[utoipa::path(post, path = "/pending-transfers/{id}/void", tag = "two-phase transfers",
    params(("id" = String, Path, description = "The pending transfer's id"),
        ("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters")),
    responses((status = 200, description = "Voided", body = PendingTransferResponse)))]
async fn void_pending(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    Path(id): Path<String>,
) -> Result<Outcome, ApiError> {
    let id = pending_id(&id)?;
    crate::pending::resolve(
        &state,
        actor(&signed_in, &request_id),
        &key,
        id,
        &Resolution::Void,
    )
    .await
}

/// Post an atomic batch
///
/// Every transfer of the batch posts, or none does: a refused leg (named in the problem's
/// `field`, e.g. `transfers[2]`) leaves the ledger untouched. The Idempotency-Key covers the
/// whole batch.
#[utoipa::path(post, path = "/transfer-batches", tag = "batches",
    params(("Idempotency-Key" = String, Header, description = "1 to 128 visible ASCII characters")),
    request_body = BatchRequest,
    responses((status = 201, description = "Every transfer posted", body = BatchResponse)))]
async fn create_batch(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    RequiredIdempotencyKey(key): RequiredIdempotencyKey,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<Outcome, ApiError> {
    let legs = request
        .transfers
        .iter()
        .enumerate()
        .map(|(leg, transfer)| {
            let parsed = if transfer.step_up.is_some() {
                Err(ApiError::invalid(
                    ProblemCode::InvalidField,
                    "step_up",
                    "a step-up approves one customer's payment, never a batch's leg",
                ))
            } else {
                super::transfers::parse_request(transfer)
            };
            parsed.map_err(|error| ApiError::InBatch {
                leg,
                error: Box::new(error),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    crate::batches::post(&state, actor(&signed_in, &request_id), &key, &legs).await
}

/// Read an atomic batch
///
/// One of your batches, with its transfers in the order the request listed them, as they stand
/// now. The answer to the original request is also returned by repeating it with the same
/// Idempotency-Key.
#[utoipa::path(get, path = "/transfer-batches/{id}", tag = "batches",
    params(("id" = String, Path, description = "The batch's id")),
    responses((status = 200, description = "The batch", body = BatchResponse)))]
async fn read_batch(
    State(state): State<AppState>,
    signed_in: SignedIn,
    request_id: RequestId,
    Path(id): Path<String>,
) -> Result<Json<BatchResponse>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| crate::batches::not_found())?;
    Ok(Json(
        crate::batches::get(&state, actor(&signed_in, &request_id), id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Read events after this cursor: `0` (or nothing) for the start of the feed, else the
    /// `next_cursor` of the previous page or the `cursor` of the last event you processed.
    #[param(example = "0")]
    after: Option<String>,
    /// Comma-separated event types to keep (default: all).
    #[param(example = "transfer.posted,transfer.reversed")]
    types: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// When no event follows `after` yet, wait up to this many seconds (0 to 20, default 0) for
    /// one before answering: a long poll. The answer comes as soon as an event arrives.
    #[param(minimum = 0, maximum = 20, example = 10)]
    wait: Option<u64>,
}

/// Read the event feed
///
/// Every posted, reversed, pending and voided transfer and every account status change, in the
/// order they committed. Delivery is at least once: keep the cursor of the last event you
/// processed and resume after it. With `wait`, an empty page waits for the next event (long
/// poll), so a consumer can follow the feed closely without asking many times a second.
#[utoipa::path(get, path = "/events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "The next events", body = EventPage)))]
async fn events(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = crate::cursor::page_size(query.limit, 100, 1000)?;
    let wait = match query.wait {
        None => 0,
        Some(seconds) if seconds <= crate::events::WAIT_MAX_S => seconds,
        Some(_) => {
            return Err(ApiError::invalid(
                ProblemCode::InvalidQuery,
                "wait",
                format!("wait is 0 to {} seconds", crate::events::WAIT_MAX_S),
            ));
        }
    };
    let types: Vec<String> = query
        .types
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Json(
        crate::events::read_waiting(
            &state,
            &signed_in.user,
            query.after.as_deref().unwrap_or("0"),
            &types,
            limit,
            std::time::Duration::from_secs(wait),
        )
        .await?,
    ))
}
