//! Sign-in sessions of users and the credentials of calling services.
//!
//! Both are looked up by the SHA-256 of a bearer secret; the secrets themselves never reach the
//! database.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};
use crate::users::Role;

/// The user behind a live session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUserRow {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub customer_id: Option<Uuid>,
    pub expires_at: OffsetDateTime,
    /// The user's password was set by someone else and must be replaced first.
    pub password_change_due: bool,
    /// The user has a second factor (TOTP) on.
    pub second_factor_on: bool,
}

/// A credential allowed to call the logic tier: the presentation tier's, which acts for
/// signed-in users, or an internal service's API key, which acts as its service account.
#[derive(Debug, Clone)]
pub struct ServiceClientRow {
    pub id: Uuid,
    pub name: String,
    pub acts_for_users: bool,
    pub scopes: Vec<String>,
    pub rate_limit_per_minute: i32,
    /// The service account an API key acts as, and its username; `None` for the presentation
    /// tier's credential.
    pub service_account: Option<(Uuid, String)>,
}

/// Who is calling: the service by its credential and, if a token was given, the signed-in user.
#[derive(Debug, Clone)]
pub struct Callers {
    pub service: Option<ServiceClientRow>,
    pub user: Option<SessionUserRow>,
}

/// How often a session's `last_seen_at` is written: often enough for idle expiry measured in
/// minutes, rarely enough that a busy session does not write on every request.
const TOUCH_EVERY_S: i64 = 30;

/// Resolves a request's service credential and user token in one round trip. A session counts
/// only while it is unexpired, unrevoked, used within the last `idle_s` seconds, and its user is
/// enabled; using it keeps it alive.
pub async fn authenticate(
    conn: &mut PgConnection,
    service_key_hash: &[u8],
    token_hash: Option<&[u8]>,
    idle_s: i64,
) -> Result<Callers, DataError> {
    #[derive(sqlx::FromRow)]
    struct Both {
        service_id: Option<Uuid>,
        service_name: Option<String>,
        acts_for_users: Option<bool>,
        scopes: Option<Vec<String>>,
        rate_limit_per_minute: Option<i32>,
        service_account_id: Option<Uuid>,
        service_account_username: Option<String>,
        session_id: Option<Uuid>,
        user_id: Option<Uuid>,
        username: Option<String>,
        role: Option<Role>,
        customer_id: Option<Uuid>,
        expires_at: Option<OffsetDateTime>,
        password_change_due: Option<bool>,
        second_factor_on: Option<bool>,
    }
    let row: Both = sqlx::query_as(
        "WITH touched AS (
             UPDATE user_sessions SET last_seen_at = now()
             WHERE token_hash = $2 AND revoked_at IS NULL AND expires_at > now()
               AND last_seen_at > now() - $3 * interval '1 second'
               AND last_seen_at < now() - $4 * interval '1 second'
             RETURNING id
         ),
         used AS (
             UPDATE service_clients SET last_used_at = now()
             WHERE (key_hash = $1 OR (previous_key_hash = $1 AND previous_valid_until > now()))
               AND revoked_at IS NULL AND NOT acts_for_users
               AND (last_used_at IS NULL OR last_used_at < now() - $4 * interval '1 second')
             RETURNING id
         )
         SELECT c.id AS service_id, c.name AS service_name, c.acts_for_users, c.scopes,
                c.rate_limit_per_minute, c.service_account_id,
                sa.username AS service_account_username,
                s.session_id, s.user_id, s.username, s.role, s.customer_id, s.expires_at,
                s.password_change_due, s.second_factor_on
         FROM (SELECT 1) AS one
         LEFT JOIN service_clients c
             ON (c.key_hash = $1 OR (c.previous_key_hash = $1 AND c.previous_valid_until > now()))
            AND c.revoked_at IS NULL
         LEFT JOIN users sa ON sa.id = c.service_account_id
         LEFT JOIN (
             SELECT s.id AS session_id, u.id AS user_id, u.username, u.role, u.customer_id,
                    s.expires_at, u.password_change_due,
                    u.totp_secret IS NOT NULL AS second_factor_on
             FROM user_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
               AND s.last_seen_at > now() - $3 * interval '1 second'
               AND NOT u.disabled
         ) s ON true
         LEFT JOIN (SELECT count(*) AS n FROM touched) t ON true
         LEFT JOIN (SELECT count(*) AS n FROM used) u ON true",
    )
    .bind(service_key_hash)
    .bind(token_hash)
    .bind(idle_s)
    .bind(TOUCH_EVERY_S)
    .fetch_one(conn)
    .await
    .classify()?;
    let service = match (row.service_id, row.service_name, row.acts_for_users) {
        (Some(id), Some(name), Some(acts_for_users)) => Some(ServiceClientRow {
            id,
            name,
            acts_for_users,
            scopes: row.scopes.unwrap_or_default(),
            rate_limit_per_minute: row.rate_limit_per_minute.unwrap_or(1),
            service_account: row.service_account_id.zip(row.service_account_username),
        }),
        _ => None,
    };
    let user = match (
        row.session_id,
        row.user_id,
        row.username,
        row.role,
        row.expires_at,
    ) {
        (Some(session_id), Some(user_id), Some(username), Some(role), Some(expires_at)) => {
            Some(SessionUserRow {
                session_id,
                user_id,
                username,
                role,
                customer_id: row.customer_id,
                expires_at,
                password_change_due: row.password_change_due.unwrap_or(false),
                second_factor_on: row.second_factor_on.unwrap_or(false),
            })
        }
        _ => None,
    };
    Ok(Callers { service, user })
}

