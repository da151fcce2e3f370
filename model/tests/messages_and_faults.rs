//! Contract tests for the seed's "Message Passing" section: "Schema Versioning", "IPC Schema
//! Evolution Policy" (supported version window, `VersionPolicy`, `SchemaMismatchError`),
//! "Delivery Guarantees" and "Fault Injection Semantics" (Drop, Delay, Reorder, Crash on Send,
//! Crash on Recv, at-most-once under faults).
//!
//! Each fault is tested with a one-rule `FaultPlan` on a bare `SimulatedKernel`, with the
//! semantics `model/src/fault.rs` documents: a reorder swaps the new message with the last one
//! queued (and does not count with an empty queue); a crash on send consumes no message id; a
//! crash on receive consumes the head message or not as a recorded choice, and only applies to
//! receives that would return a message; for each operation the rules are tried in plan order
//! and the first whose trigger fires wins; triggers `Next`, `EveryNth`, `Chance`, `Window`;
//! scopes `Any`, `Service`, `Task`. The version window follows `model/src/message.rs`.

use std::collections::BTreeSet;

use model::choices::Choices;
use model::error::KernelError;
use model::fault::{FaultPlan, FaultScope, FaultTrigger, MessageFault, MessageFaultRule};
use model::identity::{IdentityKind, TrustDomain};
use model::ids::{ChannelId, MessageId, TaskId};
use model::kernel::{KernelApi, SimulatedKernel, TaskContext, TaskDescriptor, Timer};
use model::names::well_known;
use model::message::{Compatibility, MessageEnvelope, MessagePayload, SchemaMismatchError, SchemaVersion, ServiceId, VersionPolicy};
use model::time::Instant;

// ----- schema versions ------------------------------------------------------------------------

/// The seed's own example.
#[test]
fn test_reject_too_old_version() {
    let policy = VersionPolicy::current(3, 0).with_min_major(2);
    let old_version = SchemaVersion::new(1, 9);

    assert_eq!(policy.check_compatibility(&old_version), Compatibility::Unsupported);
}

#[test]
fn schema_versions_with_the_same_major_are_compatible() {
    let v1_0 = SchemaVersion::new(1, 0);
    let v1_1 = SchemaVersion::new(1, 1);
    let v2_0 = SchemaVersion::new(2, 0);
    assert!(v1_0.is_compatible_with(&v1_1));
    assert!(v1_1.is_compatible_with(&v1_0));
    assert!(v1_0.is_compatible_with(&v1_0));
    assert!(SchemaVersion::new(1, 999).is_compatible_with(&v1_0));
    assert!(!v1_0.is_compatible_with(&v2_0));
    assert!(!v2_0.is_compatible_with(&v1_1));
    assert_eq!(SchemaVersion::default(), v1_0);
}

#[test]
fn default_window_is_current_and_previous_major() {
    let policy = VersionPolicy::new(3, 2);
    assert_eq!(policy, VersionPolicy::current(3, 2));
    assert_eq!(policy.min_major, 2);
    for minor in [0, 1, 2, 7, u32::MAX] {
        assert_eq!(policy.check_compatibility(&SchemaVersion::new(3, minor)), Compatibility::Compatible, "3.{minor}");
        assert_eq!(policy.check_compatibility(&SchemaVersion::new(2, minor)), Compatibility::Compatible, "2.{minor}");
    }
    // The service may reject older versions: with the default window they are Unsupported.
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(1, 9)), Compatibility::Unsupported);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(0, 1)), Compatibility::Unsupported);
    // Newer majors are Unsupported.
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(4, 0)), Compatibility::Unsupported);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(u32::MAX, 0)), Compatibility::Unsupported);
    // The lowest window starts at 0.
    let v1 = VersionPolicy::new(1, 0);
    assert_eq!(v1.min_major, 0);
    assert_eq!(v1.check_compatibility(&SchemaVersion::new(0, 5)), Compatibility::Compatible);
    let v0 = VersionPolicy::new(0, 3);
    assert_eq!(v0.check_compatibility(&SchemaVersion::new(0, 0)), Compatibility::Compatible);
    assert_eq!(v0.check_compatibility(&SchemaVersion::new(1, 0)), Compatibility::Unsupported);
}

