//! Named invariants, checked incrementally after every event (DESIGN.md, "Invariants are named
//! and counted").
//!
//! Monitors never trust the kernel's own tables: each keeps a shadow state rebuilt from the
//! observation stream (and the audit log), checks each observation as it comes, and checks
//! postconditions against the kernel's final state at the end of the event. Work per event is
//! proportional to what the event did (O(log n) per observation), never a scan of the system.
//! A full comparison of the audit replay and the authority table runs once, at the end of a run.
//!
//! | id | rule (seed section) |
//! |---|---|
//! | `msg.at_most_once` | a message is enqueued at most once and received at most once ("Delivery Guarantees") |
//! | `msg.fifo_per_channel` | per channel, messages leave the queue in send order, except those a delay or reorder fault moved ("Baseline Semantics") |
//! | `cap.single_owner` | after a delegation only the new owner can use the capability ("Move-Only Transfer") |
//! | `cap.no_use_after_transfer` | a task that delegated a capability away never uses it again ("Security Properties" 2) |
//! | `cap.no_use_after_drop` | a dropped capability is never used again ("Dropping Capabilities") |
//! | `cap.no_use_after_owner_death` | a dead owner's non-durable capabilities are invalid and never used; durable ones stay valid ("Lifetime Rules", "Security Properties" 3) |
//! | `cap.no_forgery` | only kernel-minted capabilities are used, and each id is minted once ("Security Properties" 1) |
//! | `cap.audit_matches_table` | replaying the audit log rebuilds the authority table ("Audit Trail") |
//! | `identity.never_reused` | execution ids are never reused ("Execution Identity" contract), and task ids are unique ("Task Spawning" contract) |
//! | `identity.one_exit_notification` | every termination yields exactly one exit notification ("Exit Notifications" contract) |
//! | `registry.consistent` | no lookup returns a channel of a dead or unregistered service; a dead task's services are gone ("Resilience": registry consistency) |
//! | `lifecycle.valid_transition` | supervisors move children only along allowed lifecycle transitions ("Lifecycle States") |
//! | `policy.deterministic` | the same event in the same context gets the same decision ("Policy Engine Trait": deterministic evaluation) |
//! | `policy.composition_precedence` | a composed decision follows its evaluations: first Deny wins and ends the evaluation, Requires collected, Allow only otherwise ("Composition Rules") |
//! | `policy.deny_has_no_effect` | a refused spawn, delegation, pipeline or stage has no effect ("Enforcement Behavior", "Capability-safe (no partial leaks on denial)") |
//! | `derive.subset` | a derived authority is a subset of the one it derives from (Phase 10, "Security Invariants" 1) |
//! | `derive.stage_scope_restored` | after a stage, the pipeline's authority is back, plus what the stage produced ("Scoped Isolation") |
//! | `budget.usage_within_limit` | no consumption takes usage above a limit: check before effect (Phase 12, "Exhaustion Semantics") |
//! | `budget.child_within_parent` | a child's budget is within its parent's (Phase 11, "Inheritance Rules") |
//! | `budget.exact_consumption` | each consumption moves usage by exactly its amount, and each operation consumes exactly once: a send, a receive, a stage entry ("No double-counting") |
//! | `budget.nothing_after_cancel` | a cancelled identity consumes nothing more ("Cancellation Integration") |
//! | `budget.exhaustion_cancels` | every exhaustion is followed at once by the identity's cancellation |
//! | `cancel.irreversible` | a cancellation source is cancelled once, its first reason stays (Phase 6) |
//! | `pipeline.bounded_attempts` | attempts 0, 1, … never more than `max_retries + 1` ("Retry Rules") |
//! | `pipeline.fail_fast` | nothing runs after a permanent failure ("Safety Properties" 4) |
//! | `pipeline.backoff_exact` | retry k waits `initial * multiplier^(k-1)` and starts when the wait ends ("Backoff Calculation") |
//! | `pipeline.trace_complete` | one trace entry per attempt; success has every stage ("Execution Trace") |
//! | `pipeline.no_caps_from_cancelled_stage` | only a successful attempt adds capabilities ("Capability Safety on Cancellation") |
//! | `storage.no_partial_commit` | a commit installs all of a transaction's writes or none, a rollback discards all, a crashed task's transaction never commits ("Transactions") |
//! | `storage.versions_immutable` | a committed version never changes ("Old versions remain accessible") |
//! | `net.policy_before_budget` | no packet operation is charged before its policy decision (`000_*`: "Policy evaluated before budget consumption") |
//! | `net.denied_consumes_nothing` | a denied packet records nothing in the resource audit log and has no effect (`000_*`: "Policy gating") |
//! | `net.packet_budget_exact` | an allowed packet that takes effect consumes exactly one `PacketCount` of its own identity (`000_*`) |
//! | `net.no_delivery_across_partition` | no copy arrives over a link cut when it was sent or when it arrives (network fault plan) |
//! | `net.stream_in_order_exactly_once` | per flow, the application gets payloads 0, 1, 2, … each once and unaltered |
//! | `net.session_bound_to_identity` | a session is bound to the identity learnt at discovery (`001_*`: "identity binding") |
//! | `net.no_session_with_unverified_peer` | a session is established only after the identity check passed, and data flows only on established sessions |
//! | `input.only_focused_receives` | a key is delivered only to the subscription that has focus ("Routing Events") |
//! | `input.revoked_receives_nothing` | nothing is delivered to a revoked or removed subscription ("Revoking Subscription") |
//! | `input.delivery_consumes_budget` | each delivery moves the subscriber's `MessageCount` usage up by exactly one |
//! | `focus.stack_consistent` | the focus stack is what its audit trail says: requests push, releases pop and return focus to the one below |
//! | `focus.policy_gated` | a focus grant was allowed by the policy (`OnInputFocusRequest`); `Deny` and `Require` refuse |
//! | `workspace.closed_component_unfocused` | a component is unfocused before it terminates and never focused after (Phase 16, "On component exit") |
//! | `workspace.component_within_budget` | a component receives keys only while running and within its budget; exhaustion terminates it (Phase 16, "Budget Enforcement") |
//! | `editor.save_creates_version` | every save creates a new, committed version holding the saved content (Phase 15, "Save Semantics") |
//! | `editor.no_silent_loss` | unsaved content is discarded only by `:q!` (Phase 15, ":q — Quit (blocked if dirty)") |
//!
//! The authority and resource invariants (from `policy.deterministic` on) are the domain layer's
//! checkers (`policy::checks`, `derivation`, `budget::rules`, `cancellation`, `pipeline::checks`,
//! `storage::checks`), fed by [`authority::AuthorityMonitors`] and reporting through this module's
//! [`Checker`] (a [`RuleSink`]); a run that does not use those subsystems never creates them.
//! The `net.*` invariants are the networking layer's [`crate::net::checks::NetMonitor`], fed
//! with the `Observation::Net` events of a scenario with a `network`, event by event.
//! The interactive invariants (from `input.only_focused_receives` on) are the checkers of
//! `input::checks`, `focus::checks`, `workspace::checks` and `editor::checks`, fed the workspace's
//! records by [`interactive::InteractiveMonitors`] in the same way.

