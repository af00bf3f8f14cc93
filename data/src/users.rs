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
    /// An internal service's account, acting through its API key; it never signs in.
    Service,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub customer_id: Option<Uuid>,
    pub disabled: bool,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_pending_secret: Option<Vec<u8>>,
    /// The password was set by someone else and must be replaced first.
    pub password_change_due: bool,
}

#[derive(Debug)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub customer_id: Option<Uuid>,
    /// The password was chosen by someone other than the user, who must replace it first.
    pub password_change_due: bool,
}

pub async fn insert_user(conn: &mut PgConnection, new: &NewUser<'_>) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, role, customer_id, password_change_due)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new.id)
    .bind(new.username)
    .bind(new.password_hash)
    .bind(new.role)
    .bind(new.customer_id)
    .bind(new.password_change_due)
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
        "SELECT id, username, password_hash, role, customer_id, disabled, totp_secret,
                totp_pending_secret, password_change_due
         FROM users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(conn)
    .await
    .classify()
}

pub async fn find_user(conn: &mut PgConnection, id: Uuid) -> Result<Option<UserRow>, DataError> {
    sqlx::query_as(
        "SELECT id, username, password_hash, role, customer_id, disabled, totp_secret,
                totp_pending_secret, password_change_due
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .classify()
}

/// Stores the password the user chose themself: any change that was due is done.
pub async fn set_password_hash(
    conn: &mut PgConnection,
    user_id: Uuid,
    password_hash: &str,
) -> Result<(), DataError> {
    sqlx::query("UPDATE users SET password_hash = $2, password_change_due = false WHERE id = $1")
        .bind(user_id)
        .bind(password_hash)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// The hashes of the passwords the user had before the one they have now, newest first (the
/// database keeps the last four: see `password_history`).
pub async fn previous_password_hashes(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<String>, DataError> {
    sqlx::query_scalar(
        "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
    .classify()
}

/// How many times the user's password was replaced in the last `hours` hours (by them or by a
/// reset).
pub async fn password_changes_within(
    conn: &mut PgConnection,
    user_id: Uuid,
    hours: i32,
) -> Result<i64, DataError> {
    sqlx::query_scalar(
        "SELECT count(*) FROM password_history
          WHERE user_id = $1 AND replaced_at > now() - make_interval(hours => $2)",
    )
    .bind(user_id)
    .bind(hours)
    .fetch_one(conn)
    .await
    .classify()
}

/// The user who signs in for a customer, if they have a sign-in.
pub async fn find_customer_user(
    conn: &mut PgConnection,
    customer_id: Uuid,
) -> Result<Option<UserRow>, DataError> {
    sqlx::query_as(
        "SELECT id, username, password_hash, role, customer_id, disabled, totp_secret,
                totp_pending_secret, password_change_due
         FROM users WHERE customer_id = $1 AND role = 'customer'",
    )
    .bind(customer_id)
    .fetch_optional(conn)
    .await
    .classify()
}

/// Locks a user's row and tells whether `session_id` is still live (not revoked, not expired):
/// a change a session makes to its own sign-in waits for a reset that holds the row, and then
/// finds the session ended rather than undo the reset.
pub async fn lock_user_in_session(
    conn: &mut PgConnection,
    user_id: Uuid,
    session_id: Uuid,
) -> Result<bool, DataError> {
    // Two statements: the lock may wait for a reset to commit, and only a statement begun after
    // the wait sees what it committed (one statement reads every other table as it was when
    // the statement began, before the wait).
    let found = sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await
        .classify()?;
    if found.is_none() {
        return Ok(false);
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM user_sessions
                         WHERE id = $2 AND user_id = $1
                           AND revoked_at IS NULL AND expires_at > now())",
    )
    .bind(user_id)
    .bind(session_id)
    .fetch_one(conn)
    .await
    .classify()
}

/// Locks a user's row for a reset of their sign-in.
pub async fn lock_user(conn: &mut PgConnection, id: Uuid) -> Result<Option<UserRow>, DataError> {
    sqlx::query_as(
        "SELECT id, username, password_hash, role, customer_id, disabled, totp_secret,
                totp_pending_secret, password_change_due
         FROM users WHERE id = $1
         FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .classify()
}

/// Resets a sign-in for someone who lost it: a password someone else chose, which the user must
/// replace before anything else, and no second factor (its secret and recovery codes go; staff
/// enrol a new one at their next sign-in). Returns whether a second factor was on.
pub async fn reset_sign_in(
    conn: &mut PgConnection,
    user_id: Uuid,
    password_hash: &str,
) -> Result<bool, DataError> {
    let had_second_factor: bool = sqlx::query_scalar(
        "UPDATE users SET password_hash = $2, password_change_due = true WHERE id = $1
         RETURNING totp_enabled_at IS NOT NULL",
    )
    .bind(user_id)
    .bind(password_hash)
    .fetch_one(&mut *conn)
    .await
    .classify()?;
    disable_totp(conn, user_id).await?;
    Ok(had_second_factor)
}

/// Users whose TOTP secret, or pending one, is still stored in the clear (the 20 bytes of a secret
/// from before sealing), locked until the transaction ends: `(id, secret, pending secret)`.
pub async fn lock_unsealed_totp_secrets(
    conn: &mut PgConnection,
) -> Result<Vec<(Uuid, Option<Vec<u8>>, Option<Vec<u8>>)>, DataError> {
    sqlx::query_as(
        "SELECT id, totp_secret, totp_pending_secret FROM users
         WHERE length(totp_secret) = 20 OR length(totp_pending_secret) = 20
         ORDER BY id FOR UPDATE",
    )
    .fetch_all(conn)
    .await
    .classify()
}

/// Replaces a TOTP secret stored before sealing with its sealed form, unless it changed since it
/// was read.
pub async fn reseal_totp_secret(
    conn: &mut PgConnection,
    user_id: Uuid,
    stored: &[u8],
    sealed: &[u8],
) -> Result<(), DataError> {
    sqlx::query("UPDATE users SET totp_secret = $3 WHERE id = $1 AND totp_secret = $2")
        .bind(user_id)
        .bind(stored)
        .bind(sealed)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// Keeps a new TOTP secret aside until the user proves they hold it.
pub async fn set_pending_totp_secret(
    conn: &mut PgConnection,
    user_id: Uuid,
    secret: &[u8],
) -> Result<(), DataError> {
    sqlx::query("UPDATE users SET totp_pending_secret = $2 WHERE id = $1")
        .bind(user_id)
        .bind(secret)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// Turns the pending secret into the second factor, accepted from time step `step` on.
pub async fn enable_totp(
    conn: &mut PgConnection,
    user_id: Uuid,
    step: i64,
) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,
                          totp_enabled_at = now(), totp_last_step = $2
         WHERE id = $1 AND totp_pending_secret IS NOT NULL",
    )
    .bind(user_id)
    .bind(step)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

pub async fn disable_totp(conn: &mut PgConnection, user_id: Uuid) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_enabled_at = NULL,
                          totp_last_step = NULL
         WHERE id = $1",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .classify()?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// Records that a code of time step `step` was used, unless that step or a later one already
/// was: a TOTP code works once. Returns whether the step was new.
pub async fn advance_totp_step(
    conn: &mut PgConnection,
    user_id: Uuid,
    step: i64,
) -> Result<bool, DataError> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = $2
         WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
    )
    .bind(user_id)
    .bind(step)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a user's recovery codes with new ones (their digests).
pub async fn replace_recovery_codes(
    conn: &mut PgConnection,
    user_id: Uuid,
    code_hashes: &[Vec<u8>],
) -> Result<(), DataError> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .classify()?;
    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])")
        .bind(user_id)
        .bind(code_hashes)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// Spends a recovery code; returns whether it was valid and unused.
pub async fn use_recovery_code(
    conn: &mut PgConnection,
    user_id: Uuid,
    code_hash: &[u8],
) -> Result<bool, DataError> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = now()
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(user_id)
    .bind(code_hash)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected() == 1)
}

