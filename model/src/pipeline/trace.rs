//! Stage results and the execution trace (interface reference, "Failure Propagation", "Execution
//! Trace"; architecture Phase 6, "Result Types").
//!
//! Trace properties and contract, as the seed states them (`pipeline.trace_complete`):
//! - one entry per execution attempt, retries included;
//! - timestamps are virtual time (deterministic);
//! - capability ids, not capabilities: `capabilities_in` are the ids the stage required,
//!   `capabilities_out` the ids it produced (only on success);
//! - a successful pipeline has entries for all stages, a failed one up to the failure point.
//!
//! Choices where the seed is silent: times are kept in nanoseconds (`start`, `end`;
//! `start_time_ms()`/`end_time_ms()` give the seed's milliseconds); a failure or cancellation
//! before the first stage (policy refusal at pipeline start) has no stage name; the output payload
//! of a success is not modelled, only its capabilities.

use super::{PipelineId, StageId};
use crate::cancellation::CancellationReason;
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// What one attempt of a stage returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StageResult {
    /// The stage succeeded and produced these capabilities.
    Success { capabilities: Vec<u64> },
    /// Permanent failure: the pipeline stops (fail-fast).
    Failure { error: String },
    /// Transient failure: retried according to the stage's policy.
    Retryable { error: String },
    /// The stage stopped because it was cancelled (distinct from failure: never retried).
    Cancelled { reason: CancellationReason },
}

/// How an attempt ended, as the trace records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StageExecutionResult {
    Success,
    Failed { error: String },
    Retryable { error: String },
    Cancelled { reason: CancellationReason },
}

impl StageExecutionResult {
    pub fn is_success(&self) -> bool {
        matches!(self, StageExecutionResult::Success)
    }
}

impl Fold for StageExecutionResult {
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            StageExecutionResult::Success => h.tag(0, 0),
            StageExecutionResult::Failed { error } => {
                h.tag(1, 0);
                h.str(error);
            }
            StageExecutionResult::Retryable { error } => {
                h.tag(2, 0);
                h.str(error);
            }
            StageExecutionResult::Cancelled { reason } => {
                h.tag(3, 0);
                reason.fold(h);
            }
        }
    }
}

/// How the pipeline ended (or that it has not yet).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PipelineExecutionResult {
    #[default]
    InProgress,
    Success,
    Failed { stage_name: Option<String>, error: String },
    Cancelled { stage_name: Option<String>, reason: CancellationReason },
}

impl Fold for PipelineExecutionResult {
    fn fold(&self, h: &mut TraceHasher) {
        let name = |h: &mut TraceHasher, n: &Option<String>| match n {
            None => h.word(0),
            Some(s) => {
                h.word(1);
                h.str(s);
            }
        };
        match self {
            PipelineExecutionResult::InProgress => h.tag(0, 0),
            PipelineExecutionResult::Success => h.tag(1, 0),
            PipelineExecutionResult::Failed { stage_name, error } => {
                h.tag(2, 0);
                name(h, stage_name);
                h.str(error);
            }
            PipelineExecutionResult::Cancelled { stage_name, reason } => {
                h.tag(3, 0);
                name(h, stage_name);
                reason.fold(h);
            }
        }
    }
}

/// One attempt of one stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTraceEntry {
    pub stage_id: StageId,
    pub stage_name: String,
    pub start: Instant,
    pub end: Instant,
    /// 0 = first attempt, 1+ = retries.
    pub attempt: u32,
    pub result: StageExecutionResult,
    pub capabilities_in: Vec<u64>,
    pub capabilities_out: Vec<u64>,
}

impl StageTraceEntry {
    pub fn start_time_ms(&self) -> u64 {
        self.start.nanos() / 1_000_000
    }
    pub fn end_time_ms(&self) -> u64 {
        self.end.nanos() / 1_000_000
    }
}

/// The minimal, test-visible record of one pipeline execution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionTrace {
    pub pipeline_id: PipelineId,
    pub entries: Vec<StageTraceEntry>,
    pub final_result: PipelineExecutionResult,
}

impl ExecutionTrace {
    pub fn new(pipeline_id: PipelineId) -> Self {
        ExecutionTrace { pipeline_id, entries: Vec::new(), final_result: PipelineExecutionResult::InProgress }
    }

    /// The entries of one stage, in attempt order.
    pub fn entries_for(&self, stage: StageId) -> impl Iterator<Item = &StageTraceEntry> {
        self.entries.iter().filter(move |e| e.stage_id == stage)
    }

    pub fn set_final_result(&mut self, result: PipelineExecutionResult) {
        self.final_result = result;
    }
}