#[test]
fn raised_window_asks_the_major_just_below_to_upgrade() {
    let policy = VersionPolicy::current(3, 0).with_min_major(3);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(3, 5)), Compatibility::Compatible);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(2, 9)), Compatibility::UpgradeRequired);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(2, 0)), Compatibility::UpgradeRequired);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(1, 0)), Compatibility::Unsupported);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(4, 0)), Compatibility::Unsupported);

    // Setting min_major to the default does not raise the window.
    let default_like = VersionPolicy::current(5, 0).with_min_major(4);
    assert_eq!(default_like, VersionPolicy::new(5, 0));
    assert_eq!(default_like.check_compatibility(&SchemaVersion::new(3, 0)), Compatibility::Unsupported);
    // A widened window accepts more and asks nobody to upgrade.
    let wide = VersionPolicy::current(5, 0).with_min_major(2);
    for major in 2..=5 {
        assert_eq!(wide.check_compatibility(&SchemaVersion::new(major, 0)), Compatibility::Compatible, "{major}.0");
    }
    assert_eq!(wide.check_compatibility(&SchemaVersion::new(1, 0)), Compatibility::Unsupported);
    // min_major is clamped to the current major.
    let clamped = VersionPolicy::current(3, 0).with_min_major(10);
    assert_eq!(clamped.min_major, 3);
    assert_eq!(clamped.check_compatibility(&SchemaVersion::new(3, 0)), Compatibility::Compatible);
}

#[test]
fn mismatch_errors_carry_service_range_and_received_version() {
    let service = ServiceId(model::names::Names::new().intern("storage"));
    let raised = VersionPolicy::current(3, 1).with_min_major(3);
    assert_eq!(raised.mismatch(&service, SchemaVersion::new(3, 0)), None);
    assert_eq!(
        raised.mismatch(&service, SchemaVersion::new(2, 4)),
        Some(SchemaMismatchError::UpgradeRequired { service, expected_min: SchemaVersion::new(3, 0), received: SchemaVersion::new(2, 4) })
    );
    let policy = VersionPolicy::current(3, 1);
    assert_eq!(policy.supported_range(), (SchemaVersion::new(2, 0), SchemaVersion::new(3, u32::MAX)));
    for received in [SchemaVersion::new(1, 9), SchemaVersion::new(4, 0)] {
        assert_eq!(
            policy.mismatch(&service, received),
            Some(SchemaMismatchError::Unsupported { service, supported_range: policy.supported_range(), received })
        );
    }
    // Every incompatible version gets an error, every compatible one none.
    for major in 0..6 {
        let v = SchemaVersion::new(major, 3);
        assert_eq!(policy.mismatch(&service, v).is_none(), policy.check_compatibility(&v) == Compatibility::Compatible, "{v}");
    }
}

#[test]
fn version_checks_do_not_overflow_at_the_top_of_the_range() {
    // "Version logic is pure functions, fully testable"; a mismatch is an error, never a panic.
    let top = u32::MAX;
    let policy = VersionPolicy::current(top, 0).with_min_major(top);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(top, 1)), Compatibility::Compatible);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(top - 2, 0)), Compatibility::Unsupported);
    assert_eq!(policy.check_compatibility(&SchemaVersion::new(top - 1, 0)), Compatibility::UpgradeRequired);
    let default = VersionPolicy::new(top, 0);
    assert_eq!(default.check_compatibility(&SchemaVersion::new(top - 1, 0)), Compatibility::Compatible);
    assert_eq!(default.check_compatibility(&SchemaVersion::new(top - 2, 0)), Compatibility::Unsupported);
}

// ----- a bare kernel with a fault plan --------------------------------------------------------

struct Rig {
    k: SimulatedKernel,
    sender: TaskId,
    other: TaskId,
    receiver: TaskId,
    /// Registered as service "svc".
    ch: ChannelId,
    /// Not registered.
    plain: ChannelId,
}

fn task(k: &mut SimulatedKernel, name: &str) -> TaskId {
    k.spawn_task_with_identity(None, TaskDescriptor::new(name.into()), IdentityKind::Service, TrustDomain::user(), None).unwrap().0.task_id
}

fn rig_with(plan: FaultPlan, choices: Choices) -> Rig {
    let mut k = SimulatedKernel::new(&plan, &[], choices);
    let sender = task(&mut k, "sender");
    let other = task(&mut k, "other");
    let receiver = task(&mut k, "receiver");
    let ch = k.create_channel(receiver).unwrap();
    let plain = k.create_channel(receiver).unwrap();
    let svc = k.service_id("svc");
    k.register_service(receiver, svc, ch).unwrap();
    k.timers.clear();
    Rig { k, sender, other, receiver, ch, plain }
}

fn rig(rule: MessageFaultRule) -> Rig {
    rig_with(FaultPlan::new().with_message_fault(rule), Choices::seeded(7))
}

fn msg(n: u64) -> MessageEnvelope {
    MessageEnvelope::new(ServiceId(well_known::STEP), well_known::DATA, SchemaVersion::new(1, 0), MessagePayload::Data(n))
}

