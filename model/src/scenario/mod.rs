//! The scenario: everything a run needs besides its seed, as plain data (serde). The `scenarios`
//! crate reads it from RON; `kernel_bare` gets it in binary form. Field-by-field documentation
//! with defaults is in `scenarios/README.md`.
//!
//! [`Scenario::validate`] rejects names that do not resolve and impossible values before a run
//! starts, so the engine never meets them (steps and expectations are checked in `validate`). Its
//! error names the offending path, what was expected with the valid alternatives and, when there
//! is one, the offending name, which the RON loader turns into a line and column.
//!
//! Expectations name events by content through [`crate::pattern`] and are evaluated after the
//! run by [`crate::expect`].
//!
//! Sizes are bounded here, so a short file cannot ask for more than a run can hold: supervisors
//! nest at most [`MAX_SUPERVISOR_DEPTH`] levels (every reader of scenarios and traces accepts that
//! depth and no more) and a workload starts at most [`MAX_WORKLOAD_TASKS`] tasks. Everything else a
//! run holds grows with the events it executes (`limits.max_events` bounds those, and is as large
//! as a user asks: the scaling benchmarks run on time limits alone).

use crate::budget::ResourceBudget;
use crate::bugs::PlantedBug;
use crate::capability::InvalidUseReason;
use crate::error::KernelErrorKind;
use crate::fault::{FaultPlan, FaultScope, FaultTrigger, LifecycleFault};
use crate::identity::{ExitReason, IdentityKind};
use crate::lifecycle::RestartPolicy;
use crate::message::SchemaVersion;
use crate::pattern::{AuditPattern, EventPattern};
use crate::stats::{ServiceCounter, TaskCounter};
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

mod authority;
mod interactive;
#[cfg(feature = "net-bringup-lite")]
mod lite;
mod network;
mod validate;

pub use authority::*;
pub use interactive::*;
#[cfg(feature = "net-bringup-lite")]
pub use lite::*;
pub use network::*;

/// Most supervisors above any task: a top-level task is at level 0, a supervisor's child one level
/// below its supervisor. Scenario files, text traces and binary traces all accept this depth and
/// refuse anything deeper; deep enough for any supervision tree, shallow enough that every
/// decoder's recursion stays far from the end of a thread's stack.
pub const MAX_SUPERVISOR_DEPTH: usize = 32;

/// How the nesting limit is stated in every error about it.
pub fn nesting_limit() -> String {
    format!("supervisors may nest at most {MAX_SUPERVISOR_DEPTH} levels (the limit of scenarios and traces)")
}

/// Why a canonical `network` is refused by a lite build.
pub const CANONICAL_ONLY: &str = "a `network` of soft-bus nodes needs the canonical networking path, and this build has `net-bringup-lite`: run it in a default build (`cargo run --release --bin scenario -- FILE`)";

/// Why a lite section is refused by a canonical build (the loader says it when it meets one).
pub const LITE_ONLY: &str = "the bring-up lite networking path (`lite_network`, `expect.lite`) exists only in lite builds: build with `--no-default-features --features net-bringup-lite` (e.g. `cargo run --release --no-default-features --features net-bringup-lite --bin scenario -- FILE`)";

/// Which networking path this build has (seed `001_*`: exactly one).
pub const NET_PATH: &str = if cfg!(feature = "net-bringup-lite") { "net-bringup-lite" } else { "net-canonical" };

/// Most idle tasks a workload spawns at its start (they are all spawned at once).
pub const MAX_WORKLOAD_TASKS: u32 = 10_000;

/// A complete, seeded description of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seed of the run's choices; `--seed` overrides it.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub limits: Limits,
    /// Tasks spawned by the scenario (supervisors spawn their own children).
    #[serde(default)]
    pub tasks: Vec<TaskSpec>,
    /// Explicit operations at given virtual times.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// An optional random workload of kernel and capability operations.
    #[serde(default)]
    pub workload: Option<Workload>,
    #[serde(default)]
    pub faults: FaultPlan,
    /// The policy engine every enforcement point consults (spawn, delegation, pipeline start,
    /// stage start, stage end); none allows everything.
    #[serde(default)]
    pub policy: Option<crate::policy::PolicySpec>,
    /// Pipelines `RunPipeline` steps start.
    #[serde(default)]
    pub pipelines: Vec<PipelineDecl>,
    /// Schema migrations `Storage(op: Migrate(..))` steps use, one plan per object schema.
    #[serde(default)]
    pub migrations: Vec<crate::storage::MigrationPlan>,
    /// The workspace: components, their input, focus and editors (`scenarios/README.md`, "Input,
    /// focus, workspace and editor").
    #[serde(default)]
    pub workspace: Option<WorkspaceDecl>,
    /// Planted bugs to switch on.
    #[serde(default)]
    pub bugs: Vec<PlantedBug>,
    /// Networked nodes in the same run (seeds `000_*`, `001_*`): see [`Network`].
    #[serde(default)]
    pub network: Option<Network>,
    #[serde(default)]
    pub expect: Expectations,
    /// The bring-up lite node (seed `001_*`, lite builds only): see [`LiteNetwork`]. Keep it the
    /// last field, after `expect` (whose last field is `expect.lite`): `trace::scenario_digest`
    /// relies on it to give a scenario without lite parts the same digest in both builds.
    #[cfg(feature = "net-bringup-lite")]
    #[serde(default)]
    pub lite_network: Option<LiteNetwork>,
}

