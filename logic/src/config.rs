//! Settings, read once at start-up from defaults overridden by `BANK_*` environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};

/// A value that must never reach a log line.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// The writable endpoint: the primary, directly or through HAProxy.
    pub database_url: Secret,
    pub listen_addr: SocketAddr,
    pub database: data::pool::PoolSettings,
    /// How long one request may keep retrying a unit of work through transient database errors
    /// before it answers 503. Thirty seconds covers a Patroni failover (about 20 s here).
    pub retry_budget_ms: u64,
    /// How long a sign-in session lives, however active it is: eight hours, a working day.
    pub session_ttl_s: i64,
    /// How long a session survives without being used: fifteen minutes, the usual for banking.
    pub session_idle_s: i64,
    /// How long an approval request waits for a supervisor before it expires: a working day.
    pub approval_ttl_s: i64,
    pub log_json: bool,
    /// Patroni REST endpoints of the database nodes, for the cluster page; empty when the
    /// database is a single server.
    pub patroni_urls: Vec<String>,
    /// The certificate authority whose certificates the data tier's HTTPS endpoints (Patroni's
    /// REST API) must present; without it, the system's roots.
    pub ca_file: Option<PathBuf>,
    /// How `serve` listens.
    pub listen: Listen,
    /// The file holding the server key that seals second-factor secrets and keys the recovery
    /// codes' HMAC (`BANK_SECRETS_KEY_FILE`), outside the database; needed to serve.
    pub server_key_file: Option<PathBuf>,
    /// Where this instance keeps the newest audit record it vouched for (`audit::anchor`), off
    /// the database; none: it builds on the database's checkpoints alone.
    pub audit_anchor_file: Option<PathBuf>,
    /// The bank-wide brake on password spraying: password checks per minute, per instance, for
    /// sign-ins from devices not known to the user (a correct password gives its check back).
    pub sign_in_unknown_device_checks_per_minute: u32,
    /// Staff must have a second factor (`BANK_STAFF_SECOND_FACTOR=required`, the default): a
    /// member of staff without one may only enrol one (and replace a password someone else
    /// set) until they have.
    pub staff_second_factor_required: bool,
    /// How postings are gathered into shared transactions (`BANK_GROUP_COMMIT*`).
    pub group_commit: GroupCommit,
}

/// Group commit: customers' and services' transfers that arrive together are posted in one
/// transaction (see `crate::group_commit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// `BANK_GROUP_COMMIT=on` (the default) or `off`, where every transfer is its own transaction.
    pub enabled: bool,
    /// How long the first request of a group waits for others to join it
    /// (`BANK_GROUP_COMMIT_WINDOW_US`): 1 ms, a fraction of a synchronous commit's round trip.
    pub window_us: u64,
    /// The most requests in one group (`BANK_GROUP_COMMIT_MAX_BATCH`): 100, one atomic batch's
    /// worth, so that locks stay held for milliseconds.
    pub max_batch: usize,
    /// Groups under way at once per instance (`BANK_GROUP_COMMIT_WORKERS`): 1, because groups
    /// touching the same accounts queue on their locks anyway; while one commits, the next
    /// group gathers in the queue, and is the larger for it.
    pub workers: usize,
}

impl Default for GroupCommit {
    fn default() -> Self {
        Self {
            enabled: true,
            window_us: 1_000,
            max_batch: 100,
            workers: 1,
        }
    }
}

impl GroupCommit {
    fn from_env() -> Result<Self> {
        let defaults = Self::default();
        let enabled = match env_or::<String>("BANK_GROUP_COMMIT", "on")?.as_str() {
            "on" => true,
            "off" => false,
            other => anyhow::bail!("BANK_GROUP_COMMIT is \"{other}\"; it is \"on\" or \"off\""),
        };
        let knobs = Self {
            enabled,
            window_us: env_or(
                "BANK_GROUP_COMMIT_WINDOW_US",
                &defaults.window_us.to_string(),
            )?,
            max_batch: env_or(
                "BANK_GROUP_COMMIT_MAX_BATCH",
                &defaults.max_batch.to_string(),
            )?,
            workers: env_or("BANK_GROUP_COMMIT_WORKERS", &defaults.workers.to_string())?,
        };
        if knobs.window_us > 100_000
            || !(1..=1_000).contains(&knobs.max_batch)
            || !(1..=64).contains(&knobs.workers)
        {
            anyhow::bail!(
                "BANK_GROUP_COMMIT_WINDOW_US is at most 100000, BANK_GROUP_COMMIT_MAX_BATCH 1 to 1000 \
                 and BANK_GROUP_COMMIT_WORKERS 1 to 64"
            );
        }
        Ok(knobs)
    }
}

/// How the API is served: over HTTPS with this certificate (chain) and private key, or over plain
/// HTTP, which only an explicit development flag allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Https {
        cert_file: PathBuf,
        key_file: PathBuf,
    },
    PlainHttpForDevelopment,
    /// Neither a certificate nor the development flag: `serve` refuses to start.
    Unconfigured,
}

