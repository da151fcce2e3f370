//! The pipeline executor as a pure, deterministic state machine (interface reference, "Capability
//! Flow", "Failure Propagation", "Retry Policies", "Pipeline Policy Enforcement", Phase 10
//! "Enforcement Flow", Phase 12 "Pipeline Stages"; architecture Phases 5, 6, 9, 10).
//!
//! The executor never waits and never reads a clock: the caller (the event loop, or
//! [`super::drive`]) gives it inputs at virtual times — [`PipelineExecutor::start`],
//! [`PipelineExecutor::on_attempt_outcome`], [`PipelineExecutor::on_wake`],
//! [`PipelineExecutor::on_deadline`], [`PipelineExecutor::on_cancel`] — and it answers the next
//! [`Action`]: start stage N attempt k (with the capabilities the handler may see and the deadline
//! to watch), wait until T, or finished. Inputs that no longer apply (the outcome of an attempt a
//! timeout already cancelled) answer [`Action::Nothing`].
//!
//! Order of checks at pipeline start: cancellation, `OnPipelineStart` policy (Deny / Require →
//! fail; Allow → pipeline-scoped derivation, subset-checked). At each stage start: cancellation
//! (token, exhausted identity) and the pipeline deadline, `OnPipelineStageStart` policy,
//! stage-scoped derivation, required capabilities against the stage authority (missing → fail
//! fast), then one `PipelineStages` unit (policy before budget, as the networking seed orders it;
//! a stage that cannot run consumes nothing). Before each retry: the backoff wait, then
//! cancellation and deadlines again.
//!
//! Rules kept here:
//! - **fail-fast**: the first permanent failure (a `Failure`, a `Retryable` on the last allowed
//!   attempt, a missing capability, a policy refusal) stops the pipeline; no later stage starts
//!   (`pipeline.fail_fast`);
//! - **bounded attempts**: at most `max_retries + 1` attempts per stage (`pipeline.bounded_attempts`);
//! - **exact backoff** before each retry, on virtual time (`pipeline.backoff_exact`);
//! - **trace completeness**: one trace entry per attempt (`pipeline.trace_complete`);
//! - **capability safety**: only a successful stage's capabilities join the pool; a cancelled
//!   attempt's never do, even if its success arrives late (`pipeline.no_caps_from_cancelled_stage`);
//! - **policy refusals have no effect**: after a Deny / Require / invalid derivation nothing more
//!   runs (`policy.deny_has_no_effect`); `OnPipelineStageEnd` is recorded, never enforced;
//! - **cancellation precedes outcome**: an outcome arriving when the token is cancelled or a
//!   deadline has passed (`now >= deadline`) is a cancellation (reason `Timeout` for deadlines),
//!   so the result does not depend on the order the event loop delivers same-instant inputs in;
//! - cancelled is distinct from failed, and never retried; exhaustion of the executor identity's
//!   budget cancels the pipeline (`Custom("Budget exhausted: …")`) and is not retried.
//!
//! Choices where the seed is silent: a stage timeout covers all its attempts and backoffs and
//! starts when the stage starts; the policy is evaluated once per stage (not per attempt); no
//! `OnPipelineStageEnd` is evaluated for a cancelled stage (policy is recorded only for stages that
//! ran to an outcome); a stage given up after its retries fails with the last error and the number
//! of retries.

use super::events::{PipelineEvent, Verdict};
use super::{ExecutionTrace, PipelineError, PipelineExecutionResult, PipelineId, PipelineSpec, StageExecutionResult, StageId, StageResult, StageTraceEntry};
use crate::budget::enforcement::BudgetExhausted;
use crate::budget::ResourceKind;
use crate::budget::enforcement::ResourceLedger;
use crate::bugs::{BugSet, PlantedBug};
use crate::cancellation::{CancellationReason, CancellationToken, Cancellations, Deadline, Timeout};
use crate::derivation::{CapabilitySet, PolicyDerivedAuthorityInvalid, ScopedAuthority};
use crate::identity::IdentityMetadata;
use crate::policy::audit::{PolicyAuditLog, PolicyCheck};
use crate::policy::{PolicyContext, PolicyDecision, PolicyDecisionReport, PolicyEngine, PolicyEvent};
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// What the executor needs from its surroundings for one input.
pub struct ExecutorEnv<'a> {
    pub now: Instant,
    pub cancellations: &'a Cancellations,
    /// `None`: no policy engine, everything is allowed (pre-Phase-9 behaviour).
    pub policy: Option<&'a dyn PolicyEngine>,
    pub policy_audit: &'a mut PolicyAuditLog,
    pub resources: &'a mut ResourceLedger,
}

