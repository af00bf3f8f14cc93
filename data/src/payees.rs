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
}

pub async fn list_payees(
    conn: &mut PgConnection,
    customer_id: Uuid,
) -> Result<Vec<PayeeRow>, DataError> {
    sqlx::query_as(
        "SELECT id, nickname, account_number, created_at FROM payees
         WHERE customer_id = $1 ORDER BY lower(nickname)",
    )
    .bind(customer_id)
    .fetch_all(conn)
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
         VALUES (gen_random_uuid(), $1, $2, $3)
         RETURNING id, nickname, account_number, created_at",
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
