//! The workspace manager (architecture "Phase 16: Workspace Manager — Component Orchestration").
//! A pure state machine; in runs, the scenario's workspace is one (`kernel::Interactive`), its
//! operations driven by workspace steps and key events of the event loop.
//!
//! A component orchestrator, not a shell: it launches components (editor, CLI, pipeline, custom),
//! lists them, moves focus between them, closes them and reports their status, with a policy check
//! at launch and at focus, per-component budgets, and an audit trail ([`WorkspaceEvent`]). It owns
//! the [`InputService`] and the [`FocusManager`] (one of each per workspace) and routes keys to the
//! focused component ([`WorkspaceManager::dispatch_key`]).
//!
//! Rules, in the seed's order:
//! - **launch**: policy `OnSpawn` with `PolicyContext::for_spawn(workspace, component)` (Deny or
//!   Require refuse the launch, which then has no effect: no budget, no subscription, no
//!   component); the component's budget is attached under the workspace's identity (a budget above
//!   the workspace's is refused, `budget.child_within_parent`); a focusable component gets an
//!   input subscription and, if nothing is focused, requests focus;
//! - every launch and focus decision of the policy is also kept whole (context, explained decision,
//!   whether the operation was refused; [`WorkspaceManager::take_policy_checks`]): in runs these
//!   are policy observations like the kernel's own enforcement points', so `policy.deterministic`
//!   and `policy.composition_precedence` check the workspace's decisions too;
//! - **focus**: through the focus manager, policy-gated by `OnInputFocusRequest` (the input
//!   section's event; Phase 16's text evaluates `OnCapabilityDelegate` here — the harness uses one
//!   gate for every focus request, the one the issue names); the old holder is recorded as
//!   unfocused, the new one as focused; the old one stays on the stack below;
//! - **exit** (close, the component's own exit, budget exhaustion): remove its subscription from the
//!   focus stack (focus returns to the one below), unsubscribe, cancel its `CancellationSource`,
//!   release its budget account, change its state (`Exited` for a normal exit, `Failed` for a
//!   failure or timeout, `Cancelled` for a close or cancellation), record the termination;
//! - **budget exhaustion** (seed "Budget Enforcement"): the component terminates with
//!   `ExitReason::Failure`, its focus is revoked, the audit records the exhaustion and the
//!   termination. A key delivery the component's `MessageCount` refuses triggers it at once.
//!
//! Choices where the seed is silent: `next` / `prev` cycle through the running focusable
//! components in id order starting from the focused one (the first / last if none is focused), and
//! stop at a policy refusal; focusing the focused component changes nothing; a closed component
//! stays listed with its final state and exit reason; ids of a refused launch are never used (the
//! kernel only spawns the task once `launch` returned `Ok`); a component's trust domain is the
//! workspace's unless its `LaunchConfig` names one.
//!
//! The command surface is in [`command`], the invariant checkers in [`checks`].

pub mod checks;
pub mod command;

pub use command::{CommandError, WorkspaceCommand};

use crate::budget::enforcement::ResourceLedger;
use crate::budget::{ResourceBudget, ResourceError, ResourceKind};
use crate::bugs::{BugSet, PlantedBug};
use crate::cancellation::{CancellationReason, CancellationSource, Cancellations};
use crate::focus::{FocusEnv, FocusError, FocusManager};
use crate::identity::{ExitReason, IdentityKind, IdentityMetadata, TrustDomain};
use crate::ids::{ChannelId, ExecutionId, IdCounter, TaskId};
use crate::input::{self, Delivery, Dispatch, InputEvent, InputService, InputServiceError, InputSubscriptionCap, SubscriptionId};
use crate::policy::audit::{PolicyAuditLog, PolicyCheck};
use crate::policy::{PolicyContext, PolicyDecision, PolicyEngine, PolicyEvent};
use crate::time::Instant;
use crate::trace_hash::{Fold, TraceHasher};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A component of the workspace (from a counter, never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ComponentId(pub u64);

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "comp#{}", self.0)
    }
}

/// What kind of component.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ComponentType {
    Editor,
    Cli,
    Pipeline,
    Custom(String),
}

