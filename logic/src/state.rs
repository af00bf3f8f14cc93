//! What every handler shares.

use std::sync::Arc;

use data::PgPool;

use crate::config::Settings;

#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    /// An Argon2id hash of a random password, verified against when a username does not exist so
    /// that unknown users cost the same time as wrong passwords.
    pub dummy_password_hash: Arc<str>,
    /// Per-API-key request budgets of this instance.
    pub rate_limiter: Arc<crate::auth::rate_limit::RateLimiter>,
    /// The bank-wide brake on sign-ins from unknown devices (one key: the nil UUID).
    pub sign_in_brake: Arc<crate::auth::rate_limit::RateLimiter>,
    /// Seals TOTP secrets and keys recovery codes; read from a file outside the database.
    pub server_key: Arc<crate::auth::server_key::ServerKey>,
    /// Where customers' and services' transfers are gathered into shared transactions (see
    /// `crate::group_commit`), started at the first such transfer when group commit is on.
    pub group_commit: Arc<std::sync::OnceLock<crate::pipeline::Pipeline>>,
    /// The record at which this instance last found the audit chain broken, walking it from its
    /// first row (`audit::anchor_from_start`); 0 while it has found none. Until a whole walk
    /// finds the chain whole again, this instance vouches for nothing.
    pub audit_break: Arc<std::sync::atomic::AtomicI64>,
}

impl AppState {
    pub async fn new(pool: PgPool, settings: Settings) -> anyhow::Result<Self> {
        let key_file = settings.server_key_file.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "BANK_SECRETS_KEY_FILE is not set: it names the file holding the server key that \
                 seals second-factor secrets (make one with `openssl rand -hex 32`, mode 0600)"
            )
        })?;
        let server_key = crate::auth::server_key::ServerKey::from_file(key_file)?;
        let dummy = crate::auth::password::hash(crate::auth::secrets::generate("dummy"))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            group_commit: Arc::default(),
            audit_break: Arc::default(),
            pool,
            settings: Arc::new(settings),
            dummy_password_hash: dummy.into(),
            rate_limiter: Arc::default(),
            sign_in_brake: Arc::default(),
            server_key: Arc::new(server_key),
        })
    }
}