pub async fn count_unused_recovery_codes(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<i64, DataError> {
    sqlx::query_scalar("SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(conn)
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

/// Takes one attempt for `key` before it is checked: counts it, forgetting attempts older than
/// `window_s`, and returns its number in the window; `None` while the key is locked (nothing is
/// counted then). The row stays locked until the transaction ends, so concurrent attempts are
/// numbered one after another and see a lock set in the same transaction.
pub async fn take_sign_in_attempt(
    conn: &mut PgConnection,
    key: &str,
    window_s: i64,
) -> Result<Option<i32>, DataError> {
    sqlx::query_scalar(
        "INSERT INTO sign_in_throttle AS t (username, failures, last_failure)
         VALUES ($1, 1, now())
         ON CONFLICT (username) DO UPDATE SET
             failures = CASE WHEN t.last_failure < now() - $2 * interval '1 second'
                             THEN 1 ELSE t.failures + 1 END,
             last_failure = now()
         WHERE t.locked_until IS NULL OR t.locked_until <= now()
         RETURNING failures",
    )
    .bind(key)
    .bind(window_s)
    .fetch_optional(conn)
    .await
    .classify()
}

/// Takes back one attempt of `key` that turned out well (a correct password from a source).
pub async fn forgive_sign_in_attempt(conn: &mut PgConnection, key: &str) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE sign_in_throttle SET failures = greatest(failures - 1, 0) WHERE username = $1",
    )
    .bind(key)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
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

/// Forgets throttle rows whose failures are older than `window_s` and whose lock has ended.
pub async fn purge_sign_in_throttle(
    conn: &mut PgConnection,
    window_s: i64,
) -> Result<u64, DataError> {
    let done = sqlx::query(
        "DELETE FROM sign_in_throttle
         WHERE last_failure < now() - $1 * interval '1 second'
           AND (locked_until IS NULL OR locked_until < now())",
    )
    .bind(window_s)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected())
}

/// A member of staff as the admin pages list them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffRow {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: OffsetDateTime,
    pub totp_enabled: bool,
    /// The start of their latest session, if any.
    pub last_sign_in: Option<OffsetDateTime>,
}

