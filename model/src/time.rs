//! Virtual time (interface reference, "Time Management"): time is explicit, never ambient.
//!
//! The simulation clock counts nanoseconds in a `u64` and only moves when the event loop takes
//! the next event. There is no wall clock anywhere in the model.

use core::fmt;
use serde::{Deserialize, Serialize};

/// A point in virtual time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Instant(pub u64);

/// A span of virtual time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Duration(pub u64);

impl Instant {
    /// Nanoseconds since the start of the run.
    pub fn nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the end of time.
    pub fn after(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl Duration {
    /// A duration of zero: "do not wait".
    pub const ZERO: Duration = Duration(0);

    /// A duration of `n` microseconds.
    pub const fn from_micros(n: u64) -> Duration {
        Duration(n * 1_000)
    }

    /// A duration of `n` milliseconds.
    pub const fn from_millis(n: u64) -> Duration {
        Duration(n * 1_000_000)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}ms", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}
