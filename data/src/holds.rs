//! Holds: amounts set aside against an account's available balance (never its ledger balance).
//! A hold counts until it is released or its expiry passes, whichever comes first; an expired
//! hold therefore releases itself without anyone writing to it.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoldRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub amount: Decimal,
    pub reason: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub released_at: Option<OffsetDateTime>,
    pub placed_by: Option<Uuid>,
    pub placed_by_username: Option<String>,
    pub released_by: Option<Uuid>,
}

#[derive(Debug)]
pub struct NewHold<'a> {
    pub id: Uuid,
    pub account_id: Uuid,
    pub amount: Decimal,
    pub reason: &'a str,
    pub expires_at: OffsetDateTime,
    pub placed_by: Option<Uuid>,
}

macro_rules! hold_query {
    ($tail:literal) => {
        concat!("SELECT h.id, h.account_id, h.amount, h.reason, h.created_at, h.expires_at,
    h.released_at, h.placed_by, u.username AS placed_by_username, h.released_by FROM holds h LEFT JOIN users u ON u.id = h.placed_by", " ", $tail)
    };
}

/// Places a hold. The caller holds the account's lock, having checked the available balance.
pub async fn insert_hold(conn: &mut PgConnection, new: &NewHold<'_>) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO holds (id, account_id, amount, reason, expires_at, placed_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new.id)
    .bind(new.account_id)
    .bind(new.amount)
    .bind(new.reason)
    .bind(new.expires_at)
    .bind(new.placed_by)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

pub async fn find_hold(conn: &mut PgConnection, id: Uuid) -> Result<Option<HoldRow>, DataError> {
    sqlx::query_as(hold_query!("WHERE h.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// Releases a hold that is still active; false if it was already released or had expired.
pub async fn release_hold(
    conn: &mut PgConnection,
    id: Uuid,
    released_by: Option<Uuid>,
) -> Result<bool, DataError> {
    let done = sqlx::query(
        "UPDATE holds SET released_at = now(), released_by = $2
         WHERE id = $1 AND released_at IS NULL AND expires_at > now()",
    )
    .bind(id)
    .bind(released_by)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected() == 1)
}

/// A page of an account's holds (active, released and expired), newest first: up to `limit`
/// after the place `before` (creation time and id) of the last one read.
pub async fn account_holds(
    conn: &mut PgConnection,
    account_id: Uuid,
    before: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<HoldRow>, DataError> {
    let (before_at, before_id) = before.unzip();
    sqlx::query_as(hold_query!(
        "WHERE h.account_id = $1
           AND ($2::timestamptz IS NULL OR (h.created_at, h.id) < ($2, $3))
         ORDER BY h.created_at DESC, h.id DESC
         LIMIT $4"
    ))
    .bind(account_id)
    .bind(before_at)
    .bind(before_id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}
