//! API keys for internal services, managed by admins: created with scopes and a rate limit,
//! listed, rotated (optionally keeping the old secret working for a grace period) and revoked.
//! The secret is shown once, at creation or rotation; the bank stores its SHA-256 only. Every
//! change is audited.

use bank_api::ProblemCode;
use data::api_keys::{ApiKeyRow, NewApiKey};
use data::users::Role;
use time::Duration;
use uuid::Uuid;

use crate::auth::SessionUser;
use crate::auth::scopes::Scope;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{ApiKeyResponse, ApiKeySecretResponse};

/// The prefix of every API key's secret, so a leaked one is recognisable in logs and scanners.
const SECRET_PREFIX: &str = "bak";
/// The longest grace period a rotation may leave the previous secret working: a week.
pub const MAX_GRACE_S: i64 = 7 * 24 * 3600;

/// A key asked for, checked.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub rate_limit_per_minute: i32,
}

impl NewKey {
    pub fn parse(
        name: &str,
        scopes: &[Scope],
        rate_limit_per_minute: Option<i32>,
    ) -> Result<Self, ApiError> {
        let name = name.trim();
        let valid = (2..=40).contains(&name.len())
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !valid {
            return Err(ApiError::invalid(
                ProblemCode::InvalidField,
                "name",
                "a key's name is 2 to 40 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
            ));
        }
        if scopes.is_empty() {
            return Err(ApiError::invalid(
                ProblemCode::InvalidField,
                "scopes",
                "a key needs at least one scope",
            ));
        }
        if scopes.contains(&Scope::Unknown) {
            return Err(ApiError::invalid(
                ProblemCode::InvalidField,
                "scopes",
                format!(
                    "a scope is one of {}",
                    Scope::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let rate = rate_limit_per_minute.unwrap_or(600);
        if !(1..=100_000).contains(&rate) {
            return Err(ApiError::invalid(
                ProblemCode::InvalidField,
                "rate_limit_per_minute",
                "the rate limit is 1 to 100000 requests a minute",
            ));
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        Ok(Self {
            name: name.to_owned(),
            scopes,
            rate_limit_per_minute: rate,
        })
    }
}

fn not_found() -> ApiError {
    ApiError::NotFound {
        code: ProblemCode::ApiKeyNotFound,
        detail: "there is no API key with this id",
    }
}

pub fn response(row: &ApiKeyRow) -> ApiKeyResponse {
    ApiKeyResponse {
        id: row.id,
        name: row.name.clone(),
        prefix: row.key_prefix.clone(),
        scopes: row.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        rate_limit_per_minute: row.rate_limit_per_minute,
        service_account: service_account_name(&row.name),
        created_at: row.created_at,
        created_by: row.created_by_username.clone(),
        last_used_at: row.last_used_at,
        rotated_at: row.rotated_at,
        previous_valid_until: row.previous_valid_until,
        revoked_at: row.revoked_at,
        revoked_by: row.revoked_by_username.clone(),
    }
}

fn service_account_name(key_name: &str) -> String {
    format!("svc.{key_name}")
}

/// A fresh secret and the prefix shown in lists.
fn mint() -> (String, String) {
    let secret = crate::auth::secrets::generate(SECRET_PREFIX);
    let prefix: String = secret.chars().take(SECRET_PREFIX.len() + 1 + 8).collect();
    (secret, prefix)
}

fn audit_after(row: &ApiKeyRow) -> Option<serde_json::Value> {
    serde_json::to_value(response(row)).ok()
}

pub async fn create(
    state: &AppState,
    admin: &SessionUser,
    request_id: Option<&str>,
    new: &NewKey,
) -> Result<ApiKeySecretResponse, ApiError> {
    admin.require_role(&[Role::Admin])?;
    let (secret, prefix) = mint();
    let hash = crate::auth::secrets::digest(&secret);
    let scopes: Vec<String> = new.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let username = service_account_name(&new.name);
    let username = &username;
    let scopes = &scopes;
    let prefix = &prefix;
    let hash = &hash;
    let row = crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let id = Uuid::now_v7();
            data::api_keys::insert_api_key(
                &mut *tx,
                &NewApiKey {
                    id,
                    name: &new.name,
                    key_hash: hash,
                    key_prefix: prefix,
                    scopes,
                    rate_limit_per_minute: new.rate_limit_per_minute,
                    service_account_id: Uuid::now_v7(),
                    service_account_username: username,
                    created_by: admin.user_id,
                },
            )
            .await
            .map_err(|e| match e.violation() {
                Some(data::Violation::UsernameTaken) => ApiError::Conflict {
                    code: ProblemCode::ApiKeyNameTaken,
                    detail: format!(
                        "an API key named {} exists or existed; choose another name",
                        new.name
                    ),
                },
                _ => e.into(),
            })?;
            let row = data::api_keys::lock_api_key(&mut *tx, id)
                .await?
                .ok_or_else(not_found)?;
            crate::audit::record(
                &mut *tx,
                Some(admin.user_id),
                request_id,
                crate::audit::Change {
                    action: "api_key.create",
                    subject_type: "api_key",
                    subject_id: id.to_string(),
                    before: None,
                    after: audit_after(&row),
                },
            )
            .await?;
            Ok(row)
        })
    })
    .await?;
    Ok(ApiKeySecretResponse {
        key: response(&row),
        secret,
    })
}

pub async fn list(
    state: &AppState,
    admin: &SessionUser,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<ApiKeyRow>, Option<String>), ApiError> {
    admin.require_role(&[Role::Admin])?;
    let after = cursor.map(crate::cursor::decode_time).transpose()?;
    let rows = crate::unit_of_work::read(state, |conn, _| {
        Box::pin(
            async move { Ok(data::api_keys::list_api_keys(&mut *conn, after, limit + 1).await?) },
        )
    })
    .await?;
    Ok(crate::cursor::page(rows, limit, |row| {
        crate::cursor::encode_time(row.created_at, row.id)
    }))
}

/// What to do to a key.
#[derive(Debug, Clone, Copy)]
pub enum KeyChange {
    /// A new secret; the previous one keeps working for this many seconds (0: stops at once).
    Rotate {
        grace_s: i64,
    },
    Revoke,
}

pub async fn change(
    state: &AppState,
    admin: &SessionUser,
    request_id: Option<&str>,
    id: Uuid,
    change: KeyChange,
) -> Result<(ApiKeyResponse, Option<String>), ApiError> {
    admin.require_role(&[Role::Admin])?;
    if let KeyChange::Rotate { grace_s } = change
        && !(0..=MAX_GRACE_S).contains(&grace_s)
    {
        return Err(ApiError::invalid(
            ProblemCode::InvalidField,
            "grace_seconds",
            format!("the old secret may keep working for 0 to {MAX_GRACE_S} seconds"),
        ));
    }
    let minted = matches!(change, KeyChange::Rotate { .. }).then(mint);
    let minted = &minted;
    let (row, secret) = crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let before = data::api_keys::lock_api_key(&mut *tx, id)
                .await?
                .ok_or_else(not_found)?;
            if before.revoked_at.is_some() {
                return Err(ApiError::Conflict {
                    code: ProblemCode::ApiKeyRevoked,
                    detail: "the key is revoked; create a new one".into(),
                });
            }
            let action = match (change, &minted) {
                (KeyChange::Rotate { grace_s }, Some((secret, prefix))) => {
                    let now = data::transaction_now(&mut *tx).await?;
                    let until = (grace_s > 0).then(|| now + Duration::seconds(grace_s));
                    data::api_keys::rotate_api_key(
                        &mut *tx,
                        id,
                        &crate::auth::secrets::digest(secret),
                        prefix,
                        until,
                    )
                    .await?;
                    "api_key.rotate"
                }
                _ => {
                    data::api_keys::revoke_api_key(&mut *tx, id, admin.user_id).await?;
                    "api_key.revoke"
                }
            };
            let after = data::api_keys::lock_api_key(&mut *tx, id)
                .await?
                .ok_or_else(not_found)?;
            crate::audit::record(
                &mut *tx,
                Some(admin.user_id),
                request_id,
                crate::audit::Change {
                    action,
                    subject_type: "api_key",
                    subject_id: id.to_string(),
                    before: audit_after(&before),
                    after: audit_after(&after),
                },
            )
            .await?;
            Ok((after, minted.as_ref().map(|(secret, _)| secret.clone())))
        })
    })
    .await?;
    Ok((response(&row), secret))
}
