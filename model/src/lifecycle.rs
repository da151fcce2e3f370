//! Service lifecycle: restart policies and lifecycle states (interface reference, "Service
//! Lifecycle"; "Supervision Rules").
//!
//! The seed lists the transitions `Starting→Running`, `Running→Stopping`, `Stopping→Stopped`,
//! `Running→Failed`, `Failed→Restarting`. The harness also allows `Restarting→Starting` (a
//! restart starts the child again), `Starting→Failed` (the spawn itself failed) and
//! `Stopped→Restarting` (the `Always` policy restarts children that exited normally), which the
//! seed leaves implicit. The seed's supervision example never restarts a normal exit; here
//! `Always` means what it says (as Erlang's `permanent` children do), and `OnFailure` or
//! `ExponentialBackoff` give the example's behaviour. The `lifecycle.valid_transition` invariant checks every
//! transition a supervisor makes against [`LifecycleState::can_become`].

use crate::identity::ExitReason;
use crate::time::Duration;
use serde::{Deserialize, Serialize};

/// When a supervisor restarts a child that ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum RestartPolicy {
    #[default]
    Never,
    Always,
    OnFailure,
    /// Restart after failures with a doubling delay, at most `max_attempts` times.
    ExponentialBackoff { max_attempts: u32 },
}

impl RestartPolicy {
    /// Whether a child that ended for `reason`, already restarted `restarts` times, restarts.
    pub fn should_restart(&self, reason: &ExitReason, restarts: u32) -> bool {
        match self {
            RestartPolicy::Never => false,
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => reason.is_failure(),
            RestartPolicy::ExponentialBackoff { max_attempts } => reason.is_failure() && restarts < *max_attempts,
        }
    }

    /// Delay before restart number `restarts + 1`, given the supervisor's base backoff.
    /// Exponential backoff doubles per attempt (integer math, capped at 2^20 times the base).
    pub fn restart_delay(&self, base: Duration, restarts: u32) -> Duration {
        match self {
            RestartPolicy::ExponentialBackoff { .. } => Duration(base.0.saturating_mul(1u64 << restarts.min(20))),
            _ => base,
        }
    }
}

/// The lifecycle state of a supervised service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LifecycleState {
    Starting,
    Running,
    Stopping,
    Stopped,
    Failed,
    Restarting,
}

impl LifecycleState {
    /// Whether `self → next` is an allowed transition.
    pub fn can_become(self, next: LifecycleState) -> bool {
        use LifecycleState::*;
        matches!(
            (self, next),
            (Starting, Running)
                | (Starting, Failed)
                | (Running, Stopping)
                | (Stopping, Stopped)
                | (Running, Failed)
                | (Failed, Restarting)
                | (Stopped, Restarting)
                | (Restarting, Starting)
        )
    }
}
