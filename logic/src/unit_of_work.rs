//! The unit of work: the one place where a connection is taken, a transaction begun and
//! committed, and a unit that failed for a transient reason run again.
//!
//! A failover shows up as lost connections, pool timeouts, admin shutdowns and read-only errors
//! for some seconds. Every money-moving unit of work claims its idempotency key in the same
//! transaction as its postings, so running it again after an unknown outcome either finds the
//! committed result or does the work once: retrying is safe. A unit runs until it succeeds, fails
//! for a reason that retrying cannot fix, or the retry budget has passed, in which case the
//! client gets a retryable 503. An attempt still waiting on the database when the budget and a
//! short grace have passed is abandoned and the client gets the same 503: every unit of work
//! answers within [`ATTEMPT_GRACE_MS`] of its budget, inside the balancer's 45 s, whatever the
//! database is doing (a request's units, the gate's and then its own, share one budget:
//! [`within_budget`]). Abandoning does not undo what was sent: a COMMIT already on its way
//! (waiting for the synchronous standby, say) may still complete. That is an unknown outcome
//! like any other, which the idempotency key resolves: a retry under the key waits for it on the
//! key's row and answers from it, and a lookup by key waits for it to settle
//! (`data::idempotency::wait_until_settled`) before it says whether anything moved.
//!
//! The work is a closure that lends the connection to an async block and boxes it:
//! `|conn| Box::pin(async move { … })` (a boxed future states that it is `Send`, which the
//! compiler cannot yet prove of an async closure's future borrowing the connection).
//!
//! - [`read`] lends the work a connection in autocommit: each statement is its own transaction
//!   and sees the latest commits. For reads, and for a write of one statement (a session's
//!   `last_seen_at`, a payee removed); two statements that must hold together use [`write`].
//! - [`write`] lends it a transaction, committed when the work returns `Ok` and rolled back when
//!   it returns `Err`. A unit whose COMMIT went unanswered is not done twice: its receipt, taken
//!   in its transaction, tells the next attempt that it committed.
//! - [`write_once`] is [`write`] for a request under an idempotency key: it claims the key in the
//!   transaction and, if the key already holds this request's answer, returns that answer without
//!   running the work. Otherwise the work gets a [`Ticket`] and must give back the [`Completed`]
//!   that only [`Ticket::complete`] makes, storing the answer in the same transaction as the work:
//!   the compiler, not a habit, holds key, request hash and answer to commit together.

use std::pin::Pin;
use std::time::{Duration, Instant};

use data::PgConnection;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;
use crate::idempotency::{Claimed, Completion, IdempotencyKey, Outcome};
use crate::state::AppState;

/// First pause after a transient failure; doubles up to [`BACKOFF_MAX_MS`].
const BACKOFF_FIRST_MS: u64 = 25;
/// Longest pause between attempts: a new primary is noticed within half a second of HAProxy
/// routing to it, while a failover's 20 s of retries stay at two attempts a second per request.
const BACKOFF_MAX_MS: u64 = 500;

/// How long past the retry budget an attempt already under way may still take (a COMMIT waiting
/// for the synchronous standby, a statement queued behind a lock) before it is abandoned.
pub const ATTEMPT_GRACE_MS: u64 = 5_000;

/// How long a unit's receipt is kept: a day, far past any unit's retry budget.
pub const RECEIPT_KEPT_S: i64 = 86_400;

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
        let attempt: Result<T, ApiError> = retry
            .bounded(async {
                let mut conn = state.pool.acquire().await.map_err(data::DataError::from)?;
                work(&mut conn, Scope(std::marker::PhantomData)).await
            })
            .await;
        match attempt {
            Err(error) if error.is_transient() => retry.pause(error).await?,
            done => return done,
        }
    }
}

/// How one attempt of a [`write`] ended, short of an error.
enum Written<T> {
    /// Committed: its value.
    Committed(T),
    /// Its COMMIT was sent and its answer lost (the connection cut, a failover): it may or may
    /// not have committed.
    Unanswered(T, ApiError),
    /// An earlier attempt committed after all: this one found the unit's receipt taken.
    Earlier,
}

