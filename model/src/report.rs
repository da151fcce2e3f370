//! The result of a run: verdict, violations, counters, invariant check counts, expectation
//! results and the trace hash. Hosts print it (text or JSON); `kernel_bare` prints a one-line form.

use crate::capability::{AuditKind, AuditLog, InvalidUseReason};
use crate::error::KernelErrorKind;
use crate::budget::audit::ResourceEvent;
use crate::budget::ResourceUsage;
use crate::derivation::CapabilitySet;
use crate::ids::{ExecutionId, MessageId, TaskId};
use crate::pipeline::{AttemptOrder, ExecutionTrace, ExecutorError, PipelineId, StageId};
use crate::policy::audit::PolicyAuditEvent;
use crate::policy::{PolicyDecisionReport, PolicyEvent};
use crate::storage::{ObjectId, StoredObject};
use crate::kernel::TaskRecord;
use crate::message::MessageEnvelope;
use crate::names::Symbol;
use crate::pattern::Labels;
use crate::stats::{RunStats, ServiceStats, TaskCounter, TaskStats};
use crate::watch::WatchLog;
use crate::time::Instant;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// Why the event loop stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// No event left: every task finished or waits forever.
    Quiescent,
    /// The next event lies beyond `limits.max_time_ns`.
    TimeLimit,
    /// `limits.max_events` events were processed.
    EventLimit,
    /// An invariant was violated and `limits.stop_on_violation` is set.
    Violation,
    /// The event sink asked to stop (a replay that found its divergence).
    Interrupted,
}

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Stable invariant id, e.g. `cap.single_owner`.
    pub invariant: String,
    /// The kernel subsystem whose operation exposed it (`capability.delegate`, `termination`, ...).
    pub subsystem: String,
    /// Index of the event during which it broke (0-based).
    pub event: u64,
    /// Virtual time of that event.
    pub at: Instant,
    /// What was observed, in words.
    pub message: String,
    /// The objects involved (`task#3`, `cap#7`, ...).
    pub objects: Vec<String>,
}

/// The outcome of one expectation of the scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationResult {
    /// Where the expectation is written in the scenario (`expect.audit[2]`, `steps[4].expect`);
    /// the loader turns it into a line and column.
    pub path: String,
    /// What was expected, in words.
    pub expected: String,
    /// What the run showed.
    pub actual: String,
    pub met: bool,
    /// For an unmet expectation: the events nearest to what was expected (matches when there
    /// were too many, near misses when there were too few), with their virtual times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nearest: Vec<String>,
    /// 1-based line and column of `path` in the scenario file, when the host located it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<(usize, usize)>,
}

/// What a step produced besides its result, for step expectations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StepValue {
    #[default]
    None,
    /// A `Send` step's message id.
    Sent(MessageId),
    /// The message a `Receive` step received.
    Received(MessageEnvelope),
    /// An `IsValid` step's answer.
    Validity(Result<(), InvalidUseReason>),
}

/// One task of the run: its name and counters (for per-task expectations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskRow {
    pub id: TaskId,
    pub name: Symbol,
    /// The execution identity the task ran under.
    pub exec: ExecutionId,
    pub exited: bool,
    pub received: u64,
    pub stats: TaskStats,
    /// What the identity consumed (zero when budgets are not enforced).
    pub usage: ResourceUsage,
}

impl TaskRow {
    pub fn of(task: &TaskRecord) -> Self {
        TaskRow {
            id: task.id,
            name: task.name_symbol,
            exec: task.identity.execution_id,
            exited: !task.alive(),
            received: task.received,
            stats: task.stats,
            usage: ResourceUsage::zero(),
        }
    }

    /// The row with the identity's usage read from the ledger (if budgets are enforced).
    pub fn with_usage(mut self, authority: Option<&crate::kernel::Authority>) -> Self {
        if let Some(ledger) = authority.and_then(|a| a.ledger.as_ref()) {
            self.usage = ledger.usage(self.exec);
        }
        self
    }

