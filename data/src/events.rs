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

/// What the feed misreports, for the offline check, by the id of its subject:
/// - a transfer with no event or more than one, or whose event says something else than it
///   (its type, amount, currency, accounts, memo, batch, time);
/// - a pending transfer without its one `transfer.pending` event (and, once voided, its one
///   `transfer.voided`), or whose event says something else than it;
/// - an event about a transfer, pending transfer or account the bank does not have, or of a type
///   no trigger writes.
///
/// The triggers write each event from its row as this rebuilds it, with times in UTC; this
/// session renders them in UTC too, whatever it was set to.
pub async fn misreported_subjects(conn: &mut PgConnection) -> Result<Vec<Uuid>, DataError> {
    sqlx::query("SELECT set_config('TimeZone', 'UTC', false)")
        .execute(&mut *conn)
        .await
        .classify()?;
    sqlx::query_scalar(
        "WITH told AS (
             SELECT subject_id, type, payload, occurred_at,
                    count(*) OVER (PARTITION BY subject_id, type) AS copies
               FROM events
              WHERE type IN ('transfer.posted', 'transfer.reversed', 'transfer.pending',
                             'transfer.voided')
         ),
         meant AS (
             SELECT t.id, t.created_at AS occurred_at,
                    CASE WHEN t.kind = 'reversal' THEN 'transfer.reversed'
                         ELSE 'transfer.posted' END AS type,
                    jsonb_build_object(
                        'transfer_id', t.id,
                        'kind', t.kind,
                        'status', t.status,
                        'amount', round(t.amount, cur.minor_units)::text,
                        'currency', t.currency,
                        'debit_account', d.number,
                        'credit_account', c.number,
                        'memo', t.memo,
                        'reverses_transfer_id', t.reverses_transfer_id,
                        'batch_id', t.batch_id,
                        'created_at', t.created_at) AS payload
               FROM transfers t
               LEFT JOIN currencies cur ON cur.code = t.currency
               LEFT JOIN accounts d ON d.id = t.debit_account_id
               LEFT JOIN accounts c ON c.id = t.credit_account_id
             UNION ALL
             SELECT p.id, NULL, k.type,
                    jsonb_build_object(
                        'pending_transfer_id', p.id,
                        'status', k.status,
                        'amount', round(p.amount, cur.minor_units)::text,
                        'currency', p.currency,
                        'debit_account', d.number,
                        'credit_account', c.number,
                        'memo', p.memo,
                        'expires_at', p.expires_at,
                        'void_reason', k.void_reason)
               FROM pending_transfers p
               CROSS JOIN LATERAL (VALUES ('transfer.pending', 'pending', NULL::text),
                                          ('transfer.voided', 'voided', p.void_reason))
                    AS k (type, status, void_reason)
               LEFT JOIN currencies cur ON cur.code = p.currency
               LEFT JOIN accounts d ON d.id = p.debit_account_id
               LEFT JOIN accounts c ON c.id = p.credit_account_id
              WHERE k.type = 'transfer.pending' OR p.status = 'voided'
         )
         SELECT coalesce(m.id, e.subject_id)
           FROM meant m FULL JOIN told e ON e.subject_id = m.id AND e.type = m.type
          WHERE m.id IS NULL OR e.subject_id IS NULL OR e.copies <> 1
             OR e.payload IS DISTINCT FROM m.payload
             OR e.occurred_at <> coalesce(m.occurred_at, e.occurred_at)
         UNION
         SELECT e.subject_id FROM events e
          WHERE e.type NOT IN ('transfer.posted', 'transfer.reversed', 'transfer.pending',
                               'transfer.voided', 'account.status_changed')
             OR (e.type = 'account.status_changed'
                 AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.subject_id))
          ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .classify()
}

/// How many positions the feed skips: a reader resuming after a position relies on there being
/// none, since the sequencer hands them out one after another.
pub async fn missing_positions(conn: &mut PgConnection) -> Result<i64, DataError> {
    sqlx::query_scalar(
        "SELECT coalesce(max(position), 0) - count(position) FROM events WHERE position IS NOT NULL",
    )
    .fetch_one(conn)
    .await
    .classify()
}
