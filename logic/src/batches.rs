//! Atomic batches: several transfers in one database transaction, all posted or none. The batch
//! is idempotent as a whole: its Idempotency-Key covers every leg, and a retry returns the
//! original answer without posting anything again.

use bank_api::ProblemCode;
use data::users::Role;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use crate::idempotency::{Completion, IdempotencyKey, Outcome};
use crate::posting::{Actor, Initiator, Movement, Order};
use crate::state::AppState;
use crate::wire::FromData;
use crate::wire::{BatchResponse, TransferResponse};

/// The most transfers one batch may carry: enough for a payroll chunk, small enough that the
/// locks of one batch are held briefly.
pub const MAX_LEGS: usize = 100;

pub async fn post(
    state: &AppState,
    actor: Actor<'_>,
    key: &IdempotencyKey,
    legs: &[Order],
) -> Result<Outcome, ApiError> {
    actor.user.require_role(&[Role::Service])?;
    if legs.is_empty() || legs.len() > MAX_LEGS {
        return Err(ApiError::invalid(
            ProblemCode::InvalidBatchSize,
            "transfers",
            format!("a batch carries 1 to {MAX_LEGS} transfers"),
        ));
    }
    let mut hasher = Sha256::new();
    hasher.update(b"batch\n");
    for (leg, order) in legs.iter().enumerate() {
        let Movement::Transfer { debit, credit } = &order.movement else {
            return Err(ApiError::Internal("a batch carries transfers only".into()));
        };
        if debit == credit {
            return Err(ApiError::InBatch {
                leg,
                error: Box::new(ApiError::refused(
                    ProblemCode::SameAccount,
                    "the two accounts of a transfer must differ",
                )),
            });
        }
        hasher.update(order.request_hash());
    }
    let request_hash = hasher.finalize().to_vec();
    let initiator = Initiator::from(actor.user);
    let size = i32::try_from(legs.len()).unwrap_or(i32::MAX);
    crate::unit_of_work::write_once(
        state,
        initiator.user_id,
        key,
        &request_hash,
        |tx, ticket, _| {
            Box::pin(async move {
                let now = ticket.now();
                let batch_id = Uuid::now_v7();
                data::transfers::insert_batch(
                    &mut *tx,
                    batch_id,
                    initiator.user_id,
                    key.as_str(),
                    size,
                )
                .await?;
                // Every account of the batch, and every running total its legs count against,
                // locked once and in order before any leg is decided: two batches sharing
                // accounts queue instead of deadlocking. The legs are decided in memory, in
                // order, and written together: a hundred legs cost a few statements.
                let orders: Vec<(&Initiator, &Order)> =
                    legs.iter().map(|order| (&initiator, order)).collect();
                let mut book = crate::book::Book::lock(&mut *tx, &orders).await?;
                let mut accepted = Vec::with_capacity(legs.len());
                for (leg, order) in legs.iter().enumerate() {
                    let plan = book
                        .plan(&initiator, order)
                        .map_err(|error| ApiError::InBatch {
                            leg,
                            error: Box::new(error),
                        })?;
                    book.apply(plan);
                    accepted.push(crate::book::Accepted {
                        initiator: &initiator,
                        order,
                        key: key.as_str(),
                        request_id: actor.request_id,
                        plan,
                    });
                }
                let stamp = crate::book::Stamp {
                    now,
                    batch_id: Some(batch_id),
                };
                let mut transfers = Vec::with_capacity(legs.len());
                for written in book.write(&mut *tx, &accepted, stamp).await? {
                    transfers.push(
                        serde_json::from_value(written.body).map_err(|e| {
                            ApiError::Internal(format!("read back a transfer: {e}"))
                        })?,
                    );
                }
                let body = serde_json::to_value(BatchResponse {
                    id: batch_id,
                    created_at: now,
                    transfers,
                })
                .map_err(|e| ApiError::Internal(format!("serialise a batch: {e}")))?;
                ticket.complete(tx, Completion::Created, body).await
            })
        },
    )
    .await
}

pub fn not_found() -> ApiError {
    ApiError::NotFound {
        code: ProblemCode::BatchNotFound,
        detail: "you posted no batch with this id",
    }
}

/// One of the caller's batches with its transfers as they stand now (a leg reversed since reads
/// `reversed`). Another service's batch is not found.
pub async fn get(state: &AppState, actor: Actor<'_>, id: Uuid) -> Result<BatchResponse, ApiError> {
    actor.user.require_role(&[Role::Service])?;
    let (batch, transfers) = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move {
            let batch = data::transfers::find_batch(&mut *conn, id)
                .await?
                .filter(|batch| batch.initiated_by == actor.user.user_id)
                .ok_or_else(not_found)?;
            let transfers = data::transfers::batch_transfers(&mut *conn, id).await?;
            Ok((batch, transfers))
        })
    })
    .await?;
    Ok(BatchResponse {
        id: batch.id,
        created_at: batch.created_at,
        transfers: transfers.iter().map(TransferResponse::from_data).collect(),
    })
}