    /// The value of one per-task counter for this incarnation.
    pub fn get(&self, counter: TaskCounter) -> u64 {
        let s = &self.stats;
        match counter {
            TaskCounter::Incarnations => 1,
            TaskCounter::Exits => u64::from(self.exited),
            TaskCounter::MessagesSent => s.messages_sent,
            TaskCounter::MessagesReceived => self.received,
            TaskCounter::RequestsCompleted => s.requests_completed,
            TaskCounter::RequestsFailed => s.requests_failed,
            TaskCounter::RequestsRejected => s.requests_rejected,
            TaskCounter::Compatible => s.versions.compatible,
            TaskCounter::UpgradeRequired => s.versions.upgrade_required,
            TaskCounter::Unsupported => s.versions.unsupported,
            TaskCounter::ExitNotifications => s.exit_notifications,
            TaskCounter::Restarts => s.restarts,
        }
    }
}

/// One processed event, as kept in event logs (in-memory traces, divergence reports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Index of the event in the run (0-based).
    pub index: u64,
    /// Virtual time in nanoseconds.
    pub at: u64,
    /// The random choices the event drew, in order.
    pub choices: Vec<u64>,
    /// Trace hash after this event.
    pub digest: u64,
    /// What the event was (empty when not described).
    pub what: String,
    /// What it did (its observations, abbreviated; empty when not described).
    pub effects: String,
}

impl EventRecord {
    /// The owned form of a streamed event summary.
    pub fn of(summary: &crate::engine::EventSummary<'_>) -> Self {
        EventRecord {
            index: summary.index,
            at: summary.at,
            choices: summary.choices.to_vec(),
            digest: summary.digest,
            what: String::from(summary.what.unwrap_or("")),
            effects: String::from(summary.effects.unwrap_or("")),
        }
    }
}

/// How a replayed choice list fared (all empty for seeded runs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChoiceCheck {
    /// The first value at or above the bound of its draw (no run records such a value).
    pub out_of_range: Option<crate::choices::ChoiceMismatch>,
    /// The first value the run's seed would not have given (with `RunConfig::shadow_seed`).
    pub seed_disagreement: Option<crate::choices::SeedDisagreement>,
    /// Values of the list the run never drew.
    pub unread: u64,
}

/// How often one message-fault rule was evaluated (in scope and active) and fired with effect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCount {
    /// The rule in words: `Drop on Service("echo") when Chance(per_mille: 40)`.
    pub rule: String,
    pub evaluated: u64,
    pub fired: u64,
}

/// What a run's network did, node by node (in declaration order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetReport {
    pub nodes: Vec<NetNodeRow>,
    /// The network's security audit, in the order it happened: every session's bound identity
    /// and every refused handshake (seed `001_*`: a peer presenting another identity is rejected
    /// and audited).
    #[serde(default)]
    pub audit: Vec<NetAuditRecord>,
}

/// One record of the network's security audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetAuditRecord {
    pub at: crate::time::Instant,
    /// The node that recorded it.
    pub node: String,
    pub event: NetAuditEvent,
}

/// What the network's security audit records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetAuditEvent {
    /// A session came up bound to the identity `bound` (the one learnt at discovery).
    SessionBound { peer: crate::net::Ipv4Address, bound: crate::net::events::DeviceId, role: crate::net::events::Role },
    /// A handshake was refused: the peer proved `presented`, discovery had learnt `expected`.
    HandshakeRejected { peer: crate::net::Ipv4Address, expected: Option<crate::net::events::DeviceId>, presented: crate::net::events::DeviceId, reason: crate::net::events::RejectReason },
}

impl NetAuditEvent {
    /// One line: `HandshakeRejected peer 10.0.0.3 presented device 9, expected device 3 (IdentityMismatch)`.
    pub fn describe(&self) -> alloc::string::String {
        match self {
            NetAuditEvent::SessionBound { peer, bound, role } => alloc::format!("SessionBound peer {peer} bound to {bound} ({role:?})"),
            NetAuditEvent::HandshakeRejected { peer, expected, presented, reason } => {
                let expected = expected.map_or_else(|| "nothing (peer not discovered)".into(), |d| alloc::format!("{d}"));
                alloc::format!("HandshakeRejected peer {peer} presented {presented}, discovery learnt {expected} ({reason:?})")
            }
        }
    }
}

/// One node's counters at the end of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetNodeRow {
    pub name: String,
    pub address: crate::net::Ipv4Address,
    /// 0 until its first restart.
    pub incarnation: u32,
    /// Whether it was up at the end.
    pub up: bool,
    /// Every counter, in `NetCounter::ALL` order.
    pub counters: Vec<(crate::scenario::NetCounter, u64)>,
}

