//! The pipeline invariants, checked from a pipeline's events (domain layer, not yet wired into
//! the kernel).
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `pipeline.bounded_attempts` | a stage's attempts are numbered 0, 1, 2, … and never more than `max_retries + 1` ("Retry Rules": "3 retries = 4 total attempts"; "Bounded Execution") |
//! | `pipeline.fail_fast` | after a permanent failure no stage attempt starts and the pipeline ends failed ("Fail-Fast: First permanent failure stops pipeline") |
//! | `pipeline.backoff_exact` | retry `k` waits exactly `initial * multiplier^(k-1)` after attempt `k-1` failed retryably, and starts when the wait ends ("Backoff happens BEFORE retry", "Deterministic Timing") |
//! | `pipeline.trace_complete` | the trace has one entry per attempt, and a successful pipeline has entries for every stage ("Trace Completeness", "Execution Trace" contract) |
//! | `pipeline.no_caps_from_cancelled_stage` | capabilities join the pool only from a stage whose attempt just succeeded ("Capability Safety on Cancellation") |
//! | `policy.deny_has_no_effect` | after a policy refusal (Deny, Require, invalid derivation) nothing more runs and the pipeline ends failed ("Capability-safe (no partial leaks on denial)") |
//! | `derive.subset`, `derive.stage_scope_restored` | forwarded to [`crate::derivation::DerivationMonitor`] |

use super::events::PipelineEvent;
use super::{ExecutionTrace, PipelineExecutionResult, PipelineSpec, StageExecutionResult, StageId};
use crate::derivation::{DerivationEvent, DerivationMonitor};
use crate::policy::checks::DENY_HAS_NO_EFFECT;
use crate::rule_check::RuleSink;
use crate::time::Instant;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::vec::Vec;

pub const BOUNDED_ATTEMPTS: &str = "pipeline.bounded_attempts";
pub const FAIL_FAST: &str = "pipeline.fail_fast";
pub const BACKOFF_EXACT: &str = "pipeline.backoff_exact";
pub const TRACE_COMPLETE: &str = "pipeline.trace_complete";
pub const NO_CAPS_FROM_CANCELLED_STAGE: &str = "pipeline.no_caps_from_cancelled_stage";

/// Shadow state of one pipeline execution's invariants.
#[derive(Clone, Debug)]
pub struct PipelineMonitor {
    spec: PipelineSpec,
    next_attempt: BTreeMap<StageId, u32>,
    /// Every attempt that ended, in order.
    ended: Vec<(StageId, u32, Instant, StageExecutionResult)>,
    backoff: Option<(StageId, u32, Instant)>,
    failed: Option<StageId>,
    refused: bool,
    derivation: DerivationMonitor,
}

impl PipelineMonitor {
    pub fn new(spec: &PipelineSpec) -> Self {
        PipelineMonitor {
            spec: spec.clone(),
            next_attempt: BTreeMap::new(),
            ended: Vec::new(),
            backoff: None,
            failed: None,
            refused: false,
            derivation: DerivationMonitor::default(),
        }
    }

    pub fn observe(&mut self, event: &PipelineEvent, sink: &mut dyn RuleSink) {
        match event {
            PipelineEvent::Started { .. } => {}
            PipelineEvent::PolicyChecked { verdict, .. } => self.refused |= verdict.refuses(),
            PipelineEvent::Authority(e) => {
                if let DerivationEvent::Produced { stage, capabilities, .. } = e {
                    let after_success = self.ended.last().is_some_and(|(s, _, _, r)| s == stage && r.is_success());
                    sink.check(NO_CAPS_FROM_CANCELLED_STAGE, after_success, &|| format!("{stage} added {capabilities} to the pool without a successful attempt just before"));
                }
                self.derivation.observe(e, sink);
            }
            PipelineEvent::AttemptStarted { stage, attempt, at, .. } => self.attempt_started(*stage, *attempt, *at, sink),
            PipelineEvent::AttemptEnded { stage, attempt, at, result, .. } => {
                if matches!(result, StageExecutionResult::Failed { .. }) {
                    self.failed = Some(*stage);
                }
                self.ended.push((*stage, *attempt, *at, result.clone()));
            }
            PipelineEvent::BackoffScheduled { stage, retry, from, until, .. } => {
                let policy = self.spec.stage(*stage).map(|s| s.retry_policy).unwrap_or_default();
                let after_retryable = self.ended.last().is_some_and(|(s, a, at, r)| s == stage && a + 1 == *retry && at == from && matches!(r, StageExecutionResult::Retryable { .. }));
                let wait = until.nanos().saturating_sub(from.nanos());
                let expected = policy.backoff_before_retry(*retry).0;
                sink.check(BACKOFF_EXACT, after_retryable && wait == expected, &|| format!("retry {retry} of {stage} waits {wait} ns from {from}; expected {expected} ns right after attempt {} failed retryably", retry.saturating_sub(1)));
                self.backoff = Some((*stage, *retry, *until));
            }
            PipelineEvent::Finished { result, trace_entries, .. } => self.finished(result, *trace_entries, sink),
        }
    }

