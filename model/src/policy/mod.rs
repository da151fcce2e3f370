//! Policy engines (interface reference, "Policy Engine Interface" with its "Policy Decision
//! Types", "Policy Context", "Policy Events", "Enforcement Points", "Reference Policy
//! Implementations", "Policy Composition", "Policy Audit", "Pipeline Policy Enforcement";
//! architecture Phases 8–10). Domain layer, not yet wired into the kernel.
//!
//! A [`PolicyEngine`] looks at an operation ([`PolicyEvent`] + [`PolicyContext`]) and answers
//! [`PolicyDecision`]: `Allow` (optionally with a derived, restricted authority), `Deny` with a
//! reason, or `Require` an action first. Policy observes, it does not own: authority still comes
//! from capabilities, and a policy can only take away.
//!
//! Contract (seed "Policy Engine Trait", "Determinism Requirements"):
//! - evaluation is deterministic and side-effect free: `evaluate(&self, ..)` takes `&self`, and no
//!   engine here has interior mutability (`policy.deterministic`, checked by
//!   [`checks::DecisionMemo`]);
//! - the decision is explicit; enforcement points treat `Deny` and `Require` alike: the operation
//!   is refused and has no effect (`policy.deny_has_no_effect`, checked over the pipeline's events
//!   in [`crate::pipeline::checks`]);
//! - no engine = allow everything (enforcement is optional).
//!
//! Modules: [`composed`] (precedence: first `Deny` wins, all `Require`s collected), [`reference`](mod@reference)
//! (`NoOpPolicy`, `TrustDomainPolicy`, `PipelineSafetyPolicy`), [`rules`] (a rule list a scenario
//! can write), [`spec`] (the serde description a scenario uses to choose and compose policies),
//! [`audit`] (the policy audit log), [`checks`] (the `policy.*` invariants).

pub mod audit;
pub mod checks;
pub mod composed;
pub mod reference;
pub mod rules;
pub mod spec;

pub use composed::ComposedPolicy;
pub use reference::{NoOpPolicy, PipelineSafetyPolicy, TrustDomainPolicy};
pub use rules::RuleListPolicy;
pub use spec::PolicySpec;

use crate::derivation::{CapabilityDelta, CapabilitySet, DerivedAuthority};
use crate::identity::IdentityMetadata;
use crate::pipeline::{PipelineId, StageId};
use crate::trace_hash::{Fold, TraceHasher};
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::{self, Write};
use serde::{Deserialize, Serialize};

/// The operation being evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PolicyEvent {
    /// Before creating a new task or service execution.
    OnSpawn,
    /// Before terminating a task (future use).
    OnTerminate,
    /// Before transferring capability ownership.
    OnCapabilityDelegate,
    /// Before a pipeline starts.
    OnPipelineStart,
    /// Before each pipeline stage.
    OnPipelineStageStart,
    /// After each pipeline stage (audit only, never enforced).
    OnPipelineStageEnd,
    /// A focus request of the input subsystem ("Input System Interface", "Policy Integration");
    /// reserved for that subsystem.
    OnInputFocusRequest,
}

impl PolicyEvent {
    pub const ALL: [PolicyEvent; 7] = [
        PolicyEvent::OnSpawn,
        PolicyEvent::OnTerminate,
        PolicyEvent::OnCapabilityDelegate,
        PolicyEvent::OnPipelineStart,
        PolicyEvent::OnPipelineStageStart,
        PolicyEvent::OnPipelineStageEnd,
        PolicyEvent::OnInputFocusRequest,
    ];

    /// Whether the decision at this event is acted upon (`OnPipelineStageEnd` is audit only).
    pub fn is_enforced(self) -> bool {
        self != PolicyEvent::OnPipelineStageEnd
    }
}

/// A policy's answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PolicyDecision {
    /// The operation may proceed; with `derived`, only with that restricted authority.
    Allow { derived: Option<DerivedAuthority> },
    /// The operation is blocked.
    Deny { reason: String },
    /// The operation needs an action (approval, a timeout, ...) first.
    Require { action: String },
}