impl Rig {
    fn send(&mut self, n: u64) -> Result<MessageId, KernelError> {
        self.k.send_message(self.sender, self.ch, msg(n))
    }
    fn send_on(&mut self, by: TaskId, ch: ChannelId, n: u64) -> Result<MessageId, KernelError> {
        self.k.send_message(by, ch, msg(n))
    }
    fn recv(&mut self) -> Result<MessageEnvelope, KernelError> {
        TaskContext::new(&mut self.k, self.receiver).receive_message(self.ch, None)
    }
    fn queued(&self, ch: ChannelId) -> Vec<MessageId> {
        self.k.channel(ch).unwrap().queue.iter().map(|m| m.id).collect()
    }
    /// Takes the delayed-delivery timers the kernel asked for: `(time, channel, in-flight slot)`.
    fn take_deliveries(&mut self) -> Vec<(Instant, ChannelId, u32)> {
        std::mem::take(&mut self.k.timers)
            .into_iter()
            .filter_map(|t| match t {
                Timer::Deliver { at, channel, slot } => Some((at, channel, slot)),
                Timer::Wake { .. } => None,
            })
            .collect()
    }
    /// Which of sends 1..=n (on the registered channel, by `sender`) were dropped.
    fn dropped_pattern(&mut self, n: u64) -> Vec<bool> {
        (1..=n)
            .map(|i| {
                let before = self.k.stats.messages_dropped;
                self.send(i).unwrap();
                self.k.stats.messages_dropped > before
            })
            .collect()
    }
}

fn always(fault: MessageFault) -> MessageFaultRule {
    MessageFaultRule::new(fault, FaultTrigger::Always)
}

// ----- fault semantics ------------------------------------------------------------------------

#[test]
fn drop_returns_ok_but_the_receiver_never_sees_the_message() {
    let mut r = rig(always(MessageFault::Drop));
    let id = r.send(1).expect("a dropped send still returns Ok");
    assert_eq!(id, MessageId(0));
    assert!(r.queued(r.ch).is_empty());
    assert_eq!(r.recv(), Err(KernelError::Timeout));
    assert!(r.take_deliveries().is_empty(), "a dropped message must not come back later");
    // Through KernelApi the sender gets Ok(()).
    assert_eq!(TaskContext::new(&mut r.k, r.sender).send_message(r.ch, msg(2)), Ok(()));
    assert_eq!(r.recv(), Err(KernelError::Timeout));
    let s = r.k.stats;
    assert_eq!((s.messages_sent, s.messages_dropped, s.messages_delivered, s.faults_injected), (2, 2, 0, 2));
}

#[test]
fn delay_holds_the_message_until_its_delivery_timer() {
    let mut r = rig(MessageFaultRule::new(MessageFault::Delay { nanos: 500 }, FaultTrigger::Next { count: 1 }));
    let delayed = r.send(1).unwrap();
    assert!(r.queued(r.ch).is_empty(), "a delayed message is in the queue at once");
    assert_eq!(r.recv(), Err(KernelError::Timeout));
    let deliveries = r.take_deliveries();
    assert_eq!(deliveries.len(), 1);
    let (at, channel, slot) = deliveries.into_iter().next().unwrap();
    let message = *r.k.in_flight().get(slot).expect("the delayed message is held in flight");
    assert_eq!((at, channel, message.id, message.source), (Instant(500), r.ch, delayed, Some(r.sender)));
    assert_eq!(message.payload, MessagePayload::Data(1));
    assert_eq!(r.k.stats.messages_delayed, 1);

    // A later undelayed message overtakes it.
    let prompt = r.send(2).unwrap();
    r.k.deliver_delayed(channel, slot);
    assert!(r.k.in_flight().is_empty(), "a delivered message leaves the in-flight store");
    assert_eq!(r.recv().unwrap().id, prompt);
    assert_eq!(r.recv().unwrap().id, delayed);
    assert_eq!(r.recv(), Err(KernelError::Timeout), "the delayed message was delivered twice");
    assert!(r.take_deliveries().is_empty());
    assert_eq!(r.k.stats.messages_delivered, 2);
}

#[test]
fn reorder_swaps_the_new_message_with_the_last_queued_one() {
    let mut r = rig(MessageFaultRule::new(MessageFault::Reorder, FaultTrigger::EveryNth { n: 3 }));
    let ids: Vec<MessageId> = (0..6).map(|n| r.send(n).unwrap()).collect();
    // Sends 3 and 6 are reordered: each swaps with the message queued just before it.
    assert_eq!(r.queued(r.ch), vec![ids[0], ids[2], ids[1], ids[3], ids[5], ids[4]]);
    assert_eq!(r.k.stats.messages_reordered, 2);
    let received: Vec<MessageId> = std::iter::from_fn(|| r.recv().ok().map(|m| m.id)).collect();
    assert_eq!(received, vec![ids[0], ids[2], ids[1], ids[3], ids[5], ids[4]]);
    assert_eq!(received.iter().collect::<BTreeSet<_>>().len(), 6, "a reorder duplicated a message");
}

