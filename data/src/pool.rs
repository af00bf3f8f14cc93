//! Connecting to PostgreSQL and bringing its schema up to date.

use std::time::Duration;

use sqlx::PgPool;

use crate::error::{ClassifyExt, DataError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

/// The schema, embedded at build time from the repository's `migrations/` folder.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// How a pool reaches the database and how much of it one process may use.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub connections_max: u32,
    /// How long a request may wait for a connection before the attempt counts as failed (and is
    /// retried by the caller's budget). Short, so a dead endpoint is noticed quickly.
    pub acquire_timeout_ms: u64,
    /// How long PostgreSQL lets one of this pool's sessions sit inside a transaction without
    /// sending its next statement before it ends the session and rolls the transaction back.
    /// A logic instance that freezes (a stop-the-world pause, a stalled host) mid-transaction
    /// would otherwise hold its row locks, and every transfer touching those accounts would wait
    /// for it to wake. No unit of work pauses this long between statements on purpose.
    pub idle_in_transaction_timeout_ms: u64,
}

impl Default for PoolSettings {
    fn default() -> Self {
        // Twenty connections saturate a two-core PostgreSQL; more only queue inside it.
        Self {
            connections_max: 20,
            acquire_timeout_ms: 2_000,
            idle_in_transaction_timeout_ms: 2_000,
        }
    }
}

/// A pool that connects lazily, so a process can start while the database is still coming up.
pub fn connect_lazy(url: &str, settings: &PoolSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    let options = options.options([
        (
            "idle_in_transaction_session_timeout",
            settings.idle_in_transaction_timeout_ms.to_string(),
        ),
        // Never a statement timeout, whatever the role or database says: a COMMIT cancelled
        // while it waits for the synchronous standby reports success with only a warning, for
        // a transaction the standby may not have. Units of work are bounded by the retry budget.
        ("statement_timeout", "0".to_owned()),
    ]);
    Ok(PgPoolOptions::new()
        .max_connections(settings.connections_max)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .test_before_acquire(false)
        .connect_lazy_with(options.application_name("bank-logic")))
}

/// Whether a database URL makes the client check the server's certificate and name
/// (`sslmode=verify-full`), as the URL's parser reads it: an unparsable URL does not.
pub fn verifies_server(url: &str) -> bool {
    url.parse::<PgConnectOptions>()
        .is_ok_and(|options| matches!(options.get_ssl_mode(), PgSslMode::VerifyFull))
}

/// Applies every migration not yet applied.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Bounds how long the current transaction waits for any one lock (`SET LOCAL lock_timeout`):
/// past it, the statement fails with a lock timeout ([`crate::DataError::is_lock_timeout`]).
pub async fn bound_lock_waits(conn: &mut sqlx::PgConnection, ms: u32) -> Result<(), DataError> {
    sqlx::query("SELECT set_config('lock_timeout', $1, true)")
        .bind(format!("{ms}ms"))
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::verifies_server;

    #[test]
    fn only_verify_full_checks_the_server() {
        let base = "postgres://bank@db.bank.internal:5432/bank";
        assert!(verifies_server(&format!(
            "{base}?sslmode=verify-full&sslrootcert=/ca.crt"
        )));
        for weaker in [
            "",
            "?sslmode=require",
            "?sslmode=verify-ca",
            "?sslmode=prefer",
        ] {
            assert!(!verifies_server(&format!("{base}{weaker}")), "{weaker}");
        }
        // The words elsewhere in the URL are not the setting.
        assert!(!verifies_server(&format!(
            "{base}?application_name=sslmode=verify-full"
        )));
        assert!(!verifies_server("not a url sslmode=verify-full"));
    }
}
