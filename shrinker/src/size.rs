//! How big a failing case is, and the order in which a candidate counts as smaller.
//!
//! Smaller means, in this order: fewer scenario parts (tasks, steps, fault rules, capabilities,
//! expectations, workload operations), fewer events run, fewer choices, smaller choice values,
//! smaller numbers in the scenario. The first differing measure decides.

use crate::tree;
use model::{RunReport, Scenario};
use serde::Serialize;

/// The measures reported before and after shrinking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Size {
    pub events: u64,
    pub tasks: u64,
    pub steps: u64,
    pub faults: u64,
    pub workload_ops: u64,
    pub choices: u64,
}

impl Size {
    pub fn of(scenario: &Scenario, report: &RunReport, choices: usize) -> Size {
        Size {
            events: report.stats.events,
            tasks: scenario.all_tasks().len() as u64,
            steps: scenario.steps.len() as u64,
            faults: (scenario.faults.message_faults.len() + scenario.faults.lifecycle_faults.len() + scenario.faults.input_faults.len()) as u64,
            workload_ops: scenario.workload.as_ref().map_or(0, |w| u64::from(w.ops)),
            choices: choices as u64,
        }
    }
}

/// The ordering key of a candidate (smaller is better).
pub type Key = (u64, u64, u64, u128, u128);

pub fn key(scenario: &Scenario, report: &RunReport, choices: &[u64]) -> Key {
    let t = tree::to_tree(scenario);
    (
        tree::structural_size(&t),
        report.stats.events,
        choices.len() as u64,
        choices.iter().map(|&c| u128::from(c)).sum(),
        tree::numeric_sum(&t),
    )
}