impl NetNodeRow {
    pub fn get(&self, counter: crate::scenario::NetCounter) -> u64 {
        self.counters.iter().find(|(c, _)| *c == counter).map_or(0, |(_, n)| *n)
    }
}

impl NetReport {
    /// The row of the node named `name`.
    pub fn node(&self, name: &str) -> Option<&NetNodeRow> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// A counter summed over every node.
    pub fn total(&self, counter: crate::scenario::NetCounter) -> u64 {
        self.nodes.iter().map(|n| n.get(counter)).sum()
    }
}

/// A counter of the bring-up lite node (`expect.lite.counters`, the run summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LiteCounter {
    /// Requests the DHCP stub made.
    DhcpRequests,
    /// Datagrams the client sent that the netstack took.
    ClientSends,
    /// The client's sends the netstack refused (unreachable, policy, budget).
    ClientSendsRefused,
    /// Datagrams `echod` echoed.
    Echoed,
    /// Echo replies the client received.
    EchoReplies,
    /// Fetches that ended with an answer.
    FetchesAnswered,
    /// Fetches that timed out after every attempt.
    FetchesTimedOut,
    /// Packet operations the policy allowed.
    PacketsAllowed,
    /// Packet operations the policy denied.
    PacketsDenied,
    /// `PacketCount` consumption records of the node's identities.
    PacketsConsumed,
    /// Packet operations refused because the identity's `PacketCount` was exhausted.
    PacketsExhausted,
    /// Looped-back packets the netstack discarded (no listener, or refused on receive).
    PacketsDiscarded,
}

impl LiteCounter {
    pub const ALL: [LiteCounter; 12] = [
        LiteCounter::DhcpRequests,
        LiteCounter::ClientSends,
        LiteCounter::ClientSendsRefused,
        LiteCounter::Echoed,
        LiteCounter::EchoReplies,
        LiteCounter::FetchesAnswered,
        LiteCounter::FetchesTimedOut,
        LiteCounter::PacketsAllowed,
        LiteCounter::PacketsDenied,
        LiteCounter::PacketsConsumed,
        LiteCounter::PacketsExhausted,
        LiteCounter::PacketsDiscarded,
    ];
}

/// What a run's bring-up lite node did (lite builds, scenarios with a `lite_network`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiteReport {
    /// The interface's address at the end (none while the DHCP stub is still asking).
    pub address: Option<crate::net::Ipv4Cidr>,
    /// Whether that address is the documented fallback.
    pub fallback: bool,
    /// Every payload the client got back, in order (lossy UTF-8).
    pub echo_replies: Vec<String>,
    /// Every scripted fetch, in script order.
    pub fetches: Vec<LiteFetchRow>,
    /// Every counter, in `LiteCounter::ALL` order.
    pub counters: Vec<(LiteCounter, u64)>,
}

/// How one scripted fetch ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiteFetchRow {
    pub url: String,
    /// The answer's status, 0 = timed out; none while it is still waiting at the end of the run.
    pub status: Option<u16>,
    /// The answer's body (lossy UTF-8).
    pub body: String,
    /// Attempts made (0 while waiting).
    pub attempts: u32,
}

impl LiteReport {
    pub fn get(&self, counter: LiteCounter) -> u64 {
        self.counters.iter().find(|(c, _)| *c == counter).map_or(0, |(_, n)| *n)
    }
}

/// The workload's operations, made explicit (see `workload::WorkloadRecord`).
pub use crate::workload::WorkloadRecord;

/// The result of one scenario step (`None` while the step has not run).
pub type StepResult = Option<Result<(), KernelErrorKind>>;