impl ComponentType {
    /// The name used by the command surface (`editor`, `cli`, `pipeline`, or the custom name).
    pub fn name(&self) -> &str {
        match self {
            ComponentType::Editor => "editor",
            ComponentType::Cli => "cli",
            ComponentType::Pipeline => "pipeline",
            ComponentType::Custom(name) => name,
        }
    }

    /// The type a command names.
    pub fn from_name(name: &str) -> Self {
        match name {
            "editor" => ComponentType::Editor,
            "cli" => ComponentType::Cli,
            "pipeline" => ComponentType::Pipeline,
            other => ComponentType::Custom(other.into()),
        }
    }
}

impl Fold for ComponentType {
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            ComponentType::Editor => h.tag(0, 0),
            ComponentType::Cli => h.tag(1, 0),
            ComponentType::Pipeline => h.tag(2, 0),
            ComponentType::Custom(name) => {
                h.tag(3, 0);
                h.str(name);
            }
        }
    }
}

/// Where a component is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ComponentState {
    Running,
    Exited,
    Cancelled,
    Failed,
}

impl ComponentState {
    /// The final state an exit for `reason` leads to.
    pub fn after_exit(reason: &ExitReason) -> Self {
        match reason {
            ExitReason::Normal => ComponentState::Exited,
            ExitReason::Failure { .. } | ExitReason::Timeout => ComponentState::Failed,
            ExitReason::Cancelled { .. } => ComponentState::Cancelled,
        }
    }
}

/// How to launch a component (serde: what a scenario writes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchConfig {
    pub component_type: ComponentType,
    pub name: String,
    /// Whether it can receive input focus (default true).
    #[serde(default = "yes")]
    pub focusable: bool,
    /// Its trust domain (default: the workspace's).
    #[serde(default)]
    pub trust_domain: Option<String>,
    /// Its identity kind (default `Component`).
    #[serde(default = "component_kind")]
    pub kind: IdentityKind,
    /// Its budget (default: none, which inherits the workspace's).
    #[serde(default)]
    pub budget: Option<ResourceBudget>,
    /// Component-specific data (`("args", "notes.txt")`).
    #[serde(default)]
    pub metadata: Vec<(String, String)>,
}

fn yes() -> bool {
    true
}

fn component_kind() -> IdentityKind {
    IdentityKind::Component
}

impl LaunchConfig {
    /// A focusable component of the workspace's domain, without a budget of its own.
    pub fn new(component_type: ComponentType, name: &str) -> Self {
        LaunchConfig { component_type, name: name.into(), focusable: true, trust_domain: None, kind: IdentityKind::Component, budget: None, metadata: Vec::new() }
    }
    pub fn with_budget(mut self, budget: ResourceBudget) -> Self {
        self.budget = Some(budget);
        self
    }
    pub fn with_trust_domain(mut self, domain: &str) -> Self {
        self.trust_domain = Some(domain.into());
        self
    }
    pub fn with_kind(mut self, kind: IdentityKind) -> Self {
        self.kind = kind;
        self
    }
    pub fn unfocusable(mut self) -> Self {
        self.focusable = false;
        self
    }
    pub fn with_metadata(mut self, key: &str, value: &str) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }
}

/// One component, as `list` and `status` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentInfo {
    pub id: ComponentId,
    pub component_type: ComponentType,
    pub identity: IdentityMetadata,
    pub state: ComponentState,
    pub focusable: bool,
    pub subscription: Option<InputSubscriptionCap>,
    /// Where its input is delivered (kept for a subscription after an unsubscribe).
    pub channel: ChannelId,
    pub cancellation: CancellationSource,
    pub exit_reason: Option<ExitReason>,
    pub name: String,
    pub budget: Option<ResourceBudget>,
    pub metadata: Vec<(String, String)>,
}

/// The kernel ids a launched component runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spawned {
    pub execution_id: ExecutionId,
    pub task_id: TaskId,
    pub channel: ChannelId,
}

/// Where a launch gets its component's kernel ids: the kernel's counters once wired (it spawns
/// the task only after `launch` allowed it), [`CountingIds`] standalone.
pub trait SpawnIds {
    fn reserve(&mut self) -> Spawned;
}

/// Ids from three counters starting at the given values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountingIds {
    pub next: Spawned,
}

