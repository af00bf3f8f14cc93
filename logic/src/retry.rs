//! Retrying a whole unit of work through transient database failures.
//!
//! A failover shows up as lost connections, pool timeouts, admin shutdowns and read-only errors
//! for some seconds. Every money-moving unit of work claims its idempotency key in the same
//! transaction as its postings, so running it again after an unknown outcome either finds the
//! committed result or does the work once: retrying is safe.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// First pause after a transient failure; doubles up to [`BACKOFF_MAX_MS`].
const BACKOFF_FIRST_MS: u64 = 25;
/// Longest pause between attempts: a new primary is noticed within half a second of HAProxy
/// routing to it, while a failover's 20 s of retries stay at two attempts a second per request.
const BACKOFF_MAX_MS: u64 = 500;

/// Runs `unit` until it succeeds, fails for a reason that retrying cannot fix, or `budget_ms`
/// has passed, in which case the client gets a retryable 503.
pub async fn run<T, F, Fut>(budget_ms: u64, mut unit: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let deadline = Instant::now() + Duration::from_millis(budget_ms);
    let mut backoff_ms = BACKOFF_FIRST_MS;
    let mut attempt = 1u32;
    loop {
        match unit().await {
            Err(error) if error.is_transient() => {
                let now = Instant::now();
                if now >= deadline {
                    metrics::counter!("bank_unit_of_work_budget_spent_total").increment(1);
                    tracing::warn!(%error, attempt, "retry budget spent");
                    return Err(ApiError::Unavailable(error.to_string()));
                }
                metrics::counter!("bank_unit_of_work_retries_total").increment(1);
                tracing::info!(%error, attempt, "transient database error; retrying the unit of work");
                let pause = Duration::from_millis(backoff_ms).min(deadline - now);
                tokio::time::sleep(pause).await;
                backoff_ms = (backoff_ms * 2).min(BACKOFF_MAX_MS);
                attempt += 1;
            }
            other => return other,
        }
    }
}