/// When a run stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct Limits {
    /// Virtual time limit in nanoseconds (default 1 s).
    pub max_time_ns: u64,
    /// Event limit (default 1,000,000).
    pub max_events: u64,
    /// Each task wake-up is delayed by a random `0..=sched_jitter_ns` (default 1,000 ns), which is
    /// how seeds explore interleavings. 0 makes scheduling fully fixed.
    pub sched_jitter_ns: u64,
    /// Stop at the first violation (default true); false keeps going and reports them all.
    pub stop_on_violation: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_time_ns: 1_000_000_000, max_events: 1_000_000, sched_jitter_ns: 1_000, stop_on_violation: true }
    }
}

/// A task the scenario (or a supervisor) spawns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub name: String,
    pub behaviour: Behaviour,
    #[serde(default)]
    pub kind: IdentityKind,
    /// Trust domain tag (default "user").
    #[serde(default = "default_domain")]
    pub domain: String,
    /// When the task is spawned (ignored for supervisor children, which start with their parent).
    #[serde(default)]
    pub start_ns: u64,
    /// Capabilities the kernel grants the task at spawn.
    #[serde(default)]
    pub caps: Vec<CapGrant>,
    /// Restart policy, used when the task is a supervisor's child.
    #[serde(default)]
    pub restart: RestartPolicy,
    /// The resource budget the task's identity asks for at spawn (none: its parent's, or
    /// unlimited for a task without a parent). More than the parent's is refused.
    #[serde(default)]
    pub budget: Option<ResourceBudget>,
}

fn default_domain() -> String {
    "user".to_string()
}

/// A capability granted at spawn; `label` names it in steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapGrant {
    pub label: String,
    pub kind: String,
    #[serde(default)]
    pub durable: bool,
}

/// What a task does. Parameters with defaults are listed in `scenarios/README.md`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Behaviour {
    /// Does nothing by itself; acts only through steps and the workload.
    Idle,
    /// Registers `service` and answers every request (echo), checking the schema version window.
    Server {
        service: String,
        #[serde(default)]
        version: SchemaVersion,
        /// Lowest accepted major (default: one below `version.major`).
        #[serde(default)]
        min_major: Option<u32>,
        /// Virtual time spent per request.
        #[serde(default)]
        work_ns: u64,
    },
    /// Sends `requests` requests to `service`, each retried after a timeout.
    Client {
        service: String,
        #[serde(default = "default_requests")]
        requests: u32,
        #[serde(default = "default_timeout")]
        timeout_ns: u64,
        #[serde(default = "default_retries")]
        retries: u32,
        #[serde(default = "default_backoff")]
        backoff_ns: u64,
        #[serde(default)]
        interval_ns: u64,
        #[serde(default)]
        version: SchemaVersion,
    },
    /// Registers `service` and forwards each request to service `to`, keeping the reply channel.
    Forwarder { service: String, to: String },
    /// Uses each capability it holds, waits `hold_ns`, delegates half of them to task `to`, drops
    /// the rest, probes a delegated one (which must now fail), and exits.
    CapPasser {
        to: String,
        #[serde(default)]
        hold_ns: u64,
    },
    /// Spawns `children` with itself as parent and applies their restart policies.
    Supervisor {
        children: Vec<TaskSpec>,
        #[serde(default = "default_backoff")]
        backoff_ns: u64,
    },
}

fn default_requests() -> u32 {
    10
}
fn default_timeout() -> u64 {
    1_000_000
}
fn default_retries() -> u32 {
    3
}
fn default_backoff() -> u64 {
    100_000
}

/// An explicit operation at virtual time `at_ns`, with its expected result, if stated (checked
/// after the run and reported with the step's own line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub at_ns: u64,
    pub op: StepOp,
    #[serde(default)]
    pub expect: Option<StepOutcome>,
}

