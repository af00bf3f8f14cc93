//! The data tier's only doorway: every SQL statement of the bank lives in this crate.
//!
//! Functions take the caller's connection or transaction (`&mut PgConnection`), so the logic
//! tier decides where a unit of work begins and ends and this crate only executes it. Rows come
//! back as plain structs named `…Row`; constraint violations come back as typed [`DataError`]s
//! named after what they mean, never as raw database errors for the caller to pick apart.

pub mod accounts;
pub mod api_keys;
pub mod approvals;
pub mod audit;
pub mod customers;
pub mod drawers;
pub mod error;
pub mod events;
pub mod health;
pub mod holds;
pub mod idempotency;
pub mod limits;
pub mod payees;
pub mod pending;
pub mod pool;
pub mod portal_sessions;
pub mod sessions;
pub mod transfers;
pub mod users;

#[cfg(feature = "test-harness")]
pub mod testing;

pub use error::{DataError, Violation};
pub use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// Opens a savepoint inside the caller's transaction: a failure inside it can be rolled back
/// without aborting the transaction around it.
pub async fn savepoint(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>, DataError> {
    use sqlx::Connection;
    Ok(conn.begin().await?)
}

/// The current transaction's timestamp: what `now()` stamps on every row it writes.
pub async fn transaction_now(conn: &mut PgConnection) -> Result<time::OffsetDateTime, DataError> {
    use error::ClassifyExt;
    sqlx::query_scalar("SELECT now()")
        .fetch_one(conn)
        .await
        .classify()
}

/// Makes the caller's transaction read one snapshot throughout (REPEATABLE READ), so that
/// checks spanning several statements agree with each other. Must come first in the transaction.
pub async fn set_snapshot_isolation(conn: &mut PgConnection) -> Result<(), DataError> {
    use error::ClassifyExt;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(conn)
        .await
        .classify()?;
    Ok(())
}

/// Escapes `%`, `_` and `\` so that `text` matches literally inside a LIKE pattern, and wraps it
/// in `%` so that it matches anywhere.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(super::like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
