//! Customers: the people the bank holds money for.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRow {
    pub id: Uuid,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<Date>,
    pub created_at: OffsetDateTime,
    /// The customer's portal sign-in, if they have one.
    pub username: Option<String>,
}

#[derive(Debug)]
pub struct NewCustomer<'a> {
    pub id: Uuid,
    pub full_name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub date_of_birth: Option<Date>,
}

pub async fn insert_customer(
    conn: &mut PgConnection,
    new: &NewCustomer<'_>,
) -> Result<CustomerRow, DataError> {
    sqlx::query_as(
        "INSERT INTO customers (id, full_name, email, phone, date_of_birth)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, full_name, email, phone, date_of_birth, created_at, NULL::text AS username",
    )
    .bind(new.id)
    .bind(new.full_name)
    .bind(new.email)
    .bind(new.phone)
    .bind(new.date_of_birth)
    .fetch_one(conn)
    .await
    .classify()
}

pub async fn find_customer(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<CustomerRow>, DataError> {
    sqlx::query_as(
        "SELECT c.id, c.full_name, c.email, c.phone, c.date_of_birth, c.created_at,
                (SELECT u.username FROM users u WHERE u.customer_id = c.id
                 ORDER BY u.created_at LIMIT 1) AS username
         FROM customers c WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .classify()
}
