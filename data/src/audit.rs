//! The audit log: who changed what, when, from what to what. The database chains each row to the
//! one before it by hash (see the `audit_log_chain` trigger); this module only appends.

use serde_json::Value;
use sqlx::PgConnection;
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
