//! How big a failing case is, and the order in which a candidate counts as smaller.
//!
//! Smaller means, in this order: fewer scenario parts (tasks, steps, fault rules, capabilities,
//! pipelines and their stages, policies and rules, expectations, workload operations: every
//! array element), fewer events run, fewer choices, smaller choice values, smaller numbers in
//! the scenario, fewer values set (an optional field left out is smaller than one written), simpler
//! keys in the key scripts ([`crate::keys::rank`]). The first differing measure decides.

use crate::tree;
use model::policy::PolicySpec;
use model::{RunReport, Scenario};
use serde::Serialize;

/// The measures reported before and after shrinking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Size {
    pub events: u64,
    pub tasks: u64,
    pub steps: u64,
    /// Message-fault rules, lifecycle faults and authority faults.
    pub faults: u64,
    /// Pipelines plus their stages.
    pub pipelines: u64,
    /// Policies of the policy engine (a composition counts its members) plus the rules of rule
    /// lists.
    pub policies: u64,
    pub workload_ops: u64,
    pub choices: u64,
}

impl Size {
    pub fn of(scenario: &Scenario, report: &RunReport, choices: usize) -> Size {
        let faults = &scenario.faults;
        Size {
            events: report.stats.events,
            tasks: scenario.all_tasks().len() as u64,
            steps: scenario.steps.len() as u64,
            faults: (faults.message_faults.len() + faults.lifecycle_faults.len() + faults.authority_faults.len() + faults.input_faults.len()) as u64,
            pipelines: scenario.pipelines.iter().map(|p| 1 + p.spec.stages.len() as u64).sum(),
            policies: scenario.policy.as_ref().map_or(0, policy_parts),
            workload_ops: scenario.workload.as_ref().map_or(0, |w| u64::from(w.ops)),
            choices: choices as u64,
        }
    }

    /// The parts a reproduction is made of: tasks, steps, faults, pipelines with their stages,
    /// policies with their rules.
    pub fn parts(&self) -> u64 {
        self.tasks + self.steps + self.faults + self.pipelines + self.policies
    }
}

/// Policies and rules of a policy spec: a member policy counts one, a rule list one per rule (at
/// least one), a composition the sum of its members.
pub fn policy_parts(policy: &PolicySpec) -> u64 {
    match policy {
        PolicySpec::NoOp | PolicySpec::TrustDomain | PolicySpec::PipelineSafety { .. } => 1,
        PolicySpec::Rules(list) => (list.rules.len() as u64).max(1),
        PolicySpec::Composed(members) => members.iter().map(policy_parts).sum(),
    }
}

/// The ordering key of a candidate (smaller is better).
pub type Key = (u64, u64, u64, u128, u128, u64, u64);

pub fn key(scenario: &Scenario, report: &RunReport, choices: &[u64]) -> Key {
    let t = tree::to_tree(scenario);
    (
        tree::structural_size(&t),
        report.stats.events,
        choices.len() as u64,
        choices.iter().map(|&c| u128::from(c)).sum(),
        tree::numeric_sum(&t),
        tree::values_set(&t),
        scenario.workspace.as_ref().map_or(0, |w| crate::keys::complexity(w.keys.iter().map(|k| k.keys.as_str()))),
    )
}
