//! `identity.never_reused` and `identity.one_exit_notification`.
//!
//! Execution ids come from a counter, so "never reused" is checked in O(1): every new identity
//! must be larger than every identity before it. Exit notifications are counted per execution
//! id; at the end of each event, every task that terminated during it must have exactly one.

use super::{BitSet, Checker, Invariant};
use crate::ids::{ExecutionId, TaskId};
use crate::observation::Observation;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

#[derive(Default)]
pub struct IdentityMonitor {
    newest: Option<ExecutionId>,
    notified: BitSet,
    exited: BitSet,
    pending: Vec<(TaskId, ExecutionId)>,
}

impl IdentityMonitor {
    pub fn observe(&mut self, obs: &Observation, c: &mut Checker<'_>) {
        match obs {
            Observation::TaskSpawned { task, exec, .. } => {
                let fresh = self.newest.is_none_or(|n| *exec > n);
                c.check(Invariant::IdentityNeverReused, fresh, || {
                    (format!("{task} was given {exec}, not newer than the already used {}", self.newest.map_or(0, |n| n.0)), vec![format!("{task}"), format!("{exec}")])
                });
                self.newest = self.newest.max(Some(*exec));
            }
            Observation::IdentityCreated { exec } => {
                let fresh = self.newest.is_none_or(|n| *exec > n);
                c.check(Invariant::IdentityNeverReused, fresh, || (format!("identity {exec} created although not newer than the already used ones"), vec![format!("{exec}")]));
                self.newest = self.newest.max(Some(*exec));
            }
            Observation::TaskExited { task, exec, .. } => {
                let first = self.exited.insert(task.0);
                c.check(Invariant::IdentityOneExitNotification, first, || (format!("{task} terminated twice"), vec![format!("{task}")]));
                self.pending.push((*task, *exec));
            }
            Observation::ExitNotified { task, exec } => {
                let first = self.notified.insert(task.0);
                c.check(Invariant::IdentityOneExitNotification, first, || {
                    (format!("second exit notification for {task} ({exec})"), vec![format!("{task}"), format!("{exec}")])
                });
            }
            _ => {}
        }
    }

    #[inline]
    pub fn end_event(&mut self, c: &mut Checker<'_>) {
        if self.pending.is_empty() {
            return;
        }
        for (task, exec) in self.pending.drain(..) {
            c.check(Invariant::IdentityOneExitNotification, self.notified.contains(task.0), || {
                (format!("{task} ({exec}) terminated without an exit notification"), vec![format!("{task}"), format!("{exec}")])
            });
        }
    }
}
