//! Run counters: what happened during a run, reported in the summary and bounded by scenario
//! expectations (`scenario::Counter`).

use crate::scenario::Counter;
use serde::{Deserialize, Serialize};

/// Counters of one run. Every field is a plain count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStats {
    pub events: u64,
    pub tasks_spawned: u64,
    pub task_exits: u64,
    pub restarts: u64,
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub messages_dropped: u64,
    pub messages_delayed: u64,
    pub messages_reordered: u64,
    pub send_failures: u64,
    pub receive_failures: u64,
    pub faults_injected: u64,
    pub lifecycle_crashes: u64,
    pub requests_completed: u64,
    pub requests_failed: u64,
    pub requests_rejected: u64,
    pub capability_ops: u64,
    pub workload_ops: u64,
    /// Wake-ups discarded because their parking had ended (a reply beat its timeout); they are
    /// not events.
    pub ignored_wakeups: u64,
}

impl RunStats {
    /// Whether no counter went down since `before` (counters only grow; checked after every event
    /// in debug builds).
    pub fn grew_from(&self, before: &RunStats) -> bool {
        use Counter::*;
        [
            Events, TasksSpawned, TaskExits, Restarts, MessagesSent, MessagesDelivered, MessagesDropped, MessagesDelayed, MessagesReordered,
            SendFailures, ReceiveFailures, FaultsInjected, LifecycleCrashes, RequestsCompleted, RequestsFailed, RequestsRejected,
            CapabilityOps, WorkloadOps, IgnoredWakeups,
        ]
        .iter()
        .all(|c| self.get(*c) >= before.get(*c))
    }

    /// The value of one counter.
    pub fn get(&self, counter: Counter) -> u64 {
        match counter {
            Counter::Events => self.events,
            Counter::TasksSpawned => self.tasks_spawned,
            Counter::TaskExits => self.task_exits,
            Counter::Restarts => self.restarts,
            Counter::MessagesSent => self.messages_sent,
            Counter::MessagesDelivered => self.messages_delivered,
            Counter::MessagesDropped => self.messages_dropped,
            Counter::MessagesDelayed => self.messages_delayed,
            Counter::MessagesReordered => self.messages_reordered,
            Counter::SendFailures => self.send_failures,
            Counter::ReceiveFailures => self.receive_failures,
            Counter::FaultsInjected => self.faults_injected,
            Counter::LifecycleCrashes => self.lifecycle_crashes,
            Counter::RequestsCompleted => self.requests_completed,
            Counter::RequestsFailed => self.requests_failed,
            Counter::RequestsRejected => self.requests_rejected,
            Counter::CapabilityOps => self.capability_ops,
            Counter::WorkloadOps => self.workload_ops,
            Counter::IgnoredWakeups => self.ignored_wakeups,
        }
    }
}