#[test]
fn reorder_on_an_empty_queue_is_not_an_injected_fault() {
    let mut r = rig(always(MessageFault::Reorder));
    let first = r.send(0).unwrap();
    assert_eq!(r.queued(r.ch), vec![first]);
    assert_eq!((r.k.stats.messages_reordered, r.k.stats.faults_injected), (0, 0));
    let second = r.send(1).unwrap();
    assert_eq!(r.queued(r.ch), vec![second, first]);
    assert_eq!((r.k.stats.messages_reordered, r.k.stats.faults_injected), (1, 1));
    assert_eq!(r.recv().unwrap().id, second);
    // The queue is now [first]: the next reordered send swaps with it.
    let third = r.send(2).unwrap();
    assert_eq!(r.queued(r.ch), vec![third, first]);
}

#[test]
fn crash_on_send_fails_and_enqueues_nothing() {
    let mut r = rig(MessageFaultRule::new(MessageFault::CrashOnSend, FaultTrigger::Next { count: 2 }));
    assert!(matches!(r.send(1), Err(KernelError::SendFailed(_))));
    assert!(matches!(TaskContext::new(&mut r.k, r.sender).send_message(r.ch, msg(2)), Err(KernelError::SendFailed(_))));
    assert!(r.queued(r.ch).is_empty());
    assert!(r.take_deliveries().is_empty());
    assert_eq!(r.recv(), Err(KernelError::Timeout));
    let s = r.k.stats;
    assert_eq!((s.send_failures, s.messages_sent, s.faults_injected), (2, 0, 2));
    // A failed send consumes no message id: the first accepted message gets the first id.
    assert_eq!(r.send(3), Ok(MessageId(0)));
    assert_eq!(r.recv().unwrap().payload, MessagePayload::Data(3));
}

#[test]
fn crash_on_recv_fails_and_never_delivers_twice() {
    let mut kept = 0;
    let mut lost = 0;
    for seed in 0..32 {
        let plan = FaultPlan::new().with_message_fault(MessageFaultRule::new(MessageFault::CrashOnRecv, FaultTrigger::Next { count: 1 }));
        let mut r = rig_with(plan, Choices::seeded(seed));
        let a = r.send(1).unwrap();
        let b = r.send(2).unwrap();
        assert!(matches!(r.recv(), Err(KernelError::ReceiveFailed(_))));
        assert_eq!(r.k.stats.receive_failures, 1);
        let rest: Vec<MessageId> = std::iter::from_fn(|| r.recv().ok().map(|m| m.id)).collect();
        if rest == vec![a, b] {
            kept += 1;
            assert_eq!(r.k.stats.messages_dropped, 0);
        } else {
            assert_eq!(rest, vec![b], "seed {seed}: after a failed receive the queue held {rest:?}");
            assert_eq!(r.k.stats.messages_dropped, 1, "a consumed message is counted as dropped");
            lost += 1;
        }
        assert_eq!(r.k.stats.messages_delivered + r.k.stats.messages_dropped, 2);
    }
    assert!(kept > 0 && lost > 0, "both outcomes are possible choices (kept {kept}, lost {lost})");
}

#[test]
fn crash_on_recv_consumption_is_a_recorded_choice() {
    let plan = || FaultPlan::new().with_message_fault(always(MessageFault::CrashOnRecv));
    // Choice 0: the message stays queued.
    let mut r = rig_with(plan(), Choices::replaying(vec![0]));
    let id = r.send(1).unwrap();
    assert!(matches!(r.recv(), Err(KernelError::ReceiveFailed(_))));
    assert_eq!(r.queued(r.ch), vec![id]);
    // Choice 1: it is consumed (lost).
    let mut r = rig_with(plan(), Choices::replaying(vec![1]));
    r.send(1).unwrap();
    assert!(matches!(r.recv(), Err(KernelError::ReceiveFailed(_))));
    assert!(r.queued(r.ch).is_empty());
    assert_eq!(r.k.stats.messages_dropped, 1);
    // The choice is drawn once per failed receive.
    assert_eq!(r.k.choices.drawn(), 1);
}

#[test]
fn crash_on_recv_only_applies_to_receives_that_would_return_a_message() {
    let mut r = rig(MessageFaultRule::new(MessageFault::CrashOnRecv, FaultTrigger::Next { count: 1 }));
    assert_eq!(r.recv(), Err(KernelError::Timeout));
    assert_eq!(r.recv(), Err(KernelError::Timeout));
    assert_eq!(r.k.fault_injector().tried(), &[0]);
    assert_eq!(r.k.stats.receive_failures, 0);
    // Sends are not receive operations either.
    r.send(1).unwrap();
    assert_eq!(r.k.fault_injector().tried(), &[0]);
    assert!(matches!(r.recv(), Err(KernelError::ReceiveFailed(_))));
    assert_eq!(r.k.fault_injector().tried(), &[1]);
}

