//! API keys of internal services: each acts as its own service account, within its scopes.
//!
//! Only the SHA-256 of a key's secret is stored. Rotation replaces the secret in place (the key
//! keeps its id, scopes and service account) and may leave the previous secret working until a
//! stated time. Revocation takes effect on the next request: every request reads the key's row.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ClassifyExt, DataError};
use crate::users::Role;

/// An API key as admins see it: never its secret.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    pub key_prefix: Option<String>,
    pub scopes: Vec<String>,
    pub rate_limit_per_minute: i32,
    pub service_account_id: Uuid,
    pub created_at: OffsetDateTime,
    pub created_by_username: Option<String>,
    pub last_used_at: Option<OffsetDateTime>,
    pub rotated_at: Option<OffsetDateTime>,
    pub previous_valid_until: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_by_username: Option<String>,
}

macro_rules! api_key_query {
    ($tail:literal) => {
        concat!(
            "SELECT k.id, k.name, k.key_prefix, k.scopes, k.rate_limit_per_minute, ",
            "k.service_account_id, k.created_at, cb.username AS created_by_username, ",
            "k.last_used_at, k.rotated_at, k.previous_valid_until, k.revoked_at, ",
            "rb.username AS revoked_by_username ",
            "FROM service_clients k ",
            "LEFT JOIN users cb ON cb.id = k.created_by ",
            "LEFT JOIN users rb ON rb.id = k.revoked_by ",
            "WHERE NOT k.acts_for_users ",
            $tail
        )
    };
}

#[derive(Debug)]
pub struct NewApiKey<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub key_hash: &'a [u8],
    pub key_prefix: &'a str,
    pub scopes: &'a [String],
    pub rate_limit_per_minute: i32,
    pub service_account_id: Uuid,
    pub service_account_username: &'a str,
    pub created_by: Uuid,
}

/// Creates the key and its service account (a user that cannot sign in: it has no password).
pub async fn insert_api_key(conn: &mut PgConnection, new: &NewApiKey<'_>) -> Result<(), DataError> {
    sqlx::query(
        "WITH account AS (
             INSERT INTO users (id, username, password_hash, role)
             VALUES ($7, $8, '!', $9)
             RETURNING id
         )
         INSERT INTO service_clients (id, name, key_hash, key_prefix, scopes,
                                      rate_limit_per_minute, service_account_id, created_by)
         SELECT $1, $2, $3, $4, $5, $6, account.id, $10 FROM account",
    )
    .bind(new.id)
    .bind(new.name)
    .bind(new.key_hash)
    .bind(new.key_prefix)
    .bind(new.scopes)
    .bind(new.rate_limit_per_minute)
    .bind(new.service_account_id)
    .bind(new.service_account_username)
    .bind(Role::Service)
    .bind(new.created_by)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

/// Keys newest first, after the `(created_at, id)` cursor if one is given.
pub async fn list_api_keys(
    conn: &mut PgConnection,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<ApiKeyRow>, DataError> {
    let (after_at, after_id) = after.unzip();
    sqlx::query_as(api_key_query!(
        "AND ($1::timestamptz IS NULL OR (k.created_at, k.id) < ($1, $2))
         ORDER BY k.created_at DESC, k.id DESC LIMIT $3"
    ))
    .bind(after_at)
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await
    .classify()
}

pub async fn lock_api_key(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<ApiKeyRow>, DataError> {
    sqlx::query_as(api_key_query!("AND k.id = $1 FOR UPDATE OF k"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .classify()
}

/// Replaces the key's secret; the previous one keeps working until `previous_valid_until`
/// (pass `None` to stop it at once).
pub async fn rotate_api_key(
    conn: &mut PgConnection,
    id: Uuid,
    key_hash: &[u8],
    key_prefix: &str,
    previous_valid_until: Option<OffsetDateTime>,
) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE service_clients
         SET previous_key_hash = CASE WHEN $4::timestamptz IS NULL THEN NULL ELSE key_hash END,
             previous_valid_until = $4,
             key_hash = $2, key_prefix = $3, rotated_at = now()
         WHERE id = $1 AND NOT acts_for_users AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(key_hash)
    .bind(key_prefix)
    .bind(previous_valid_until)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}

pub async fn revoke_api_key(
    conn: &mut PgConnection,
    id: Uuid,
    revoked_by: Uuid,
) -> Result<(), DataError> {
    sqlx::query(
        "UPDATE service_clients
         SET revoked_at = now(), revoked_by = $2, previous_key_hash = NULL,
             previous_valid_until = NULL
         WHERE id = $1 AND NOT acts_for_users AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(revoked_by)
    .execute(conn)
    .await
    .classify()?;
    Ok(())
}
