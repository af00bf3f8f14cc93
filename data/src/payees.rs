//! Saved payees: accounts a customer pays often, under a nickname.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayeeRow {
    pub id: Uuid,
    pub nickname: String,
    pub account_number: String,
    pub created_at: OffsetDateTime,
    /// The nickname as the list is ordered: in lower case.
    pub sort_key: String,
}

/// A page of a customer's payees in order of nickname (any case), then id: up to `limit` after
/// the place `after` (sort key and id) of the last one read.
pub async fn list_payees(
    conn: &mut PgConnection,
    customer_id: Uuid,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<PayeeRow>, DataError> {
    let (after_key, after_id) = after.unzip();
    sqlx::query_as(
        "SELECT id, nickname, account_number, created_at, lower(nickname) AS sort_key
         FROM payees
         WHERE customer_id = $1 AND ($2::text IS NULL OR (lower(nickname), id) > ($2, $3))
         ORDER BY lower(nickname), id
         LIMIT $4",
    )
    .bind(customer_id)
    .bind(after_key)
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// How many payees a customer keeps.
pub async fn count_payees(conn: &mut PgConnection, customer_id: Uuid) -> Result<i64, DataError> {
    sqlx::query_scalar("SELECT count(*) FROM payees WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_one(conn)
        .await
        .classify()
}

/// Saves a payee; `Violation::Other("payees_nickname_key")` if the nickname is taken.
pub async fn insert_payee(
    conn: &mut PgConnection,
    customer_id: Uuid,
    nickname: &str,
    account_number: &str,
) -> Result<PayeeRow, DataError> {
    sqlx::query_as(
        "INSERT INTO payees (id, customer_id, nickname, account_number)
         VALUES (uuid_v7(), $1, $2, $3)
         RETURNING id, nickname, account_number, created_at, lower(nickname) AS sort_key",
    )
    .bind(customer_id)
    .bind(nickname)
    .bind(account_number)
    .fetch_one(conn)
    .await
    .classify()
}

/// Removes one of the customer's payees; returns whether there was one.
pub async fn delete_payee(
    conn: &mut PgConnection,
    customer_id: Uuid,
    id: Uuid,
) -> Result<bool, DataError> {
    let done = sqlx::query("DELETE FROM payees WHERE customer_id = $1 AND id = $2")
        .bind(customer_id)
        .bind(id)
        .execute(conn)
        .await
        .classify()?;
    Ok(done.rows_affected() == 1)
}