mod authority;
mod capability;
mod identity;
mod interactive;
mod messaging;
mod registry;
pub mod situation;

use crate::ids::TaskId;
use crate::kernel::SimulatedKernel;
use crate::lifecycle::LifecycleState;
use crate::names::Names;
use crate::observation::Observation;
use crate::report::Violation;
use crate::rule_check::RuleSink;
use crate::time::Instant;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// The invariants, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    MsgAtMostOnce,
    MsgFifoPerChannel,
    CapSingleOwner,
    CapNoUseAfterTransfer,
    CapNoUseAfterDrop,
    CapNoUseAfterOwnerDeath,
    CapNoForgery,
    CapAuditMatchesTable,
    IdentityNeverReused,
    IdentityOneExitNotification,
    RegistryConsistent,
    LifecycleValidTransition,
    PolicyDeterministic,
    PolicyCompositionPrecedence,
    PolicyDenyHasNoEffect,
    DeriveSubset,
    DeriveStageScopeRestored,
    BudgetUsageWithinLimit,
    BudgetChildWithinParent,
    BudgetExactConsumption,
    BudgetNothingAfterCancel,
    BudgetExhaustionCancels,
    CancelIrreversible,
    PipelineBoundedAttempts,
    PipelineFailFast,
    PipelineBackoffExact,
    PipelineTraceComplete,
    PipelineNoCapsFromCancelledStage,
    StorageNoPartialCommit,
    StorageVersionsImmutable,
    NetPolicyBeforeBudget,
    NetDeniedConsumesNothing,
    NetPacketBudgetExact,
    NetNoDeliveryAcrossPartition,
    NetStreamInOrderExactlyOnce,
    NetSessionBoundToIdentity,
    NetNoSessionWithUnverifiedPeer,
    InputOnlyFocusedReceives,
    InputRevokedReceivesNothing,
    InputDeliveryConsumesBudget,
    FocusStackConsistent,
    FocusPolicyGated,
    WorkspaceClosedComponentUnfocused,
    WorkspaceComponentWithinBudget,
    EditorSaveCreatesVersion,
    EditorNoSilentLoss,
}

