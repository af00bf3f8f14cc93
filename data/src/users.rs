//! Users who sign in (customers and staff) and the per-username sign-in throttle.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};

/// What a user may do; staff roles are ordered by seniority for display only, never for checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, Serialize, Deserialize)]
#[sqlx(type_name = "user_role", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Teller,
    Supervisor,
    Admin,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub customer_id: Option<Uuid>,
    pub disabled: bool,
}

#[derive(Debug)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub customer_id: Option<Uuid>,
}

pub async fn insert_user(conn: &mut PgConnection, new: &NewUser<'_>) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, role, customer_id)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new.id)
    .bind(new.username)
    .bind(new.password_hash)
    .bind(new.role)
    .bind(new.customer_id)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

pub async fn find_user_by_username(
    conn: &mut PgConnection,
    username: &str,
) -> Result<Option<UserRow>, DataError> {
    sqlx::query_as(
        "SELECT id, username, password_hash, role, customer_id, disabled
         FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(conn)
    .await
    .classify()
}

pub async fn count_users(conn: &mut PgConnection) -> Result<i64, DataError> {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(conn)
        .await
        .classify()
}

/// Until when sign-ins for `username` are refused, if they are.
pub async fn sign_in_locked_until(
    conn: &mut PgConnection,
    username: &str,
) -> Result<Option<OffsetDateTime>, DataError> {
    sqlx::query_scalar(
        "SELECT locked_until FROM sign_in_throttle
         WHERE username = $1 AND locked_until > now()",
    )
    .bind(username)
    .fetch_optional(conn)
    .await
    .classify()
    .map(Option::flatten)
}

/// Counts one more failed sign-in for `username`, forgetting failures older than
/// `window_s`, and returns the count in the current window.
pub async fn record_sign_in_failure(
    conn: &mut PgConnection,
    username: &str,
    window_s: i64,
) -> Result<i32, DataError> {
    sqlx::query_scalar(
        "INSERT INTO sign_in_throttle AS t (username, failures, last_failure)
         VALUES ($1, 1, now())
         ON CONFLICT (username) DO UPDATE SET
             failures = CASE WHEN t.last_failure < now() - $2 * interval '1 second'
                             THEN 1 ELSE t.failures + 1 END,
             last_failure = now()
         RETURNING failures",
    )
    .bind(username)
    .bind(window_s)
    .fetch_one(conn)
    .await
    .classify()
}

pub async fn lock_sign_in(
    conn: &mut PgConnection,
    username: &str,
    until: OffsetDateTime,
) -> Result<(), DataError> {
    sqlx::query("UPDATE sign_in_throttle SET locked_until = $2 WHERE username = $1")
        .bind(username)
        .bind(until)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

pub async fn clear_sign_in_failures(
    conn: &mut PgConnection,
    username: &str,
) -> Result<(), DataError> {
    sqlx::query("DELETE FROM sign_in_throttle WHERE username = $1")
        .bind(username)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}
