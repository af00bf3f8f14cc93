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

/// A key of a principal, as a group of requests names it.
#[derive(Debug, Clone, Copy)]
pub struct KeyOf<'a> {
    pub principal_id: Uuid,
    pub key: &'a str,
}

/// A completed outcome found under one of several keys.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FoundRow {
    pub principal_id: Uuid,
    pub idempotency_key: String,
    #[sqlx(flatten)]
    pub record: IdempotencyRow,
}

/// The completed outcomes stored under any of `keys`, and the transaction's `now()`. Reads only
/// what is committed: a request still under way with one of the keys is met later, when
/// [`insert_completed`] waits for it.
pub async fn find_completed_many(
    conn: &mut PgConnection,
    keys: &[KeyOf<'_>],
) -> Result<(Vec<FoundRow>, OffsetDateTime), DataError> {
    let principals: Vec<Uuid> = keys.iter().map(|k| k.principal_id).collect();
    let names: Vec<&str> = keys.iter().map(|k| k.key).collect();
    let found: Vec<FoundRow> = sqlx::query_as(
        "SELECT r.principal_id, r.idempotency_key, r.request_hash, r.response_status,
                r.response_body
         FROM idempotency_records r
         JOIN unnest($1::uuid[], $2::text[]) AS k (principal_id, idempotency_key)
             USING (principal_id, idempotency_key)
         WHERE r.response_status IS NOT NULL",
    )
    .bind(&principals)
    .bind(&names)
    .fetch_all(&mut *conn)
    .await
    .classify()?;
    let now: OffsetDateTime = sqlx::query_scalar("SELECT now()")
        .fetch_one(conn)
        .await
        .classify()?;
    Ok((found, now))
}

/// An outcome to store under its key.
#[derive(Debug)]
pub struct NewRecord<'a> {
    pub key: KeyOf<'a>,
    pub request_hash: &'a [u8],
    pub status: u16,
    pub body: &'a Value,
}

/// Stores each outcome under its key, unless the key is already taken, and says how many were
/// stored. A key another transaction holds unfinished is waited for on the unique index; if that
/// one commits, the key stays its and fewer than all are stored: the caller rolls back and
/// decides again.
pub async fn insert_completed(
    conn: &mut PgConnection,
    records: &[NewRecord<'_>],
) -> Result<usize, DataError> {
    let principals: Vec<Uuid> = records.iter().map(|r| r.key.principal_id).collect();
    let keys: Vec<&str> = records.iter().map(|r| r.key.key).collect();
    let hashes: Vec<&[u8]> = records.iter().map(|r| r.request_hash).collect();
    let statuses: Vec<i16> = records
        .iter()
        .map(|r| i16::try_from(r.status).unwrap_or(i16::MAX))
        .collect();
    let bodies: Vec<&Value> = records.iter().map(|r| r.body).collect();
    let stored = sqlx::query(
        "INSERT INTO idempotency_records (principal_id, idempotency_key, request_hash,
                                          response_status, response_body)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::int2[], $5::jsonb[])
         ON CONFLICT DO NOTHING",
    )
    .bind(&principals)
    .bind(&keys)
    .bind(&hashes)
    .bind(&statuses)
    .bind(&bodies)
    .execute(conn)
    .await
    .classify()?;
    Ok(usize::try_from(stored.rows_affected()).unwrap_or(usize::MAX))
}
