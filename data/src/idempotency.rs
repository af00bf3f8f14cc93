//! Idempotency records: the stored outcome of a money-moving request, keyed by caller and key.
//!
//! A request first claims its key inside the transaction that does its work. A concurrent request
//! with the same key waits on the claim's unique index until that transaction ends, then sees the
//! committed outcome, so the work happens once however many copies arrive.

use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

/// A completed request's stored outcome.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub request_hash: Vec<u8>,
    pub response_status: i16,
    pub response_body: Value,
}

/// The result of claiming a key.
#[derive(Debug)]
pub enum Claim {
    /// This transaction owns the key and must do the work and [`complete`] it before committing.
    /// Carries the transaction's timestamp, which is what `now()` stamps on every row it writes.
    Claimed { now: OffsetDateTime },
    /// The key was used before; this is what that request got.
    Completed(IdempotencyRow),
}

pub async fn claim(
    conn: &mut PgConnection,
    principal_id: Uuid,
    key: &str,
    request_hash: &[u8],
) -> Result<Claim, DataError> {
    let (claimed, now): (bool, OffsetDateTime) = sqlx::query_as(
        "WITH claim AS (
             INSERT INTO idempotency_records (principal_id, idempotency_key, request_hash)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1
         )
         SELECT EXISTS (SELECT 1 FROM claim), now()",
    )
    .bind(principal_id)
    .bind(key)
    .bind(request_hash)
    .fetch_one(&mut *conn)
    .await
    .classify()?;
    if claimed {
        return Ok(Claim::Claimed { now });
    }
    let row: IdempotencyRow = sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM idempotency_records
         WHERE principal_id = $1 AND idempotency_key = $2 AND response_status IS NOT NULL",
    )
    .bind(principal_id)
    .bind(key)
    .fetch_one(conn)
    .await
    .classify()?;
    Ok(Claim::Completed(row))
}

/// Waits until no transaction holds `key` of `principal_id` unfinished, and leaves nothing
/// behind. A request still under way with the key (its COMMIT waiting for the synchronous
/// standby, or abandoned by its client but not yet ended in the database) has claimed it with a
/// row no one else can see yet; a probe insert of the same key waits on the unique index until
/// that transaction ends, either way, and is then rolled back. After this, what
/// [`find_completed`] reads is the key's settled state.
pub async fn wait_until_settled(
    conn: &mut PgConnection,
    principal_id: Uuid,
    key: &str,
) -> Result<(), DataError> {
    let mut probe = sqlx::Connection::begin(conn).await.classify()?;
    sqlx::query(
        "INSERT INTO idempotency_records (principal_id, idempotency_key, request_hash)
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(principal_id)
    .bind(key)
    .bind([0u8; 32].as_slice())
    .execute(&mut *probe)
    .await
    .classify()?;
    probe.rollback().await.classify()
}

pub async fn complete(
    conn: &mut PgConnection,
    principal_id: Uuid,
    key: &str,
    status: u16,
    body: &Value,
) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE idempotency_records SET response_status = $3, response_body = $4
         WHERE principal_id = $1 AND idempotency_key = $2",
    )
    .bind(principal_id)
    .bind(key)
    .bind(i16::try_from(status).unwrap_or(i16::MAX))
    .bind(body)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

pub async fn count_records(conn: &mut PgConnection) -> Result<i64, DataError> {
    sqlx::query_scalar("SELECT count(*) FROM idempotency_records")
        .fetch_one(conn)
        .await
        .classify()
}

/// The completed outcome stored under a principal's key, if any.
pub async fn find_completed(
    conn: &mut PgConnection,
    principal_id: Uuid,
    key: &str,
) -> Result<Option<IdempotencyRow>, DataError> {
    sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM idempotency_records
         WHERE principal_id = $1 AND idempotency_key = $2 AND response_status IS NOT NULL",
    )
    .bind(principal_id)
    .bind(key)
    .fetch_optional(conn)
    .await
    .classify()
}
