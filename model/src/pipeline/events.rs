//! What a pipeline executor did, in order: the observation stream of a pipeline execution (input
//! of [`super::checks`] and of the trace hash once wired in).

use super::{PipelineExecutionResult, PipelineId, StageExecutionResult, StageId};
use crate::derivation::DerivationEvent;
use crate::policy::PolicyEvent;
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// What an enforcement point made of a policy decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Verdict {
    Allowed,
    Denied,
    Required,
    /// The policy allowed with a derived authority that was not a subset.
    InvalidDerivation,
    /// Recorded only (`OnPipelineStageEnd`).
    Observed,
}

impl Verdict {
    /// Whether the operation was refused.
    pub fn refuses(self) -> bool {
        matches!(self, Verdict::Denied | Verdict::Required | Verdict::InvalidDerivation)
    }
}

/// One step of a pipeline execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PipelineEvent {
    Started { pipeline: PipelineId, at: Instant },
    /// A policy was evaluated at `event` (for `stage`, or the pipeline if `None`).
    PolicyChecked { pipeline: PipelineId, stage: Option<StageId>, event: PolicyEvent, verdict: Verdict },
    /// The execution's authority changed.
    Authority(DerivationEvent),
    AttemptStarted { pipeline: PipelineId, stage: StageId, attempt: u32, at: Instant },
    AttemptEnded { pipeline: PipelineId, stage: StageId, attempt: u32, at: Instant, result: StageExecutionResult, capabilities_out: Vec<u64> },
    /// Retry `retry` of `stage` waits from `from` until `until`.
    BackoffScheduled { pipeline: PipelineId, stage: StageId, retry: u32, from: Instant, until: Instant },
    /// The pipeline ended; the trace holds `trace_entries` entries.
    Finished { pipeline: PipelineId, at: Instant, result: PipelineExecutionResult, trace_entries: u32 },
}

impl PipelineEvent {
    pub fn pipeline(&self) -> PipelineId {
        use crate::derivation::DerivationEvent as D;
        match self {
            PipelineEvent::Started { pipeline, .. }
            | PipelineEvent::PolicyChecked { pipeline, .. }
            | PipelineEvent::AttemptStarted { pipeline, .. }
            | PipelineEvent::AttemptEnded { pipeline, .. }
            | PipelineEvent::BackoffScheduled { pipeline, .. }
            | PipelineEvent::Finished { pipeline, .. } => *pipeline,
            PipelineEvent::Authority(
                D::PipelineDerived { pipeline, .. } | D::StageEntered { pipeline, .. } | D::Produced { pipeline, .. } | D::StageLeft { pipeline, .. } | D::Rejected { pipeline, .. },
            ) => *pipeline,
        }
    }
}

impl Fold for PipelineEvent {
    /// Tags are stable; new variants take new tags.
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            PipelineEvent::Started { pipeline, at } => {
                h.tag(0, pipeline.0);
                h.word(at.nanos());
            }
            PipelineEvent::PolicyChecked { pipeline, stage, event, verdict } => {
                h.tag(1, pipeline.0);
                stage.map(|s| u64::from(s.0)).fold(h);
                h.word(((*event as u64) << 8) | *verdict as u64);
            }
            PipelineEvent::Authority(e) => {
                h.tag(2, 0);
                e.fold(h);
            }
            PipelineEvent::AttemptStarted { pipeline, stage, attempt, at } => {
                h.tag(3, pipeline.0);
                h.word((u64::from(stage.0) << 32) | u64::from(*attempt));
                h.word(at.nanos());
            }
            PipelineEvent::AttemptEnded { pipeline, stage, attempt, at, result, capabilities_out } => {
                h.tag(4, pipeline.0);
                h.word((u64::from(stage.0) << 32) | u64::from(*attempt));
                h.word(at.nanos());
                result.fold(h);
                h.word(capabilities_out.len() as u64);
                capabilities_out.iter().for_each(|c| h.word(*c));
            }
            PipelineEvent::BackoffScheduled { pipeline, stage, retry, from, until } => {
                h.tag(5, pipeline.0);
                h.word((u64::from(stage.0) << 32) | u64::from(*retry));
                h.word(from.nanos());
                h.word(until.nanos());
            }
            PipelineEvent::Finished { pipeline, at, result, trace_entries } => {
                h.tag(6, pipeline.0);
                h.word(at.nanos());
                h.word(u64::from(*trace_entries));
                result.fold(h);
            }
        }
    }
}