impl CountingIds {
    pub fn starting_at(execution_id: u64, task_id: u64, channel: u64) -> Self {
        CountingIds { next: Spawned { execution_id: ExecutionId(execution_id), task_id: TaskId(task_id), channel: ChannelId(channel) } }
    }
}

impl SpawnIds for CountingIds {
    fn reserve(&mut self) -> Spawned {
        let s = self.next;
        self.next = Spawned { execution_id: ExecutionId(s.execution_id.0 + 1), task_id: TaskId(s.task_id.0 + 1), channel: ChannelId(s.channel.0 + 1) };
        s
    }
}

/// What the workspace needs from its surroundings for one operation.
pub struct WorkspaceEnv<'a> {
    pub now: Instant,
    /// `None`: no policy engine, everything is allowed.
    pub policy: Option<&'a dyn PolicyEngine>,
    pub policy_audit: &'a mut PolicyAuditLog,
    pub resources: &'a mut ResourceLedger,
    pub cancellations: &'a mut Cancellations,
    pub ids: &'a mut dyn SpawnIds,
}

/// The surroundings of a standalone workspace (tests, examples): a policy, the policy audit log,
/// the resource ledger, the cancellations and an id source.
pub struct WorkspaceWorld {
    pub policy: Option<Box<dyn PolicyEngine>>,
    pub policy_audit: PolicyAuditLog,
    pub resources: ResourceLedger,
    pub cancellations: Cancellations,
    pub ids: CountingIds,
}

impl WorkspaceWorld {
    /// No policy, an empty ledger; component ids start at exec#100, task#100, chan#100.
    pub fn new() -> Self {
        WorkspaceWorld { policy: None, policy_audit: PolicyAuditLog::default(), resources: ResourceLedger::new(), cancellations: Cancellations::new(), ids: CountingIds::starting_at(100, 100, 100) }
    }

    /// The environment of an operation at `now`.
    pub fn env(&mut self, now: Instant) -> WorkspaceEnv<'_> {
        WorkspaceEnv { now, policy: self.policy.as_deref(), policy_audit: &mut self.policy_audit, resources: &mut self.resources, cancellations: &mut self.cancellations, ids: &mut self.ids }
    }
}

impl Default for WorkspaceWorld {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a workspace operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkspaceError {
    LaunchDenied { policy: String, reason: String },
    LaunchRequires { policy: String, action: String },
    InvalidBudget(ResourceError),
    Subscription(InputServiceError),
    UnknownComponent(ComponentId),
    NotRunning { component: ComponentId, state: ComponentState },
    NotFocusable(ComponentId),
    Focus(FocusError),
    /// `next` / `prev` with no running focusable component.
    NothingToFocus,
}

impl fmt::Display for WorkspaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkspaceError::LaunchDenied { policy, reason } => write!(f, "launch denied by {policy}: {reason}"),
            WorkspaceError::LaunchRequires { policy, action } => write!(f, "launch requires {action} ({policy})"),
            WorkspaceError::InvalidBudget(e) => write!(f, "{e}"),
            WorkspaceError::Subscription(e) => write!(f, "{e}"),
            WorkspaceError::UnknownComponent(c) => write!(f, "unknown component {c}"),
            WorkspaceError::NotRunning { component, state } => write!(f, "{component} is {state:?}"),
            WorkspaceError::NotFocusable(c) => write!(f, "{c} cannot take focus"),
            WorkspaceError::Focus(e) => write!(f, "{e}"),
            WorkspaceError::NothingToFocus => f.write_str("no running component can take focus"),
        }
    }
}

/// One record of the workspace audit trail (the seed's events, plus refusals, deliveries and
/// exhaustions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkspaceEvent {
    ComponentLaunched { component_id: ComponentId, component_type: ComponentType, execution_id: ExecutionId, budget: Option<ResourceBudget>, timestamp: Instant },
    /// A launch refused by the policy or the budget check; nothing was created.
    LaunchRefused { name: String, component_type: ComponentType, reason: String, timestamp: Instant },
    ComponentStateChanged { component_id: ComponentId, old_state: ComponentState, new_state: ComponentState, timestamp: Instant },
    ComponentFocused { component_id: ComponentId, timestamp: Instant },
    ComponentUnfocused { component_id: ComponentId, timestamp: Instant },
    FocusDenied { component_id: ComponentId, reason: String, timestamp: Instant },
    /// A key was delivered to the component; its `MessageCount` usage is now `message_usage`.
    InputDelivered { component_id: ComponentId, message_usage: u64, timestamp: Instant },
    BudgetExhausted { component_id: ComponentId, resource: ResourceKind, timestamp: Instant },
    ComponentTerminated { component_id: ComponentId, reason: ExitReason, timestamp: Instant },
}

