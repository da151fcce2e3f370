//! Planted bugs: deliberately broken variants of model rules (DESIGN.md, "Bugs must be findable").
//!
//! A scenario (or a test, bench or campaign) switches bugs on by listing them; the correct model
//! never consults them otherwise. Each bug names the invariant expected to catch it, so tests can
//! show the harness finds it and later tools can measure how fast.

use serde::{Deserialize, Serialize};

/// A deliberately broken rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum PlantedBug {
    /// `delegate_capability` moves the capability but the source task keeps access.
    DelegateKeepsSource,
    /// Task termination forgets to invalidate the dead task's capabilities.
    TerminationSkipsInvalidation,
    /// A delayed message is delivered twice: once when its delay ends and once more right away.
    DelayedDeliveryDuplicates,
    /// Task termination forgets to remove the task's services from the registry.
    RegistryKeepsDeadService,
    /// The identity counter hands out the execution id of the last terminated task again.
    ReuseExecutionIds,
    /// A receive takes the newest queued message instead of the oldest.
    ReceiveNewestFirst,
    /// A task's termination emits its exit notification twice.
    DuplicateExitNotification,
    // ----- Authority and resources: the domain layer's rules -----
    /// Enforcement charges an operation that exceeds the budget before checking it, so usage ends
    /// above the limit.
    BudgetCheckedAfterConsume,
    /// Attaching a budget at spawn skips the inheritance check: a child may get more than its parent.
    BudgetInheritanceUnchecked,
    /// A message send charges two `MessageCount` units instead of one.
    MessageChargedTwice,
    /// A cancelled (exhausted) identity can still consume resources.
    CancelledIdentityStillConsumes,
    /// Budget exhaustion fails the operation but does not cancel the identity.
    ExhaustionDoesNotCancel,
    /// A policy's derived authority is applied without the subset check.
    DerivedAuthorityNotSubsetChecked,
    /// A stage-scoped derivation is not undone when the stage ends: it leaks into the pipeline.
    StageScopeNotRestored,
    /// `ComposedPolicy` lets a later `Allow` override an earlier `Require`.
    ComposedPolicyDropsRequire,
    /// The pipeline executor runs a stage although the policy denied it at stage start.
    DenyIgnoredAtStageStart,
    /// The executor allows one retry more than the stage's `max_retries`.
    RetryCountOffByOne,
    /// Backoff before retry `k` uses `multiplier^k` instead of `multiplier^(k-1)`.
    BackoffExponentOffByOne,
    /// A permanent stage failure does not stop the pipeline.
    FailFastIgnored,
    /// Only a stage's last attempt is written to the execution trace.
    RetriesNotTraced,
    /// A stage that succeeds after its deadline (so is cancelled by the timeout) still commits its
    /// capabilities to the pipeline's pool.
    CancelledStageCapsCommitted,
    /// A rollback makes the transaction's first write visible anyway.
    RollbackKeepsOneWrite,
    /// A commit installs writes object by object and stops at the first conflict, keeping the ones
    /// before it.
    CommitStopsAtConflict,
    /// Writing a blob also overwrites the content of its current committed version in place.
    WriteMutatesOldVersion,
    // ----- Authority and resources: the wiring into the kernel and the event loop -----
    /// A delayed message is charged to its sender again when its delay ends.
    DelayedMessageChargedTwice,
    /// `delegate_capability` moves the capability although the policy refused the delegation.
    DelegationIgnoresPolicy,
    /// A task that crashes inside a transaction gets that transaction committed, not rolled back.
    CrashCommitsOpenTransaction,
    /// Every retry of a pipeline stage charges another `PipelineStages` unit (a retry is not a new
    /// stage entry).
    StageChargedPerAttempt,
    // ----- Networking: the packet service, the wire, the reliable stream, the handshake (wired into
    // runs through a scenario's `network`) -----
    /// The packet service charges the `PacketCount` budget before asking the network policy.
    NetPolicyCheckedAfterBudget,
    /// A packet the network policy denied is charged a `PacketCount` anyway.
    DeniedPacketCharged,
    /// An allowed receive takes the packet without charging the receiver's `PacketCount`.
    ReceivedPacketNotCharged,
    /// The wire checks partitions only when a packet is sent: one in flight when a partition
    /// starts is delivered across it.
    PartitionCheckedAtSendOnly,
    /// The stream receiver hands a retransmitted copy of an already-delivered segment to the
    /// application again.
    RetransmissionDeliveredTwice,
    /// The handshake binds the session to whatever identity the peer proves, not to the one
    /// learnt at discovery.
    SessionBindsPresentedIdentity,
    /// The handshake records the session as established before checking the peer's identity.
    SessionAcceptedBeforeIdentityCheck,
    // ----- Input, focus, workspace and editor (wired into runs through the scenario's workspace) -----
    /// The input service delivers to a revoked subscription.
    RevokedSubscriptionReceives,
    /// With two or more subscriptions on the focus stack, keys are routed to the one just below
    /// the focused one.
    KeysRoutedBelowFocus,
    /// The input service delivers without charging the subscriber's `MessageCount`.
    InputDeliveryUncharged,
    /// Releasing the focused subscription hands focus to the bottom of the stack instead of the
    /// entry just below it.
    FocusReleasedToBottom,
    /// A focus request the policy answers with `Require` is granted.
    FocusRequireTreatedAsAllow,
    /// Closing a component leaves its subscription on the focus stack.
    ClosedComponentKeepsFocus,
    /// A component whose budget is exhausted keeps running.
    ExhaustedComponentKeepsRunning,
    /// `:w` marks the buffer saved and reports the document's current version without writing a
    /// new one.
    SaveReusesVersion,
    /// `:q` quits although the buffer is dirty, discarding the changes.
    QuitDiscardsDirtyBuffer,
}

