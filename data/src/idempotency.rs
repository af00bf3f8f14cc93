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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyOf<'a> {
    pub principal_id: Uuid,
    pub key: &'a str,
}

/// Claims each of `keys` (with its request's hash) for this transaction, as [`claim`] claims
/// one, in (principal, key) order so that two transactions claiming overlapping keys queue
/// rather than deadlock. A key another transaction holds unfinished is waited for. Says which
/// were claimed (a key not claimed has a completed answer: [`find_completed_many`]) and gives the
/// transaction's `now()`. The keys must differ.
pub async fn claim_many(
    conn: &mut PgConnection,
    keys: &[(KeyOf<'_>, &[u8])],
) -> Result<(Vec<bool>, OffsetDateTime), DataError> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&at| keys[at].0);
    let principals: Vec<Uuid> = order.iter().map(|&at| keys[at].0.principal_id).collect();
    let names: Vec<&str> = order.iter().map(|&at| keys[at].0.key).collect();
    let hashes: Vec<&[u8]> = order.iter().map(|&at| keys[at].1).collect();
    let (now, claimed_principals, claimed_keys): (OffsetDateTime, Vec<Uuid>, Vec<String>) =
        sqlx::query_as(
            "WITH claim AS (
                 INSERT INTO idempotency_records (principal_id, idempotency_key, request_hash)
                 SELECT k.principal_id, k.idempotency_key, k.request_hash
                 FROM unnest($1::uuid[], $2::text[], $3::bytea[]) WITH ORDINALITY
                     AS k (principal_id, idempotency_key, request_hash, ord)
                 ORDER BY k.ord
                 ON CONFLICT DO NOTHING
                 RETURNING principal_id, idempotency_key
             )
             SELECT now(), coalesce(array_agg(principal_id), '{}'),
                    coalesce(array_agg(idempotency_key), '{}')
             FROM claim",
        )
        .bind(&principals)
        .bind(&names)
        .bind(&hashes)
        .fetch_one(conn)
        .await
        .classify()?;
    let claimed = keys
        .iter()
        .map(|(key, _)| {
            claimed_principals
                .iter()
                .zip(&claimed_keys)
                .any(|(principal, name)| *principal == key.principal_id && name == key.key)
        })
        .collect();
    Ok((claimed, now))
}

/// A completed outcome found under one of several keys.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FoundRow {
    pub principal_id: Uuid,
    pub idempotency_key: String,
    #[sqlx(flatten)]
    pub record: IdempotencyRow,
}

/// The completed outcomes stored under any of `keys`.
pub async fn find_completed_many(
    conn: &mut PgConnection,
    keys: &[KeyOf<'_>],
) -> Result<Vec<FoundRow>, DataError> {
    let principals: Vec<Uuid> = keys.iter().map(|k| k.principal_id).collect();
    let names: Vec<&str> = keys.iter().map(|k| k.key).collect();
    sqlx::query_as(
        "SELECT r.principal_id, r.idempotency_key, r.request_hash, r.response_status,
                r.response_body
         FROM idempotency_records r
         JOIN unnest($1::uuid[], $2::text[]) AS k (principal_id, idempotency_key)
             USING (principal_id, idempotency_key)
         WHERE r.response_status IS NOT NULL",
    )
    .bind(&principals)
    .bind(&names)
    .fetch_all(conn)
    .await
    .classify()
}

/// Stores each answer under its key, claimed by this transaction ([`claim_many`]).
pub async fn complete_many(
    conn: &mut PgConnection,
    answers: &[(KeyOf<'_>, u16, &Value)],
) -> Result<(), DataError> {
    if answers.is_empty() {
        return Ok(());
    }
    let principals: Vec<Uuid> = answers.iter().map(|(k, _, _)| k.principal_id).collect();
    let names: Vec<&str> = answers.iter().map(|(k, _, _)| k.key).collect();
    let statuses: Vec<i16> = answers
        .iter()
        .map(|(_, status, _)| i16::try_from(*status).unwrap_or(i16::MAX))
        .collect();
    let bodies: Vec<&Value> = answers.iter().map(|(_, _, body)| *body).collect();
    sqlx::query(
        "UPDATE idempotency_records r
         SET response_status = a.response_status, response_body = a.response_body
         FROM unnest($1::uuid[], $2::text[], $3::int2[], $4::jsonb[])
             AS a (principal_id, idempotency_key, response_status, response_body)
         WHERE r.principal_id = a.principal_id AND r.idempotency_key = a.idempotency_key",
    )
    .bind(&principals)
    .bind(&names)
    .bind(&statuses)
    .bind(&bodies)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// Gives back keys this transaction claimed for requests it refused, as a rollback would: only
/// an unfinished claim can be deleted (the database refuses to forget a completed answer).
pub async fn release_many(conn: &mut PgConnection, keys: &[KeyOf<'_>]) -> Result<(), DataError> {
    if keys.is_empty() {
        return Ok(());
    }
    let principals: Vec<Uuid> = keys.iter().map(|k| k.principal_id).collect();
    let names: Vec<&str> = keys.iter().map(|k| k.key).collect();
    sqlx::query(
        "DELETE FROM idempotency_records r
         USING unnest($1::uuid[], $2::text[]) AS k (principal_id, idempotency_key)
         WHERE r.principal_id = k.principal_id AND r.idempotency_key = k.idempotency_key
           AND r.response_status IS NULL",
    )
    .bind(&principals)
    .bind(&names)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// Takes the receipt `id` of a unit of work without an idempotency key, in the unit's
/// transaction: true if this attempt took it, false if an earlier attempt of the unit committed
/// with it. An earlier attempt still committing is waited for (on the receipt's row), so false
/// means committed, never "may yet commit".
pub async fn take_receipt(conn: &mut PgConnection, id: Uuid) -> Result<bool, DataError> {
    let done =
        sqlx::query("INSERT INTO unit_receipts (id) VALUES ($1) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .execute(conn)
            .await
            .classify()?;
    Ok(done.rows_affected() == 1)
}

/// Forgets the receipts of units committed more than `max_age_s` seconds ago.
pub async fn purge_receipts(conn: &mut PgConnection, max_age_s: i64) -> Result<u64, DataError> {
    let done =
        sqlx::query("DELETE FROM unit_receipts WHERE taken_at < now() - $1 * interval '1 second'")
            .bind(max_age_s)
            .execute(conn)
            .await
            .classify()?;
    Ok(done.rows_affected())
}