impl Step {
    /// A step without an expectation.
    pub fn new(at_ns: u64, op: StepOp) -> Self {
        Step { at_ns, op, expect: None }
    }
}

/// The operations a step can perform. Task names refer to the newest task of that name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum StepOp {
    /// The kernel grants a new capability labelled `cap` to `task`.
    Grant {
        task: String,
        cap: String,
        kind: String,
        #[serde(default)]
        durable: bool,
    },
    Delegate { cap: String, from: String, to: String },
    Drop { cap: String, task: String },
    /// Explicitly duplicates `cap`; the copy is labelled `new_cap`.
    Clone { cap: String, task: String, new_cap: String },
    /// `task` uses `cap` (validation before use).
    Use { cap: String, task: String },
    /// `task` uses a capability id the kernel never minted.
    UseForged { task: String, id: u64 },
    Terminate {
        task: String,
        #[serde(default)]
        reason: ExitReason,
    },
    /// Creates a channel labelled `channel`; with `cap`, its channel capability gets that label.
    CreateChannel {
        task: String,
        channel: String,
        #[serde(default)]
        cap: Option<String>,
    },
    /// `task` sends a message with `action` on `channel`. With `reply_to` (a channel label) the
    /// message is a request a `Server` answers on that channel; `version` is its schema version;
    /// with `answers: i` it carries the id of the message step `i` received as its correlation id.
    Send {
        task: String,
        channel: String,
        #[serde(default)]
        action: String,
        #[serde(default)]
        reply_to: Option<String>,
        #[serde(default)]
        version: SchemaVersion,
        #[serde(default)]
        answers: Option<u32>,
    },
    /// Receives the oldest message. `timeout_ns: 0` (the default) polls: `Err(Timeout)` at once on
    /// an empty queue. A positive timeout blocks the (Idle) task in virtual time until a message
    /// arrives or the timeout passes; the step completes, and its result is recorded, when the
    /// task resumes.
    Receive {
        task: String,
        channel: String,
        #[serde(default)]
        timeout_ns: u64,
    },
    /// `task` spawns `child` (its parent and creator); the capabilities labelled in `give` move
    /// from `task` to the child, which starts with those and the `caps` of its spec, nothing else.
    Spawn {
        task: String,
        child: TaskSpec,
        #[serde(default)]
        give: Vec<String>,
    },
    /// Asks whether `task` may use `cap` now, without side effects: not an operation on the
    /// authority table, not counted, never audited. Its result is `Valid` or `Invalid(<reason>)`.
    IsValid { task: String, cap: String },
    Register { task: String, service: String, channel: String },
    /// Looks `service` up; with `bind`, the channel found gets that label.
    Lookup {
        task: String,
        service: String,
        #[serde(default)]
        bind: Option<String>,
    },
    /// `task` starts a run of the pipeline named `pipeline`: its identity is the executor's (its
    /// budget pays for stages, CPU ticks and storage), policies see it as the actor.
    RunPipeline { task: String, pipeline: String },
    /// Cancels the newest run of `pipeline` that has not finished (default reason `UserCancel`).
    CancelPipeline {
        pipeline: String,
        #[serde(default)]
        reason: Option<CancelReason>,
    },
    /// `task` performs a storage operation inside the transaction labelled `tx`.
    Storage { task: String, tx: String, op: StorageStep },
    /// `task` does `ticks` of simulated work (`CpuTicks`).
    Compute { task: String, ticks: u64 },
    /// The workspace launches a component (policy `OnSpawn`, its budget within the workspace's;
    /// it takes focus if nobody has it).
    Launch { component: ComponentDecl },
    /// The component asks for input focus (policy `OnInputFocusRequest`).
    RequestFocus { component: String },
    /// The component gives up its place on the focus stack (from the top: focus returns to the
    /// one below).
    ReleaseFocus { component: String },
    /// The workspace focuses the next (`NextComponent`) or previous running focusable component.
    NextComponent,
    PrevComponent,
    /// The workspace closes (cancels) the component.
    Close { component: String },
    /// The workspace's `status` of the component: `Err(InvalidCapability)` if it is not running.
    Status { component: String },
    /// The input service revokes the component's subscription (it stays on the focus stack;
    /// keys routed to it are refused).
    Revoke { component: String },
    /// The component drops its subscription (and its place on the focus stack).
    Unsubscribe { component: String },
    /// The component subscribes again (one subscription per component).
    Subscribe { component: String },
}