/// Stable ids of every invariant, in report order.
pub const ALL: &[&str] = &[
    "msg.at_most_once",
    "msg.fifo_per_channel",
    "cap.single_owner",
    "cap.no_use_after_transfer",
    "cap.no_use_after_drop",
    "cap.no_use_after_owner_death",
    "cap.no_forgery",
    "cap.audit_matches_table",
    "identity.never_reused",
    "identity.one_exit_notification",
    "registry.consistent",
    "lifecycle.valid_transition",
    "policy.deterministic",
    "policy.composition_precedence",
    "policy.deny_has_no_effect",
    "derive.subset",
    "derive.stage_scope_restored",
    "budget.usage_within_limit",
    "budget.child_within_parent",
    "budget.exact_consumption",
    "budget.nothing_after_cancel",
    "budget.exhaustion_cancels",
    "cancel.irreversible",
    "pipeline.bounded_attempts",
    "pipeline.fail_fast",
    "pipeline.backoff_exact",
    "pipeline.trace_complete",
    "pipeline.no_caps_from_cancelled_stage",
    "storage.no_partial_commit",
    "storage.versions_immutable",
    "net.policy_before_budget",
    "net.denied_consumes_nothing",
    "net.packet_budget_exact",
    "net.no_delivery_across_partition",
    "net.stream_in_order_exactly_once",
    "net.session_bound_to_identity",
    "net.no_session_with_unverified_peer",
    "input.only_focused_receives",
    "input.revoked_receives_nothing",
    "input.delivery_consumes_budget",
    "focus.stack_consistent",
    "focus.policy_gated",
    "workspace.closed_component_unfocused",
    "workspace.component_within_budget",
    "editor.save_creates_version",
    "editor.no_silent_loss",
];

/// Every invariant, in report order (index = `Invariant as usize`).
const INVARIANTS: [Invariant; ALL.len()] = {
    use Invariant::*;
    [
        MsgAtMostOnce,
        MsgFifoPerChannel,
        CapSingleOwner,
        CapNoUseAfterTransfer,
        CapNoUseAfterDrop,
        CapNoUseAfterOwnerDeath,
        CapNoForgery,
        CapAuditMatchesTable,
        IdentityNeverReused,
        IdentityOneExitNotification,
        RegistryConsistent,
        LifecycleValidTransition,
        PolicyDeterministic,
        PolicyCompositionPrecedence,
        PolicyDenyHasNoEffect,
        DeriveSubset,
        DeriveStageScopeRestored,
        BudgetUsageWithinLimit,
        BudgetChildWithinParent,
        BudgetExactConsumption,
        BudgetNothingAfterCancel,
        BudgetExhaustionCancels,
        CancelIrreversible,
        PipelineBoundedAttempts,
        PipelineFailFast,
        PipelineBackoffExact,
        PipelineTraceComplete,
        PipelineNoCapsFromCancelledStage,
        StorageNoPartialCommit,
        StorageVersionsImmutable,
        NetPolicyBeforeBudget,
        NetDeniedConsumesNothing,
        NetPacketBudgetExact,
        NetNoDeliveryAcrossPartition,
        NetStreamInOrderExactlyOnce,
        NetSessionBoundToIdentity,
        NetNoSessionWithUnverifiedPeer,
        InputOnlyFocusedReceives,
        InputRevokedReceivesNothing,
        InputDeliveryConsumesBudget,
        FocusStackConsistent,
        FocusPolicyGated,
        WorkspaceClosedComponentUnfocused,
        WorkspaceComponentWithinBudget,
        EditorSaveCreatesVersion,
        EditorNoSilentLoss,
    ]
};