impl PlantedBug {
    /// Every planted bug, in a stable order.
    pub const ALL: [PlantedBug; 44] = [
        PlantedBug::DelegateKeepsSource,
        PlantedBug::TerminationSkipsInvalidation,
        PlantedBug::DelayedDeliveryDuplicates,
        PlantedBug::RegistryKeepsDeadService,
        PlantedBug::ReuseExecutionIds,
        PlantedBug::ReceiveNewestFirst,
        PlantedBug::DuplicateExitNotification,
        PlantedBug::BudgetCheckedAfterConsume,
        PlantedBug::BudgetInheritanceUnchecked,
        PlantedBug::MessageChargedTwice,
        PlantedBug::CancelledIdentityStillConsumes,
        PlantedBug::ExhaustionDoesNotCancel,
        PlantedBug::DerivedAuthorityNotSubsetChecked,
        PlantedBug::StageScopeNotRestored,
        PlantedBug::ComposedPolicyDropsRequire,
        PlantedBug::DenyIgnoredAtStageStart,
        PlantedBug::RetryCountOffByOne,
        PlantedBug::BackoffExponentOffByOne,
        PlantedBug::FailFastIgnored,
        PlantedBug::RetriesNotTraced,
        PlantedBug::CancelledStageCapsCommitted,
        PlantedBug::RollbackKeepsOneWrite,
        PlantedBug::CommitStopsAtConflict,
        PlantedBug::WriteMutatesOldVersion,
        PlantedBug::DelayedMessageChargedTwice,
        PlantedBug::DelegationIgnoresPolicy,
        PlantedBug::CrashCommitsOpenTransaction,
        PlantedBug::StageChargedPerAttempt,
        PlantedBug::NetPolicyCheckedAfterBudget,
        PlantedBug::DeniedPacketCharged,
        PlantedBug::ReceivedPacketNotCharged,
        PlantedBug::PartitionCheckedAtSendOnly,
        PlantedBug::RetransmissionDeliveredTwice,
        PlantedBug::SessionBindsPresentedIdentity,
        PlantedBug::SessionAcceptedBeforeIdentityCheck,
        PlantedBug::RevokedSubscriptionReceives,
        PlantedBug::KeysRoutedBelowFocus,
        PlantedBug::InputDeliveryUncharged,
        PlantedBug::FocusReleasedToBottom,
        PlantedBug::FocusRequireTreatedAsAllow,
        PlantedBug::ClosedComponentKeepsFocus,
        PlantedBug::ExhaustedComponentKeepsRunning,
        PlantedBug::SaveReusesVersion,
        PlantedBug::QuitDiscardsDirtyBuffer,
    ];