impl StepOp {
    /// The operation's name, as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            StepOp::Grant { .. } => "Grant",
            StepOp::Delegate { .. } => "Delegate",
            StepOp::Drop { .. } => "Drop",
            StepOp::Clone { .. } => "Clone",
            StepOp::Use { .. } => "Use",
            StepOp::UseForged { .. } => "UseForged",
            StepOp::Terminate { .. } => "Terminate",
            StepOp::CreateChannel { .. } => "CreateChannel",
            StepOp::Send { .. } => "Send",
            StepOp::Receive { .. } => "Receive",
            StepOp::Register { .. } => "Register",
            StepOp::Lookup { .. } => "Lookup",
            StepOp::Spawn { .. } => "Spawn",
            StepOp::IsValid { .. } => "IsValid",
            StepOp::RunPipeline { .. } => "RunPipeline",
            StepOp::CancelPipeline { .. } => "CancelPipeline",
            StepOp::Storage { .. } => "Storage",
            StepOp::Compute { .. } => "Compute",
            StepOp::Launch { .. } => "Launch",
            StepOp::RequestFocus { .. } => "RequestFocus",
            StepOp::ReleaseFocus { .. } => "ReleaseFocus",
            StepOp::NextComponent => "NextComponent",
            StepOp::PrevComponent => "PrevComponent",
            StepOp::Close { .. } => "Close",
            StepOp::Status { .. } => "Status",
            StepOp::Revoke { .. } => "Revoke",
            StepOp::Unsubscribe { .. } => "Unsubscribe",
            StepOp::Subscribe { .. } => "Subscribe",
        }
    }
}

/// The random workload: `ops` operations drawn from `mix`, about `interval_ns` apart, performed
/// by `tasks` idle tasks the workload spawns (spread over `domains`) and by the tasks it spawns later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub ops: u32,
    #[serde(default = "default_interval")]
    pub interval_ns: u64,
    #[serde(default = "default_workload_tasks")]
    pub tasks: u32,
    #[serde(default)]
    pub mix: OpMix,
    #[serde(default = "default_domains")]
    pub domains: Vec<String>,
    /// The budget every workload task asks for at spawn (none: unlimited).
    #[serde(default)]
    pub budget: Option<ResourceBudget>,
}

fn default_interval() -> u64 {
    10_000
}
fn default_workload_tasks() -> u32 {
    4
}
fn default_domains() -> Vec<String> {
    ["core", "user", "sandbox"].iter().map(|s| s.to_string()).collect()
}

/// Relative weights of workload operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct OpMix {
    pub spawn: u32,
    pub terminate: u32,
    pub grant: u32,
    pub delegate: u32,
    pub clone: u32,
    pub drop: u32,
    pub use_cap: u32,
    pub forged_use: u32,
    pub create_channel: u32,
    pub send: u32,
    pub receive: u32,
    pub register: u32,
    pub lookup: u32,
    /// A storage operation on the workload's own transactions and objects (begin, create,
    /// write, commit, rollback).
    pub storage: u32,
    /// A run of one of the scenario's pipelines, by a workload task.
    pub pipeline: u32,
    /// Simulated work (`CpuTicks`) by a workload task.
    pub compute: u32,
}

impl OpMix {
    /// The weights in field order.
    pub fn weights(&self) -> [u32; 16] {
        [
            self.spawn,
            self.terminate,
            self.grant,
            self.delegate,
            self.clone,
            self.drop,
            self.use_cap,
            self.forged_use,
            self.create_channel,
            self.send,
            self.receive,
            self.register,
            self.lookup,
            self.storage,
            self.pipeline,
            self.compute,
        ]
    }

    /// Every weight, mutably, in field order.
    pub fn weights_mut(&mut self) -> [&mut u32; 16] {
        [
            &mut self.spawn,
            &mut self.terminate,
            &mut self.grant,
            &mut self.delegate,
            &mut self.clone,
            &mut self.drop,
            &mut self.use_cap,
            &mut self.forged_use,
            &mut self.create_channel,
            &mut self.send,
            &mut self.receive,
            &mut self.register,
            &mut self.lookup,
            &mut self.storage,
            &mut self.pipeline,
            &mut self.compute,
        ]
    }
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix {
            spawn: 4,
            terminate: 2,
            grant: 10,
            delegate: 10,
            clone: 2,
            drop: 4,
            use_cap: 20,
            forged_use: 1,
            create_channel: 3,
            send: 15,
            receive: 12,
            register: 3,
            lookup: 8,
            storage: 0,
            pipeline: 0,
            compute: 0,
        }
    }
}