/// Where a sign-in came from, as the calling service reports it.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

pub async fn insert_session(
    conn: &mut PgConnection,
    id: Uuid,
    user_id: Uuid,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
    client: &ClientInfo,
) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO user_sessions (id, user_id, token_hash, expires_at, user_agent, client_ip)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(token_hash)
    .bind(expires_at)
    .bind(client.user_agent.as_deref())
    .bind(client.ip.as_deref())
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

pub async fn revoke_session(conn: &mut PgConnection, session_id: Uuid) -> Result<(), DataError> {
    sqlx::query("UPDATE user_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
        .bind(session_id)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// Revokes every live session of a user; returns how many there were.
pub async fn revoke_all_sessions(conn: &mut PgConnection, user_id: Uuid) -> Result<u64, DataError> {
    let done = sqlx::query(
        "UPDATE user_sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected())
}

pub async fn insert_service_client(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    key_hash: &[u8],
) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO service_clients (id, name, key_hash, acts_for_users) VALUES ($1, $2, $3, true)",
    )
        .bind(id)
        .bind(name)
        .bind(key_hash)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// A live session, as the user's list of sessions shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
}

/// A page of a user's live sessions, newest sign-in first: up to `limit` after the place
/// `before` (sign-in time and id) of the last one read. Ordered by sign-in rather than last use,
/// which changes while the list is read.
pub async fn list_live_sessions(
    conn: &mut PgConnection,
    user_id: Uuid,
    idle_s: i64,
    before: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<SessionRow>, DataError> {
    let (before_at, before_id) = before.unzip();
    sqlx::query_as(
        "SELECT id, created_at, last_seen_at, expires_at, user_agent, client_ip
         FROM user_sessions
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
           AND last_seen_at > now() - $2 * interval '1 second'
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
         ORDER BY created_at DESC, id DESC
         LIMIT $5",
    )
    .bind(user_id)
    .bind(idle_s)
    .bind(before_at)
    .bind(before_id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

/// Revokes every live session of a user but one; returns how many it revoked.
pub async fn revoke_other_sessions(
    conn: &mut PgConnection,
    user_id: Uuid,
    keep: Uuid,
) -> Result<u64, DataError> {
    let done = sqlx::query(
        "UPDATE user_sessions SET revoked_at = now()
         WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(keep)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected())
}

/// A pending second-factor step of a sign-in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChallengeRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub attempts: i32,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
}

pub async fn insert_challenge(
    conn: &mut PgConnection,
    user_id: Uuid,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
    client: &ClientInfo,
) -> Result<(), DataError> {
    sqlx::query(
        "INSERT INTO sign_in_challenges (id, user_id, token_hash, expires_at, user_agent, client_ip)
         VALUES (uuid_v7(), $1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(token_hash)
    .bind(expires_at)
    .bind(client.user_agent.as_deref())
    .bind(client.ip.as_deref())
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// Locks a live, unused challenge by its token digest and counts one more attempt on it.
pub async fn take_challenge_attempt(
    conn: &mut PgConnection,
    token_hash: &[u8],
    attempts_max: i32,
) -> Result<Option<ChallengeRow>, DataError> {
    sqlx::query_as(
        "UPDATE sign_in_challenges SET attempts = attempts + 1
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() AND attempts < $2
         RETURNING id, user_id, attempts, user_agent, client_ip",
    )
    .bind(token_hash)
    .bind(attempts_max)
    .fetch_optional(conn)
    .await
    .classify()
}

pub async fn use_challenge(conn: &mut PgConnection, id: Uuid) -> Result<(), DataError> {
    sqlx::query("UPDATE sign_in_challenges SET used_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// The username whose known device holds the token with this digest, if it has not expired.
pub async fn known_device_username(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> Result<Option<String>, DataError> {
    sqlx::query_scalar(
        "SELECT u.username FROM known_devices d JOIN users u ON u.id = d.user_id
         WHERE d.token_hash = $1 AND d.expires_at > now()",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
    .classify()
}

/// Remembers a device the user signed in from, forgetting `replaces` (the token the device held
/// before) and all but the user's `keep` newest devices.
pub async fn remember_device(
    conn: &mut PgConnection,
    user_id: Uuid,
    token_hash: &[u8],
    replaces: Option<&[u8]>,
    expires_at: OffsetDateTime,
    keep: i64,
) -> Result<(), DataError> {
    if let Some(old) = replaces {
        sqlx::query("DELETE FROM known_devices WHERE token_hash = $1 AND user_id = $2")
            .bind(old)
            .bind(user_id)
            .execute(&mut *conn)
            .await
            .classify()?;
    }
    sqlx::query("INSERT INTO known_devices (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(&mut *conn)
        .await
        .classify()?;
    sqlx::query(
        "DELETE FROM known_devices WHERE user_id = $1 AND token_hash NOT IN (
             SELECT token_hash FROM known_devices WHERE user_id = $1
             ORDER BY created_at DESC, token_hash LIMIT $2)",
    )
    .bind(user_id)
    .bind(keep)
    .execute(&mut *conn)
    .await
    .classify()?;
    Ok(())
}

/// Forgets devices whose tokens have expired.
pub async fn purge_expired_devices(conn: &mut PgConnection) -> Result<u64, DataError> {
    let done = sqlx::query("DELETE FROM known_devices WHERE expires_at <= now()")
        .execute(conn)
        .await
        .classify()?;
    Ok(done.rows_affected())
}

/// Records that `user_id` sent the portal form whose token has the digest `token_hash`; false if
/// they already had.
pub async fn record_form_submission(
    conn: &mut PgConnection,
    user_id: Uuid,
    token_hash: &[u8],
) -> Result<bool, DataError> {
    let done = sqlx::query(
        "INSERT INTO form_submissions (user_id, token_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(token_hash)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected() == 1)
}

/// Forgets form submissions older than `max_age_s` seconds.
pub async fn purge_form_submissions(
    conn: &mut PgConnection,
    max_age_s: i64,
) -> Result<u64, DataError> {
    let done = sqlx::query(
        "DELETE FROM form_submissions WHERE sent_at < now() - $1 * interval '1 second'",
    )
    .bind(max_age_s)
    .execute(conn)
    .await
    .classify()?;
    Ok(done.rows_affected())
}