impl PolicyDecision {
    pub fn allow() -> Self {
        PolicyDecision::Allow { derived: None }
    }
    pub fn allow_with_derived(derived: DerivedAuthority) -> Self {
        PolicyDecision::Allow { derived: Some(derived) }
    }
    pub fn deny(reason: impl Into<String>) -> Self {
        PolicyDecision::Deny { reason: reason.into() }
    }
    pub fn require(action: impl Into<String>) -> Self {
        PolicyDecision::Require { action: action.into() }
    }
    pub fn is_allow(&self) -> bool {
        matches!(self, PolicyDecision::Allow { .. })
    }
    pub fn is_deny(&self) -> bool {
        matches!(self, PolicyDecision::Deny { .. })
    }
    pub fn is_require(&self) -> bool {
        matches!(self, PolicyDecision::Require { .. })
    }
    /// The derived authority of an `Allow`, if any.
    pub fn derived(&self) -> Option<&DerivedAuthority> {
        match self {
            PolicyDecision::Allow { derived } => derived.as_ref(),
            _ => None,
        }
    }
}

impl Fold for PolicyDecision {
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            PolicyDecision::Allow { derived } => {
                h.tag(0, 0);
                match derived {
                    None => h.word(0),
                    Some(d) => {
                        h.word(1);
                        d.fold(h);
                    }
                }
            }
            PolicyDecision::Deny { reason } => {
                h.tag(1, 0);
                h.str(reason);
            }
            PolicyDecision::Require { action } => {
                h.tag(2, 0);
                h.str(action);
            }
        }
    }
}

/// What a policy gets to see about an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyContext {
    /// The identity performing the operation.
    pub actor_identity: IdentityMetadata,
    /// The identity acted upon (spawned task, delegation target), if any.
    pub target_identity: Option<IdentityMetadata>,
    pub capability_id: Option<u64>,
    pub pipeline_id: Option<PipelineId>,
    pub stage_id: Option<StageId>,
    /// Context-specific data (`("timeout_ms", "5000")`, `("stage_count", "3")`).
    pub metadata: Vec<(String, String)>,
}

impl PolicyContext {
    /// A context with only the actor.
    pub fn new(actor: IdentityMetadata) -> Self {
        PolicyContext { actor_identity: actor, target_identity: None, capability_id: None, pipeline_id: None, stage_id: None, metadata: Vec::new() }
    }

    pub fn for_spawn(creator: IdentityMetadata, new_task: IdentityMetadata) -> Self {
        PolicyContext { target_identity: Some(new_task), ..Self::new(creator) }
    }

    pub fn for_capability_delegation(from: IdentityMetadata, to: IdentityMetadata, cap_id: u64) -> Self {
        PolicyContext { target_identity: Some(to), capability_id: Some(cap_id), ..Self::new(from) }
    }

    pub fn for_pipeline(executor: IdentityMetadata, pipeline_id: PipelineId) -> Self {
        PolicyContext { pipeline_id: Some(pipeline_id), ..Self::new(executor) }
    }

    pub fn for_focus_request(requester: IdentityMetadata, focus_holder: Option<IdentityMetadata>) -> Self {
        PolicyContext { target_identity: focus_holder, ..Self::new(requester) }
    }

    pub fn with_stage(mut self, stage: StageId) -> Self {
        self.stage_id = Some(stage);
        self
    }

    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// The first value recorded under `key`.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Whether actor and target carry different trust domains (no target: not cross-domain).
    pub fn is_cross_domain(&self) -> bool {
        self.target_identity.as_ref().is_some_and(|t| !self.actor_identity.same_domain(t))
    }

    /// A one-line summary for the audit log: `actor=exec#1(user) target=exec#2(sandbox) cap=3`.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = write!(s, "actor={}({})", self.actor_identity.execution_id, self.actor_identity.trust_domain);
        if let Some(t) = &self.target_identity {
            let _ = write!(s, " target={}({})", t.execution_id, t.trust_domain);
        }
        if let Some(c) = self.capability_id {
            let _ = write!(s, " cap={c}");
        }
        if let Some(p) = self.pipeline_id {
            let _ = write!(s, " pipeline={}", p.0);
        }
        if let Some(st) = self.stage_id {
            let _ = write!(s, " stage={}", st.0);
        }
        for (k, v) in &self.metadata {
            let _ = write!(s, " {k}={v}");
        }
        s
    }
}

fn fold_identity(id: &IdentityMetadata, h: &mut TraceHasher) {
    h.tag(0, id.kind as u64);
    h.word(id.execution_id.0);
    id.task_id.map(|t| t.0).fold(h);
    id.parent_id.map(|p| p.0).fold(h);
    id.creator_id.map(|c| c.0).fold(h);
    h.word(id.created_at_nanos);
    h.str(&id.trust_domain.0);
    h.str(&id.name);
}