/// Runs `work` in a transaction, committed if it returns `Ok`; again after a transient failure.
///
/// Once at most, though a COMMIT's answer is lost: every attempt first takes the unit's receipt
/// (`unit_receipts`), drawn once for the unit, in its transaction. An attempt that finds it
/// taken knows the attempt before it committed and answers with that attempt's value; the work
/// is not done twice (two holds, two accounts, or "taken" for the name it has just claimed).
/// Keyed units need no receipt: [`write_once`]'s key does the same.
pub async fn write<'a, T>(
    state: &AppState,
    work: impl for<'c> FnMut(&'c mut PgConnection, Scope<'c, 'a>) -> Work<'c, T>,
) -> Result<T, ApiError> {
    written(state, Some(Uuid::now_v7()), work).await
}

/// [`write`] for a unit whose second run after an unnoticed commit of the first is harmless,
/// because it finds nothing left to do or only reads: the feed's sequencer, a check read in one
/// snapshot. It takes no receipt, so it writes nothing when it has nothing to write.
pub async fn write_repeatable<'a, T>(
    state: &AppState,
    work: impl for<'c> FnMut(&'c mut PgConnection, Scope<'c, 'a>) -> Work<'c, T>,
) -> Result<T, ApiError> {
    written(state, None, work).await
}

async fn written<'a, T>(
    state: &AppState,
    receipt: Option<Uuid>,
    mut work: impl for<'c> FnMut(&'c mut PgConnection, Scope<'c, 'a>) -> Work<'c, T>,
) -> Result<T, ApiError> {
    let mut retry = Retry::new(state.settings.retry_budget_ms);
    // The value of the last attempt whose COMMIT went unanswered: the only one that may have
    // committed, since every later attempt that took the receipt proves it did not.
    let mut unanswered: Option<T> = None;
    loop {
        let attempt: Result<Written<T>, ApiError> = retry
            .bounded(async {
                let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
                if let Some(receipt) = receipt
                    && !data::idempotency::take_receipt(&mut tx, receipt).await?
                {
                    return Ok(Written::Earlier);
                }
                let value = work(&mut tx, Scope(std::marker::PhantomData)).await?;
                Ok(match tx.commit().await.map_err(data::DataError::from) {
                    Ok(()) => Written::Committed(value),
                    Err(error) => Written::Unanswered(value, error.into()),
                })
            })
            .await;
        match attempt {
            Ok(Written::Committed(value)) => return Ok(value),
            Ok(Written::Earlier) => {
                return unanswered.ok_or_else(|| {
                    ApiError::Internal("a unit's receipt was taken by no attempt of it".into())
                });
            }
            Ok(Written::Unanswered(value, error)) if error.is_transient() => {
                if let Some(receipt) = receipt {
                    tracing::warn!(%receipt, %error, "a COMMIT went unanswered; its receipt will tell");
                }
                unanswered = Some(value);
                retry.pause(error).await?;
            }
            // Refused at COMMIT (a deferred check): nothing was committed.
            Ok(Written::Unanswered(_, error)) => return Err(error),
            Err(error) if error.is_transient() => retry.pause(error).await?,
            Err(error) => return Err(error),
        }
    }
}

/// An idempotency key claimed by the transaction lent as `&'c mut PgConnection`. Not `Clone`: it
/// is completed once, and only on that transaction (no other borrow of a connection lives as
/// long as `'c`).
#[derive(Debug)]
#[must_use = "the work must complete its ticket"]
pub struct Ticket<'k, 'c> {
    principal: Uuid,
    key: &'k IdempotencyKey,
    now: time::OffsetDateTime,
    transaction: std::marker::PhantomData<&'c ()>,
}

impl<'c> Ticket<'_, 'c> {
    /// The transaction's `now()`, which the answer is stamped with.
    pub fn now(&self) -> time::OffsetDateTime {
        self.now
    }

    /// Stores `body` as the answer to the key, in the transaction the key was claimed in: the
    /// work hands back the connection it was lent, as its last use of it.
    pub async fn complete(
        self,
        conn: &'c mut PgConnection,
        completion: Completion,
        body: Value,
    ) -> Result<Completed, ApiError> {
        data::idempotency::complete(
            conn,
            self.principal,
            self.key.as_str(),
            completion.code(),
            &body,
        )
        .await?;
        Ok(Completed(Outcome {
            completion,
            body,
            replayed: false,
        }))
    }
}

/// Proof that a [`Ticket`] was completed; only [`Ticket::complete`] makes one.
#[derive(Debug)]
pub struct Completed(Outcome);