macro_rules! staff_query {
    ($tail:literal) => {
        concat!(
            "SELECT u.id, u.username, u.role, u.disabled, u.created_at,
        u.totp_enabled_at IS NOT NULL AS totp_enabled,
        (SELECT max(s.created_at) FROM user_sessions s WHERE s.user_id = u.id) AS last_sign_in
    FROM users u",
            " ",
            $tail
        )
    };
}

/// A page of staff in order of username: up to `limit` after the username `after`.
pub async fn list_staff(
    conn: &mut PgConnection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<StaffRow>, DataError> {
    sqlx::query_as(staff_query!(
        "WHERE u.role IN ('teller', 'supervisor', 'admin')
           AND ($1::text IS NULL OR u.username > $1)
         ORDER BY u.username
         LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// Locks a staff member's row for a change of role or access.
pub async fn lock_staff(conn: &mut PgConnection, id: Uuid) -> Result<Option<StaffRow>, DataError> {
    sqlx::query_as(staff_query!(
        "WHERE u.id = $1 AND u.role IN ('teller', 'supervisor', 'admin') FOR UPDATE OF u"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .classify()
}

pub async fn set_role_and_access(
    conn: &mut PgConnection,
    id: Uuid,
    role: Role,
    disabled: bool,
) -> Result<(), DataError> {
    sqlx::query("UPDATE users SET role = $2, disabled = $3 WHERE id = $1")
        .bind(id)
        .bind(role)
        .bind(disabled)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// The id of the user with this username, for resolving an audit search's actor.
pub async fn find_user_id_by_username(
    conn: &mut PgConnection,
    username: &str,
) -> Result<Option<Uuid>, DataError> {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(conn)
        .await
        .classify()
}