/// Run stage `stage`, attempt `attempt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptOrder {
    pub pipeline: PipelineId,
    pub stage: StageId,
    pub attempt: u32,
    /// The capabilities the handler may use (pool ∩ authority in force).
    pub capabilities: CapabilitySet,
    /// When the attempt times out, if ever: the caller delivers `on_deadline` then.
    pub deadline: Option<Instant>,
}

/// The executor's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    StartAttempt(AttemptOrder),
    /// Deliver `on_wake` at `until` (a backoff), or `on_deadline` at `deadline` if that is earlier.
    WaitUntil { until: Instant, deadline: Option<Instant> },
    /// The pipeline is over; the trace holds the details.
    Finished(Result<(), ExecutorError>),
    /// The input did not apply (stale or early); nothing changed.
    Nothing,
}

/// Why a pipeline did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutorError {
    SchemaMismatch(PipelineError),
    PolicyDenied { policy: String, event: PolicyEvent, reason: String, pipeline_id: Option<PipelineId> },
    PolicyRequire { policy: String, event: PolicyEvent, action: String, pipeline_id: Option<PipelineId> },
    PolicyDerivedAuthorityInvalid(Box<PolicyDerivedAuthorityInvalid>),
    MissingCapability { stage_name: String, capability: u64 },
    StageFailed { stage_name: String, error: String },
    Cancelled { stage_name: Option<String>, reason: CancellationReason },
    ResourceExhausted(BudgetExhausted),
}

impl fmt::Display for ExecutorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutorError::SchemaMismatch(e) => write!(f, "{e}"),
            ExecutorError::PolicyDenied { policy, event, reason, .. } => write!(f, "DENIED by {policy}: {reason} (event: {event:?})"),
            ExecutorError::PolicyRequire { policy, event, action, .. } => write!(f, "REQUIRES: {action} (policy: {policy}, event: {event:?})"),
            ExecutorError::PolicyDerivedAuthorityInvalid(e) => write!(f, "invalid derived authority: {e}"),
            ExecutorError::MissingCapability { stage_name, capability } => write!(f, "Missing required capability: {capability} (stage {stage_name})"),
            ExecutorError::StageFailed { stage_name, error } => write!(f, "stage {stage_name} failed: {error}"),
            ExecutorError::Cancelled { stage_name, reason } => write!(f, "cancelled at {}: {reason}", stage_name.as_deref().unwrap_or("pipeline start")),
            ExecutorError::ResourceExhausted(e) => write!(f, "{e}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Ready,
    Attempting { stage: StageId, attempt: u32, started: Instant },
    BackingOff { stage: StageId, next_attempt: u32, until: Instant },
    Done,
}

/// One pipeline execution.
pub struct PipelineExecutor {
    spec: PipelineSpec,
    identity: IdentityMetadata,
    token: CancellationToken,
    authority: ScopedAuthority,
    trace: ExecutionTrace,
    phase: Phase,
    pipeline_deadline: Option<Deadline>,
    stage_deadline: Option<Deadline>,
    events: Vec<PipelineEvent>,
    reports: Vec<(PolicyEvent, Option<StageId>, PolicyDecisionReport)>,
    /// Every policy evaluation with its full context, not yet taken (for the invariant monitors).
    checks: Vec<PolicyCheck>,
    outcome: Option<Result<(), ExecutorError>>,
    bugs: BugSet,
}

