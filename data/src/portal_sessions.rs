//! The presentation tier's session records: opaque encrypted payloads keyed by a digest.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::error::{ClassifyExt, DataError};

/// Inserts a new record; returns false if the key is taken.
pub async fn create(
    conn: &mut PgConnection,
    id_hash: &[u8],
    payload: &[u8],
    expires_at: OffsetDateTime,
) -> Result<bool, DataError> {
    let done = sqlx::query(
        "INSERT INTO portal_sessions (id_hash, payload, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(id_hash)
    .bind(payload)
    .bind(expires_at)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected() == 1)
}

pub async fn save(
    conn: &mut PgConnection,
    id_hash: &[u8],
    payload: &[u8],
    expires_at: OffsetDateTime,
) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO portal_sessions (id_hash, payload, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (id_hash) DO UPDATE SET payload = $2, expires_at = $3",
    )
    .bind(id_hash)
    .bind(payload)
    .bind(expires_at)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// The payload and expiry of a live record.
pub async fn load(
    conn: &mut PgConnection,
    id_hash: &[u8],
) -> Result<Option<(Vec<u8>, OffsetDateTime)>, DataError> {
    sqlx::query_as(
        "SELECT payload, expires_at FROM portal_sessions WHERE id_hash = $1 AND expires_at > now()",
    )
    .bind(id_hash)
    .fetch_optional(conn)
    .await
    .classify()
}

pub async fn delete(conn: &mut PgConnection, id_hash: &[u8]) -> Result<(), DataError> {
    sqlx::query("DELETE FROM portal_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// Forgets expired records; returns how many.
pub async fn purge_expired(conn: &mut PgConnection) -> Result<u64, DataError> {
    let done = sqlx::query("DELETE FROM portal_sessions WHERE expires_at <= now()")
        .execute(conn)
        .await
        .classify()?;
    Ok(done.rows_affected())
}
