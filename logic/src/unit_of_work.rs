//! The unit of work: the one place where a connection is taken, a transaction begun and
//! committed, and a unit that failed for a transient reason run again.
//!
//! A failover shows up as lost connections, pool timeouts, admin shutdowns and read-only errors
//! for some seconds. Every money-moving unit of work claims its idempotency key in the same
//! transaction as its postings, so running it again after an unknown outcome either finds the
//! committed result or does the work once: retrying is safe. A unit runs until it succeeds, fails
//! for a reason that retrying cannot fix, or the retry budget has passed, in which case the
//! client gets a retryable 503.
//!
//! The work is a closure that lends the connection to an async block and boxes it:
//! `|conn| Box::pin(async move { … })` (a boxed future states that it is `Send`, which the
//! compiler cannot yet prove of an async closure's future borrowing the connection).
//!
//! - [`read`] lends the work a connection (autocommit: each statement sees the latest commits).
//! - [`write`] lends it a transaction, committed when the work returns `Ok` and rolled back when
//!   it returns `Err`.

use std::pin::Pin;
use std::time::{Duration, Instant};

use data::PgConnection;

use crate::error::ApiError;
use crate::state::AppState;

/// First pause after a transient failure; doubles up to [`BACKOFF_MAX_MS`].
const BACKOFF_FIRST_MS: u64 = 25;
/// Longest pause between attempts: a new primary is noticed within half a second of HAProxy
/// routing to it, while a failover's 20 s of retries stay at two attempts a second per request.
const BACKOFF_MAX_MS: u64 = 500;

/// One attempt of a unit of work, borrowing the connection it was lent.
pub type Work<'c, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'c>>;

/// Carries the bound that what the work borrows outlives the connection it is lent.
pub struct Scope<'c, 'a>(std::marker::PhantomData<&'c &'a ()>);

/// Runs `work` on a connection of the pool, again after a transient failure.
pub async fn read<'a, T>(
    state: &AppState,
    mut work: impl for<'c> FnMut(&'c mut PgConnection, Scope<'c, 'a>) -> Work<'c, T>,
) -> Result<T, ApiError> {
    let mut retry = Retry::new(state.settings.retry_budget_ms);
    loop {
        let attempt: Result<T, ApiError> = async {
            let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
            work(&mut conn, Scope(std::marker::PhantomData)).await
        }
        .await;
        match attempt {
            Err(error) if error.is_transient() => retry.pause(error).await?,
            done => return done,
        }
    }
}

/// Runs `work` in a transaction, committed if it returns `Ok`; again after a transient failure.
pub async fn write<'a, T>(
    state: &AppState,
    mut work: impl for<'c> FnMut(&'c mut PgConnection, Scope<'c, 'a>) -> Work<'c, T>,
) -> Result<T, ApiError> {
    let mut retry = Retry::new(state.settings.retry_budget_ms);
    loop {
        let attempt: Result<T, ApiError> = async {
            let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
            let value = work(&mut tx, Scope(std::marker::PhantomData)).await?;
            tx.commit().await.map_err(data::DataError::from)?;
            Ok(value)
        }
        .await;
        match attempt {
            Err(error) if error.is_transient() => retry.pause(error).await?,
            done => return done,
        }
    }
}

/// The retry budget of one unit of work, and its backoff.
struct Retry {
    deadline: Instant,
    backoff_ms: u64,
    attempt: u32,
}

impl Retry {
    fn new(budget_ms: u64) -> Self {
        Retry {
            deadline: Instant::now() + Duration::from_millis(budget_ms),
            backoff_ms: BACKOFF_FIRST_MS,
            attempt: 1,
        }
    }

    /// Waits before the next attempt after `error`, or gives the retryable 503 once the budget
    /// is spent.
    async fn pause(&mut self, error: ApiError) -> Result<(), ApiError> {
        let now = Instant::now();
        if now >= self.deadline {
            metrics::counter!("bank_unit_of_work_budget_spent_total").increment(1);
            tracing::warn!(%error, attempt = self.attempt, "retry budget spent");
            return Err(ApiError::Unavailable(error.to_string()));
        }
        metrics::counter!("bank_unit_of_work_retries_total").increment(1);
        tracing::info!(%error, attempt = self.attempt, "transient database error; retrying the unit of work");
        let pause = Duration::from_millis(self.backoff_ms).min(self.deadline - now);
        tokio::time::sleep(pause).await;
        self.backoff_ms = (self.backoff_ms * 2).min(BACKOFF_MAX_MS);
        self.attempt += 1;
        Ok(())
    }
}

/// Runs `unit` as [`read`] and [`write`] run their work, for a unit that manages its own
/// connection (one that must commit part of its work before it decides the rest).
pub async fn retried<T, F, Fut>(budget_ms: u64, mut unit: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut retry = Retry::new(budget_ms);
    loop {
        match unit().await {
            Err(error) if error.is_transient() => retry.pause(error).await?,
            done => return done,
        }
    }
}