// ----- triggers -------------------------------------------------------------------------------

#[test]
fn trigger_next_fires_on_the_first_count_operations() {
    let mut r = rig(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::Next { count: 2 }));
    assert_eq!(r.dropped_pattern(5), vec![true, true, false, false, false]);
    assert_eq!(r.k.fault_injector().tried(), &[5]);
    let mut r = rig(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::Next { count: 0 }));
    assert_eq!(r.dropped_pattern(3), vec![false; 3]);
}

#[test]
fn trigger_every_nth_fires_on_multiples_of_n() {
    let mut r = rig(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::EveryNth { n: 3 }));
    assert_eq!(r.dropped_pattern(7), vec![false, false, true, false, false, true, false]);
    let mut r = rig(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::EveryNth { n: 1 }));
    assert_eq!(r.dropped_pattern(3), vec![true; 3]);
    let mut r = rig(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::EveryNth { n: 0 }));
    assert_eq!(r.dropped_pattern(5), vec![false; 5], "n = 0 never fires");
}

#[test]
fn trigger_chance_draws_from_the_runs_choices() {
    let mut never = rig(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::Chance { per_mille: 0 }));
    assert_eq!(never.dropped_pattern(50), vec![false; 50]);
    let mut certain = rig(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::Chance { per_mille: 1000 }));
    assert_eq!(certain.dropped_pattern(50), vec![true; 50]);
    assert_eq!((never.k.choices.drawn(), certain.k.choices.drawn()), (0, 0), "0 and 1000 per mille need no draw");

    let half = || MessageFaultRule::new(MessageFault::Drop, FaultTrigger::Chance { per_mille: 500 });
    let pattern = rig(half()).dropped_pattern(400);
    let hits = pattern.iter().filter(|d| **d).count();
    assert!((120..=280).contains(&hits), "500 per mille dropped {hits} of 400");
    // Deterministic: the same seed gives the same pattern; one draw per matching operation.
    let mut again = rig(half());
    assert_eq!(again.dropped_pattern(400), pattern);
    assert_eq!(again.k.choices.drawn(), 400);
    // Replayed choices decide: a draw of at least 1000 - per_mille fires; a drawn 0 (the simplest
    // choice, and what an exhausted list gives) never does.
    let mut replayed = rig_with(FaultPlan::new().with_message_fault(half()), Choices::replaying(vec![499, 500, 0, 999]));
    assert_eq!(replayed.dropped_pattern(6), vec![false, true, false, true, false, false]);
}

#[test]
fn trigger_window_is_half_open_in_virtual_time() {
    // A bare kernel stays at time 0 (only the event loop moves the clock).
    for (from_ns, until_ns, fires) in [(0, 1, true), (0, u64::MAX, true), (0, 0, false), (1, 100, false)] {
        let mut r = rig(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::Window { from_ns, until_ns }));
        assert_eq!(r.dropped_pattern(3), vec![fires; 3], "window [{from_ns}, {until_ns}) at time 0");
    }
}

// ----- scopes and rule order ------------------------------------------------------------------

#[test]
fn scope_any_matches_every_channel_and_task() {
    let mut r = rig(always(MessageFault::Drop));
    r.send_on(r.sender, r.ch, 1).unwrap();
    r.send_on(r.other, r.plain, 2).unwrap();
    assert!(r.queued(r.ch).is_empty() && r.queued(r.plain).is_empty());
    assert_eq!(r.k.stats.messages_dropped, 2);
}

#[test]
fn scope_service_matches_channels_registered_for_the_service() {
    let mut r = rig(MessageFaultRule { fault: MessageFault::Drop, on: FaultScope::Service("svc".into()), when: FaultTrigger::Always });
    r.send_on(r.sender, r.ch, 1).unwrap();
    r.send_on(r.other, r.ch, 2).unwrap();
    let kept = r.send_on(r.sender, r.plain, 3).unwrap();
    assert!(r.queued(r.ch).is_empty());
    assert_eq!(r.queued(r.plain), vec![kept]);
    assert_eq!(r.k.fault_injector().tried(), &[2]);
    // Once registered, the other channel is in scope too.
    r.k.terminate_task_with_reason(r.receiver, model::identity::ExitReason::Normal).unwrap();
    let provider = task(&mut r.k, "provider");
    let fresh = r.k.create_channel(provider).unwrap();
    r.send_on(r.sender, fresh, 4).unwrap();
    assert_eq!(r.queued(fresh).len(), 1, "an unregistered channel is out of scope");
    let svc = r.k.service_id("svc");
    r.k.register_service(provider, svc, fresh).unwrap();
    r.send_on(r.sender, fresh, 5).unwrap();
    assert_eq!(r.queued(fresh).len(), 1);
    assert_eq!(r.k.stats.messages_dropped, 3);
}