impl Invariant {
    /// The stable id.
    pub fn id(self) -> &'static str {
        ALL[self as usize]
    }

    /// The invariant with this stable id.
    pub fn from_id(id: &str) -> Option<Invariant> {
        ALL.iter().position(|i| *i == id).map(|i| INVARIANTS[i])
    }
}

/// Counts checks and records violations for the event being checked.
pub struct Checker<'a> {
    counts: &'a mut [u64; ALL.len()],
    /// Per invariant, the set of situations its checks saw ([`situation`]).
    situations: &'a mut [u64; ALL.len()],
    /// The situation of the checks being made now.
    situation: u64,
    violations: &'a mut Vec<Violation>,
    event: u64,
    at: Instant,
    /// The subsystem the current check is attributed to: named, or that of the observation
    /// being checked (resolved only when a violation is recorded).
    pub subsystem: &'static str,
    observation: Option<&'a Observation>,
    /// The run's names, for violation messages.
    pub names: &'a Names,
}

impl<'a> Checker<'a> {
    fn new(counts: &'a mut [u64; ALL.len()], situations: &'a mut [u64; ALL.len()], violations: &'a mut Vec<Violation>, event: u64, at: Instant, names: &'a Names) -> Self {
        Checker { counts, situations, situation: situation::of_subsystem(""), violations, event, at, subsystem: "", observation: None, names }
    }

    /// Counts one check of `inv`; if `holds` is false records a violation described by `describe`.
    #[inline(always)]
    pub fn check(&mut self, inv: Invariant, holds: bool, describe: impl FnOnce() -> (String, Vec<String>)) {
        self.counts[inv as usize] += 1;
        self.situations[inv as usize] |= self.situation;
        if !holds {
            self.violated(inv, describe());
        }
    }

    /// Attributes checks to a named subsystem from now on.
    pub fn attribute(&mut self, subsystem: &'static str) {
        self.subsystem = subsystem;
        self.observation = None;
        self.situation = situation::of_subsystem(subsystem);
    }

    #[cold]
    fn violated(&mut self, inv: Invariant, (message, objects): (String, Vec<String>)) {
        let subsystem = self.observation.map_or(self.subsystem, Observation::subsystem).into();
        self.violations.push(Violation { invariant: inv.id().into(), subsystem, event: self.event, at: self.at, message, objects });
    }
}

/// The domain modules' checkers report here: the id names the invariant, and a breach becomes a
/// violation like any other (counted, attributed to the current subsystem).
impl RuleSink for Checker<'_> {
    fn check(&mut self, invariant: &'static str, holds: bool, describe: &dyn Fn() -> String) {
        match Invariant::from_id(invariant) {
            Some(inv) => self.check(inv, holds, || (describe(), Vec::new())),
            None => debug_assert!(false, "a checker reported the unknown invariant {invariant}"),
        }
    }
}

/// Which tasks are alive, according to the observations alone.
#[derive(Default)]
pub struct Liveness {
    alive: Vec<bool>,
}

impl Liveness {
    pub fn alive(&self, task: TaskId) -> bool {
        self.alive.get(task.index()).copied().unwrap_or(false)
    }
    fn set(&mut self, task: TaskId, alive: bool) {
        if self.alive.len() <= task.index() {
            self.alive.resize(task.index() + 1, false);
        }
        self.alive[task.index()] = alive;
    }
}

