//! Run counters: what happened during a run, reported in the summary and bounded by scenario
//! expectations: global ([`RunStats`], `scenario::Counter`), per task ([`TaskStats`],
//! [`TaskCounter`]) and per service ([`ServiceStats`], [`ServiceCounter`]).
//!
//! Per-task counters live in the kernel's task records (indexed by task id) and per-service
//! counters in a vector indexed by the service's symbol, so counting is an indexed increment,
//! never a lookup by name. Expectations name tasks and services by name; they are resolved after
//! the run (a task name covers every incarnation that bore it).

use crate::message::Compatibility;
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
    /// Exit notifications emitted (one per termination in the correct model).
    pub exit_notifications: u64,
    pub pipelines_started: u64,
    pub pipelines_succeeded: u64,
    pub pipelines_failed: u64,
    pub pipelines_cancelled: u64,
    pub stage_attempts: u64,
    pub policy_evaluations: u64,
    pub policy_refusals: u64,
    pub budget_exhaustions: u64,
    pub storage_ops: u64,
    pub storage_commits: u64,
    pub storage_rollbacks: u64,
}

impl RunStats {
    /// Whether no counter went down since `before` (counters only grow; checked after every event
    /// in debug builds).
    pub fn grew_from(&self, before: &RunStats) -> bool {
        use Counter::*;
        [
            Events, TasksSpawned, TaskExits, Restarts, MessagesSent, MessagesDelivered, MessagesDropped, MessagesDelayed, MessagesReordered,
            SendFailures, ReceiveFailures, FaultsInjected, LifecycleCrashes, RequestsCompleted, RequestsFailed, RequestsRejected,
            CapabilityOps, WorkloadOps, IgnoredWakeups, ExitNotifications, PipelinesStarted, PipelinesSucceeded, PipelinesFailed,
            PipelinesCancelled, StageAttempts, PolicyEvaluations, PolicyRefusals, BudgetExhaustions, StorageOps, StorageCommits,
            StorageRollbacks,
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
            Counter::ExitNotifications => self.exit_notifications,
            Counter::PipelinesStarted => self.pipelines_started,
            Counter::PipelinesSucceeded => self.pipelines_succeeded,
            Counter::PipelinesFailed => self.pipelines_failed,
            Counter::PipelinesCancelled => self.pipelines_cancelled,
            Counter::StageAttempts => self.stage_attempts,
            Counter::PolicyEvaluations => self.policy_evaluations,
            Counter::PolicyRefusals => self.policy_refusals,
            Counter::BudgetExhaustions => self.budget_exhaustions,
            Counter::StorageOps => self.storage_ops,
            Counter::StorageCommits => self.storage_commits,
            Counter::StorageRollbacks => self.storage_rollbacks,
        }
    }
}

/// How the version checks of a set of requests came out (interface reference, "Version
/// Negotiation and Error Handling").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionChecks {
    pub compatible: u64,
    pub upgrade_required: u64,
    pub unsupported: u64,
}

impl VersionChecks {
    /// Counts one check.
    pub fn note(&mut self, outcome: Compatibility) {
        match outcome {
            Compatibility::Compatible => self.compatible += 1,
            Compatibility::UpgradeRequired => self.upgrade_required += 1,
            Compatibility::Unsupported => self.unsupported += 1,
        }
    }
}

/// Counters of one task (one incarnation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStats {
    /// Messages `send_message` accepted from this task.
    pub messages_sent: u64,
    /// Requests of this client answered, failed after every retry, and refused by version.
    pub requests_completed: u64,
    pub requests_failed: u64,
    pub requests_rejected: u64,
    /// Version checks of the requests this task sent, as the receiving server decided them.
    pub versions: VersionChecks,
    /// Exit notifications of this task's children delivered to it.
    pub exit_notifications: u64,
    /// Children this task (a supervisor) restarted.
    pub restarts: u64,
}

/// The per-task counters an expectation can bound. A task name stands for every incarnation
/// that bore it; its counters are summed over them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum TaskCounter {
    /// Tasks spawned with this name (1 + restarts by its supervisor).
    Incarnations,
    /// Incarnations that terminated.
    Exits,
    MessagesSent,
    MessagesReceived,
    RequestsCompleted,
    RequestsFailed,
    RequestsRejected,
    /// Version checks of this task's requests: compatible, upgrade required, unsupported.
    Compatible,
    UpgradeRequired,
    Unsupported,
    /// Exit notifications of its children delivered to it.
    ExitNotifications,
    /// Children it restarted (as a supervisor).
    Restarts,
}

/// Counters of one service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStats {
    pub registrations: u64,
    pub lookups: u64,
    pub failed_lookups: u64,
    /// Version checks of the requests the service's servers received.
    pub versions: VersionChecks,
}

/// The per-service counters an expectation can bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ServiceCounter {
    /// Successful registrations of the service name.
    Registrations,
    /// Successful lookups.
    Lookups,
    /// Lookups that found no registration (`ServiceNotFound`).
    FailedLookups,
    /// Requests its servers version-checked (answered or rejected).
    Requests,
    Compatible,
    UpgradeRequired,
    Unsupported,
}

impl ServiceStats {
    /// The value of one counter.
    pub fn get(&self, counter: ServiceCounter) -> u64 {
        let v = &self.versions;
        match counter {
            ServiceCounter::Registrations => self.registrations,
            ServiceCounter::Lookups => self.lookups,
            ServiceCounter::FailedLookups => self.failed_lookups,
            ServiceCounter::Requests => v.compatible + v.upgrade_required + v.unsupported,
            ServiceCounter::Compatible => v.compatible,
            ServiceCounter::UpgradeRequired => v.upgrade_required,
            ServiceCounter::Unsupported => v.unsupported,
        }
    }
}