#[test]
fn scope_task_matches_operations_of_tasks_with_that_name() {
    let mut r = rig(MessageFaultRule { fault: MessageFault::Drop, on: FaultScope::Task("sender".into()), when: FaultTrigger::Always });
    r.send_on(r.sender, r.ch, 1).unwrap();
    r.send_on(r.sender, r.plain, 2).unwrap();
    let kept = r.send_on(r.other, r.ch, 3).unwrap();
    assert_eq!(r.queued(r.ch), vec![kept]);
    assert!(r.queued(r.plain).is_empty());
    // Another task with the same name is in scope as well.
    let namesake = task(&mut r.k, "sender");
    r.send_on(namesake, r.ch, 4).unwrap();
    assert_eq!(r.queued(r.ch), vec![kept]);

    // For receive faults the scope names the receiving task.
    let plan = FaultPlan::new().with_message_fault(MessageFaultRule {
        fault: MessageFault::CrashOnRecv,
        on: FaultScope::Task("other".into()),
        when: FaultTrigger::Always,
    });
    let mut r = rig_with(plan, Choices::replaying(vec![]));
    r.send(1).unwrap();
    r.send(2).unwrap();
    assert!(matches!(TaskContext::new(&mut r.k, r.other).receive_message(r.ch, None), Err(KernelError::ReceiveFailed(_))));
    assert!(r.recv().is_ok(), "the receiver is not in scope");
}

#[test]
fn scope_service_matches_a_channel_registered_for_several_services() {
    // `FaultScope::Service(s)`: "Channels registered for this service". One channel may carry
    // several registrations (the registry allows it); each of them puts the channel in scope.
    let outcome = |scope: &str, first_dies: bool| -> bool {
        let plan = FaultPlan::new().with_message_fault(MessageFaultRule { fault: MessageFault::Drop, on: FaultScope::Service(scope.into()), when: FaultTrigger::Always });
        let mut k = SimulatedKernel::new(&plan, &[], Choices::seeded(1));
        let (one, two) = (k.service_id("one"), k.service_id("two"));
        let svc = |s: &str| if s == "one" { one } else { two };
        let (first, second, sender) = (task(&mut k, "first"), task(&mut k, "second"), task(&mut k, "sender"));
        let ch = k.create_channel(first).unwrap();
        k.register_service(first, svc("one"), ch).unwrap();
        k.delegate_capability(k.channel(ch).unwrap().cap, first, second).unwrap();
        k.register_service(second, svc("two"), ch).unwrap();
        if first_dies {
            k.terminate_task_with_reason(first, model::identity::ExitReason::Normal).unwrap();
        }
        assert_eq!(k.lookup_service(sender, &svc(scope)), Ok(ch), "{scope} is registered on the channel");
        k.send_message(sender, ch, msg(1)).unwrap();
        k.stats.messages_dropped == 1
    };
    let observed = [("one", false), ("two", false), ("two", true)].map(|(scope, dies)| ((scope, dies), outcome(scope, dies)));
    let expected = [(("one", false), true), (("two", false), true), (("two", true), true)];
    assert_eq!(observed, expected, "((scope, provider of `one` terminated), send dropped)");
}

#[test]
fn the_first_firing_rule_wins() {
    let plan = FaultPlan::new()
        .with_message_fault(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::Next { count: 1 }))
        .with_message_fault(always(MessageFault::CrashOnSend));
    let mut r = rig_with(plan, Choices::seeded(1));
    assert!(r.send(1).is_ok(), "rule 0 (drop) fires first");
    assert!(matches!(r.send(2), Err(KernelError::SendFailed(_))), "rule 0 no longer fires, rule 1 does");
    assert_eq!(r.k.fault_injector().tried(), &[2, 1]);
    assert_eq!((r.k.stats.messages_dropped, r.k.stats.send_failures, r.k.stats.faults_injected), (1, 1, 2));

    // Order matters: the same rules the other way round never drop.
    let plan = FaultPlan::new()
        .with_message_fault(always(MessageFault::CrashOnSend))
        .with_message_fault(always(MessageFault::Drop));
    let mut r = rig_with(plan, Choices::seeded(1));
    for n in 0..3 {
        assert!(matches!(r.send(n), Err(KernelError::SendFailed(_))));
    }
    assert_eq!(r.k.fault_injector().tried(), &[3, 0]);
    assert_eq!(r.k.stats.messages_dropped, 0);

    // Rules for receives are not tried on sends (and vice versa); out-of-scope rules are skipped.
    let plan = FaultPlan::new()
        .with_message_fault(always(MessageFault::CrashOnRecv))
        .with_message_fault(MessageFaultRule { fault: MessageFault::CrashOnSend, on: FaultScope::Task("nobody".into()), when: FaultTrigger::Always })
        .with_message_fault(MessageFaultRule::new(MessageFault::Delay { nanos: 10 }, FaultTrigger::Always));
    let mut r = rig_with(plan, Choices::seeded(1));
    r.send(1).unwrap();
    assert_eq!(r.k.fault_injector().tried(), &[0, 0, 1]);
    assert_eq!(r.k.stats.messages_delayed, 1);
    assert_eq!(r.k.stats.faults_injected, 1, "an operation suffers at most one message fault");
}