/// What the run must show. Field-by-field documentation with examples is in
/// `scenarios/README.md` ("Expectations").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(default)]
pub struct Expectations {
    pub verdict: ExpectedVerdict,
    /// Results of given steps (by index in `steps`; a step's own `expect` says the same in place).
    pub steps: Vec<StepExpectation>,
    /// Counts of audit records matching a pattern (a bare kind matches every record of it).
    pub audit: Vec<(AuditPattern, Count)>,
    /// Run counters.
    pub counters: Vec<(Counter, Count)>,
    /// Per-task counters: `(task name, counter, count)`, summed over the name's incarnations.
    pub task_counters: Vec<(String, TaskCounter, Count)>,
    /// Per-service counters: `(service name, counter, count)`.
    pub service_counters: Vec<(String, ServiceCounter, Count)>,
    /// How often events matching a pattern happened.
    pub occurrences: Vec<(EventPattern, Count)>,
    /// `(a, b)`: both happen, and `a` (its first match, or the `Nth`) comes before `b`.
    pub order: Vec<(EventPattern, EventPattern)>,
    /// When an event happened, in virtual time.
    pub timing: Vec<Timing>,
    /// Counts of resource audit records matching a pattern.
    pub resources: Vec<(ResourcePattern, Count)>,
    /// Usage at the end of the run: `(task name, resource, count)`, summed over the name's
    /// incarnations.
    pub usage: Vec<(String, crate::budget::ResourceKind, Count)>,
    /// Counts of policy audit records matching a pattern.
    pub policy: Vec<(PolicyPattern, Count)>,
    /// Outcomes, errors, execution traces and capability views of pipeline runs.
    pub pipelines: Vec<PipelineExpectation>,
    /// Committed versions of labelled storage objects.
    pub storage: Vec<StorageExpectation>,
    /// Network counters of named nodes at the end of the run.
    pub network: Vec<NetExpectation>,
    /// Focus and workspace audit trails, editors' views.
    pub interactive: InteractiveExpectations,
    /// How often message-fault rules fired with effect (and, optionally, were evaluated).
    pub rules: Vec<RuleExpectation>,
    /// What the bring-up lite node shows at the end (lite builds only). Keep it the last field
    /// (see `Scenario::lite_network`).
    #[cfg(feature = "net-bringup-lite")]
    pub lite: Option<LiteExpectation>,
}

/// `(rule: 2, fired: AtLeast(1))`: rule 2 of `faults.message_faults` (counted from 0) fired with
/// effect as often as `fired` says; `evaluated`, when given, bounds how often its trigger was
/// consulted. "With effect" is the summary's `fired` column: a `Reorder` with nothing queued to
/// overtake does not count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleExpectation {
    pub rule: u32,
    pub fired: Count,
    #[serde(default)]
    pub evaluated: Option<Count>,
}

impl Expectations {
    /// Whether the run must keep a log of matching events (order, timing, occurrences).
    pub fn watches_events(&self) -> bool {
        !(self.occurrences.is_empty() && self.order.is_empty() && self.timing.is_empty())
    }

    /// Every event pattern the expectations name, with its path (for the watch and validation).
    pub fn event_patterns(&self) -> Vec<(String, &EventPattern)> {
        let mut out = Vec::new();
        for (i, (p, _)) in self.occurrences.iter().enumerate() {
            out.push((format!("expect.occurrences[{i}]"), p));
        }
        for (i, (a, b)) in self.order.iter().enumerate() {
            out.push((format!("expect.order[{i}]"), a));
            out.push((format!("expect.order[{i}]"), b));
        }
        for (i, t) in self.timing.iter().enumerate() {
            out.push((format!("expect.timing[{i}].event"), &t.event));
            if let Some(since) = &t.since {
                out.push((format!("expect.timing[{i}].since"), since));
            }
        }
        out
    }
}

/// When the event `event` happened: exactly `at_ns`, at least `after_ns`, at most `within_ns`
/// after the start of the run, or after the first match of `since` when it is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    pub event: EventPattern,
    #[serde(default)]
    pub since: Option<EventPattern>,
    #[serde(default)]
    pub at_ns: Option<u64>,
    #[serde(default)]
    pub after_ns: Option<u64>,
    #[serde(default)]
    pub within_ns: Option<u64>,
}

/// Whether the run must pass or must violate a given invariant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ExpectedVerdict {
    #[default]
    Pass,
    Violation(String),
}

/// The expected result of step number `step`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepExpectation {
    pub step: u32,
    pub result: StepOutcome,
}