/// Runs `work` once per `key` of `principal`: in a transaction that claims the key and commits
/// with the answer the work completes its ticket with. The same key with the same request gets
/// the stored answer back (`replayed`); with a different request, 409 `idempotency_key_reused`.
pub async fn write_once<'a>(
    state: &AppState,
    principal: Uuid,
    key: &'a IdempotencyKey,
    request_hash: &[u8],
    mut work: impl for<'c> FnMut(
        &'c mut PgConnection,
        Ticket<'a, 'c>,
        Scope<'c, 'a>,
    ) -> Work<'c, Completed>,
) -> Result<Outcome, ApiError> {
    let mut retry = Retry::new(state.settings.retry_budget_ms);
    loop {
        let attempt: Result<Outcome, ApiError> = retry
            .bounded(async {
                let mut tx = state.pool.begin().await.map_err(data::DataError::from)?;
                let now =
                    match crate::idempotency::claim(&mut tx, principal, key, request_hash).await? {
                        Claimed::Replay(outcome) => return Ok(outcome),
                        Claimed::Fresh(now) => now,
                    };
                let ticket = Ticket {
                    principal,
                    key,
                    now,
                    transaction: std::marker::PhantomData,
                };
                let Completed(outcome) =
                    work(&mut tx, ticket, Scope(std::marker::PhantomData)).await?;
                tx.commit().await.map_err(data::DataError::from)?;
                Ok(outcome)
            })
            .await;
        match attempt {
            Err(error) if error.is_transient() => retry.pause(error).await?,
            done => return done,
        }
    }
}

tokio::task_local! {
    /// When the request being served must be answered by: every unit of work it runs shares it.
    static REQUEST_DEADLINE: Instant;
}

/// Serves `request` under one retry budget for every unit of work it runs (the gate's, then the
/// handler's, …), so that its answer, a retryable 503 included, comes within the budget and
/// [`ATTEMPT_GRACE_MS`], inside the balancer's 45 s. Each unit alone could otherwise spend the
/// whole budget, and two in turn outlast the balancer, whose bare 504 says nothing retryable.
pub async fn within_budget<F: Future>(budget_ms: u64, request: F) -> F::Output {
    let deadline = Instant::now() + Duration::from_millis(budget_ms);
    REQUEST_DEADLINE.scope(deadline, request).await
}

/// The retry budget of one unit of work, and its backoff.
struct Retry {
    deadline: Instant,
    backoff_ms: u64,
    attempt: u32,
}

impl Retry {
    /// `budget_ms` from now, or less: what is left of the request's (see [`within_budget`]).
    fn new(budget_ms: u64) -> Self {
        let own = Instant::now() + Duration::from_millis(budget_ms);
        Retry {
            deadline: REQUEST_DEADLINE
                .try_with(|request| own.min(*request))
                .unwrap_or(own),
            backoff_ms: BACKOFF_FIRST_MS,
            attempt: 1,
        }
    }

    /// Runs one attempt, abandoned with the retryable 503 if it is still waiting once the budget
    /// and [`ATTEMPT_GRACE_MS`] have passed. Dropping it drops its connection mid-statement: the
    /// pool does not take such a connection back until it answers again.
    async fn bounded<T>(
        &self,
        attempt: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let cutoff = self.deadline + Duration::from_millis(ATTEMPT_GRACE_MS);
        match tokio::time::timeout_at(cutoff.into(), attempt).await {
            Ok(result) => result,
            Err(_) => {
                metrics::counter!("bank_unit_of_work_abandoned_total").increment(1);
                tracing::warn!(
                    attempt = self.attempt,
                    "an attempt outlived the retry budget; abandoned"
                );
                Err(ApiError::Unavailable(
                    "the database did not answer within the retry budget".to_owned(),
                ))
            }
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
        match retry.bounded(unit()).await {
            Err(error) if error.is_transient() => retry.pause(error).await?,
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_unit_of_a_request_shares_what_is_left_of_its_budget() {
        let alone = Retry::new(30_000);
        within_budget(30_000, async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let later = Retry::new(30_000);
            assert!(
                later.deadline + Duration::from_millis(150)
                    < Instant::now() + Duration::from_millis(30_000),
                "a unit started later gets only what is left"
            );
            assert!(later.deadline <= alone.deadline + Duration::from_millis(50));
            let short = Retry::new(1_000);
            assert!(
                short.deadline < later.deadline,
                "a unit's own budget still bounds it"
            );
        })
        .await;
        let outside = Retry::new(30_000);
        assert!(
            outside.deadline > alone.deadline,
            "outside a request, a unit has its own"
        );
    }
}