impl fmt::Display for WorkspaceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use WorkspaceEvent as E;
        match self {
            E::ComponentLaunched { component_id, component_type, execution_id, budget, timestamp } => {
                write!(f, "{timestamp} launched {component_id} ({}, {execution_id})", component_type.name())?;
                match budget.and_then(|b| b.message_count) {
                    Some(m) => write!(f, " budget {m}"),
                    None => Ok(()),
                }
            }
            E::LaunchRefused { name, component_type, reason, timestamp } => write!(f, "{timestamp} refused to launch {} {name:?}: {reason}", component_type.name()),
            E::ComponentStateChanged { component_id, old_state, new_state, timestamp } => write!(f, "{timestamp} {component_id} {old_state:?} -> {new_state:?}"),
            E::ComponentFocused { component_id, timestamp } => write!(f, "{timestamp} focused {component_id}"),
            E::ComponentUnfocused { component_id, timestamp } => write!(f, "{timestamp} unfocused {component_id}"),
            E::FocusDenied { component_id, reason, timestamp } => write!(f, "{timestamp} focus denied to {component_id}: {reason}"),
            E::InputDelivered { component_id, message_usage, timestamp } => write!(f, "{timestamp} key to {component_id} (MessageCount {message_usage})"),
            E::BudgetExhausted { component_id, resource, timestamp } => write!(f, "{timestamp} {component_id} exhausted {resource}"),
            E::ComponentTerminated { component_id, reason, timestamp } => write!(f, "{timestamp} terminated {component_id}: {reason:?}"),
        }
    }
}

impl Fold for WorkspaceEvent {
    /// Tags are stable; new variants take new tags.
    fn fold(&self, h: &mut TraceHasher) {
        use WorkspaceEvent as E;
        match self {
            E::ComponentLaunched { component_id, component_type, execution_id, budget, timestamp } => {
                h.tag(0, component_id.0);
                component_type.fold(h);
                h.word(execution_id.0);
                budget.fold(h);
                h.word(timestamp.nanos());
            }
            E::LaunchRefused { name, component_type, reason, timestamp } => {
                h.tag(1, 0);
                h.str(name);
                component_type.fold(h);
                h.str(reason);
                h.word(timestamp.nanos());
            }
            E::ComponentStateChanged { component_id, old_state, new_state, timestamp } => {
                h.tag(2, component_id.0);
                h.word((*old_state as u64) << 8 | *new_state as u64);
                h.word(timestamp.nanos());
            }
            E::ComponentFocused { component_id, timestamp } => {
                h.tag(3, component_id.0);
                h.word(timestamp.nanos());
            }
            E::ComponentUnfocused { component_id, timestamp } => {
                h.tag(4, component_id.0);
                h.word(timestamp.nanos());
            }
            E::FocusDenied { component_id, reason, timestamp } => {
                h.tag(5, component_id.0);
                h.str(reason);
                h.word(timestamp.nanos());
            }
            E::InputDelivered { component_id, message_usage, timestamp } => {
                h.tag(6, component_id.0);
                h.word(*message_usage);
                h.word(timestamp.nanos());
            }
            E::BudgetExhausted { component_id, resource, timestamp } => {
                h.tag(7, component_id.0);
                h.word(*resource as u64);
                h.word(timestamp.nanos());
            }
            E::ComponentTerminated { component_id, reason, timestamp } => {
                h.tag(8, component_id.0);
                reason.fold(h);
                h.word(timestamp.nanos());
            }
        }
    }
}

/// What became of a key the workspace routed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyDispatch {
    /// Delivered to the focused component (the kernel sends it on `delivery.channel`).
    Delivered { component: ComponentId, delivery: Delivery },
    /// The focused subscription could not take it (an exhausted budget also terminated the
    /// component).
    Refused { component: Option<ComponentId>, error: InputServiceError },
    /// Nothing had focus.
    Unrouted,
}

