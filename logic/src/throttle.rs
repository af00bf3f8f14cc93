//! Counted checks: every password or second-factor code is counted against its key (a username,
//! a source address, a device, an account's codes) before it is checked, in a transaction of its
//! own, and a key that failed too often in the window is locked for a time that doubles with every
//! failure past the limit.

use bank_api::ProblemCode;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Failed sign-ins allowed per username in the window before it is locked: enough for typos.
pub const FAILURES_BEFORE_LOCK: i32 = 5;
/// Failed sign-ins allowed per source address in the window: a person mistyping never comes near
/// it; one client trying a password against many usernames (spraying) does.
pub const SOURCE_FAILURES_BEFORE_LOCK: i32 = 20;
/// Wrong second-factor codes allowed per account in the window, whatever the challenge.
pub const SECOND_FACTOR_FAILURES_BEFORE_LOCK: i32 = 10;
/// Failures older than this are forgotten: fifteen minutes.
pub const FAILURE_WINDOW_S: i64 = 900;
/// The first lock, doubled for every failure past the limit.
pub const LOCK_FIRST_S: i64 = 30;
/// The longest lock: fifteen minutes, long enough to make guessing hopeless.
pub const LOCK_MAX_S: i64 = 900;

pub(crate) fn throttled(retry_after_s: u64) -> ApiError {
    ApiError::TooManyRequests {
        code: ProblemCode::SignInThrottled,
        detail: "too many failed sign-ins for this username or from this address; wait before trying again",
        retry_after_s,
    }
}

/// Counts one check of `key` (a username, or [`second_factor_key`]) before it is made, in a
/// transaction of its own: a signed-in session re-proving who it is (changing the password,
/// replacing the second factor) is throttled like a sign-in, so a stolen token buys no guesses.
pub async fn take_check(state: &AppState, key: &str, limit: i32) -> Result<(), ApiError> {
    let wait_s = crate::unit_of_work::write(state, |tx, _| {
        Box::pin(async move {
            let wait_s = take_attempt(&mut *tx, key, limit).await?;
            Ok(wait_s)
        })
    })
    .await?;
    match wait_s {
        Some(wait_s) => Err(throttled(wait_s)),
        None => Ok(()),
    }
}

/// Forgets `key`'s counted checks after one succeeded.
pub async fn clear_checks(state: &AppState, key: &str) -> Result<(), ApiError> {
    crate::unit_of_work::read(state, |conn, _| {
        Box::pin(async move { Ok(data::users::clear_sign_in_failures(&mut *conn, key).await?) })
    })
    .await
}

/// The throttle's key for an account's second-factor codes.
pub fn second_factor_key(user_id: Uuid) -> String {
    format!("second-factor:{user_id}")
}

/// Takes one attempt for `key` before its check; the seconds to wait if the key is locked. The
/// attempt that reaches `limit` locks the key before it is checked.
pub(crate) async fn take_attempt(
    tx: &mut data::PgConnection,
    key: &str,
    limit: i32,
) -> Result<Option<u64>, ApiError> {
    match data::users::take_sign_in_attempt(tx, key, FAILURE_WINDOW_S).await? {
        None => {
            let until = data::users::sign_in_locked_until(tx, key).await?;
            let wait_s = until.map_or(1, |until| {
                (until - OffsetDateTime::now_utc()).whole_seconds().max(1)
            });
            Ok(Some(u64::try_from(wait_s).unwrap_or(1)))
        }
        Some(attempt) => {
            if let Some(lock_s) = lock_seconds(attempt, limit) {
                let until = OffsetDateTime::now_utc() + Duration::seconds(lock_s);
                data::users::lock_sign_in(tx, key, until).await?;
                tracing::warn!(attempt, lock_s, "sign-ins locked after repeated attempts");
            }
            Ok(None)
        }
    }
}

/// How long to lock a key at its `attempt`-th attempt in the window, if at all: from the
/// `limit`-th on, before that attempt is checked.
pub fn lock_seconds(attempt: i32, limit: i32) -> Option<i64> {
    let past = attempt - limit;
    if past < 0 {
        return None;
    }
    let factor = 1i64
        .checked_shl(u32::try_from(past).unwrap_or(u32::MAX))
        .unwrap_or(i64::MAX);
    Some(LOCK_FIRST_S.saturating_mul(factor).min(LOCK_MAX_S))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_grow_from_the_fifth_failure_and_stop_at_the_maximum() {
        assert_eq!(lock_seconds(4, FAILURES_BEFORE_LOCK), None);
        assert_eq!(lock_seconds(5, FAILURES_BEFORE_LOCK), Some(30));
        assert_eq!(lock_seconds(6, FAILURES_BEFORE_LOCK), Some(60));
        assert_eq!(lock_seconds(9, FAILURES_BEFORE_LOCK), Some(480));
        assert_eq!(lock_seconds(10, FAILURES_BEFORE_LOCK), Some(900));
        assert_eq!(lock_seconds(1_000, FAILURES_BEFORE_LOCK), Some(900));
    }
}