impl Fold for PolicyContext {
    fn fold(&self, h: &mut TraceHasher) {
        fold_identity(&self.actor_identity, h);
        match &self.target_identity {
            None => h.word(0),
            Some(t) => {
                h.word(1);
                fold_identity(t, h);
            }
        }
        self.capability_id.fold(h);
        self.pipeline_id.map(|p| p.0).fold(h);
        self.stage_id.map(|s| u64::from(s.0)).fold(h);
        h.word(self.metadata.len() as u64);
        for (k, v) in &self.metadata {
            h.str(k);
            h.str(v);
        }
    }
}

impl Fold for PolicyEvent {
    fn fold(&self, h: &mut TraceHasher) {
        h.tag(0, *self as u64);
    }
}

/// One policy's decision inside a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEvaluation {
    pub policy_name: String,
    pub decision: PolicyDecision,
}

/// The explained decision ("Explainable Policy Decisions"; Phase 10 "Capability Report").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecisionReport {
    /// The aggregated decision.
    pub decision: PolicyDecision,
    /// Every policy evaluated, in order (a composition stops at the first `Deny`).
    pub evaluated_policies: Vec<PolicyEvaluation>,
    pub deny_reason: Option<String>,
    pub required_actions: Vec<String>,
    /// Filled in by the enforcement point that applied a derivation.
    pub input_capabilities: Option<CapabilitySet>,
    pub output_capabilities: Option<CapabilitySet>,
    pub capability_delta: Option<CapabilityDelta>,
}

impl PolicyDecisionReport {
    /// The report of a single engine's decision.
    pub fn single(policy_name: &str, decision: PolicyDecision) -> Self {
        let deny_reason = match &decision {
            PolicyDecision::Deny { reason } => Some(reason.clone()),
            _ => None,
        };
        let required_actions = match &decision {
            PolicyDecision::Require { action } => vec![action.clone()],
            _ => Vec::new(),
        };
        PolicyDecisionReport {
            evaluated_policies: vec![PolicyEvaluation { policy_name: policy_name.to_owned(), decision: decision.clone() }],
            decision,
            deny_reason,
            required_actions,
            input_capabilities: None,
            output_capabilities: None,
            capability_delta: None,
        }
    }

    /// The derivations proposed by policies that allowed, as `(policy, authority)`.
    pub fn derived_proposals(&self) -> impl Iterator<Item = (&str, &DerivedAuthority)> {
        self.evaluated_policies.iter().filter_map(|e| e.decision.derived().map(|d| (e.policy_name.as_str(), d)))
    }

    /// The policy that made the aggregated decision: the one that denied, the first that required,
    /// or (for an allow) the first evaluated.
    pub fn deciding_policy(&self) -> Option<&str> {
        let pick = |f: fn(&PolicyDecision) -> bool| self.evaluated_policies.iter().find(|e| f(&e.decision)).map(|e| e.policy_name.as_str());
        match self.decision {
            PolicyDecision::Deny { .. } => pick(PolicyDecision::is_deny),
            PolicyDecision::Require { .. } => pick(PolicyDecision::is_require),
            PolicyDecision::Allow { .. } => self.evaluated_policies.first().map(|e| e.policy_name.as_str()),
        }
    }

    /// Records the authority before and after the enforcement point applied the decision.
    pub fn with_capabilities(mut self, input: CapabilitySet, output: CapabilitySet) -> Self {
        self.capability_delta = Some(CapabilityDelta::from(&input, &output));
        self.input_capabilities = Some(input);
        self.output_capabilities = Some(output);
        self
    }
}

impl fmt::Display for PolicyDecisionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.decision)?;
        for e in &self.evaluated_policies {
            write!(f, "; {}: {:?}", e.policy_name, e.decision)?;
        }
        Ok(())
    }
}

/// Evaluates operations and returns decisions. Must be deterministic and side-effect free.
pub trait PolicyEngine: Send + Sync {
    /// The decision for `event` in `context`: same inputs, same output.
    fn evaluate(&self, event: PolicyEvent, context: &PolicyContext) -> PolicyDecision;

    /// The engine's name (for audit and error reports).
    fn name(&self) -> &str;

    /// The decision with its explanation. A single engine reports itself; [`ComposedPolicy`] every
    /// policy it evaluated.
    fn evaluate_with_report(&self, event: PolicyEvent, context: &PolicyContext) -> PolicyDecisionReport {
        PolicyDecisionReport::single(self.name(), self.evaluate(event, context))
    }
}

/// `evaluate_with_report` of an optional engine: no engine allows everything, unexplained.
pub fn evaluate_optional(engine: Option<&dyn PolicyEngine>, event: PolicyEvent, context: &PolicyContext) -> Option<PolicyDecisionReport> {
    engine.map(|e| e.evaluate_with_report(event, context))
}