/// Everything a run reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    pub scenario: String,
    pub seed: u64,
    pub stop: StopReason,
    pub end_time: Instant,
    pub stats: RunStats,
    /// `(invariant id, times checked)` for every invariant, in `invariants::ALL` order.
    pub invariant_checks: Vec<(String, u64)>,
    pub violations: Vec<Violation>,
    pub expectations: Vec<ExpectationResult>,
    pub step_results: Vec<StepResult>,
    /// `(audit event kind, count)` for every kind, in declaration order.
    pub audit_counts: Vec<(AuditKind, u64)>,
    /// Running hash over every event and its effects; a stable function of (scenario, seed).
    pub trace_hash: u64,
    /// Number of random choices drawn.
    pub choices_drawn: u64,
    /// For replays: how the replayed choice list fared.
    #[serde(skip)]
    pub choice_check: ChoiceCheck,
    /// The recorded choices, when recording was requested.
    #[serde(skip)]
    pub choices: Option<Vec<u64>>,
    /// Per-event digests, when requested (for trace files and divergence reports).
    #[serde(skip)]
    pub event_digests: Option<Vec<u64>>,
    /// One record per event, when requested.
    #[serde(skip)]
    pub event_log: Option<Vec<EventRecord>>,
    /// The workload's operations as explicit tasks and steps, when requested.
    #[serde(skip)]
    pub workload_record: Option<WorkloadRecord>,
    /// The capability audit log.
    #[serde(skip)]
    pub audit: AuditLog,
    /// Per message-fault rule of the scenario, in plan order: evaluations and firings.
    pub fault_rules: Vec<RuleCount>,
    /// Per invariant, the situations its checks saw (observation kinds, end-of-event checks).
    pub invariant_situations: Vec<(String, Vec<String>)>,
    /// Calls of each kernel operation, by result.
    pub operations: Vec<crate::kernel::OpCount>,
    /// The run's name table: resolves the symbols in audit records and observations.
    #[serde(skip)]
    pub names: crate::names::Names,
    /// Every task of the run (index = task id), with its counters.
    #[serde(skip)]
    pub tasks: Vec<TaskRow>,
    /// Counters per service, indexed by service symbol.
    #[serde(skip)]
    pub services: Vec<ServiceStats>,
    /// Every capability / channel each scenario label was bound to.
    #[serde(skip)]
    pub cap_labels: Labels,
    #[serde(skip)]
    pub channel_labels: Labels,
    /// What each step produced (index = step number).
    #[serde(skip)]
    pub step_values: Vec<StepValue>,
    /// The watch's log, when the scenario has order, timing or occurrence expectations.
    #[serde(skip)]
    pub watch: Option<WatchLog>,
    /// Policy decisions, resource audit log, pipeline runs and storage objects, when the scenario
    /// uses those subsystems.
    #[serde(skip)]
    pub authority: Option<AuthorityReport>,
    /// Per-node network counters, when the scenario has a network (in JSON output only then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetReport>,
    /// What the bring-up lite node did, when the scenario has one (lite builds; in JSON output
    /// only then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lite: Option<LiteReport>,
    /// The focus, input and workspace audit trails and the components' final state, when the
    /// scenario has a workspace.
    #[serde(skip)]
    pub interactive: Option<InteractiveReport>,
}

/// What a run kept of its workspace (for expectations, reports and snapshots): the audit trails
/// as lines, and every component with its editor's final view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractiveReport {
    /// The focus audit trail, one line per record.
    pub focus_trail: Vec<String>,
    /// The input service's audit, one line per record.
    pub input_trail: Vec<String>,
    /// The workspace audit trail, one line per record.
    pub workspace_trail: Vec<String>,
    /// Every component ever launched, in launch order.
    pub components: Vec<ComponentRecord>,
    /// Key events the run injected (after input faults).
    pub keys: u64,
    /// How often each input fault fired, in plan order (`expect.interactive.input_rules`).
    pub input_fault_rules: Vec<RuleCount>,
}

/// One component at the end of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentRecord {
    pub name: String,
    /// `status`'s line.
    pub status: String,
    pub state: crate::workspace::ComponentState,
    /// An editor's `render()`.
    pub view: Option<String>,
    /// An editor's buffer.
    pub content: Option<String>,
}

impl InteractiveReport {
    /// What the kernel's workspace kept.
    pub fn of(i: &crate::kernel::Interactive) -> Self {
        let ws = &i.workspace;
        let lines = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<String>>();
        InteractiveReport {
            focus_trail: lines(&mut ws.focus_manager().audit_trail().iter().map(|e| alloc::format!("{e}"))),
            input_trail: lines(&mut ws.input().audit_trail().iter().map(|e| alloc::format!("{e}"))),
            workspace_trail: lines(&mut ws.audit_trail().iter().map(|e| alloc::format!("{e}"))),
            components: ws
                .list()
                .iter()
                .map(|c| {
                    let editor = i.editors.get(&c.id);
                    ComponentRecord { name: String::from(i.name_of(c.id)), status: c.details(), state: c.state, view: editor.map(|e| e.render()), content: editor.map(|e| e.get_content()) }
                })
                .collect(),
            keys: i.keys.len() as u64,
            input_fault_rules: i.input_fault_rules.clone(),
        }
    }

