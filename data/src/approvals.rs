//! Maker-checker approval requests. The database itself refuses a decision by the request's maker,
//! by anyone but a supervisor, or on a request already decided (`approval_requests_guard`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "approval_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    CashDeposit,
    CashWithdrawal,
    Transfer,
    Reversal,
    OverdraftLimit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "approval_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApprovalRow {
    pub id: Uuid,
    pub kind: ApprovalKind,
    pub status: ApprovalStatus,
    pub maker_id: Uuid,
    pub maker_username: String,
    pub checker_id: Option<Uuid>,
    pub checker_username: Option<String>,
    pub account_id: Uuid,
    pub account_number: String,
    pub customer_id: Option<Uuid>,
    pub customer_name: Option<String>,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub summary: String,
    pub reason: String,
    pub operation: Value,
    pub idempotency_key: Option<String>,
    pub hold_id: Option<Uuid>,
    pub reverses_transfer_id: Option<Uuid>,
    pub transfer_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
    pub decision_note: String,
    pub request_id: Option<String>,
}

macro_rules! approval_query {
    ($tail:literal) => {
        concat!(
            "SELECT r.id, r.kind, r.status, r.maker_id, m.username AS maker_username,
        r.checker_id, k.username AS checker_username, r.account_id, a.number AS account_number,
        r.customer_id, c.full_name AS customer_name, r.amount, r.currency, r.summary, r.reason,
        r.operation, r.idempotency_key, r.hold_id, r.reverses_transfer_id, r.transfer_id,
        r.created_at, r.expires_at, r.decided_at, r.decision_note, r.request_id
    FROM approval_requests r
    JOIN users m ON m.id = r.maker_id
    LEFT JOIN users k ON k.id = r.checker_id
    JOIN accounts a ON a.id = r.account_id
    LEFT JOIN customers c ON c.id = r.customer_id",
            " ",
            $tail
        )
    };
}

#[derive(Debug)]
pub struct NewApproval<'a> {
    pub id: Uuid,
    pub kind: ApprovalKind,
    pub maker_id: Uuid,
    pub account_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub amount: Option<Decimal>,
    pub currency: Option<&'a str>,
    pub summary: &'a str,
    pub reason: &'a str,
    pub operation: &'a Value,
    pub idempotency_key: Option<&'a str>,
    pub hold_id: Option<Uuid>,
    pub reverses_transfer_id: Option<Uuid>,
    pub expires_at: OffsetDateTime,
    pub request_id: Option<&'a str>,
}

/// Files a request; [`crate::Violation::Other`] `approval_requests_one_reversal_key` if the
/// transfer already has a reversal waiting.
pub async fn insert_approval(
    conn: &mut PgConnection,
    new: &NewApproval<'_>,
) -> Result<ApprovalRow, DataError> {
    sqlx::query(
        "INSERT INTO approval_requests (id, kind, maker_id, account_id, customer_id, amount,
             currency, summary, reason, operation, idempotency_key, hold_id, reverses_transfer_id,
             expires_at, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(new.id)
    .bind(new.kind)
    .bind(new.maker_id)
    .bind(new.account_id)
    .bind(new.customer_id)
    .bind(new.amount)
    .bind(new.currency)
    .bind(new.summary)
    .bind(new.reason)
    .bind(new.operation)
    .bind(new.idempotency_key)
    .bind(new.hold_id)
    .bind(new.reverses_transfer_id)
    .bind(new.expires_at)
    .bind(new.request_id)
    .execute(&mut *conn)
    .await
    .classify()?;
    sqlx::query_as(approval_query!("WHERE r.id = $1"))
        .bind(new.id)
        .fetch_one(conn)
        .await
        .classify()
}

pub async fn find_approval(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ApprovalRow>, DataError> {
    sqlx::query_as(approval_query!("WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// Locks a request for its decision.
pub async fn lock_approval(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ApprovalRow>, DataError> {
    sqlx::query_as(approval_query!("WHERE r.id = $1 FOR UPDATE OF r"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// Which requests to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ApprovalFilter {
    pub status: Option<ApprovalStatus>,
    pub account_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    /// The place (creation time and id) of the last request read; the page starts after it.
    pub before: Option<(OffsetDateTime, Uuid)>,
    pub limit: i64,
}

pub async fn list_approvals(
    conn: &mut PgConnection,
    filter: &ApprovalFilter,
) -> Result<Vec<ApprovalRow>, DataError> {
    sqlx::query_as(approval_query!(
        "WHERE ($1::approval_status IS NULL OR r.status = $1)
           AND ($2::uuid IS NULL OR r.account_id = $2)
           AND ($3::uuid IS NULL OR r.customer_id = $3)
           AND (r.status <> 'pending' OR r.expires_at > now() OR $1::approval_status IS NULL)
           AND ($4::timestamptz IS NULL OR (r.created_at, r.id) < ($4, $5))
         ORDER BY r.created_at DESC, r.id DESC LIMIT $6"
    ))
    .bind(filter.status)
    .bind(filter.account_id)
    .bind(filter.customer_id)
    .bind(filter.before.map(|(at, _)| at))
    .bind(filter.before.map(|(_, id)| id))
    .bind(filter.limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// Records a decision on a locked, pending request.
pub async fn decide(
    conn: &mut PgConnection,
    id: Uuid,
    status: ApprovalStatus,
    checker_id: Option<Uuid>,
    note: &str,
    transfer_id: Option<Uuid>,
) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE approval_requests SET status = $2, checker_id = $3, decision_note = $4,
                                      transfer_id = $5, decided_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(checker_id)
    .bind(note)
    .bind(transfer_id)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// Pending requests whose time ran out, oldest first, locked and skipping any being decided.
pub async fn lock_expired(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<ApprovalRow>, DataError> {
    sqlx::query_as(approval_query!(
        "WHERE r.status = 'pending' AND r.expires_at <= now()
         ORDER BY r.expires_at LIMIT $1 FOR UPDATE OF r SKIP LOCKED"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// Whether a reversal of `transfer_id` is waiting for a decision.
pub async fn reversal_pending(
    conn: &mut PgConnection,
    transfer_id: Uuid,
) -> Result<bool, DataError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM approval_requests
                        WHERE reverses_transfer_id = $1 AND status = 'pending')",
    )
    .bind(transfer_id)
    .fetch_one(conn)
    .await
    .classify()
}

/// Whether `hold_id` sets funds aside for a request still waiting for a decision.
pub async fn hold_guards_pending(
    conn: &mut PgConnection,
    hold_id: Uuid,
) -> Result<bool, DataError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM approval_requests
                        WHERE hold_id = $1 AND status = 'pending')",
    )
    .bind(hold_id)
    .fetch_one(conn)
    .await
    .classify()
}