/// The result of a step: ok, a kernel error of the given kind, the answer of an `IsValid`
/// query, or (for a `Receive`) the message it received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum StepOutcome {
    Ok,
    Err(KernelErrorKind),
    /// `IsValid`: the task may use the capability.
    Valid,
    /// `IsValid`: it may not, for this reason (the first check that fails, in the seed's order).
    Invalid(InvalidUseReason),
    /// `Receive`: a message was received: with this `action`, sent by task `from`, answering the
    /// message sent by step `answers` (its correlation id is that message's id), carrying this
    /// kind of `payload`.
    Received {
        #[serde(default)]
        action: Option<String>,
        #[serde(default)]
        from: Option<String>,
        #[serde(default)]
        answers: Option<u32>,
        #[serde(default)]
        payload: Option<PayloadKind>,
    },
}

/// What a received message carries (`message::MessagePayload` without its fields; a rejected
/// request's reply names the version check's outcome).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadKind {
    Empty,
    Request,
    Response,
    /// A `Rejected` reply: the sender must upgrade (`SchemaMismatchError::UpgradeRequired`).
    UpgradeRequired,
    /// A `Rejected` reply: the version is not supported (`SchemaMismatchError::Unsupported`).
    Unsupported,
    Data,
}

impl PayloadKind {
    pub fn of(payload: &crate::message::MessagePayload) -> Self {
        use crate::message::{MessagePayload as M, SchemaMismatchError as E};
        match payload {
            M::Empty => PayloadKind::Empty,
            M::Request { .. } => PayloadKind::Request,
            M::Response { .. } => PayloadKind::Response,
            M::Rejected { error: E::UpgradeRequired { .. }, .. } => PayloadKind::UpgradeRequired,
            M::Rejected { error: E::Unsupported { .. }, .. } => PayloadKind::Unsupported,
            M::Data(_) => PayloadKind::Data,
        }
    }
}

impl StepOutcome {
    /// The kernel-level result this outcome implies.
    pub fn result(&self) -> Result<(), KernelErrorKind> {
        match self {
            StepOutcome::Ok | StepOutcome::Valid | StepOutcome::Received { .. } => Ok(()),
            StepOutcome::Err(kind) => Err(*kind),
            StepOutcome::Invalid(_) => Err(KernelErrorKind::InvalidCapability),
        }
    }
}

/// A bound on a count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Count {
    Exactly(u64),
    AtLeast(u64),
    AtMost(u64),
}

impl Count {
    pub fn admits(self, n: u64) -> bool {
        match self {
            Count::Exactly(k) => n == k,
            Count::AtLeast(k) => n >= k,
            Count::AtMost(k) => n <= k,
        }
    }
}

/// The run counters an expectation can bound (see `stats::RunStats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Counter {
    Events,
    TasksSpawned,
    TaskExits,
    Restarts,
    MessagesSent,
    MessagesDelivered,
    MessagesDropped,
    MessagesDelayed,
    MessagesReordered,
    SendFailures,
    ReceiveFailures,
    FaultsInjected,
    LifecycleCrashes,
    RequestsCompleted,
    RequestsFailed,
    RequestsRejected,
    CapabilityOps,
    WorkloadOps,
    IgnoredWakeups,
    ExitNotifications,
    /// Pipeline runs started (`RunPipeline` steps that found their task running).
    PipelinesStarted,
    PipelinesSucceeded,
    PipelinesFailed,
    PipelinesCancelled,
    /// Stage attempts started, retries included.
    StageAttempts,
    /// Policy evaluations at every enforcement point (one per decision, however many policies it composed).
    PolicyEvaluations,
    /// Enforced decisions that refused the operation (Deny, Require).
    PolicyRefusals,
    /// Operations refused because they would have exceeded a budget.
    BudgetExhaustions,
    /// Storage operations performed (charged), by steps and by stages.
    StorageOps,
    StorageCommits,
    /// Transactions rolled back (explicitly, by a failed commit, or by their task's end).
    StorageRollbacks,
}

/// Why a scenario is not runnable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// Where in the scenario, e.g. `steps[3].op.task`.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// The offending name, when there is one (used to locate it in the source text).
    pub name: Option<String>,
}

impl core::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

pub(crate) fn err(path: impl Into<String>, message: impl Into<String>, name: Option<&str>) -> ScenarioError {
    ScenarioError { path: path.into(), message: message.into(), name: name.map(|n| n.to_string()) }
}

impl Scenario {
    /// Every task spec, including supervisor children (depth first) and the children of `Spawn`
    /// steps, with its path.
    pub fn all_tasks(&self) -> Vec<(String, &TaskSpec)> {
        let mut out = self.declared_tasks();
        for (i, step) in self.steps.iter().enumerate() {
            if let StepOp::Spawn { child, .. } = &step.op {
                walk_tasks(format!("steps[{i}].op.child"), child, &mut out);
            }
        }
        out
    }

