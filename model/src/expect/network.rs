//! Evaluation of the network expectations (`expect.network`): a named node's counter at the end of
//! the run, from the run's [`crate::report::NetReport`]; an unmet one shows the node's other
//! non-zero counters.

use super::{count_text, result, Eval};
use crate::report::ExpectationResult;
use crate::scenario::NetCounter;
use alloc::format;
use alloc::vec::Vec;

impl Eval<'_> {
    /// Every network expectation, in scenario order.
    pub(super) fn network(&self, out: &mut Vec<ExpectationResult>) {
        for (j, (node, counter, count)) in self.scenario.expect.network.iter().enumerate() {
            let row = self.report.network.as_ref().and_then(|n| n.node(node));
            let n = row.map_or(0, |r| r.get(*counter));
            let mut r = result(format!("expect.network[{j}]"), format!("{counter:?} of node `{node}` {}", count_text(*count)), format!("{n}"), count.admits(n));
            if !r.met {
                r.nearest = match row {
                    None => alloc::vec![format!("no network report for node `{node}`")],
                    Some(row) => NetCounter::ALL.iter().filter(|c| row.get(**c) > 0).map(|c| format!("{c:?}: {}", row.get(*c))).collect(),
                };
            }
            out.push(r);
        }
    }
}
