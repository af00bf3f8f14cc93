//! The audit log: who changed what, when, from what to what. The database chains each row to the
//! one before it by hash (see the `audit_log_chain` trigger); this module only appends.

use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug)]
pub struct NewAuditRecord<'a> {
    pub actor_user_id: Option<Uuid>,
    pub actor_service: Option<&'a str>,
    /// `subject.verb`, for example `customer.create`.
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<&'a str>,
}

/// Appends a record. Call it last in a unit of work: it serialises the chain's writers until the
/// transaction ends.
pub async fn append(conn: &mut PgConnection, record: &NewAuditRecord<'_>) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO audit_log (actor_user_id, actor_service, action, subject_type, subject_id,
                                before, after, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(record.actor_user_id)
    .bind(record.actor_service)
    .bind(record.action)
    .bind(record.subject_type)
    .bind(&record.subject_id)
    .bind(&record.before)
    .bind(&record.after)
    .bind(record.request_id)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// The first audit row whose link or hash does not match, if any.
pub async fn first_broken_link(conn: &mut PgConnection) -> Result<Option<i64>, DataError> {
    sqlx::query_scalar(
        "SELECT id FROM (
             SELECT id, hash, prev_hash,
                    lag(hash, 1, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
                        OVER (ORDER BY id) AS expected_prev,
                    audit_row_hash(prev_hash, id, occurred_at, actor_user_id, actor_service, action,
                                   subject_type, subject_id, before, after, request_id) AS expected_hash
             FROM audit_log
         ) chain
         WHERE prev_hash <> expected_prev OR hash <> expected_hash
         ORDER BY id LIMIT 1",
    )
    .fetch_optional(conn)
    .await
    .classify()
}

pub async fn count_records(conn: &mut PgConnection) -> Result<i64, DataError> {
    sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(conn)
        .await
        .classify()
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_user_id: Option<Uuid>,
    pub actor_username: Option<String>,
    pub actor_service: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

/// Which audit records to find, newest first. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_user_id: Option<Uuid>,
    /// Records about this customer, one of their accounts, or a transfer touching one.
    pub customer_id: Option<Uuid>,
    /// Records about this account or a transfer touching it.
    pub account_number: Option<String>,
    /// An action (`account.freeze`) or an action family (`account.`).
    pub action: Option<String>,
    pub occurred_from: Option<OffsetDateTime>,
    pub occurred_before: Option<OffsetDateTime>,
    /// Only records older than this id (the cursor of the previous page).
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub async fn search(
    conn: &mut PgConnection,
    filter: &AuditFilter,
) -> Result<Vec<AuditRow>, DataError> {
    sqlx::query_as(
        "SELECT l.id, l.occurred_at, l.actor_user_id, u.username AS actor_username,
                l.actor_service, l.action, l.subject_type, l.subject_id, l.before, l.after,
                l.request_id
         FROM audit_log l LEFT JOIN users u ON u.id = l.actor_user_id
         WHERE ($1::uuid IS NULL OR l.actor_user_id = $1)
           AND ($2::uuid IS NULL
                OR (l.subject_type = 'customer' AND l.subject_id = $2::text)
                OR l.after ->> 'customer_id' = $2::text
                OR l.before ->> 'customer_id' = $2::text
                OR EXISTS (SELECT 1 FROM accounts a WHERE a.customer_id = $2
                           AND (l.subject_id = a.number
                                OR l.after ->> 'debit_account' = a.number
                                OR l.after ->> 'credit_account' = a.number
                                OR l.after ->> 'account' = a.number)))
           AND ($3::text IS NULL
                OR l.subject_id = $3
                OR l.after ->> 'debit_account' = $3
                OR l.after ->> 'credit_account' = $3
                OR l.after ->> 'account' = $3)
           AND ($4::text IS NULL OR l.action = $4 OR l.action LIKE $4 || '%')
           AND ($5::timestamptz IS NULL OR l.occurred_at >= $5)
           AND ($6::timestamptz IS NULL OR l.occurred_at < $6)
           AND ($7::bigint IS NULL OR l.id < $7)
         ORDER BY l.id DESC
         LIMIT $8",
    )
    .bind(filter.actor_user_id)
    .bind(filter.customer_id)
    .bind(filter.account_number.as_deref())
    .bind(filter.action.as_deref())
    .bind(filter.occurred_from)
    .bind(filter.occurred_before)
    .bind(filter.before_id)
    .bind(filter.limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// A record of something that happened to a user's sign-in, with the address and client of a
/// sign-in (or of a failed one) where the record holds them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignInActivityRow {
    pub id: i64,
    pub occurred_at: OffsetDateTime,
    pub action: String,
    pub actor_user_id: Option<Uuid>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A page of the records whose subject is the user `user_id` and whose action is one of
/// `actions`, newest first: up to `limit` older than the record `before_id`.
pub async fn sign_in_activity(
    conn: &mut PgConnection,
    user_id: Uuid,
    actions: &[&str],
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<SignInActivityRow>, DataError> {
    sqlx::query_as(
        "SELECT id, occurred_at, action, actor_user_id,
                after ->> 'ip' AS client_ip, after ->> 'user_agent' AS user_agent
         FROM audit_log
         WHERE subject_type = 'user' AND subject_id = $1
           AND action = ANY($2)
           AND ($3::bigint IS NULL OR id < $3)
         ORDER BY id DESC
         LIMIT $4",
    )
    .bind(user_id.to_string())
    .bind(actions)
    .bind(before_id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// One audit row as the chain covers it, with every field in the text form the hash is made of,
/// so that a verifier can recompute the chain without trusting the database's own function.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainRow {
    pub id: i64,
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, UTC.
    pub occurred_at: String,
    pub actor_user_id: Option<String>,
    pub actor_service: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    /// Stored in a form the hash's text cannot tell from another (a date before the common
    /// era, whose text drops the era; an empty service name or a JSON null, whose text is an
    /// absent one's): no writer of the bank stores these, so such a row was edited.
    pub ambiguous: bool,
}

/// Up to `limit` rows of the chain after `after_id` (from its very first row, whatever its id,
/// when `None`), in chain order.
pub async fn chain_rows(
    conn: &mut PgConnection,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<ChainRow>, DataError> {
    sqlx::query_as(
        "SELECT id,
                to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
                    AS occurred_at,
                actor_user_id::text AS actor_user_id, actor_service, action, subject_type,
                subject_id, before::text AS before, after::text AS after, request_id,
                prev_hash, hash,
                (occurred_at < '0001-01-01 00:00:00+00' OR actor_service = ''
                 OR before = 'null'::jsonb OR after = 'null'::jsonb) IS TRUE AS ambiguous
         FROM audit_log WHERE $1::bigint IS NULL OR id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// The chain's row `id`, if it has one.
pub async fn chain_row(conn: &mut PgConnection, id: i64) -> Result<Option<ChainRow>, DataError> {
    Ok(chain_rows(conn, Some(id - 1), 1)
        .await?
        .into_iter()
        .find(|row| row.id == id))
}

/// A checkpoint of the chain: record `audit_id` had hash `audit_hash` when the logic tier
/// checked the chain up to it, attested by `mac` under a key the database does not hold.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Checkpoint {
    pub id: i64,
    pub audit_id: i64,
    pub audit_hash: Vec<u8>,
    pub mac: Vec<u8>,
    pub taken_at: OffsetDateTime,
}

/// Up to `limit` checkpoints, newest record first.
pub async fn newest_checkpoints(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<Checkpoint>, DataError> {
    sqlx::query_as(
        "SELECT id, audit_id, audit_hash, mac, taken_at FROM audit_checkpoints
         ORDER BY audit_id DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// Up to `limit` checkpoints after `after` (a record's id and a checkpoint's own, in that
/// order; from the first when `None`), in chain order.
pub async fn checkpoints_after(
    conn: &mut PgConnection,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<Checkpoint>, DataError> {
    let (audit_id, id) = after.unzip();
    sqlx::query_as(
        "SELECT id, audit_id, audit_hash, mac, taken_at FROM audit_checkpoints
         WHERE $1::bigint IS NULL OR (audit_id, id) > ($1, $2)
         ORDER BY audit_id, id LIMIT $3",
    )
    .bind(audit_id)
    .bind(id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// Records a checkpoint; `false` if the same one is there already (another instance took it
/// first).
pub async fn insert_checkpoint(
    conn: &mut PgConnection,
    audit_id: i64,
    audit_hash: &[u8],
    mac: &[u8],
) -> Result<bool, DataError> {
    let inserted = sqlx::query(
        "INSERT INTO audit_checkpoints (audit_id, audit_hash, mac) VALUES ($1, $2, $3)
         ON CONFLICT (audit_id, mac) DO NOTHING",
    )
    .bind(audit_id)
    .bind(audit_hash)
    .bind(mac)
    .execute(conn)
    .await
    .classify()?
    .rows_affected();
    Ok(inserted == 1)
}
