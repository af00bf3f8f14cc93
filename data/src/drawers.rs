//! Tellers' cash drawers. Each opening gets its own internal account (debit-normal, never below
//! nothing), so a drawer's position is an ordinary ledger balance and every movement of its cash
//! is an ordinary transfer.

use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DrawerRow {
    pub id: Uuid,
    pub teller_id: Uuid,
    pub teller_username: String,
    pub account_id: Uuid,
    pub account_number: String,
    pub currency: String,
    pub opened_at: OffsetDateTime,
    pub opening_float: Decimal,
    pub closed_at: Option<OffsetDateTime>,
    pub denominations: Option<Value>,
    pub counted: Option<Decimal>,
    pub difference: Option<Decimal>,
    /// The drawer account's balance, debit-normal: the cash the ledger says is in it.
    pub balance: Decimal,
}

macro_rules! drawer_query {
    ($tail:literal) => {
        concat!("SELECT d.id, d.teller_id, u.username AS teller_username, d.account_id,
        a.number AS account_number, d.currency, d.opened_at, d.opening_float, d.closed_at,
        d.denominations, d.counted, d.difference, -a.balance AS balance
    FROM teller_drawers d JOIN users u ON u.id = d.teller_id JOIN accounts a ON a.id = d.account_id", " ", $tail)
    };
}

#[derive(Debug)]
pub struct NewDrawer<'a> {
    pub id: Uuid,
    pub teller_id: Uuid,
    pub account_id: Uuid,
    pub currency: &'a str,
    pub opening_float: Decimal,
}

/// Records a drawer opening; [`crate::Violation::Other`] `teller_drawers_open_key` if the teller
/// already has an open drawer in this currency.
pub async fn insert_drawer(conn: &mut PgConnection, new: &NewDrawer<'_>) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO teller_drawers (id, teller_id, account_id, currency, opening_float)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new.id)
    .bind(new.teller_id)
    .bind(new.account_id)
    .bind(new.currency)
    .bind(new.opening_float)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// The teller's open drawer in `currency`, if any.
pub async fn open_drawer(
    conn: &mut PgConnection,
    teller_id: Uuid,
    currency: &str,
) -> Result<Option<DrawerRow>, DataError> {
    sqlx::query_as(drawer_query!(
        "WHERE d.teller_id = $1 AND d.currency = $2 AND d.closed_at IS NULL"
    ))
    .bind(teller_id)
    .bind(currency)
    .fetch_optional(conn)
    .await
    .classify()
}

/// A drawer's place in a list of drawers: closed or not, then opening time and id.
pub type DrawerPlace = (bool, OffsetDateTime, Uuid);

/// A page of drawers, open ones first, then the latest opened: one teller's (open and closed), or
/// with no teller every open drawer of the branch. Up to `limit` after the place `after` of the
/// last one read.
pub async fn list_drawers(
    conn: &mut PgConnection,
    teller_id: Option<Uuid>,
    after: Option<DrawerPlace>,
    limit: i64,
) -> Result<Vec<DrawerRow>, DataError> {
    sqlx::query_as(drawer_query!(
        "WHERE CASE WHEN $1::uuid IS NULL THEN d.closed_at IS NULL ELSE d.teller_id = $1 END
           AND ($2::bool IS NULL
                OR (d.closed_at IS NOT NULL) > $2
                OR ((d.closed_at IS NOT NULL) = $2 AND (d.opened_at, d.id) < ($3, $4)))
         ORDER BY d.closed_at IS NOT NULL, d.opened_at DESC, d.id DESC
         LIMIT $5"
    ))
    .bind(teller_id)
    .bind(after.map(|(closed, _, _)| closed))
    .bind(after.map(|(_, at, _)| at))
    .bind(after.map(|(_, _, id)| id))
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// Locks an open drawer's row for closing.
pub async fn lock_open_drawer(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<DrawerRow>, DataError> {
    sqlx::query_as(drawer_query!(
        "WHERE d.id = $1 AND d.closed_at IS NULL FOR UPDATE OF d"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .classify()
}

pub async fn find_drawer(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<DrawerRow>, DataError> {
    sqlx::query_as(drawer_query!("WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// Records the count at closing.
pub async fn close_drawer(
    conn: &mut PgConnection,
    id: Uuid,
    denominations: &Value,
    counted: Decimal,
    difference: Decimal,
) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE teller_drawers SET closed_at = now(), denominations = $2, counted = $3,
                                   difference = $4
         WHERE id = $1 AND closed_at IS NULL",
    )
    .bind(id)
    .bind(denominations)
    .bind(counted)
    .bind(difference)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}