    /// The tasks of `tasks` and their supervisor children (depth first), with their paths: the
    /// tasks that exist without any step.
    pub fn declared_tasks(&self) -> Vec<(String, &TaskSpec)> {
        let mut out = Vec::new();
        for (i, t) in self.tasks.iter().enumerate() {
            walk_tasks(format!("tasks[{i}]"), t, &mut out);
        }
        out
    }

    /// How many supervisors the deepest task has above it (0 when no task is a supervisor's child).
    pub fn supervisor_depth(&self) -> usize {
        fn depth(spec: &TaskSpec) -> usize {
            match &spec.behaviour {
                Behaviour::Supervisor { children, .. } => children.iter().map(|c| 1 + depth(c)).max().unwrap_or(0),
                _ => 0,
            }
        }
        self.tasks.iter().map(depth).max().unwrap_or(0)
    }

    /// Services some task provides (servers and forwarders).
    pub fn provided_services(&self) -> BTreeSet<String> {
        let mut set = BTreeSet::new();
        for (_, t) in self.all_tasks() {
            match &t.behaviour {
                Behaviour::Server { service, .. } | Behaviour::Forwarder { service, .. } => {
                    set.insert(service.clone());
                }
                _ => {}
            }
        }
        for s in &self.steps {
            if let StepOp::Register { service, .. } = &s.op {
                set.insert(service.clone());
            }
        }
        set
    }

    /// The scenario without any expectation (verdict `Pass`, no step expectations): what a
    /// campaign or the shrinker runs, where only the violation signature matters.
    pub fn without_expectations(mut self) -> Self {
        self.expect = Expectations::default();
        for step in &mut self.steps {
            step.expect = None;
        }
        self
    }