    /// The component named `name` (the newest of that name).
    pub fn component(&self, name: &str) -> Option<&ComponentRecord> {
        self.components.iter().rev().find(|c| c.name == name)
    }
}

/// What a run kept of its authority and resource subsystems (for expectations and reports).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityReport {
    /// The resource audit log, in order.
    pub resource_audit: Vec<ResourceEvent>,
    /// The policy audit log: one record per policy evaluated, in order.
    pub policy_audit: Vec<PolicyAuditEvent>,
    /// The acting identity of each policy audit record.
    pub policy_actors: Vec<ExecutionId>,
    /// Every pipeline run, in start order.
    pub pipelines: Vec<PipelineRecord>,
    /// Every labelled storage object with its committed versions, by label.
    pub storage: Vec<StorageRecord>,
}

impl AuthorityReport {
    /// What the kernel's authority state kept.
    pub fn of(a: &crate::kernel::Authority) -> Self {
        let pipelines = a
            .pipelines
            .iter()
            .enumerate()
            .map(|(i, run)| {
                let executor = run.executor.as_ref();
                PipelineRecord {
                    name: run.name.clone(),
                    id: PipelineId(i as u64 + 1),
                    task: run.task,
                    outcome: run.outcome.clone(),
                    trace: executor.map(|e| e.trace().clone()).unwrap_or_else(|| ExecutionTrace::new(PipelineId(i as u64 + 1))),
                    reports: executor.map(|e| e.reports().to_vec()).unwrap_or_default(),
                    orders: run.orders.clone(),
                    authority: executor.map(|e| e.authority().execution().clone()).unwrap_or_default(),
                }
            })
            .collect();
        let storage = a
            .labelled_objects()
            .map(|(label, object)| StorageRecord { label: label.into(), object, versions: a.store.history(object).iter().filter_map(|v| a.store.version(*v).cloned()).collect() })
            .collect();
        AuthorityReport {
            resource_audit: a.resource_audit().to_vec(),
            policy_audit: a.policy_audit.events().to_vec(),
            policy_actors: a.policy_actors.clone(),
            pipelines,
            storage,
        }
    }

    /// The run of pipeline `name` number `run` (1 = first).
    pub fn pipeline(&self, name: &str, run: u32) -> Option<&PipelineRecord> {
        self.pipelines.iter().filter(|p| p.name == name).nth(run.saturating_sub(1) as usize)
    }

    /// The labelled object `label` (its newest binding).
    pub fn object(&self, label: &str) -> Option<&StorageRecord> {
        self.storage.iter().find(|s| s.label == label)
    }
}

/// One pipeline run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineRecord {
    pub name: String,
    pub id: PipelineId,
    /// The task whose identity ran it.
    pub task: TaskId,
    /// `None` while it had not finished when the run stopped.
    pub outcome: Option<Result<(), ExecutorError>>,
    pub trace: ExecutionTrace,
    /// Every policy report obtained, with the event and stage (the explain output).
    pub reports: Vec<(PolicyEvent, Option<StageId>, PolicyDecisionReport)>,
    /// What each attempt's handler was given, in order.
    pub orders: Vec<AttemptOrder>,
    /// The execution authority at the end.
    pub authority: CapabilitySet,
}

/// A labelled storage object and its committed versions, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageRecord {
    pub label: String,
    pub object: ObjectId,
    pub versions: Vec<StoredObject>,
}

impl Violation {
    /// The failure signature: invariant id and subsystem, e.g. `cap.single_owner@capability.delegate`.
    pub fn signature(&self) -> String {
        alloc::format!("{}@{}", self.invariant, self.subsystem)
    }
}

impl RunReport {
    /// Whether every expectation of the scenario was met (the process exits 0 exactly then).
    pub fn passed(&self) -> bool {
        self.expectations.iter().all(|e| e.met)
    }

    /// The first violation, if any.
    pub fn first_violation(&self) -> Option<&Violation> {
        self.violations.first()
    }

    /// The trace hash as 16 hex digits.
    pub fn trace_hash_hex(&self) -> String {
        alloc::format!("{:016x}", self.trace_hash)
    }
}