    /// The invariants that can catch this bug first; the first listed is the one meant to.
    ///
    /// `DelegateKeepsSource` is normally caught by the `cap.single_owner` postcondition at the end
    /// of the delegating event, but if the old owner uses the capability during that same event
    /// (a capability passer probes right after delegating), `cap.no_use_after_transfer` fires
    /// first.
    pub fn caught_by(self) -> &'static [&'static str] {
        match self {
            PlantedBug::DelegateKeepsSource => &["cap.single_owner", "cap.no_use_after_transfer"],
            PlantedBug::TerminationSkipsInvalidation => &["cap.no_use_after_owner_death"],
            PlantedBug::DelayedDeliveryDuplicates => &["msg.at_most_once"],
            PlantedBug::RegistryKeepsDeadService => &["registry.consistent"],
            PlantedBug::ReuseExecutionIds => &["identity.never_reused"],
            PlantedBug::ReceiveNewestFirst => &["msg.fifo_per_channel"],
            PlantedBug::DuplicateExitNotification => &["identity.one_exit_notification"],
            PlantedBug::BudgetCheckedAfterConsume => &["budget.usage_within_limit"],
            PlantedBug::BudgetInheritanceUnchecked => &["budget.child_within_parent"],
            PlantedBug::MessageChargedTwice => &["budget.exact_consumption"],
            PlantedBug::CancelledIdentityStillConsumes => &["budget.nothing_after_cancel"],
            PlantedBug::ExhaustionDoesNotCancel => &["budget.exhaustion_cancels"],
            PlantedBug::DerivedAuthorityNotSubsetChecked => &["derive.subset"],
            PlantedBug::StageScopeNotRestored => &["derive.stage_scope_restored"],
            PlantedBug::ComposedPolicyDropsRequire => &["policy.composition_precedence"],
            PlantedBug::DenyIgnoredAtStageStart => &["policy.deny_has_no_effect"],
            PlantedBug::RetryCountOffByOne => &["pipeline.bounded_attempts"],
            PlantedBug::BackoffExponentOffByOne => &["pipeline.backoff_exact"],
            PlantedBug::FailFastIgnored => &["pipeline.fail_fast"],
            PlantedBug::RetriesNotTraced => &["pipeline.trace_complete"],
            PlantedBug::CancelledStageCapsCommitted => &["pipeline.no_caps_from_cancelled_stage"],
            PlantedBug::RollbackKeepsOneWrite | PlantedBug::CommitStopsAtConflict => &["storage.no_partial_commit"],
            PlantedBug::WriteMutatesOldVersion => &["storage.versions_immutable"],
            PlantedBug::DelayedMessageChargedTwice | PlantedBug::StageChargedPerAttempt => &["budget.exact_consumption"],
            PlantedBug::DelegationIgnoresPolicy => &["policy.deny_has_no_effect"],
            PlantedBug::CrashCommitsOpenTransaction => &["storage.no_partial_commit"],
            PlantedBug::NetPolicyCheckedAfterBudget => &["net.policy_before_budget"],
            PlantedBug::DeniedPacketCharged => &["net.denied_consumes_nothing"],
            PlantedBug::ReceivedPacketNotCharged => &["net.packet_budget_exact"],
            PlantedBug::PartitionCheckedAtSendOnly => &["net.no_delivery_across_partition"],
            PlantedBug::RetransmissionDeliveredTwice => &["net.stream_in_order_exactly_once"],
            PlantedBug::SessionBindsPresentedIdentity => &["net.session_bound_to_identity"],
            PlantedBug::SessionAcceptedBeforeIdentityCheck => &["net.no_session_with_unverified_peer"],
            PlantedBug::RevokedSubscriptionReceives => &["input.revoked_receives_nothing"],
            PlantedBug::KeysRoutedBelowFocus => &["input.only_focused_receives"],
            PlantedBug::InputDeliveryUncharged => &["input.delivery_consumes_budget"],
            PlantedBug::FocusReleasedToBottom => &["focus.stack_consistent"],
            PlantedBug::FocusRequireTreatedAsAllow => &["focus.policy_gated"],
            PlantedBug::ClosedComponentKeepsFocus => &["workspace.closed_component_unfocused"],
            PlantedBug::ExhaustedComponentKeepsRunning => &["workspace.component_within_budget"],
            PlantedBug::SaveReusesVersion => &["editor.save_creates_version"],
            PlantedBug::QuitDiscardsDirtyBuffer => &["editor.no_silent_loss"],
        }
    }

    /// Whether a scenario run can reach this bug: the kernel, the event loop or a module they
    /// drive (policy, budgets, pipelines, storage, the workspace with its input service, focus
    /// manager and editors, the network of a scenario's `network`) consults it — the networking
    /// bugs only in a build with the canonical path (a scenario's `network` needs it).
    pub fn reachable_by_runs(self) -> bool {
        !self.is_network() || cfg!(feature = "net-canonical")
    }

    /// The bugs a scenario run can reach, in stable order.
    pub fn reachable() -> impl Iterator<Item = PlantedBug> {
        PlantedBug::ALL.into_iter().filter(|b| b.reachable_by_runs())
    }

    /// Whether the bug lives in the networking domain layer (`model::net`; shown to break its
    /// invariant in `model/tests/net_planted_bugs.rs`).
    pub fn is_network(self) -> bool {
        use PlantedBug::*;
        matches!(
            self,
            NetPolicyCheckedAfterBudget | DeniedPacketCharged | ReceivedPacketNotCharged | PartitionCheckedAtSendOnly | RetransmissionDeliveredTwice | SessionBindsPresentedIdentity | SessionAcceptedBeforeIdentityCheck
        )
    }

    /// Whether the bug lives in the interactive domain layer (`model::input`, `focus`, `workspace`,
    /// `editor`; shown to break exactly its invariant in `model/tests/interactive_planted_bugs.rs`,
    /// and reached by runs through the scenario's workspace).
    pub fn is_interactive(self) -> bool {
        use PlantedBug::*;
        matches!(
            self,
            RevokedSubscriptionReceives | KeysRoutedBelowFocus | InputDeliveryUncharged | FocusReleasedToBottom | FocusRequireTreatedAsAllow | ClosedComponentKeepsFocus | ExhaustedComponentKeepsRunning | SaveReusesVersion | QuitDiscardsDirtyBuffer
        )
    }

    /// Whether a violation of `invariant` is this bug being caught.
    pub fn is_caught_by(self, invariant: &str) -> bool {
        self.caught_by().contains(&invariant)
    }
}

/// The set of bugs switched on for a run (a bit set, cheap to test on hot paths).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BugSet(u128);

const _: () = assert!(PlantedBug::ALL.len() <= 128, "every planted bug has a bit");

impl BugSet {
    pub fn from_list(bugs: &[PlantedBug]) -> Self {
        BugSet(bugs.iter().fold(0, |acc, b| acc | (1 << *b as u32)))
    }
    pub fn has(self, bug: PlantedBug) -> bool {
        self.0 & (1 << bug as u32) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}
