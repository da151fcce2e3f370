//! Operations by kind and by result: how often each kernel operation was called and how each
//! call ended (`Ok` or each `KernelError` kind). Issue 15's run coverage: a run (or an overnight
//! campaign) shows which operations and which error paths it never reached.
//!
//! Every public kernel operation records its result here, whoever called it (a step, a
//! behaviour, the workload, a supervisor, the event loop). Counting is one array increment.

use crate::error::{KernelError, KernelErrorKind};
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The kernel operations counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OpKind {
    Spawn,
    Terminate,
    CreateChannel,
    Send,
    Receive,
    Register,
    Lookup,
    Grant,
    Delegate,
    Clone,
    Drop,
    Use,
    Compute,
    Storage,
}

impl OpKind {
    pub const ALL: [OpKind; 14] = [
        OpKind::Spawn,
        OpKind::Terminate,
        OpKind::CreateChannel,
        OpKind::Send,
        OpKind::Receive,
        OpKind::Register,
        OpKind::Lookup,
        OpKind::Grant,
        OpKind::Delegate,
        OpKind::Clone,
        OpKind::Drop,
        OpKind::Use,
        OpKind::Compute,
        OpKind::Storage,
    ];
}

/// Results: `Ok` first, then the error kinds in declaration order.
const RESULTS: usize = 1 + KernelErrorKind::ALL.len();

/// Calls per operation and result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpCounts {
    counts: [[u64; RESULTS]; OpKind::ALL.len()],
}

impl Default for OpCounts {
    fn default() -> Self {
        OpCounts { counts: [[0; RESULTS]; OpKind::ALL.len()] }
    }
}

impl OpCounts {
    /// Counts one call of `op` that ended with `result`.
    #[inline]
    pub fn record<T>(&mut self, op: OpKind, result: &Result<T, KernelError>) {
        let column = match result {
            Ok(_) => 0,
            Err(e) => 1 + e.kind() as usize,
        };
        self.counts[op as usize][column] += 1;
    }

    /// How many calls of `op` ended `Ok` (`None`) or with the error kind given.
    pub fn get(&self, op: OpKind, error: Option<KernelErrorKind>) -> u64 {
        self.counts[op as usize][error.map_or(0, |e| 1 + e as usize)]
    }

    /// One row per operation, every operation listed (a zero row is an operation never called).
    pub fn rows(&self) -> Vec<OpCount> {
        OpKind::ALL
            .iter()
            .map(|op| {
                let row = &self.counts[*op as usize];
                let errors = KernelErrorKind::ALL.iter().filter(|k| row[1 + **k as usize] > 0).map(|k| (alloc::format!("{k:?}"), row[1 + *k as usize])).collect();
                OpCount { op: alloc::format!("{op:?}"), ok: row[0], errors }
            })
            .collect()
    }
}

/// One operation's calls in a report: how many ended `Ok`, and how many with each error kind
/// (kinds that never happened are left out).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCount {
    pub op: String,
    pub ok: u64,
    pub errors: Vec<(String, u64)>,
}

impl OpCount {
    pub fn calls(&self) -> u64 {
        self.ok + self.errors.iter().map(|(_, n)| n).sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_counted_per_operation_and_error_kind() {
        let mut c = OpCounts::default();
        c.record(OpKind::Send, &Ok::<(), KernelError>(()));
        c.record(OpKind::Send, &Err::<(), _>(KernelError::Timeout));
        c.record(OpKind::Send, &Err::<(), _>(KernelError::Timeout));
        c.record(OpKind::Use, &Err::<(), _>(KernelError::InvalidCapability));
        assert_eq!(c.get(OpKind::Send, None), 1);
        assert_eq!(c.get(OpKind::Send, Some(KernelErrorKind::Timeout)), 2);
        assert_eq!(c.get(OpKind::Receive, Some(KernelErrorKind::Timeout)), 0);
        let rows = c.rows();
        assert_eq!(rows.len(), OpKind::ALL.len());
        let send = rows.iter().find(|r| r.op == "Send").expect("send row");
        assert_eq!((send.ok, send.errors.clone(), send.calls()), (1, alloc::vec![("Timeout".into(), 2)], 3));
        assert_eq!(rows.iter().find(|r| r.op == "Use").map(|r| r.errors.clone()), Some(alloc::vec![("InvalidCapability".into(), 1)]));
    }
}
