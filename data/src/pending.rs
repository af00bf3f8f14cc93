//! Two-phase transfers: pending (the amount held on the debit account), then posted or voided,
//! once. The database refuses a second resolution (`pending_transfers_resolved_once`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "pending_transfer_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PendingStatus {
    Pending,
    Posted,
    Voided,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingRow {
    pub id: Uuid,
    pub initiated_by: Uuid,
    pub debit_account_id: Uuid,
    pub debit_account_number: String,
    pub credit_account_id: Uuid,
    pub credit_account_number: String,
    pub currency: String,
    pub amount: Decimal,
    pub memo: String,
    pub hold_id: Uuid,
    pub status: PendingStatus,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub resolved_at: Option<OffsetDateTime>,
    pub void_reason: Option<String>,
    pub posted_amount: Option<Decimal>,
    pub posted_transfer_id: Option<Uuid>,
}

macro_rules! pending_query {
    ($tail:literal) => {
        concat!(
            "SELECT p.id, p.initiated_by, p.debit_account_id, d.number AS debit_account_number, ",
            "p.credit_account_id, c.number AS credit_account_number, p.currency, p.amount, ",
            "p.memo, p.hold_id, p.status, p.created_at, p.expires_at, p.resolved_at, ",
            "p.void_reason, p.posted_amount, p.posted_transfer_id ",
            "FROM pending_transfers p ",
            "JOIN accounts d ON d.id = p.debit_account_id ",
            "JOIN accounts c ON c.id = p.credit_account_id ",
            $tail
        )
    };
}

#[derive(Debug)]
pub struct NewPending<'a> {
    pub id: Uuid,
    pub initiated_by: Uuid,
    pub idempotency_key: &'a str,
    pub debit_account_id: Uuid,
    pub credit_account_id: Uuid,
    pub currency: &'a str,
    pub amount: Decimal,
    pub memo: &'a str,
    pub hold_id: Uuid,
    pub expires_at: OffsetDateTime,
    pub request_id: Option<&'a str>,
}

/// Records a pending transfer whose hold the caller has just placed (under the account's lock).
pub async fn insert_pending(
    conn: &mut PgConnection,
    new: &NewPending<'_>,
) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO pending_transfers (id, initiated_by, idempotency_key, debit_account_id,
             credit_account_id, currency, amount, memo, hold_id, expires_at, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(new.id)
    .bind(new.initiated_by)
    .bind(new.idempotency_key)
    .bind(new.debit_account_id)
    .bind(new.credit_account_id)
    .bind(new.currency)
    .bind(new.amount)
    .bind(new.memo)
    .bind(new.hold_id)
    .bind(new.expires_at)
    .bind(new.request_id)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

pub async fn find_pending(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<PendingRow>, DataError> {
    sqlx::query_as(pending_query!("WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// Locks a pending transfer's row: its resolution queues behind any other.
pub async fn lock_pending(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<PendingRow>, DataError> {
    sqlx::query_as(pending_query!("WHERE p.id = $1 FOR UPDATE OF p"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// The caller's pending transfers, newest first, after the `(created_at, id)` cursor.
pub async fn list_pending(
    conn: &mut PgConnection,
    initiated_by: Option<Uuid>,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<PendingRow>, DataError> {
    let (after_at, after_id) = after.unzip();
    sqlx::query_as(pending_query!(
        "WHERE ($1::uuid IS NULL OR p.initiated_by = $1)
           AND ($2::timestamptz IS NULL OR (p.created_at, p.id) < ($2, $3))
         ORDER BY p.created_at DESC, p.id DESC LIMIT $4"
    ))
    .bind(initiated_by)
    .bind(after_at)
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

pub async fn mark_posted(
    conn: &mut PgConnection,
    id: Uuid,
    resolved_by: Option<Uuid>,
    posted_amount: Decimal,
    transfer_id: Uuid,
) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE pending_transfers SET status = 'posted', resolved_at = now(), resolved_by = $2,
             posted_amount = $3, posted_transfer_id = $4
         WHERE id = $1",
    )
    .bind(id)
    .bind(resolved_by)
    .bind(posted_amount)
    .bind(transfer_id)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// Voids a pending transfer and releases its hold. `reason` is `voided` or `expired`.
pub async fn mark_voided(
    conn: &mut PgConnection,
    id: Uuid,
    resolved_by: Option<Uuid>,
    reason: &str,
) -> Result<(), DataError> {
    sqlx::query(
        "WITH voided AS (
             UPDATE pending_transfers SET status = 'voided', resolved_at = now(),
                 resolved_by = $2, void_reason = $3
             WHERE id = $1
             RETURNING hold_id
         )
         UPDATE holds SET released_at = now(), released_by = $2
         FROM voided WHERE holds.id = voided.hold_id AND holds.released_at IS NULL",
    )
    .bind(id)
    .bind(resolved_by)
    .bind(reason)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// Pending transfers whose expiry has passed, oldest first.
pub async fn due_for_expiry(conn: &mut PgConnection, limit: i64) -> Result<Vec<Uuid>, DataError> {
    sqlx::query_scalar(
        "SELECT id FROM pending_transfers WHERE status = 'pending' AND expires_at <= now()
         ORDER BY expires_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}
