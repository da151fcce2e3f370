//! What a stage does in the simulation: the scenario-defined [`StageHandler`] (the seed's stages
//! are services reached by messages; the harness describes their behaviour as data).
//!
//! A handler says how each attempt ends ([`HandlerOutcome`]: succeed, fail permanently, fail
//! retryably, fail N times then succeed), which capabilities a success produces, how many CPU
//! ticks an attempt consumes (charged to the executor's identity before the work, so an exhausted
//! budget cancels the attempt), how long an attempt takes in virtual time (longer than the stage
//! timeout = "sleep past a timeout"), and whether it uses storage (one transaction per attempt,
//! committed only if the attempt's success is accepted, rolled back otherwise).

use super::StageResult;
use crate::storage::ObjectKind;
use crate::time::Duration;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// How each attempt ends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum HandlerOutcome {
    #[default]
    Succeed,
    FailPermanently(String),
    FailRetryably(String),
    /// The first `failures` attempts fail retryably with `error`, the next ones succeed.
    FailTimesThenSucceed { failures: u32, error: String },
}

/// The storage a stage uses: per attempt, one transaction writing `writes` times to the stage's
/// object (created by the first attempt whose transaction commits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageUse {
    pub kind: ObjectKind,
    #[serde(default = "one")]
    pub writes: u32,
    #[serde(default)]
    pub data: String,
}

fn one() -> u32 {
    1
}

/// A stage's behaviour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageHandler {
    #[serde(default)]
    pub outcome: HandlerOutcome,
    /// Capability ids a success produces.
    #[serde(default)]
    pub produces: Vec<u64>,
    /// CPU ticks each attempt consumes.
    #[serde(default)]
    pub cpu_ticks: u64,
    /// Virtual time each attempt takes.
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub storage: Option<StorageUse>,
}

impl StageHandler {
    pub fn succeeding(produces: Vec<u64>) -> Self {
        StageHandler { produces, ..Self::default() }
    }

    pub fn with_outcome(mut self, outcome: HandlerOutcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn with_duration_ms(mut self, ms: u64) -> Self {
        self.duration_ms = ms;
        self
    }

    pub fn with_cpu_ticks(mut self, ticks: u64) -> Self {
        self.cpu_ticks = ticks;
        self
    }

    pub fn with_storage(mut self, storage: StorageUse) -> Self {
        self.storage = Some(storage);
        self
    }

    /// How attempt `attempt` (0 = first) ends.
    pub fn result(&self, attempt: u32) -> StageResult {
        let success = || StageResult::Success { capabilities: self.produces.clone() };
        match &self.outcome {
            HandlerOutcome::Succeed => success(),
            HandlerOutcome::FailPermanently(error) => StageResult::Failure { error: error.clone() },
            HandlerOutcome::FailRetryably(error) => StageResult::Retryable { error: error.clone() },
            HandlerOutcome::FailTimesThenSucceed { failures, error } if attempt < *failures => StageResult::Retryable { error: error.clone() },
            HandlerOutcome::FailTimesThenSucceed { .. } => success(),
        }
    }

    /// How long an attempt takes.
    pub fn duration(&self) -> Duration {
        Duration(self.duration_ms.saturating_mul(1_000_000))
    }
}
