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
}

impl AppState {
    pub async fn new(pool: PgPool, settings: Settings) -> anyhow::Result<Self> {
        let dummy = crate::auth::password::hash(crate::auth::secrets::generate("dummy"))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            pool,
            settings: Arc::new(settings),
            dummy_password_hash: dummy.into(),
            rate_limiter: Arc::default(),
        })
    }
}