// ----- at-most-once under every fault ---------------------------------------------------------

#[test]
fn at_most_once_under_every_fault() {
    let faults = [MessageFault::Drop, MessageFault::Delay { nanos: 1_000 }, MessageFault::Reorder, MessageFault::CrashOnSend, MessageFault::CrashOnRecv];
    let triggers = [FaultTrigger::Always, FaultTrigger::EveryNth { n: 2 }, FaultTrigger::Chance { per_mille: 500 }];
    const N: u64 = 60;
    for fault in faults {
        for when in triggers {
            for seed in 0..4 {
                if fault == MessageFault::CrashOnRecv && when == FaultTrigger::Always {
                    continue; // every receive fails: nothing could ever be drained
                }
                let plan = FaultPlan::new().with_message_fault(MessageFaultRule::new(fault, when));
                let mut r = rig_with(plan, Choices::seeded(seed));
                let ctx = format!("{fault:?} {when:?} seed {seed}");
                let mut accepted = BTreeSet::new();
                let mut received = Vec::new();
                let mut pending = Vec::new();
                let receive = |r: &mut Rig, received: &mut Vec<MessageId>| match r.recv() {
                    Ok(m) => {
                        received.push(m.id);
                        true
                    }
                    Err(KernelError::Timeout) => false,
                    Err(KernelError::ReceiveFailed(_)) => true,
                    Err(e) => panic!("{ctx}: unexpected {e:?}"),
                };
                for n in 0..N {
                    if let Ok(id) = r.send(n) {
                        assert!(accepted.insert(id), "{ctx}: message id {id} handed out twice");
                    }
                    pending.extend(r.take_deliveries());
                    if n % 3 == 2 {
                        receive(&mut r, &mut received);
                    }
                    // Deliver delays that "ended" (every fourth send moves time on).
                    if n % 4 == 3 {
                        for (_, ch, m) in pending.drain(..) {
                            r.k.deliver_delayed(ch, m);
                        }
                    }
                }
                for (_, ch, m) in pending.drain(..) {
                    r.k.deliver_delayed(ch, m);
                }
                let mut guard = 0;
                while receive(&mut r, &mut received) {
                    guard += 1;
                    assert!(guard < 10_000, "{ctx}: draining does not end");
                }
                let distinct: BTreeSet<MessageId> = received.iter().copied().collect();
                assert_eq!(distinct.len(), received.len(), "{ctx}: a message was received twice: {received:?}");
                assert!(distinct.is_subset(&accepted), "{ctx}: received a message that was never accepted");
                let s = r.k.stats;
                assert_eq!(s.messages_sent, accepted.len() as u64, "{ctx}");
                assert_eq!(s.messages_delivered, received.len() as u64, "{ctx}");
                assert_eq!(s.messages_delivered + s.messages_dropped, s.messages_sent, "{ctx}: messages were lost or created");
                assert!(r.queued(r.ch).is_empty(), "{ctx}");
            }
        }
    }
}


// ----- faults in virtual time (through the event loop) ----------------------------------------

fn parse(text: &str) -> model::Scenario {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str::<model::Scenario>(text)
        .expect("scenario parses")
}

const TIMED: &str = r#"(
    name: "timed-faults",
    limits: (sched_jitter_ns: 0),
    tasks: [(name: "a", behaviour: Idle)],
    steps: [
        (at_ns: 0, op: CreateChannel(task: "a", channel: "c")),
        (at_ns: 100, op: Send(task: "a", channel: "c", action: "first")),
        (at_ns: 200, op: Send(task: "a", channel: "c", action: "second")),
        (at_ns: 300, op: Send(task: "a", channel: "c", action: "third")),
        (at_ns: 400, op: Receive(task: "a", channel: "c")),
        (at_ns: 500, op: Receive(task: "a", channel: "c")),
        (at_ns: 600, op: Receive(task: "a", channel: "c")),
        (at_ns: 2000, op: Receive(task: "a", channel: "c")),
    ],
)"#;

