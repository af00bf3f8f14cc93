//! Database errors, classified once here so no other crate inspects SQLSTATEs or constraint names.

/// What went wrong with a statement, in the bank's terms.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The database refused the write because it breaks one of the bank's rules.
    #[error("the database refused the write: {0:?}")]
    Violation(Violation),
    /// Anything else: connection trouble, a failover in progress, or a bug.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// A transient failure met by the transaction this work shared with others (a group of
    /// postings): the work may be run again, as after any other transient failure.
    #[error("a shared transaction failed and may be tried again: {0}")]
    Shared(String),
}

/// A rule the database itself enforces, by the constraint that enforces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// `accounts_balance_above_floor`: the posting would take a balance below its floor.
    BalanceBelowFloor,
    /// `ledger_entries_balanced`: a transfer's entries do not sum to zero.
    UnbalancedTransfer,
    /// `amount_scale_fits_currency`: more decimals than the currency has.
    AmountScale,
    /// An append-only table was asked to change or forget a row.
    AppendOnly,
    /// `accounts_number_key`: the account number is taken.
    AccountNumberTaken,
    /// `users_username_key`: the username is taken.
    UsernameTaken,
    /// `customers_email_key`: another customer has this email address.
    EmailTaken,
    /// `customers_identity_document_key`: another customer has this identity document.
    IdentityDocumentTaken,
    /// `transfers_reverses_key`: the transfer has already been reversed.
    AlreadyReversed,
    /// Any other named constraint.
    Other(String),
}

impl DataError {
    /// Whether the whole unit of work may be retried: the database was unreachable, restarting,
    /// read-only during a failover, or chose this transaction as a deadlock or serialization victim.
    pub fn is_transient(&self) -> bool {
        match self {
            DataError::Violation(_) => false,
            DataError::Sqlx(error) => is_transient(error),
            DataError::Shared(_) => true,
        }
    }

    /// Whether a lock was not granted within the transaction's `lock_timeout`
    /// ([`crate::pool::bound_lock_waits`]).
    pub fn is_lock_timeout(&self) -> bool {
        matches!(self, DataError::Sqlx(sqlx::Error::Database(db))
            if db.code().as_deref() == Some("55P03"))
    }

    /// The violated rule, if the database refused the write for one.
    pub fn violation(&self) -> Option<&Violation> {
        match self {
            DataError::Violation(violation) => Some(violation),
            DataError::Sqlx(_) | DataError::Shared(_) => None,
        }
    }
}

fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_transient_sqlstate(&code)),
        _ => false,
    }
}

/// SQLSTATEs after which the same unit of work can succeed if tried again.
fn is_transient_sqlstate(code: &str) -> bool {
    matches!(
        code,
        "40001" // serialization_failure
            | "40P01" // deadlock_detected
            | "57P01" // admin_shutdown
            | "57P02" // crash_shutdown
            | "57P03" // cannot_connect_now
            | "25006" // read_only_sql_transaction: a standby, or a primary being demoted
            | "25P03" // idle_in_transaction_session_timeout: this process stalled mid-transaction
            | "53300" // too_many_connections
    ) || code.starts_with("08") // connection_exception
}

impl From<&str> for Violation {
    fn from(constraint: &str) -> Self {
        match constraint {
            "accounts_balance_above_floor" => Violation::BalanceBelowFloor,
            "ledger_entries_balanced" => Violation::UnbalancedTransfer,
            "amount_scale_fits_currency" => Violation::AmountScale,
            "accounts_number_key" => Violation::AccountNumberTaken,
            "users_username_key" => Violation::UsernameTaken,
            "customers_email_key" => Violation::EmailTaken,
            "customers_identity_document_key" => Violation::IdentityDocumentTaken,
            "transfers_reverses_key" => Violation::AlreadyReversed,
            other if other.ends_with("_append_only") => Violation::AppendOnly,
            other => Violation::Other(other.to_owned()),
        }
    }
}

/// Turns a constraint violation into [`DataError::Violation`]; everything else stays as it is.
pub(crate) fn classify(error: sqlx::Error) -> DataError {
    if let sqlx::Error::Database(db) = &error {
        let is_violation = db.code().is_some_and(|code| {
            code.starts_with("23") || code == "42501" // integrity violations, insufficient_privilege
        });
        if is_violation && let Some(constraint) = db.constraint() {
            return DataError::Violation(Violation::from(constraint));
        }
    }
    DataError::Sqlx(error)
}

/// `?`-friendly conversion used by every query in this crate.
pub(crate) trait ClassifyExt<T> {
    fn classify(self) -> Result<T, DataError>;
}

impl<T> ClassifyExt<T> for Result<T, sqlx::Error> {
    fn classify(self) -> Result<T, DataError> {
        self.map_err(classify)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_and_concurrency_sqlstates_are_transient() {
        for code in [
            "40001", "40P01", "57P01", "57P02", "57P03", "25006", "25P03", "08006", "08003",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "23514", "42501", "22003"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn constraint_names_map_to_their_rule() {
        assert_eq!(
            Violation::from("accounts_balance_above_floor"),
            Violation::BalanceBelowFloor
        );
        assert_eq!(
            Violation::from("audit_log_append_only"),
            Violation::AppendOnly
        );
        assert_eq!(
            Violation::from("something_else"),
            Violation::Other("something_else".into())
        );
    }
}
