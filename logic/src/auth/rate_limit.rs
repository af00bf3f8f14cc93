//! The per-key rate limit: a generic cell rate algorithm (a token bucket without a timer) over
//! integer nanoseconds. A key with a limit of N per minute may burst up to N requests and then
//! one every 60/N seconds.
//!
//! The state lives in each logic instance's memory: behind a load balancer spreading requests
//! over `k` instances a key gets up to `k` times its limit. That keeps the check off the
//! database; an exact cluster-wide limit would cost a write per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use uuid::Uuid;

const MINUTE_NS: u128 = 60_000_000_000;
/// Keys idle for this long are forgotten, so the table stays as small as the active keys.
const FORGET_AFTER_NS: u128 = 10 * MINUTE_NS;

/// What the limiter decided, with the figures for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_s: u64,
    /// Seconds to wait before the next request can pass (0 when allowed).
    pub retry_after_s: u64,
}

#[derive(Debug)]
pub struct RateLimiter {
    epoch: Instant,
    /// Per key: the theoretical arrival time of the next request, in ns since `epoch`.
    cells: Mutex<HashMap<Uuid, u128>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl RateLimiter {
    pub fn check(&self, key: Uuid, per_minute: u32) -> Decision {
        let now = self.epoch.elapsed().as_nanos();
        self.check_at(key, per_minute, now)
    }

    fn check_at(&self, key: Uuid, per_minute: u32, now: u128) -> Decision {
        let per_minute = per_minute.max(1);
        let interval = MINUTE_NS / u128::from(per_minute);
        let tolerance = MINUTE_NS - interval;
        let mut cells = self
            .cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cells.len() > 10_000 {
            cells.retain(|_, tat| *tat + FORGET_AFTER_NS > now);
        }
        let tat = cells.get(&key).copied().unwrap_or(now).max(now);
        let ceil_s = |ns: u128| u64::try_from(ns.div_ceil(1_000_000_000)).unwrap_or(u64::MAX);
        if tat - now > tolerance {
            let wait = tat - now - tolerance;
            return Decision {
                allowed: false,
                limit: per_minute,
                remaining: 0,
                reset_s: ceil_s(tat - now),
                retry_after_s: ceil_s(wait).max(1),
            };
        }
        let next = tat + interval;
        cells.insert(key, next);
        let remaining = match tolerance.checked_sub(next - now) {
            Some(room) => room / interval + 1,
            None => 0,
        };
        Decision {
            allowed: true,
            limit: per_minute,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset_s: ceil_s(next - now),
            retry_after_s: 0,
        }
    }

    /// Gives back one request of `key` that should not count after all (a sign-in that turned
    /// out to be correct, for the bank-wide sign-in brake).
    pub fn refund(&self, key: Uuid, per_minute: u32) {
        let interval = MINUTE_NS / u128::from(per_minute.max(1));
        let mut cells = self
            .cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(tat) = cells.get_mut(&key) {
            *tat = tat.saturating_sub(interval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_limit_passes_then_one_per_interval() {
        let limiter = RateLimiter::default();
        let key = Uuid::new_v4();
        let start = 1_000 * MINUTE_NS;
        let remaining: Vec<u32> = (0..6)
            .map(|_| limiter.check_at(key, 6, start))
            .map(|d| {
                assert!(d.allowed);
                d.remaining
            })
            .collect();
        assert_eq!(remaining, vec![5, 4, 3, 2, 1, 0]);
        let refused = limiter.check_at(key, 6, start);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_s, 10);
        // Ten seconds later one more request passes, and only one.
        assert!(limiter.check_at(key, 6, start + 10_000_000_000).allowed);
        assert!(!limiter.check_at(key, 6, start + 10_000_000_000).allowed);
    }

    #[test]
    fn a_refunded_request_does_not_count() {
        let limiter = RateLimiter::default();
        let key = Uuid::new_v4();
        let start = 1_000 * MINUTE_NS;
        assert!(limiter.check_at(key, 2, start).allowed);
        assert!(limiter.check_at(key, 2, start).allowed);
        assert!(!limiter.check_at(key, 2, start).allowed);
        limiter.refund(key, 2);
        assert!(limiter.check_at(key, 2, start).allowed);
        assert!(!limiter.check_at(key, 2, start).allowed);
    }

    #[test]
    fn keys_are_limited_separately() {
        let limiter = RateLimiter::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(limiter.check_at(a, 1, 0).allowed);
        assert!(!limiter.check_at(a, 1, 0).allowed);
        assert!(limiter.check_at(b, 1, 0).allowed);
    }
}