impl PipelineExecutor {
    /// An executor for `spec` (validated here: an invalid chain never runs), run by `identity`
    /// with the `initial` capabilities, cancelled through `token`.
    pub fn new(spec: PipelineSpec, identity: IdentityMetadata, initial: CapabilitySet, token: CancellationToken, bugs: BugSet) -> Result<Self, ExecutorError> {
        spec.validate().map_err(ExecutorError::SchemaMismatch)?;
        Ok(PipelineExecutor {
            authority: ScopedAuthority::new(spec.id, initial, bugs),
            trace: ExecutionTrace::new(spec.id),
            spec,
            identity,
            token,
            phase: Phase::Ready,
            pipeline_deadline: None,
            stage_deadline: None,
            events: Vec::new(),
            reports: Vec::new(),
            checks: Vec::new(),
            outcome: None,
            bugs,
        })
    }

    pub fn spec(&self) -> &PipelineSpec {
        &self.spec
    }
    pub fn identity(&self) -> &IdentityMetadata {
        &self.identity
    }
    pub fn trace(&self) -> &ExecutionTrace {
        &self.trace
    }
    pub fn authority(&self) -> &ScopedAuthority {
        &self.authority
    }
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }
    /// The result, once finished.
    pub fn outcome(&self) -> Option<&Result<(), ExecutorError>> {
        self.outcome.as_ref()
    }
    /// Every policy report obtained, with the event and stage, in order (the explain output).
    pub fn reports(&self) -> &[(PolicyEvent, Option<StageId>, PolicyDecisionReport)] {
        &self.reports
    }
    /// The events since the last call.
    pub fn take_events(&mut self) -> Vec<PipelineEvent> {
        core::mem::take(&mut self.events)
    }
    /// Every event not yet taken.
    pub fn events(&self) -> &[PipelineEvent] {
        &self.events
    }
    /// The policy evaluations since the last call, each with its full context, in order (one per
    /// `PolicyChecked` event that is not an `InvalidDerivation` verdict).
    pub fn take_policy_checks(&mut self) -> Vec<PolicyCheck> {
        core::mem::take(&mut self.checks)
    }

    // ----- inputs --------------------------------------------------------------------------

    /// Starts the pipeline at `env.now`.
    pub fn start(&mut self, env: &mut ExecutorEnv<'_>) -> Action {
        if self.phase != Phase::Ready {
            return Action::Nothing;
        }
        self.events.push(PipelineEvent::Started { pipeline: self.spec.id, at: env.now });
        self.pipeline_deadline = self.spec.timeout_ms.map(|ms| Timeout::from_millis(ms).to_deadline(env.now));
        if let Some(reason) = self.interruption(env) {
            return self.finish_cancelled(None, reason, env);
        }
        let report = match self.enforce(PolicyEvent::OnPipelineStart, None, env) {
            Ok(report) => report,
            Err(e) => return self.finish_failed(None, e, env),
        };
        if let Some(mut report) = report {
            let before = self.authority.execution().clone();
            let derived = self.authority.derive_for_pipeline(report.derived_proposals());
            self.sync_authority();
            if let Err(e) = derived {
                self.mark_invalid(None);
                return self.finish_failed(None, ExecutorError::PolicyDerivedAuthorityInvalid(e), env);
            }
            report = report.with_capabilities(before, self.authority.execution().clone());
            self.reports.push((PolicyEvent::OnPipelineStart, None, report));
        }
        self.begin_stage(StageId(0), env)
    }

    /// The outcome of `stage` attempt `attempt`, delivered at `env.now`.
    pub fn on_attempt_outcome(&mut self, stage: StageId, attempt: u32, result: StageResult, env: &mut ExecutorEnv<'_>) -> Action {
        let Phase::Attempting { stage: s, attempt: a, started } = self.phase else { return Action::Nothing };
        if (s, a) != (stage, attempt) {
            return Action::Nothing;
        }
        if let Some(reason) = self.interruption(env) {
            self.end_attempt(stage, attempt, started, StageExecutionResult::Cancelled { reason: reason.clone() }, Vec::new(), true, env);
            if let StageResult::Success { capabilities } = &result {
                if self.bugs.has(PlantedBug::CancelledStageCapsCommitted) {
                    self.authority.commit_produced(stage, &capabilities.iter().copied().collect());
                    self.sync_authority();
                }
            }
            return self.finish_cancelled(Some(stage), reason, env);
        }
        match result {
            StageResult::Success { capabilities } => {
                self.end_attempt(stage, attempt, started, StageExecutionResult::Success, capabilities.clone(), true, env);
                self.authority.commit_produced(stage, &capabilities.into_iter().collect());
                self.sync_authority();
                self.complete_stage(stage, env)
            }
            StageResult::Failure { error } => {
                self.end_attempt(stage, attempt, started, StageExecutionResult::Failed { error: error.clone() }, Vec::new(), true, env);
                self.observe_stage_end(stage, env);
                if self.bugs.has(PlantedBug::FailFastIgnored) {
                    return self.next_stage(stage, env);
                }
                let stage_name = self.stage_name(stage);
                self.finish_failed(Some(stage), ExecutorError::StageFailed { stage_name, error }, env)
            }
            StageResult::Retryable { error } => self.retry_or_give_up(stage, attempt, started, error, env),
            StageResult::Cancelled { reason } => {
                self.end_attempt(stage, attempt, started, StageExecutionResult::Cancelled { reason: reason.clone() }, Vec::new(), true, env);
                self.finish_cancelled(Some(stage), reason, env)
            }
        }
    }

    /// A backoff ended at `env.now`.
    pub fn on_wake(&mut self, env: &mut ExecutorEnv<'_>) -> Action {
        let Phase::BackingOff { stage, next_attempt, until } = self.phase else { return Action::Nothing };
        if env.now < until {
            return Action::WaitUntil { until, deadline: self.deadline_instant() };
        }
        if let Some(reason) = self.interruption(env) {
            return self.finish_cancelled(Some(stage), reason, env);
        }
        self.start_attempt(stage, next_attempt, env)
    }

    /// A deadline may have passed at `env.now`. An explicit cancellation at the same instant
    /// wins, as it does for an outcome, so the result does not depend on delivery order.
    pub fn on_deadline(&mut self, env: &mut ExecutorEnv<'_>) -> Action {
        if !self.deadline_passed(env.now) {
            return Action::Nothing;
        }
        let reason = self.interruption(env).unwrap_or(CancellationReason::Timeout);
        self.interrupt(reason, env)
    }

    /// The token may have been cancelled (delivered when it is).
    pub fn on_cancel(&mut self, env: &mut ExecutorEnv<'_>) -> Action {
        match env.cancellations.reason(self.token).cloned() {
            Some(reason) => self.interrupt(reason, env),
            None => Action::Nothing,
        }
    }

    // ----- stages ----------------------------------------------------------------------------

    fn begin_stage(&mut self, stage: StageId, env: &mut ExecutorEnv<'_>) -> Action {
        if let Some(reason) = self.interruption(env) {
            return self.finish_cancelled(Some(stage), reason, env);
        }
        let spec = &self.spec.stages[stage.index()];
        self.stage_deadline = spec.timeout_ms.map(|ms| Timeout::from_millis(ms).to_deadline(env.now));
        let report = match self.enforce(PolicyEvent::OnPipelineStageStart, Some(stage), env) {
            Ok(report) => report,
            Err(e) => return self.finish_failed(Some(stage), e, env),
        };
        let before = self.authority.execution().clone();
        let entered = self.authority.enter_stage(stage, report.iter().flat_map(|r| r.derived_proposals()));
        self.sync_authority();
        if let Err(e) = entered {
            self.mark_invalid(Some(stage));
            return self.finish_failed(Some(stage), ExecutorError::PolicyDerivedAuthorityInvalid(e), env);
        }
        if let Some(report) = report {
            let report = report.with_capabilities(before, self.authority.in_force().clone());
            self.reports.push((PolicyEvent::OnPipelineStageStart, Some(stage), report));
        }
        let spec = &self.spec.stages[stage.index()];
        if let Some(&missing) = spec.required_capabilities.iter().find(|&&c| !self.authority.has_capability_with_authority(c)) {
            let stage_name = spec.name.clone();
            return self.finish_failed(Some(stage), ExecutorError::MissingCapability { stage_name, capability: missing }, env);
        }
        if let Err(e) = env.resources.try_consume_pipeline_stage(self.identity.execution_id, self.spec.id, stage) {
            self.outcome = Some(Err(ExecutorError::ResourceExhausted(e)));
            return self.finish_cancelled(Some(stage), exhausted(e.resource_type), env);
        }
        self.start_attempt(stage, 0, env)
    }

    fn start_attempt(&mut self, stage: StageId, attempt: u32, env: &mut ExecutorEnv<'_>) -> Action {
        if attempt > 0 && self.bugs.has(PlantedBug::StageChargedPerAttempt) {
            let _ = env.resources.try_consume_pipeline_stage(self.identity.execution_id, self.spec.id, stage);
        }
        self.phase = Phase::Attempting { stage, attempt, started: env.now };
        self.events.push(PipelineEvent::AttemptStarted { pipeline: self.spec.id, stage, attempt, at: env.now });
        Action::StartAttempt(AttemptOrder { pipeline: self.spec.id, stage, attempt, capabilities: self.authority.visible(), deadline: self.deadline_instant() })
    }

    fn retry_or_give_up(&mut self, stage: StageId, attempt: u32, started: Instant, error: String, env: &mut ExecutorEnv<'_>) -> Action {
        let policy = self.spec.stages[stage.index()].retry_policy;
        let retries_allowed = if self.bugs.has(PlantedBug::RetryCountOffByOne) { policy.max_retries.saturating_add(1) } else { policy.max_retries };
        let retry = attempt < retries_allowed;
        let traced = !(retry && self.bugs.has(PlantedBug::RetriesNotTraced));
        self.end_attempt(stage, attempt, started, StageExecutionResult::Retryable { error: error.clone() }, Vec::new(), traced, env);
        if !retry {
            self.observe_stage_end(stage, env);
            let stage_name = self.stage_name(stage);
            let error = format!("{error} (gave up after {attempt} retries)");
            return self.finish_failed(Some(stage), ExecutorError::StageFailed { stage_name, error }, env);
        }
        let next_attempt = attempt + 1;
        let wait = if self.bugs.has(PlantedBug::BackoffExponentOffByOne) { policy.backoff_duration(next_attempt) } else { policy.backoff_before_retry(next_attempt) };
        let until = env.now.after(wait);
        self.events.push(PipelineEvent::BackoffScheduled { pipeline: self.spec.id, stage, retry: next_attempt, from: env.now, until });
        self.phase = Phase::BackingOff { stage, next_attempt, until };
        Action::WaitUntil { until, deadline: self.deadline_instant() }
    }

    /// A stage succeeded: record the stage end, leave its scope, go on.
    fn complete_stage(&mut self, stage: StageId, env: &mut ExecutorEnv<'_>) -> Action {
        self.observe_stage_end(stage, env);
        self.next_stage(stage, env)
    }

    fn next_stage(&mut self, stage: StageId, env: &mut ExecutorEnv<'_>) -> Action {
        self.authority.leave_stage();
        self.sync_authority();
        self.stage_deadline = None;
        let next = StageId(stage.0 + 1);
        if next.index() < self.spec.stages.len() {
            self.begin_stage(next, env)
        } else {
            self.finish(PipelineExecutionResult::Success, Ok(()), env)
        }
    }

    /// Records one attempt's end: an event always, a trace entry unless a planted bug hides it.
    #[allow(clippy::too_many_arguments)]
    fn end_attempt(&mut self, stage: StageId, attempt: u32, started: Instant, result: StageExecutionResult, capabilities_out: Vec<u64>, traced: bool, env: &ExecutorEnv<'_>) {
        let spec = &self.spec.stages[stage.index()];
        self.events.push(PipelineEvent::AttemptEnded { pipeline: self.spec.id, stage, attempt, at: env.now, result: result.clone(), capabilities_out: capabilities_out.clone() });
        if traced {
            self.trace.entries.push(StageTraceEntry {
                stage_id: stage,
                stage_name: spec.name.clone(),
                start: started,
                end: env.now,
                attempt,
                result,
                capabilities_in: spec.required_capabilities.clone(),
                capabilities_out,
            });
        }
    }

    // ----- policy ----------------------------------------------------------------------------

    /// The policy context of the pipeline, or of one of its stages.
    pub fn context(&self, stage: Option<StageId>) -> PolicyContext {
        let mut ctx = PolicyContext::for_pipeline(self.identity.clone(), self.spec.id).with_metadata("stage_count", self.spec.stages.len().to_string());
        if let Some(t) = self.spec.timeout_ms {
            ctx = ctx.with_metadata("timeout_ms", t.to_string());
        }
        if let Some(stage) = stage {
            let spec = &self.spec.stages[stage.index()];
            let caps: Vec<String> = spec.required_capabilities.iter().map(|c| c.to_string()).collect();
            ctx = ctx
                .with_stage(stage)
                .with_metadata("stage_name", spec.name.clone())
                .with_metadata("required_capabilities", caps.join(","))
                .with_metadata("max_retries", spec.retry_policy.max_retries.to_string());
            if let Some(t) = spec.timeout_ms {
                ctx = ctx.with_metadata("stage_timeout_ms", t.to_string());
            }
        }
        ctx
    }

    /// Evaluates the policy at an enforcement point: records it, refuses on Deny / Require.
    /// `Ok(None)` when there is no policy engine.
    fn enforce(&mut self, event: PolicyEvent, stage: Option<StageId>, env: &mut ExecutorEnv<'_>) -> Result<Option<PolicyDecisionReport>, ExecutorError> {
        let Some(engine) = env.policy else { return Ok(None) };
        let context = self.context(stage);
        let report = engine.evaluate_with_report(event, &context);
        env.policy_audit.record(env.now, event, &context, &report);
        let verdict = match report.decision {
            PolicyDecision::Allow { .. } => Verdict::Allowed,
            PolicyDecision::Deny { .. } => Verdict::Denied,
            PolicyDecision::Require { .. } => Verdict::Required,
        };
        self.events.push(PipelineEvent::PolicyChecked { pipeline: self.spec.id, stage, event, verdict });
        let policy = report.deciding_policy().unwrap_or(engine.name()).into();
        let pipeline_id = Some(self.spec.id);
        let ignore = stage.is_some() && self.bugs.has(PlantedBug::DenyIgnoredAtStageStart);
        let refusal = match &report.decision {
            PolicyDecision::Deny { reason } if !ignore => Some(ExecutorError::PolicyDenied { policy, event, reason: reason.clone(), pipeline_id }),
            PolicyDecision::Require { action } if !ignore => Some(ExecutorError::PolicyRequire { policy, event, action: action.clone(), pipeline_id }),
            _ => None,
        };
        self.checks.push(PolicyCheck { event, context, report: report.clone(), refused: refusal.is_some() });
        match refusal {
            Some(e) => {
                self.reports.push((event, stage, report));
                Err(e)
            }
            None => Ok(Some(report)),
        }
    }

    /// `OnPipelineStageEnd`: evaluated and recorded, never enforced.
    fn observe_stage_end(&mut self, stage: StageId, env: &mut ExecutorEnv<'_>) {
        let Some(engine) = env.policy else { return };
        let context = self.context(Some(stage));
        let report = engine.evaluate_with_report(PolicyEvent::OnPipelineStageEnd, &context);
        env.policy_audit.record(env.now, PolicyEvent::OnPipelineStageEnd, &context, &report);
        self.events.push(PipelineEvent::PolicyChecked { pipeline: self.spec.id, stage: Some(stage), event: PolicyEvent::OnPipelineStageEnd, verdict: Verdict::Observed });
        self.checks.push(PolicyCheck { event: PolicyEvent::OnPipelineStageEnd, context, report: report.clone(), refused: false });
        self.reports.push((PolicyEvent::OnPipelineStageEnd, Some(stage), report));
    }

    /// A derivation was refused: the enforcement point's verdict.
    fn mark_invalid(&mut self, stage: Option<StageId>) {
        let event = if stage.is_some() { PolicyEvent::OnPipelineStageStart } else { PolicyEvent::OnPipelineStart };
        self.events.push(PipelineEvent::PolicyChecked { pipeline: self.spec.id, stage, event, verdict: Verdict::InvalidDerivation });
    }

    // ----- cancellation and deadlines --------------------------------------------------------

    fn deadline_instant(&self) -> Option<Instant> {
        Deadline::earliest(self.pipeline_deadline, self.stage_deadline).map(Deadline::instant)
    }

    fn deadline_passed(&self, now: Instant) -> bool {
        Deadline::earliest(self.pipeline_deadline, self.stage_deadline).is_some_and(|d| d.has_passed(now))
    }

    /// Why the pipeline must stop now, if it must: explicit cancellation first, then an exhausted
    /// identity, then a passed deadline.
    fn interruption(&self, env: &ExecutorEnv<'_>) -> Option<CancellationReason> {
        if let Some(reason) = env.cancellations.reason(self.token) {
            return Some(reason.clone());
        }
        if let Some(kind) = env.resources.cancelled_by(self.identity.execution_id) {
            return Some(exhausted(kind));
        }
        self.deadline_passed(env.now).then_some(CancellationReason::Timeout)
    }

    /// Stops a running attempt or a backoff for `reason`.
    fn interrupt(&mut self, reason: CancellationReason, env: &mut ExecutorEnv<'_>) -> Action {
        match self.phase {
            Phase::Attempting { stage, attempt, started } => {
                self.end_attempt(stage, attempt, started, StageExecutionResult::Cancelled { reason: reason.clone() }, Vec::new(), true, env);
                self.finish_cancelled(Some(stage), reason, env)
            }
            Phase::BackingOff { stage, .. } => self.finish_cancelled(Some(stage), reason, env),
            Phase::Ready | Phase::Done => Action::Nothing,
        }
    }

    // ----- the end ---------------------------------------------------------------------------

    fn stage_name(&self, stage: StageId) -> String {
        self.spec.stages[stage.index()].name.clone()
    }

    fn finish_failed(&mut self, stage: Option<StageId>, error: ExecutorError, env: &mut ExecutorEnv<'_>) -> Action {
        let result = PipelineExecutionResult::Failed { stage_name: stage.map(|s| self.stage_name(s)), error: error.to_string() };
        self.finish(result, Err(error), env)
    }

    fn finish_cancelled(&mut self, stage: Option<StageId>, reason: CancellationReason, env: &mut ExecutorEnv<'_>) -> Action {
        let stage_name = stage.map(|s| self.stage_name(s));
        let error = self.outcome.take().unwrap_or(Err(ExecutorError::Cancelled { stage_name: stage_name.clone(), reason: reason.clone() }));
        self.finish(PipelineExecutionResult::Cancelled { stage_name, reason }, error, env)
    }

    fn finish(&mut self, result: PipelineExecutionResult, outcome: Result<(), ExecutorError>, env: &mut ExecutorEnv<'_>) -> Action {
        self.authority.leave_stage();
        self.sync_authority();
        self.trace.set_final_result(result.clone());
        let trace_entries = u32::try_from(self.trace.entries.len()).unwrap_or(u32::MAX);
        self.events.push(PipelineEvent::Finished { pipeline: self.spec.id, at: env.now, result, trace_entries });
        self.phase = Phase::Done;
        self.outcome = Some(outcome.clone());
        Action::Finished(outcome)
    }

    fn sync_authority(&mut self) {
        let events = self.authority.take_events();
        self.events.extend(events.into_iter().map(PipelineEvent::Authority));
    }
}

/// The cancellation reason of an exhausted budget.
fn exhausted(kind: ResourceKind) -> CancellationReason {
    CancellationReason::Custom(format!("Budget exhausted: {kind}"))
}
