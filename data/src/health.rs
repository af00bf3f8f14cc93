//! Readiness probes.

use sqlx::PgConnection;

use crate::error::{ClassifyExt, DataError};

/// Whether the connected server accepts writes: it is a primary and not read-only.
pub async fn is_writable(conn: &mut PgConnection) -> Result<bool, DataError> {
    sqlx::query_scalar(
        "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'",
    )
    .fetch_one(conn)
    .await
    .classify()
}