    /// Checks names and values; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if self.limits.max_events == 0 {
            return Err(err("limits.max_events", "expected a positive event limit", None));
        }
        if self.limits.max_time_ns == 0 {
            return Err(err("limits.max_time_ns", "expected a positive time limit", None));
        }
        let tasks = self.validate_tasks()?;
        let services = self.provided_services();
        self.validate_behaviours(&tasks, &services)?;
        let known = validate::Known::of(self, tasks);
        validate::steps(self, &known)?;
        self.validate_workload()?;
        self.validate_faults(&known.tasks, &services)?;
        validate::authority(self, &known)?;
        self.validate_network()?;
        interactive::validate(self)?;
        validate::expectations(self, &known)
    }

    fn validate_network(&self) -> Result<(), ScenarioError> {
        if let Some(n) = &self.network {
            if cfg!(not(feature = "net-canonical")) {
                return Err(err("network", CANONICAL_ONLY, None));
            }
            n.validate()?;
        }
        if cfg!(not(feature = "net-canonical")) && !self.expect.network.is_empty() {
            return Err(err("expect.network", CANONICAL_ONLY, None));
        }
        Network::validate_expectations(self.network.as_ref(), &self.expect.network)?;
        #[cfg(feature = "net-bringup-lite")]
        {
            if let Some(n) = &self.lite_network {
                n.validate()?;
            }
            lite::validate_expectation(self.lite_network.as_ref(), self.expect.lite.as_ref())?;
        }
        Ok(())
    }

    fn validate_tasks(&self) -> Result<BTreeSet<String>, ScenarioError> {
        let mut names = BTreeSet::new();
        for (path, t) in self.all_tasks() {
            // Each supervisor level adds one `.behaviour.children[i]` to the path.
            let depth = path.matches(".behaviour.children[").count();
            if depth > MAX_SUPERVISOR_DEPTH {
                let message = format!("task `{}` sits {depth} supervisors deep: {}", t.name, nesting_limit());
                // The top-level task (the full path is as long as the nesting is deep).
                let top = path.split('.').next().unwrap_or_default();
                return Err(err(top, message, Some(&t.name)));
            }
            if t.name.is_empty() {
                return Err(err(format!("{path}.name"), "expected a non-empty task name", None));
            }
            let reserved = t.name.len() > 2 && t.name.starts_with("wl") && t.name[2..].chars().all(|c| c.is_ascii_digit());
            if reserved && self.workload.is_some() {
                return Err(err(format!("{path}.name"), "names `wl<N>` are reserved for workload tasks when the scenario has a workload", Some(&t.name)));
            }
            if !names.insert(t.name.clone()) {
                return Err(err(format!("{path}.name"), format!("duplicate task name `{}`", t.name), Some(&t.name)));
            }
        }
        Ok(names)
    }

    fn validate_behaviours(&self, tasks: &BTreeSet<String>, services: &BTreeSet<String>) -> Result<(), ScenarioError> {
        for (path, t) in self.all_tasks() {
            let need_service = |s: &str, field: &str| {
                if services.contains(s) {
                    Ok(())
                } else {
                    Err(err(
                        format!("{path}.behaviour.{field}"),
                        format!("unknown service `{s}`: expected a service registered by a Server, Forwarder or Register step"),
                        Some(s),
                    ))
                }
            };
            match &t.behaviour {
                Behaviour::Client { service, timeout_ns, .. } => {
                    need_service(service, "service")?;
                    if *timeout_ns == 0 {
                        return Err(err(format!("{path}.behaviour.timeout_ns"), "expected a positive timeout", None));
                    }
                }
                Behaviour::Forwarder { service, to } => {
                    need_service(to, "to")?;
                    if service == to {
                        return Err(err(format!("{path}.behaviour.to"), "a forwarder cannot forward to itself", Some(to)));
                    }
                }
                Behaviour::CapPasser { to, .. } if !tasks.contains(to) => {
                    return Err(err(format!("{path}.behaviour.to"), format!("unknown task `{to}`"), Some(to)));
                }
                Behaviour::Server { version, min_major: Some(m), .. } if *m > version.major => {
                    return Err(err(format!("{path}.behaviour.min_major"), "expected min_major <= version.major", None));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn validate_workload(&self) -> Result<(), ScenarioError> {
        if let Some(w) = &self.workload {
            let m = &w.mix;
            let total = m
                .weights()
                .iter()
                .map(|&x| u64::from(x))
                .sum::<u64>();
            if w.ops > 0 && total == 0 {
                return Err(err("workload.mix", "expected at least one operation with a positive weight", None));
            }
            if w.tasks > MAX_WORKLOAD_TASKS {
                return Err(err("workload.tasks", format!("expected at most {MAX_WORKLOAD_TASKS} workload tasks"), None));
            }
            if w.domains.is_empty() {
                return Err(err("workload.domains", "expected at least one trust domain", None));
            }
            if w.mix.pipeline > 0 && self.pipelines.is_empty() {
                return Err(err("workload.mix.pipeline", "the workload starts the scenario's pipelines, and it declares none", None));
            }
        }
        Ok(())
    }

    fn validate_faults(&self, tasks: &BTreeSet<String>, services: &BTreeSet<String>) -> Result<(), ScenarioError> {
        for (i, rule) in self.faults.message_faults.iter().enumerate() {
            let path = format!("faults.message_faults[{i}]");
            match &rule.on {
                FaultScope::Service(s) if !services.contains(s) => {
                    return Err(err(format!("{path}.on"), format!("unknown service `{s}`"), Some(s)));
                }
                FaultScope::Task(t) if !tasks.contains(t) => {
                    return Err(err(format!("{path}.on"), format!("unknown task `{t}`"), Some(t)));
                }
                _ => {}
            }
            match rule.when {
                FaultTrigger::Chance { per_mille } if per_mille > 1000 => {
                    return Err(err(format!("{path}.when"), "expected per_mille between 0 and 1000", None));
                }
                FaultTrigger::EveryNth { n: 0 } => {
                    return Err(err(format!("{path}.when"), "expected EveryNth with n >= 1", None));
                }
                FaultTrigger::Window { from_ns, until_ns } if from_ns > until_ns => {
                    return Err(err(format!("{path}.when"), "expected a window with from_ns <= until_ns", None));
                }
                FaultTrigger::Periodic { every_ns: 0, .. } => {
                    return Err(err(format!("{path}.when"), "expected Periodic with every_ns >= 1", None));
                }
                FaultTrigger::Periodic { every_ns, for_ns, .. } if for_ns > every_ns => {
                    return Err(err(format!("{path}.when"), "expected Periodic with for_ns <= every_ns (active for at most the whole period)", None));
                }
                _ => {}
            }
        }
        for (i, f) in self.faults.lifecycle_faults.iter().enumerate() {
            if !tasks.contains(f.task()) {
                return Err(err(format!("faults.lifecycle_faults[{i}].task"), format!("unknown task `{}`", f.task()), Some(f.task())));
            }
            if let LifecycleFault::CrashAfterMessages { count: 0, .. } = f {
                return Err(err(format!("faults.lifecycle_faults[{i}].count"), "expected a positive message count", None));
            }
        }
        Ok(())
    }
}

fn walk_tasks<'a>(path: String, spec: &'a TaskSpec, out: &mut Vec<(String, &'a TaskSpec)>) {
    out.push((path.clone(), spec));
    if let Behaviour::Supervisor { children, .. } = &spec.behaviour {
        for (i, child) in children.iter().enumerate() {
            walk_tasks(format!("{path}.behaviour.children[{i}]"), child, out);
        }
    }
}
