//! The event feed's outbox. Triggers write the events (see the `service_api` migration); this
//! module gives them their feed positions and reads them back.

use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

/// Serialises the sequencer across every logic instance.
const SEQUENCER_LOCK: i64 = 0x6576_656e_7473; // "events"

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: Uuid,
    pub position: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub subject_id: Uuid,
    pub payload: Value,
    pub occurred_at: OffsetDateTime,
}

/// Gives up to `batch` committed, unsequenced events the next positions, in the order they were
/// written. Runs as its own transaction on `conn` (begin it first); the advisory lock makes the
/// sequencers of all instances take turns, so positions are handed out gap-free and each
/// sequencer's batch becomes visible whole. Returns how many events it sequenced.
pub async fn sequence(conn: &mut PgConnection, batch: i64) -> Result<u64, DataError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SEQUENCER_LOCK)
        .execute(&mut *conn)
        .await
        .classify()?;
    let done = sqlx::query(
        "WITH base AS (SELECT coalesce(max(position), 0) AS p FROM events),
         batch AS (
             SELECT id, row_number() OVER (ORDER BY written_seq) AS n
             FROM (SELECT id, written_seq FROM events WHERE position IS NULL
                   ORDER BY written_seq LIMIT $1) AS due
         )
         UPDATE events e SET position = base.p + batch.n, sequenced_at = now()
         FROM base, batch WHERE e.id = batch.id",
    )
    .bind(batch)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected())
}

/// Sequenced events after `after`, in feed order, only of the given `types` (empty: all).
pub async fn after(
    conn: &mut PgConnection,
    after: i64,
    types: &[String],
    limit: i64,
) -> Result<Vec<EventRow>, DataError> {
    sqlx::query_as(
        "SELECT id, position, type, subject_id, payload, occurred_at FROM events
         WHERE position > $1
           AND (cardinality($2::text[]) = 0 OR type = ANY($2))
         ORDER BY position LIMIT $3",
    )
    .bind(after)
    .bind(types)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// The position of the newest sequenced event (0 when there is none).
pub async fn last_position(conn: &mut PgConnection) -> Result<i64, DataError> {
    sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
        .fetch_one(conn)
        .await
        .classify()
}