/// The component registry, the input service and the focus manager, with the workspace audit.
#[derive(Clone, Debug)]
pub struct WorkspaceManager {
    identity: IdentityMetadata,
    /// Indexed by component id.
    components: Vec<ComponentInfo>,
    by_subscription: BTreeMap<SubscriptionId, ComponentId>,
    ids: IdCounter,
    input: InputService,
    focus: FocusManager,
    audit: Vec<WorkspaceEvent>,
    /// The policy evaluations (launch and focus) not yet taken.
    checks: Vec<PolicyCheck>,
    bugs: BugSet,
}

impl WorkspaceManager {
    /// A workspace acting as `identity` (the parent of its components' identities and budgets).
    pub fn new(identity: IdentityMetadata) -> Self {
        Self::with_bugs(identity, BugSet::default())
    }

    /// A workspace with planted bugs switched on (also in its input service and focus manager).
    pub fn with_bugs(identity: IdentityMetadata, bugs: BugSet) -> Self {
        WorkspaceManager {
            identity,
            components: Vec::new(),
            by_subscription: BTreeMap::new(),
            ids: IdCounter::default(),
            input: InputService::with_bugs(bugs),
            focus: FocusManager::with_bugs(bugs),
            audit: Vec::new(),
            checks: Vec::new(),
            bugs,
        }
    }

    // ----- launch ----------------------------------------------------------------------------

    /// Launches a component: policy, budget, subscription, focus if nobody has it.
    pub fn launch(&mut self, config: &LaunchConfig, env: &mut WorkspaceEnv<'_>) -> Result<ComponentId, WorkspaceError> {
        let spawned = env.ids.reserve();
        let identity = self.component_identity(config, spawned, env.now);
        if let Err(e) = self.check_launch(config, &identity, env) {
            self.refuse_launch(config, &e, env.now);
            return Err(e);
        }
        if let Err(e) = env.resources.attach(spawned.execution_id, Some(self.identity.execution_id), config.budget) {
            let e = WorkspaceError::InvalidBudget(e);
            self.refuse_launch(config, &e, env.now);
            return Err(e);
        }
        let subscription = match config.focusable {
            false => None,
            true => match self.input.subscribe_keyboard(spawned.task_id, spawned.execution_id, spawned.channel, env.now) {
                Ok(cap) => Some(cap),
                Err(e) => {
                    env.resources.release(spawned.execution_id);
                    return Err(WorkspaceError::Subscription(e));
                }
            },
        };
        let id = ComponentId(self.ids.mint());
        let budget = env.resources.budget(spawned.execution_id);
        self.components.push(ComponentInfo {
            id,
            component_type: config.component_type.clone(),
            identity,
            state: ComponentState::Running,
            focusable: config.focusable,
            subscription,
            channel: spawned.channel,
            cancellation: env.cancellations.new_source(),
            exit_reason: None,
            name: config.name.clone(),
            budget,
            metadata: config.metadata.clone(),
        });
        if let Some(cap) = subscription {
            self.by_subscription.insert(cap.id, id);
        }
        self.audit.push(WorkspaceEvent::ComponentLaunched { component_id: id, component_type: config.component_type.clone(), execution_id: spawned.execution_id, budget, timestamp: env.now });
        if subscription.is_some() && self.focus.focused().is_none() {
            // A refusal is recorded as FocusDenied; the component runs unfocused.
            let _ = self.focus(id, env);
        }
        Ok(id)
    }

    fn component_identity(&self, config: &LaunchConfig, spawned: Spawned, now: Instant) -> IdentityMetadata {
        IdentityMetadata {
            execution_id: spawned.execution_id,
            kind: config.kind,
            task_id: Some(spawned.task_id),
            parent_id: Some(self.identity.execution_id),
            creator_id: Some(self.identity.execution_id),
            created_at_nanos: now.nanos(),
            trust_domain: config.trust_domain.as_deref().map_or_else(|| self.identity.trust_domain.clone(), TrustDomain::new),
            name: config.name.clone(),
        }
    }

