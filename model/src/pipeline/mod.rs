//! Typed pipelines (interface reference, "Pipeline Interface" / "Typed Pipeline Composition" with
//! "Pipeline Validation", "Capability Flow", "Failure Propagation", "Retry Policies", "Execution
//! Trace", "Safety Properties", and "Pipeline Policy Enforcement"; architecture Phases 5, 6, 9,
//! 10, 12). Domain layer, not yet wired into the kernel.
//!
//! - [`spec`]: `PipelineSpec`, `StageSpec`, schema ids, validation of the schema chain before
//!   execution (`PipelineError::SchemaMismatch`);
//! - [`retry`]: `RetryPolicy` (none, fixed, exponential) with integer backoff;
//! - [`trace`]: stage results and the `ExecutionTrace`;
//! - [`executor`]: the executor as a pure, deterministic state machine: it takes stage outcomes,
//!   wake-ups, deadlines and cancellations at given virtual times and answers the next action
//!   (start stage N attempt k, wait until T, finished), so the event loop can drive it with events;
//! - [`events`]: what the executor did, in order (input of the checks and the trace hash);
//! - [`handler`]: the scenario-defined behaviour of a stage (`StageHandler`);
//! - [`drive`]: a minimal stand-in for the event loop that runs an executor with handlers to
//!   completion (tests, and the reference for wiring);
//! - [`checks`]: the `pipeline.*` invariants and `policy.deny_has_no_effect`.

pub mod checks;
pub mod drive;
pub mod events;
pub mod executor;
pub mod handler;
pub mod retry;
pub mod spec;
pub mod trace;

pub use events::PipelineEvent;
pub use executor::{Action, AttemptOrder, ExecutorEnv, ExecutorError, PipelineExecutor};
pub use handler::{HandlerOutcome, StageHandler, StorageUse};
pub use retry::RetryPolicy;
pub use spec::{PayloadSchemaId, PipelineError, PipelineSpec, SchemaLink, StageSpec};
pub use trace::{ExecutionTrace, PipelineExecutionResult, StageExecutionResult, StageResult, StageTraceEntry};

use core::fmt;
use serde::{Deserialize, Serialize};

/// A pipeline, named by a number the scenario (or a counter of the event loop) gives it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PipelineId(pub u64);

/// A stage of a pipeline: its position in `PipelineSpec::stages` (0 = first).
///
/// The seed mints a UUID per stage; positions are deterministic, and unique within a pipeline,
/// which is all a stage id is used for (with its `PipelineId`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StageId(pub u32);

impl StageId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for PipelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pipeline#{}", self.0)
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stage#{}", self.0)
    }
}
