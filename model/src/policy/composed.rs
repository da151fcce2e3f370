//! Policy composition (interface reference, "Policy Composition"; architecture Phase 8, "Policy
//! Composition": "Decision precedence: Deny > Require > Allow").
//!
//! Composition rules, in the seed's order:
//! 1. policies are evaluated in order;
//! 2. the first `Deny` wins and stops the evaluation (later policies are not evaluated);
//! 3. every `Require` is collected;
//! 4. `Allow` only if there was no `Deny` and no `Require`.
//!
//! Choices where the seed is silent: the composed `Require` carries the collected actions joined
//! with `"; "` (the report lists them one by one); a composed `Allow` carries the intersection of
//! every derived authority proposed (each policy restricts), with their constraints in order, or
//! no derivation if none was proposed. An empty composition allows everything. The enforcement
//! point still checks each proposal separately against the current authority
//! ([`crate::derivation::derive`]), so a policy proposing an escalation is caught and named even
//! when another policy's proposal would hide it in the intersection.
//!
//! Rule checked: `policy.composition_precedence` ([`super::checks::composition_precedence`]).

use super::{PolicyContext, PolicyDecision, PolicyDecisionReport, PolicyEngine, PolicyEvaluation, PolicyEvent};
use crate::bugs::{BugSet, PlantedBug};
use crate::derivation::DerivedAuthority;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// Several policies evaluated in order, with precedence Deny > Require > Allow.
#[derive(Default)]
pub struct ComposedPolicy {
    policies: Vec<Box<dyn PolicyEngine>>,
    bugs: BugSet,
}

impl ComposedPolicy {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a policy, evaluated after those already added.
    pub fn add_policy(mut self, policy: Box<dyn PolicyEngine>) -> Self {
        self.policies.push(policy);
        self
    }

    /// The composition with planted bugs switched on.
    pub fn with_bugs(mut self, bugs: BugSet) -> Self {
        self.bugs = bugs;
        self
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

impl PolicyEngine for ComposedPolicy {
    fn evaluate(&self, event: PolicyEvent, context: &PolicyContext) -> PolicyDecision {
        self.evaluate_with_report(event, context).decision
    }

    fn name(&self) -> &str {
        "ComposedPolicy"
    }

    fn evaluate_with_report(&self, event: PolicyEvent, context: &PolicyContext) -> PolicyDecisionReport {
        let mut evaluated = Vec::with_capacity(self.policies.len());
        let mut required: Vec<String> = Vec::new();
        let mut denied = None;
        for policy in &self.policies {
            let decision = policy.evaluate(event, context);
            match &decision {
                PolicyDecision::Deny { reason } => denied = Some(reason.clone()),
                PolicyDecision::Require { action } => required.push(action.clone()),
                PolicyDecision::Allow { .. } if self.bugs.has(PlantedBug::ComposedPolicyDropsRequire) => required.clear(),
                PolicyDecision::Allow { .. } => {}
            }
            evaluated.push(PolicyEvaluation { policy_name: policy.name().into(), decision });
            if denied.is_some() {
                break;
            }
        }
        let decision = match (&denied, required.is_empty()) {
            (Some(reason), _) => PolicyDecision::Deny { reason: reason.clone() },
            (None, false) => PolicyDecision::Require { action: required.join("; ") },
            (None, true) => PolicyDecision::Allow { derived: intersect_derived(&evaluated) },
        };
        PolicyDecisionReport {
            decision,
            evaluated_policies: evaluated,
            deny_reason: denied,
            required_actions: required,
            input_capabilities: None,
            output_capabilities: None,
            capability_delta: None,
        }
    }
}

/// The intersection of every derived authority proposed, or `None` if none was.
fn intersect_derived(evaluated: &[PolicyEvaluation]) -> Option<DerivedAuthority> {
    evaluated.iter().filter_map(|e| e.decision.derived()).fold(None, |acc: Option<DerivedAuthority>, d| {
        Some(match acc {
            None => d.clone(),
            Some(mut a) => {
                a.capabilities = a.capabilities.intersection(&d.capabilities);
                a.constraints.extend(d.constraints.iter().cloned());
                a
            }
        })
    })
}