    /// The `OnSpawn` decision for the launch, recorded in the policy audit log.
    fn check_launch(&mut self, config: &LaunchConfig, component: &IdentityMetadata, env: &mut WorkspaceEnv<'_>) -> Result<(), WorkspaceError> {
        let Some(engine) = env.policy else { return Ok(()) };
        let context = PolicyContext::for_spawn(self.identity.clone(), component.clone()).with_metadata("component_type", config.component_type.name());
        let report = engine.evaluate_with_report(PolicyEvent::OnSpawn, &context);
        env.policy_audit.record(env.now, PolicyEvent::OnSpawn, &context, &report);
        let policy = || report.deciding_policy().unwrap_or(engine.name()).to_string();
        let answer = match &report.decision {
            PolicyDecision::Allow { .. } => Ok(()),
            PolicyDecision::Deny { reason } => Err(WorkspaceError::LaunchDenied { policy: policy(), reason: reason.clone() }),
            PolicyDecision::Require { action } => Err(WorkspaceError::LaunchRequires { policy: policy(), action: action.clone() }),
        };
        self.checks.push(PolicyCheck { event: PolicyEvent::OnSpawn, context, report, refused: answer.is_err() });
        answer
    }

    /// The policy evaluations (launches and focus requests) since the last call, in order, each
    /// with its full context and whether the operation was refused.
    pub fn take_policy_checks(&mut self) -> Vec<PolicyCheck> {
        self.collect_focus_checks();
        core::mem::take(&mut self.checks)
    }

    /// Moves the focus manager's evaluations after the workspace's own (keeping their order).
    fn collect_focus_checks(&mut self) {
        let focus = self.focus.take_policy_checks();
        self.checks.extend(focus);
    }

    fn refuse_launch(&mut self, config: &LaunchConfig, error: &WorkspaceError, now: Instant) {
        self.audit.push(WorkspaceEvent::LaunchRefused { name: config.name.clone(), component_type: config.component_type.clone(), reason: error.to_string(), timestamp: now });
    }

    // ----- focus -----------------------------------------------------------------------------

    /// Gives `id` the focus (policy-gated); the previous holder stays below it on the stack.
    pub fn focus(&mut self, id: ComponentId, env: &mut WorkspaceEnv<'_>) -> Result<(), WorkspaceError> {
        let info = self.running(id)?;
        let cap = info.subscription.ok_or(WorkspaceError::NotFocusable(id))?;
        let identity = info.identity.clone();
        let before = self.focused_component();
        let mut focus_env = FocusEnv { now: env.now, policy: env.policy, policy_audit: env.policy_audit };
        let requested = self.focus.request_focus(cap, &identity, &mut focus_env);
        self.collect_focus_checks();
        if let Err(e) = requested {
            self.audit.push(WorkspaceEvent::FocusDenied { component_id: id, reason: e.to_string(), timestamp: env.now });
            return Err(WorkspaceError::Focus(e));
        }
        self.record_focus_change(before, env.now);
        Ok(())
    }

    /// Focuses the next running focusable component after the focused one (cyclic, id order).
    pub fn next(&mut self, env: &mut WorkspaceEnv<'_>) -> Result<ComponentId, WorkspaceError> {
        self.cycle(env, false)
    }

    /// Focuses the previous running focusable component (cyclic, id order).
    pub fn previous(&mut self, env: &mut WorkspaceEnv<'_>) -> Result<ComponentId, WorkspaceError> {
        self.cycle(env, true)
    }

    fn cycle(&mut self, env: &mut WorkspaceEnv<'_>, backwards: bool) -> Result<ComponentId, WorkspaceError> {
        let candidates: Vec<ComponentId> = self.components.iter().filter(|c| c.state == ComponentState::Running && c.subscription.is_some()).map(|c| c.id).collect();
        let n = candidates.len();
        if n == 0 {
            return Err(WorkspaceError::NothingToFocus);
        }
        let current = self.focused_component().and_then(|f| candidates.iter().position(|&c| c == f));
        let pick = match (current, backwards) {
            (None, false) => 0,
            (None, true) => n - 1,
            (Some(i), false) => (i + 1) % n,
            (Some(i), true) => (i + n - 1) % n,
        };
        self.focus(candidates[pick], env)?;
        Ok(candidates[pick])
    }