/// A growable bit set over dense counter ids.
#[derive(Default)]
pub struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// Inserts `i`; returns false if it was already present.
    pub fn insert(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        if self.words.len() <= w {
            self.words.resize(w + 1, 0);
        }
        let fresh = self.words[w] & (1 << b) == 0;
        self.words[w] |= 1 << b;
        fresh
    }
    /// Removes `i`; returns whether it was present.
    pub fn remove(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        let Some(word) = self.words.get_mut(w) else { return false };
        let present = *word & (1 << b) != 0;
        *word &= !(1 << b);
        present
    }
    pub fn contains(&self, i: u64) -> bool {
        self.words.get((i / 64) as usize).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// Every monitor, with the check counts and violations of the run.
pub struct Monitors {
    counts: [u64; ALL.len()],
    situations: [u64; ALL.len()],
    violations: Vec<Violation>,
    liveness: Liveness,
    messages: messaging::MessageMonitor,
    caps: capability::CapabilityMonitor,
    identity: identity::IdentityMonitor,
    registry: registry::RegistryMonitor,
    lifecycle: BTreeMap<(TaskId, u32), LifecycleState>,
    /// The authority and resource monitors, created by the first observation that needs them.
    authority: Option<alloc::boxed::Box<authority::AuthorityMonitors>>,
    /// The interactive monitors, created by the first interactive record.
    interactive: Option<alloc::boxed::Box<interactive::InteractiveMonitors>>,
    /// Whether the run enforces budgets (every send and receive is then charged exactly once).
    budgets_on: bool,
    /// The `net.*` monitor of a run with a network.
    net: Option<alloc::boxed::Box<crate::net::checks::NetMonitor>>,
}

impl Default for Monitors {
    fn default() -> Self {
        Monitors {
            counts: [0; ALL.len()],
            situations: [0; ALL.len()],
            violations: Vec::new(),
            liveness: Liveness::default(),
            messages: Default::default(),
            caps: Default::default(),
            identity: Default::default(),
            registry: Default::default(),
            lifecycle: BTreeMap::new(),
            authority: None,
            interactive: None,
            budgets_on: false,
            net: None,
        }
    }
}

impl Monitors {
    /// The monitors of a run; `budgets_on` says whether it enforces budgets.
    pub fn for_run(budgets_on: bool) -> Self {
        Monitors { budgets_on, ..Monitors::default() }
    }

    /// Checks the `net.*` invariants of a network under the fault plan `plan`.
    pub fn with_network(mut self, plan: crate::net::NetFaultPlan) -> Self {
        self.net = Some(alloc::boxed::Box::new(crate::net::checks::NetMonitor::new(plan)));
        self
    }

    /// Checks the observations of event number `event` (at `at`) against the kernel's final state.
    pub fn check_event(&mut self, event: u64, at: Instant, observations: &[Observation], kernel: &SimulatedKernel) {
        let mut c = Checker::new(&mut self.counts, &mut self.situations, &mut self.violations, event, at, kernel.names());
        for obs in observations {
            c.observation = Some(obs);
            c.situation = situation::of_observation(obs);
            // Each observation goes to the monitors that keep a rule about it, and no others.
            use Observation as O;
            match obs {
                O::MessageEnqueued { .. } | O::MessageReceived { .. } | O::ReceiveFailed { .. } | O::MessageDelayed { .. } | O::MessageReordered { .. } => {
                    self.messages.observe(obs, &mut c)
                }
                O::Audit(_) | O::CapUsed { .. } => self.caps.observe(obs, &self.liveness, &mut c),
                O::TaskSpawned { task, .. } => {
                    self.liveness.set(*task, true);
                    self.identity.observe(obs, &mut c);
                }
                O::IdentityCreated { .. } | O::ExitNotified { .. } => self.identity.observe(obs, &mut c),
                O::TaskExited { task, .. } => {
                    self.liveness.set(*task, false);
                    self.caps.observe(obs, &self.liveness, &mut c);
                    self.identity.observe(obs, &mut c);
                    self.registry.observe(obs, &self.liveness, &mut c);
                }
                O::ServiceRegistered { .. } | O::ServiceDeregistered { .. } | O::ServiceLookedUp { .. } => self.registry.observe(obs, &self.liveness, &mut c),
                O::Lifecycle { supervisor, slot, child, from, to } => {
                    let recorded = self.lifecycle.insert((*supervisor, *slot), *to).unwrap_or(LifecycleState::Starting);
                    c.check(Invariant::LifecycleValidTransition, recorded == *from && from.can_become(*to), || {
                        (alloc::format!("child {slot} of {supervisor} moved {from:?} -> {to:?} (recorded state {recorded:?})"), child.iter().map(|e| alloc::format!("{e}")).collect())
                    });
                }
                O::Resource(e) => {
                    if let Some(i) = &mut self.interactive {
                        i.resource(e);
                    }
                    self.authority.get_or_insert_with(Default::default).observe(obs, kernel, &self.liveness, &mut c)
                }
                O::Policy(_) | O::Pipeline(_) | O::Storage(_) | O::Cancellation(_) => {
                    self.authority.get_or_insert_with(Default::default).observe(obs, kernel, &self.liveness, &mut c)
                }
                O::MessageSent { by, .. } | O::SendFailed { by, .. } if self.budgets_on => {
                    self.authority.get_or_insert_with(Default::default).charged(obs, *by, kernel, &mut c)
                }
                O::FaultInjected(crate::observation::FaultKind::PolicySwap) => {
                    if let Some(a) = &mut self.authority {
                        a.policy_swapped();
                    }
                }
                O::Net(e) => {
                    if let Some(net) = &mut self.net {
                        net.observe(e, &mut c);
                    }
                }
                O::Interactive(record) => {
                    if let (crate::observation::InteractiveRecord::Input(crate::input::InputAuditEvent::Delivered { .. }), Some(a)) = (&**record, &mut self.authority) {
                        a.input_delivered();
                    }
                    self.interactive.get_or_insert_with(Default::default).observe(record, &mut c);
                }
                O::ChannelCreated { .. } | O::MessageSent { .. } | O::MessageDropped { .. } | O::SendFailed { .. } | O::FaultInjected(_) | O::StepDone { .. } => {}
            }
            if self.budgets_on {
                if let O::MessageReceived { by, .. } | O::ReceiveFailed { by, .. } = obs {
                    self.authority.get_or_insert_with(Default::default).charged(obs, *by, kernel, &mut c);
                }
            }
            if let (O::TaskSpawned { .. } | O::Audit(crate::capability::CapabilityEvent::Delegated { .. }), Some(a)) = (obs, &mut self.authority) {
                a.refused_effect(obs, &mut c);
            }
        }
        if self.caps.has_pending() {
            self.caps.end_event(kernel, &mut c);
        }
        c.attribute("termination");
        self.identity.end_event(&mut c);
        self.registry.end_event(&mut c);
        if let Some(a) = &mut self.authority {
            a.end_event(kernel, &mut c);
        }
        if let Some(i) = &mut self.interactive {
            i.end_event(kernel, &mut c);
        }
    }

    /// Whole-run checks that would be too expensive per event (run once at the end).
    pub fn finish(&mut self, event: u64, at: Instant, kernel: &SimulatedKernel) {
        let mut c = Checker::new(&mut self.counts, &mut self.situations, &mut self.violations, event, at, kernel.names());
        c.attribute("capability.table");
        self.caps.full_table_check(kernel, &mut c);
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }
    pub fn take_violations(&mut self) -> Vec<Violation> {
        core::mem::take(&mut self.violations)
    }

    /// `(id, times checked)` for every invariant.
    pub fn counts(&self) -> Vec<(String, u64)> {
        ALL.iter().zip(self.counts.iter()).map(|(id, n)| (String::from(*id), *n)).collect()
    }

    /// Per invariant, the names of the situations its checks saw (see [`situation`]).
    pub fn situations(&self) -> Vec<(String, Vec<String>)> {
        ALL.iter().zip(self.situations.iter()).map(|(id, set)| (String::from(*id), situation::names(*set))).collect()
    }
}