#[test]
fn window_and_delay_follow_the_event_loops_clock() {
    use model::error::KernelErrorKind::Timeout;
    use model::fault::FaultPlan as Plan;
    let mut s = parse(TIMED);
    // [150, 300): only the send at 200 is dropped (the window is half-open).
    s.faults = Plan::new().with_message_fault(MessageFaultRule::new(MessageFault::Drop, FaultTrigger::Window { from_ns: 150, until_ns: 300 }));
    s.validate().unwrap();
    let report = model::run(&s, &model::RunConfig { record_events: true, ..model::RunConfig::default() });
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    assert_eq!(report.stats.messages_dropped, 1);
    assert_eq!(report.step_results[4..], [Some(Ok(())), Some(Ok(())), Some(Err(Timeout)), Some(Err(Timeout))]);
    let log = report.event_log.unwrap();
    let dropped_at: Vec<u64> = log.iter().filter(|e| e.effects.contains("MessageDropped")).map(|e| e.at).collect();
    assert_eq!(dropped_at, vec![200]);

    // The first send is delayed by 1 µs: it arrives at 1100, after the other two, exactly once.
    s.faults = Plan::new().with_message_fault(MessageFaultRule::new(MessageFault::Delay { nanos: 1_000 }, FaultTrigger::Next { count: 1 }));
    let report = model::run(&s, &model::RunConfig { record_events: true, ..model::RunConfig::default() });
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    assert_eq!(report.step_results[4..], [Some(Ok(())), Some(Ok(())), Some(Err(Timeout)), Some(Ok(()))]);
    assert_eq!((report.stats.messages_delayed, report.stats.messages_delivered, report.stats.messages_dropped), (1, 3, 0));
    let log = report.event_log.unwrap();
    let delivery: Vec<u64> = log.iter().filter(|e| e.what.starts_with("deliver delayed")).map(|e| e.at).collect();
    assert_eq!(delivery, vec![1_100]);
}

/// The seed's contract tests "MUST verify: envelope structure remains stable" (architecture
/// Phase 4: golden tests fail on envelope, version or action drift). The envelope's encoding is
/// also what trace digests hash, so any drift would silently change every trace: this golden
/// byte string makes it a visible test failure instead. Change it only together with the trace
/// format version.
#[test]
fn envelope_encoding_is_stable() {
    let version = SchemaVersion { major: 2, minor: 1 };
    let request = MessageEnvelope {
        id: MessageId(7),
        destination: ServiceId(model::names::Symbol(6)),
        source: Some(TaskId(3)),
        action: model::names::Symbol(7),
        schema_version: version,
        correlation_id: Some(MessageId(5)),
        payload: MessagePayload::Request { reply_to: ChannelId(9), seq: 4 },
    };
    let rejected = MessageEnvelope {
        payload: MessagePayload::Rejected {
            seq: 4,
            error: SchemaMismatchError::Unsupported {
                service: ServiceId(model::names::Symbol(6)),
                supported_range: (SchemaVersion { major: 1, minor: 0 }, version),
                received: SchemaVersion { major: 3, minor: 0 },
            },
        },
        ..request
    };
    let encode = |e: &MessageEnvelope| postcard::to_allocvec(e).expect("encodes");
    assert_eq!(encode(&request), GOLDEN_REQUEST, "the request envelope's encoding drifted");
    assert_eq!(encode(&rejected), GOLDEN_REJECTED, "the rejected envelope's encoding drifted");
}
/// id 7, service symbol 6, Some(task 3), action symbol 7, 2.1, Some(msg 5), Request { reply_to: 9, seq: 4 }.
const GOLDEN_REQUEST: &[u8] = &[7, 6, 1, 3, 7, 2, 1, 1, 5, 1, 9, 4];
/// The same envelope with `Rejected { seq: 4, Unsupported { service symbol 6, (1.0, 2.1), received 3.0 } }`.
const GOLDEN_REJECTED: &[u8] = &[7, 6, 1, 3, 7, 2, 1, 1, 5, 3, 4, 1, 6, 1, 0, 2, 1, 3, 0];

/// The reference: a version error MUST name the expected range, the received version and the
/// service, and SHOULD suggest remediation (upgrade the sender, downgrade it, or wait for the
/// service).
#[test]
fn version_errors_name_the_versions_and_suggest_remediation() {
    let policy = VersionPolicy::current(3, 0).with_min_major(2);
    let mut names = model::names::Names::new();
    let service = ServiceId(names.intern("store"));
    let message = |received: SchemaVersion| policy.mismatch(&service, received).map(|e| e.describe(&names));
    let too_new = message(SchemaVersion { major: 4, minor: 0 }).expect("4.0 is unsupported");
    assert!(too_new.contains("store") && too_new.contains("4.0") && too_new.contains("downgrade the sender"), "{too_new}");
    let too_old = message(SchemaVersion { major: 1, minor: 9 }).expect("1.9 is rejected");
    assert!(too_old.contains("1.9") && too_old.contains("upgrade the sender"), "{too_old}");
    assert_eq!(message(SchemaVersion { major: 2, minor: 5 }), None);
}