    /// Records the focus moving from `before` to whoever has it now.
    fn record_focus_change(&mut self, before: Option<ComponentId>, now: Instant) {
        let after = self.focused_component();
        if before == after {
            return;
        }
        if let Some(old) = before {
            self.audit.push(WorkspaceEvent::ComponentUnfocused { component_id: old, timestamp: now });
        }
        if let Some(new) = after {
            self.audit.push(WorkspaceEvent::ComponentFocused { component_id: new, timestamp: now });
        }
    }

    /// The component gives up its place on the focus stack: from the top, focus returns to the
    /// one below; from below, focus stays where it is.
    pub fn release_focus(&mut self, id: ComponentId, now: Instant) -> Result<(), WorkspaceError> {
        let cap = self.running(id)?.subscription.ok_or(WorkspaceError::NotFocusable(id))?;
        let before = self.focused_component();
        self.focus.release(cap.id, now).map_err(WorkspaceError::Focus)?;
        self.record_focus_change(before, now);
        Ok(())
    }

    // ----- subscriptions -----------------------------------------------------------------------

    /// The input service revokes the component's subscription; it keeps its place on the focus
    /// stack (the service refuses what is routed to it).
    pub fn revoke_input(&mut self, id: ComponentId, now: Instant) -> Result<(), WorkspaceError> {
        let cap = self.running(id)?.subscription.ok_or(WorkspaceError::NotFocusable(id))?;
        self.input.revoke_subscription(&cap, now).map_err(WorkspaceError::Subscription)
    }

    /// The component drops its subscription and its place on the focus stack.
    pub fn unsubscribe_input(&mut self, id: ComponentId, now: Instant) -> Result<(), WorkspaceError> {
        let cap = self.running(id)?.subscription.ok_or(WorkspaceError::NotFocusable(id))?;
        let before = self.focused_component();
        if self.focus.is_on_stack(cap.id) {
            let _ = self.focus.release(cap.id, now);
        }
        self.input.unsubscribe(&cap, now).map_err(WorkspaceError::Subscription)?;
        self.components[id.0 as usize].subscription = None;
        self.record_focus_change(before, now);
        Ok(())
    }

    /// A focusable component without a subscription subscribes again.
    pub fn subscribe_input(&mut self, id: ComponentId, now: Instant) -> Result<(), WorkspaceError> {
        let info = self.running(id)?;
        if !info.focusable {
            return Err(WorkspaceError::NotFocusable(id));
        }
        let (task, exec) = (info.identity.task_id.unwrap_or(TaskId(u64::MAX)), info.identity.execution_id);
        let cap = self.input.subscribe_keyboard(task, exec, info.channel, now).map_err(WorkspaceError::Subscription)?;
        self.components[id.0 as usize].subscription = Some(cap);
        self.by_subscription.insert(cap.id, id);
        Ok(())
    }

    // ----- input -----------------------------------------------------------------------------

    /// Routes a key to the focused component, charging its `MessageCount`; an exhausted budget
    /// terminates the component.
    pub fn dispatch_key(&mut self, event: &InputEvent, env: &mut WorkspaceEnv<'_>) -> KeyDispatch {
        match input::dispatch(event, &self.focus, &mut self.input, env.resources, env.now) {
            Dispatch::Unrouted => KeyDispatch::Unrouted,
            Dispatch::Delivered(delivery) => {
                // Every subscription of the workspace's input service was made by a launch.
                let component = self.by_subscription[&delivery.subscription];
                let message_usage = env.resources.usage(delivery.execution).message_count.get();
                self.audit.push(WorkspaceEvent::InputDelivered { component_id: component, message_usage, timestamp: env.now });
                KeyDispatch::Delivered { component, delivery }
            }
            Dispatch::Refused { subscription, error } => {
                let component = self.by_subscription.get(&subscription).copied();
                if let (Some(c), InputServiceError::BudgetExhausted(e)) = (component, &error) {
                    let _ = self.handle_budget_exhaustion(c, e.resource_type, env);
                }
                KeyDispatch::Refused { component, error }
            }
        }
    }

    // ----- exit ------------------------------------------------------------------------------

