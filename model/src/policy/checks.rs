//! The `policy.*` invariants (domain layer, not yet wired into the kernel).
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `policy.deterministic` | the same event in the same context always gets the same decision ("Deterministic evaluation (same input → same output)") |
//! | `policy.composition_precedence` | a composed decision follows the evaluations: the first `Deny` wins and ends the evaluation, otherwise every `Require` is collected, otherwise `Allow` ("Composition Rules" 1–4) |
//! | `policy.deny_has_no_effect` | a refused operation has no effect (in [`crate::pipeline::checks`], over the pipeline's events) |
//!
//! [`DecisionMemo`] remembers every decision by a digest of `(event, context)` and compares a
//! later decision for an equal input with the first; inputs are compared in full, so a digest
//! collision can never cause a false breach.

use super::{PolicyContext, PolicyDecision, PolicyDecisionReport, PolicyEvent};
use crate::rule_check::RuleSink;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

pub const DETERMINISTIC: &str = "policy.deterministic";
pub const COMPOSITION_PRECEDENCE: &str = "policy.composition_precedence";
pub const DENY_HAS_NO_EFFECT: &str = "policy.deny_has_no_effect";

/// Shadow state of `policy.deterministic`: the first decision for every input seen.
#[derive(Clone, Debug, Default)]
pub struct DecisionMemo {
    seen: BTreeMap<u64, Vec<(PolicyEvent, PolicyContext, PolicyDecision)>>,
}

impl DecisionMemo {
    /// Checks `decision` for `(event, context)` against the first decision for an equal input.
    pub fn observe(&mut self, event: PolicyEvent, context: &PolicyContext, decision: &PolicyDecision, sink: &mut dyn RuleSink) {
        let mut h = TraceHasher::default();
        event.fold(&mut h);
        context.fold(&mut h);
        let bucket = self.seen.entry(h.value()).or_default();
        match bucket.iter().find(|(e, c, _)| *e == event && c == context) {
            Some((_, _, first)) => sink.check(DETERMINISTIC, first == decision, &|| format!("{event:?} in {} decided {decision:?}, earlier {first:?}", context.summary())),
            None => bucket.push((event, context.clone(), decision.clone())),
        }
    }
}

/// The decision the composition rules give for these evaluations (in evaluation order).
pub fn expected_composition(report: &PolicyDecisionReport) -> Result<PolicyDecision, String> {
    let evaluations = &report.evaluated_policies;
    if let Some(i) = evaluations.iter().position(|e| e.decision.is_deny()) {
        if i + 1 != evaluations.len() {
            return Err(format!("{} policies were evaluated after the Deny of {}", evaluations.len() - i - 1, evaluations[i].policy_name));
        }
        return Ok(evaluations[i].decision.clone());
    }
    let required: Vec<&str> = evaluations
        .iter()
        .filter_map(|e| match &e.decision {
            PolicyDecision::Require { action } => Some(action.as_str()),
            _ => None,
        })
        .collect();
    if required.is_empty() {
        Ok(PolicyDecision::Allow { derived: report.decision.derived().cloned() })
    } else {
        Ok(PolicyDecision::require(required.join("; ")))
    }
}

/// `policy.composition_precedence` for one composed report.
pub fn composition_precedence(report: &PolicyDecisionReport, sink: &mut dyn RuleSink) {
    let expected = expected_composition(report);
    let holds = expected.as_ref().is_ok_and(|d| *d == report.decision);
    sink.check(COMPOSITION_PRECEDENCE, holds, &|| match &expected {
        Ok(d) => format!("composed decision {:?}, the rules give {d:?} ({report})", report.decision),
        Err(e) => format!("{e} ({report})"),
    });
}