impl Listen {
    /// From `PREFIX_TLS_CERT_FILE`, `PREFIX_TLS_KEY_FILE` and `PREFIX_DEV_PLAIN_HTTP=1`.
    pub fn from_env(prefix: &str) -> Result<Self> {
        Self::from_lookup(prefix, |name| std::env::var(name).ok())
    }

    fn from_lookup(prefix: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| lookup(&format!("{prefix}_{name}"));
        match (var("TLS_CERT_FILE"), var("TLS_KEY_FILE")) {
            (Some(cert_file), Some(key_file)) => Ok(Self::Https {
                cert_file: cert_file.into(),
                key_file: key_file.into(),
            }),
            (None, None) if var("DEV_PLAIN_HTTP").as_deref() == Some("1") => {
                Ok(Self::PlainHttpForDevelopment)
            }
            (None, None) => Ok(Self::Unconfigured),
            _ => anyhow::bail!(
                "{prefix}_TLS_CERT_FILE and {prefix}_TLS_KEY_FILE are set together or not at all"
            ),
        }
    }
}

impl Settings {
    pub fn from_env() -> Result<Self> {
        let defaults = data::pool::PoolSettings::default();
        Ok(Self {
            database_url: Secret::new(
                std::env::var("BANK_DATABASE_URL").context("BANK_DATABASE_URL is not set")?,
            ),
            listen_addr: env_or("BANK_LISTEN_ADDR", "127.0.0.1:8081")?,
            database: data::pool::PoolSettings {
                connections_max: env_or(
                    "BANK_DB_CONNECTIONS_MAX",
                    &defaults.connections_max.to_string(),
                )?,
                acquire_timeout_ms: env_or(
                    "BANK_DB_ACQUIRE_TIMEOUT_MS",
                    &defaults.acquire_timeout_ms.to_string(),
                )?,
                idle_in_transaction_timeout_ms: env_or(
                    "BANK_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
                    &defaults.idle_in_transaction_timeout_ms.to_string(),
                )?,
            },
            retry_budget_ms: env_or("BANK_RETRY_BUDGET_MS", "30000")?,
            session_ttl_s: env_or("BANK_SESSION_TTL_S", "28800")?,
            session_idle_s: env_or("BANK_SESSION_IDLE_S", "900")?,
            approval_ttl_s: env_or("BANK_APPROVAL_TTL_S", "28800")?,
            log_json: env_or::<String>("BANK_LOG_FORMAT", "text")? == "json",
            patroni_urls: std::env::var("BANK_PATRONI_URLS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|url| !url.is_empty())
                .map(|url| url.trim_end_matches('/').to_owned())
                .collect(),
            ca_file: std::env::var("BANK_CA_FILE").ok().map(PathBuf::from),
            listen: Listen::from_env("BANK")?,
            sign_in_unknown_device_checks_per_minute: env_or(
                "BANK_SIGN_IN_UNKNOWN_DEVICE_CHECKS_PER_MINUTE",
                "300",
            )?,
            server_key_file: std::env::var("BANK_SECRETS_KEY_FILE")
                .ok()
                .map(PathBuf::from),
            audit_anchor_file: std::env::var("BANK_AUDIT_ANCHOR_FILE")
                .ok()
                .map(PathBuf::from),
            staff_second_factor_required: match env_or::<String>(
                "BANK_STAFF_SECOND_FACTOR",
                "required",
            )?
            .as_str()
            {
                "required" => true,
                "optional" => false,
                other => anyhow::bail!(
                    "BANK_STAFF_SECOND_FACTOR is \"{other}\"; it is \"required\" or \"optional\""
                ),
            },
            group_commit: GroupCommit::from_env()?,
        })
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: &str) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let value = std::env::var(name).unwrap_or_else(|_| default.to_owned());
    value
        .parse()
        .with_context(|| format!("{name}={value:?} is not valid"))
}

#[cfg(test)]
mod tests {
    use super::Listen;

    fn listen(vars: &[(&str, &str)]) -> anyhow::Result<Listen> {
        Listen::from_lookup("BANK", |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn https_needs_both_files_and_plain_http_the_explicit_flag() {
        assert_eq!(
            listen(&[
                ("BANK_TLS_CERT_FILE", "c.pem"),
                ("BANK_TLS_KEY_FILE", "k.pem")
            ])
            .unwrap(),
            Listen::Https {
                cert_file: "c.pem".into(),
                key_file: "k.pem".into()
            }
        );
        assert_eq!(listen(&[]).unwrap(), Listen::Unconfigured);
        assert_eq!(
            listen(&[("BANK_DEV_PLAIN_HTTP", "yes")]).unwrap(),
            Listen::Unconfigured
        );
        assert_eq!(
            listen(&[("BANK_DEV_PLAIN_HTTP", "1")]).unwrap(),
            Listen::PlainHttpForDevelopment
        );
        assert!(listen(&[("BANK_TLS_CERT_FILE", "c.pem")]).is_err());
        // A certificate half configured is an error even with the flag: never a silent downgrade.
        assert!(listen(&[("BANK_TLS_KEY_FILE", "k.pem"), ("BANK_DEV_PLAIN_HTTP", "1")]).is_err());
    }
}