    /// Closes (cancels) a running component.
    pub fn close(&mut self, id: ComponentId, env: &mut WorkspaceEnv<'_>) -> Result<(), WorkspaceError> {
        self.running(id)?;
        self.terminate(id, ExitReason::Cancelled { reason: "closed by the workspace".into() }, CancellationReason::SupervisorCancel, env);
        Ok(())
    }

    /// The component ended by itself (an editor's `:q`) for `reason`.
    pub fn component_exited(&mut self, id: ComponentId, reason: ExitReason, env: &mut WorkspaceEnv<'_>) -> Result<(), WorkspaceError> {
        self.running(id)?;
        let cancel = CancellationReason::Custom(format!("component exited: {reason:?}"));
        self.terminate(id, reason, cancel, env);
        Ok(())
    }

    /// The component exhausted its budget of `resource`: it terminates with a failure.
    pub fn handle_budget_exhaustion(&mut self, id: ComponentId, resource: ResourceKind, env: &mut WorkspaceEnv<'_>) -> Result<(), WorkspaceError> {
        self.running(id)?;
        self.audit.push(WorkspaceEvent::BudgetExhausted { component_id: id, resource, timestamp: env.now });
        if self.bugs.has(PlantedBug::ExhaustedComponentKeepsRunning) {
            return Ok(());
        }
        let reason = format!("Resource budget exhausted: {resource}");
        self.terminate(id, ExitReason::Failure { error: reason.clone() }, CancellationReason::Custom(reason), env);
        Ok(())
    }

    /// The seed's exit steps: unfocus, unsubscribe, cancel, release the budget, change state,
    /// record.
    fn terminate(&mut self, id: ComponentId, reason: ExitReason, cancel: CancellationReason, env: &mut WorkspaceEnv<'_>) {
        let before = self.focused_component();
        let info = &self.components[id.0 as usize];
        let (subscription, source, execution, old_state) = (info.subscription, info.cancellation, info.identity.execution_id, info.state);
        if let Some(cap) = subscription {
            if self.focus.is_on_stack(cap.id) && !self.bugs.has(PlantedBug::ClosedComponentKeepsFocus) {
                let _ = self.focus.release(cap.id, env.now);
            }
            let _ = self.input.unsubscribe(&cap, env.now);
        }
        self.record_focus_change(before, env.now);
        env.cancellations.cancel(source, cancel, env.now);
        env.resources.release(execution);
        let new_state = ComponentState::after_exit(&reason);
        let info = &mut self.components[id.0 as usize];
        info.state = new_state;
        info.exit_reason = Some(reason.clone());
        self.audit.push(WorkspaceEvent::ComponentStateChanged { component_id: id, old_state, new_state, timestamp: env.now });
        self.audit.push(WorkspaceEvent::ComponentTerminated { component_id: id, reason, timestamp: env.now });
    }

    // ----- reading ---------------------------------------------------------------------------

    fn running(&self, id: ComponentId) -> Result<&ComponentInfo, WorkspaceError> {
        let info = self.status(id)?;
        match info.state {
            ComponentState::Running => Ok(info),
            state => Err(WorkspaceError::NotRunning { component: id, state }),
        }
    }

    /// Every component ever launched, in id order (terminated ones keep their final state).
    pub fn list(&self) -> &[ComponentInfo] {
        &self.components
    }

    /// One component.
    pub fn status(&self, id: ComponentId) -> Result<&ComponentInfo, WorkspaceError> {
        self.components.get(id.0 as usize).ok_or(WorkspaceError::UnknownComponent(id))
    }

    /// The component whose subscription has focus.
    pub fn focused_component(&self) -> Option<ComponentId> {
        self.focus.focused().and_then(|cap| self.by_subscription.get(&cap.id).copied())
    }

    /// The component a subscription belongs to.
    pub fn component_of(&self, subscription: SubscriptionId) -> Option<ComponentId> {
        self.by_subscription.get(&subscription).copied()
    }

    pub fn identity(&self) -> &IdentityMetadata {
        &self.identity
    }

    pub fn input(&self) -> &InputService {
        &self.input
    }

    pub fn focus_manager(&self) -> &FocusManager {
        &self.focus
    }

    /// The workspace audit trail, in order.
    pub fn audit_trail(&self) -> &[WorkspaceEvent] {
        &self.audit
    }
}