    fn attempt_started(&mut self, stage: StageId, attempt: u32, at: Instant, sink: &mut dyn RuleSink) {
        sink.check(DENY_HAS_NO_EFFECT, !self.refused, &|| format!("attempt {attempt} of {stage} started after a policy refusal"));
        sink.check(FAIL_FAST, self.failed.is_none(), &|| format!("attempt {attempt} of {stage} started after {:?} failed permanently", self.failed));
        let expected = self.next_attempt.get(&stage).copied().unwrap_or(0);
        let max_retries = self.spec.stage(stage).map_or(0, |s| s.retry_policy.max_retries);
        sink.check(BOUNDED_ATTEMPTS, attempt == expected && attempt <= max_retries, &|| format!("attempt {attempt} of {stage} (expected {expected}, at most {max_retries} retries)"));
        self.next_attempt.insert(stage, attempt.saturating_add(1));
        if attempt > 0 {
            let waited = self.backoff.take();
            sink.check(BACKOFF_EXACT, waited == Some((stage, attempt, at)), &|| format!("retry {attempt} of {stage} started at {at}; the backoff scheduled was {waited:?}"));
        }
    }

    fn finished(&mut self, result: &PipelineExecutionResult, trace_entries: u32, sink: &mut dyn RuleSink) {
        let attempts = self.ended.len();
        let stages_run: BTreeSet<StageId> = self.ended.iter().map(|(s, ..)| *s).collect();
        let all_stages = !matches!(result, PipelineExecutionResult::Success) || stages_run.len() == self.spec.stages.len();
        sink.check(TRACE_COMPLETE, trace_entries as usize == attempts && all_stages, &|| {
            format!("the trace has {trace_entries} entries for {attempts} attempts; {} of {} stages ran, result {result:?}", stages_run.len(), self.spec.stages.len())
        });
        let failed_ok = self.failed.is_none() || matches!(result, PipelineExecutionResult::Failed { .. });
        sink.check(FAIL_FAST, failed_ok, &|| format!("{:?} failed permanently but the pipeline ended {result:?}", self.failed));
        let refused_ok = !self.refused || matches!(result, PipelineExecutionResult::Failed { .. });
        sink.check(DENY_HAS_NO_EFFECT, refused_ok, &|| format!("a policy refused but the pipeline ended {result:?}"));
    }

    /// `pipeline.trace_complete` in detail: the trace's entries are the attempts that ended, in
    /// order, with the same results.
    pub fn check_trace(&self, trace: &ExecutionTrace, sink: &mut dyn RuleSink) {
        let traced: Vec<(StageId, u32, &StageExecutionResult)> = trace.entries.iter().map(|e| (e.stage_id, e.attempt, &e.result)).collect();
        let ended: Vec<(StageId, u32, &StageExecutionResult)> = self.ended.iter().map(|(s, a, _, r)| (*s, *a, r)).collect();
        sink.check(TRACE_COMPLETE, traced == ended, &|| format!("trace entries {traced:?}, attempts {ended:?}"));
    }

    /// Checks every event of an execution, then its trace.
    pub fn check_execution(spec: &PipelineSpec, events: &[PipelineEvent], trace: &ExecutionTrace, sink: &mut dyn RuleSink) {
        let mut monitor = PipelineMonitor::new(spec);
        for e in events {
            monitor.observe(e, sink);
        }
        monitor.check_trace(trace, sink);
    }
}
