//! Retry policies (interface reference, "Retry Policies"; architecture Phase 5, "Bounded Retry
//! Policies").
//!
//! Retry rules, as the seed states them:
//! - `attempt = 0` is the first attempt (not a retry); `attempt = 1` the first retry;
//! - max retries is inclusive: `max_retries = 3` means 4 attempts in total
//!   (`pipeline.bounded_attempts`);
//! - the backoff happens before the retry, not after the failure, on virtual time;
//! - after the last retry fails the stage fails permanently.
//!
//! Backoff: `backoff_duration(attempt) = initial_backoff_ms * multiplier ^ attempt`, where
//! `attempt` is the attempt that just failed, so the wait before retry `k` (k ≥ 1) is
//! `initial * multiplier^(k-1)`: 100, 200, 400 ms for `exponential_backoff(3, 100)`
//! (`pipeline.backoff_exact`).
//!
//! Departure from the seed: the multiplier is an integer, not an `f64` (the model has no floating
//! point, so the bare-metal build computes the same durations bit for bit). The seed's two
//! multipliers, 1.0 (fixed) and 2.0 (exponential), are integers. Everything saturates: a huge
//! exponent gives `u64::MAX` nanoseconds, never an overflow.

use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// How often and how patiently a stage is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = no retries).
    pub max_retries: u32,
    #[serde(default)]
    pub initial_backoff_ms: u64,
    /// 1 = constant backoff, 2 = doubling.
    #[serde(default = "one")]
    pub backoff_multiplier: u32,
}

fn one() -> u32 {
    1
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::none()
    }
}

impl RetryPolicy {
    /// No retries: any error is final.
    pub const fn none() -> Self {
        RetryPolicy { max_retries: 0, initial_backoff_ms: 0, backoff_multiplier: 1 }
    }

    /// `max_retries` retries, `backoff_ms` before each.
    pub const fn fixed_retries(max_retries: u32, backoff_ms: u64) -> Self {
        RetryPolicy { max_retries, initial_backoff_ms: backoff_ms, backoff_multiplier: 1 }
    }

    /// `max_retries` retries, the backoff doubling from `initial_backoff_ms`.
    pub const fn exponential_backoff(max_retries: u32, initial_backoff_ms: u64) -> Self {
        RetryPolicy { max_retries, initial_backoff_ms, backoff_multiplier: 2 }
    }

    /// Attempts in total: retries + 1.
    pub fn max_attempts(&self) -> u64 {
        u64::from(self.max_retries) + 1
    }

    /// Whether a retry may follow the failure of attempt `attempt`.
    pub fn allows_retry_after(&self, attempt: u32) -> bool {
        attempt < self.max_retries
    }

    /// The seed's formula: `initial_backoff_ms * multiplier ^ attempt`, saturating.
    pub fn backoff_duration(&self, attempt: u32) -> Duration {
        let factor = u64::from(self.backoff_multiplier).saturating_pow(attempt);
        Duration(self.initial_backoff_ms.saturating_mul(factor).saturating_mul(1_000_000))
    }

    /// The wait before retry `retry` (1 = first retry): `backoff_duration(retry - 1)`; zero for 0.
    pub fn backoff_before_retry(&self, retry: u32) -> Duration {
        match retry {
            0 => Duration::ZERO,
            k => self.backoff_duration(k - 1),
        }
    }
}
