//! Contract tests for the seed's "Kernel API" section (interface reference `002_*`: "Task
//! Spawning", "Channel Creation", "Message Passing" baseline semantics, "Capability Management",
//! "Service Discovery", "Correlation IDs", "Kernel Errors" and the `test_service_communication`
//! example), run against a bare `SimulatedKernel` through `TaskContext` (the `KernelApi` impl).
//!
//! Where the seed is silent, the choices documented in `model/src/kernel/mod.rs` and
//! `kernel/api.rs` are tested: operations by a task that is not running fail with `SendFailed`,
//! `ReceiveFailed`, `ChannelError`, `InsufficientAuthority` or `SpawnFailed`; receive is a poll
//! (`Err(Timeout)` on an empty queue); `create_channel` grants a `"channel"` capability that
//! `register_service` requires; a task's services are deregistered when it terminates; message
//! ids are stamped by the kernel at send time.

use std::collections::BTreeSet;

use model::capability::{CapStatus, CapabilityEvent, InvalidUseReason};
use model::choices::Choices;
use model::error::KernelError;
use model::fault::FaultPlan;
use model::identity::{ExitReason, IdentityKind, TrustDomain};
use model::ids::{CapId, ChannelId, MessageId, TaskId};
use model::kernel::{KernelApi, SimulatedKernel, TaskContext, TaskDescriptor};
use model::message::{MessageEnvelope, MessagePayload, SchemaVersion, ServiceId};
use model::time::{Duration, Instant};

/// Service names the tests use, interned in this order by [`kernel`], so [`svc`] can name them
/// without the kernel at hand.
const SERVICES: [&str; 12] = ["a", "b", "c", "client", "echo", "live-svc", "nobody", "one", "svc", "test-service", "two", "x"];

fn kernel() -> SimulatedKernel {
    let mut k = SimulatedKernel::new(&FaultPlan::new(), &[], Choices::seeded(1));
    for name in SERVICES {
        k.service_id(name);
    }
    k
}

/// A task spawned by the kernel itself (no spawner, no parent).
fn root(k: &mut SimulatedKernel, name: &str) -> TaskId {
    k.spawn_task_with_identity(None, TaskDescriptor::new(name.to_string()), IdentityKind::Service, TrustDomain::user(), None)
        .expect("kernel spawn of a root task")
        .0
        .task_id
}

fn svc(name: &str) -> ServiceId {
    let i = SERVICES.iter().position(|s| *s == name).expect("a service name of SERVICES");
    ServiceId(model::names::Symbol((model::names::well_known::ALL.len() + i) as u32))
}

fn data(dest: &str, n: u64) -> MessageEnvelope {
    MessageEnvelope::new(svc(dest), model::names::well_known::DATA, SchemaVersion::new(1, 0), MessagePayload::Data(n))
}

fn channel_cap(k: &SimulatedKernel, ch: ChannelId) -> CapId {
    k.channel(ch).expect("channel exists").cap
}

fn terminate(k: &mut SimulatedKernel, t: TaskId) {
    k.terminate_task_with_reason(t, ExitReason::Normal).expect("task was running");
}

// ----- task spawning ------------------------------------------------------------------------

#[test]
fn spawn_returns_unique_task_ids() {
    let mut k = kernel();
    let parent = root(&mut k, "parent");
    let mut ids = BTreeSet::from([parent]);
    for i in 0..20 {
        let handle = TaskContext::new(&mut k, parent).spawn_task(TaskDescriptor::new(format!("child{i}"))).expect("spawn");
        assert!(ids.insert(handle.task_id), "task id {} handed out twice", handle.task_id);
        assert!(k.is_alive(handle.task_id));
        assert_eq!(k.task(handle.task_id).unwrap().name, format!("child{i}"));
    }
    // Terminated tasks' ids are not handed out again.
    for t in ids.clone().into_iter().filter(|t| *t != parent) {
        terminate(&mut k, t);
    }
    for i in 0..5 {
        let handle = TaskContext::new(&mut k, parent).spawn_task(TaskDescriptor::new(format!("late{i}"))).expect("spawn");
        assert!(ids.insert(handle.task_id), "task id {} reused after termination", handle.task_id);
    }
    assert_eq!(ids.len(), 26);
    assert_eq!(k.stats.tasks_spawned, 26);
}

#[test]
fn spawned_task_has_no_ambient_authority() {
    let mut k = kernel();
    let parent = root(&mut k, "parent");
    let a = k.grant_new_capability(parent, "file_read", false).unwrap();
    let b = k.grant_new_capability(parent, "net", true).unwrap();
    let child = TaskContext::new(&mut k, parent).spawn_task(TaskDescriptor::new("child".into())).unwrap().task_id;
    assert!(k.capabilities_of(child).is_empty(), "a child spawned without capabilities holds {:?}", k.capabilities_of(child));
    assert!(!k.is_capability_valid(a, child));
    assert!(!k.is_capability_valid(b, child));
    // The parent keeps what it had: nothing was copied or moved implicitly.
    assert_eq!(k.capabilities_of(parent), vec![a, b]);
    assert_eq!(k.audit_log().count_events(|e| matches!(e, CapabilityEvent::Delegated { .. } | CapabilityEvent::Cloned { .. })), 0);
}

#[test]
fn descriptor_capabilities_move_from_the_spawner() {
    let mut k = kernel();
    let parent = root(&mut k, "parent");
    let a = k.grant_new_capability(parent, "file_read", false).unwrap();
    let b = k.grant_new_capability(parent, "file_write", false).unwrap();
    let c = k.grant_new_capability(parent, "net", false).unwrap();
    let child = TaskContext::new(&mut k, parent)
        .spawn_task(TaskDescriptor::new("child".into()).with_capability(a).with_capability(c))
        .unwrap()
        .task_id;
    assert_eq!(k.capabilities_of(child), vec![a, c]);
    assert_eq!(k.capabilities_of(parent), vec![b]);
    assert!(!k.is_capability_valid(a, parent), "the spawner still holds a capability it gave away");
    assert!(!k.is_capability_valid(c, parent));
    assert_eq!(k.authority().entry(a).unwrap().owner, child);
    for cap in [a, c] {
        assert!(k.audit_log().has_event(|e| *e == CapabilityEvent::Delegated { cap, from_task: parent, to_task: child }));
    }
}

#[test]
fn spawning_with_a_capability_the_spawner_does_not_hold_fails() {
    let mut k = kernel();
    let parent = root(&mut k, "parent");
    let other = root(&mut k, "other");
    let foreign = k.grant_new_capability(other, "file_read", false).unwrap();
    let mine = k.grant_new_capability(parent, "net", false).unwrap();
    let dropped = k.grant_new_capability(parent, "net", false).unwrap();
    k.drop_capability(dropped, parent).unwrap();
    let tasks_before = k.tasks().len();

    for cap in [foreign, dropped, CapId(9_999)] {
        let r = TaskContext::new(&mut k, parent).spawn_task(TaskDescriptor::new("child".into()).with_capability(mine).with_capability(cap));
        assert!(matches!(r, Err(KernelError::SpawnFailed(_))), "spawn with {cap} gave {r:?}");
    }
    // Nothing happened: no task, no partial move of the capability the spawner did hold.
    assert_eq!(k.tasks().len(), tasks_before);
    assert_eq!(k.stats.tasks_spawned, 2);
    assert_eq!(k.authority().entry(foreign).unwrap().owner, other);
    assert!(k.is_capability_valid(foreign, other));
    assert!(k.is_capability_valid(mine, parent));
    assert_eq!(k.audit_log().count_events(|e| matches!(e, CapabilityEvent::Delegated { .. })), 0);
}

#[test]
fn spawning_with_the_same_capability_twice_moves_it_at_most_once() {
    // The descriptor lists one capability twice. The spawn may be refused; if it succeeds, the
    // capability must be moved once: the audit log must not record a second delegation by the
    // spawner, which no longer owns the capability at that point ("Delegate/Transfer: validates
    // that source task owns the capability"; every audit record is a table change).
    let mut k = kernel();
    let parent = root(&mut k, "parent");
    let cap = k.grant_new_capability(parent, "file_read", false).unwrap();
    let r = TaskContext::new(&mut k, parent).spawn_task(TaskDescriptor::new("child".into()).with_capability(cap).with_capability(cap));
    match r {
        Err(e) => {
            assert!(matches!(e, KernelError::SpawnFailed(_)), "{e:?}");
            assert!(k.is_capability_valid(cap, parent));
        }
        Ok(handle) => {
            assert!(k.is_capability_valid(cap, handle.task_id));
            let delegations = k.audit_log().count_events(|e| matches!(e, CapabilityEvent::Delegated { cap: c, .. } if *c == cap));
            assert_eq!(delegations, 1, "one move of {cap} was audited as {delegations} delegations by the spawner");
        }
    }
}

#[test]
fn spawning_by_a_terminated_task_fails() {
    let mut k = kernel();
    let parent = root(&mut k, "parent");
    terminate(&mut k, parent);
    let r = TaskContext::new(&mut k, parent).spawn_task(TaskDescriptor::new("child".into()));
    assert!(matches!(r, Err(KernelError::SpawnFailed(_))), "{r:?}");
    assert_eq!(k.tasks().len(), 1);
}

// ----- channels and messages ----------------------------------------------------------------

#[test]
fn create_channel_returns_unique_ids_and_a_channel_capability() {
    let mut k = kernel();
    let a = root(&mut k, "a");
    let b = root(&mut k, "b");
    let mut ids = BTreeSet::new();
    let mut caps = BTreeSet::new();
    for i in 0..10 {
        let by = if i % 2 == 0 { a } else { b };
        let ch = TaskContext::new(&mut k, by).create_channel().unwrap();
        assert!(ids.insert(ch), "channel id {ch} handed out twice");
        let cap = channel_cap(&k, ch);
        assert!(caps.insert(cap), "two channels share {cap}");
        let entry = k.authority().entry(cap).unwrap();
        assert_eq!(k.names().resolve(entry.kind), "channel");
        assert_eq!(entry.owner, by);
        assert!(!entry.durable);
        assert!(k.is_capability_valid(cap, by));
        assert!(k.audit_log().has_event(|e| matches!(e, CapabilityEvent::Granted { cap: c, to_task, .. } if *c == cap && *to_task == by)));
    }
    assert_eq!(k.channel_count(), 10);
}

#[test]
fn messages_are_received_in_send_order_per_channel() {
    let mut k = kernel();
    let sender = root(&mut k, "sender");
    let receiver = root(&mut k, "receiver");
    let ch1 = TaskContext::new(&mut k, receiver).create_channel().unwrap();
    let ch2 = TaskContext::new(&mut k, receiver).create_channel().unwrap();
    for n in 0..10u64 {
        let ch = if n % 3 == 0 { ch2 } else { ch1 };
        TaskContext::new(&mut k, sender).send_message(ch, data("svc", n)).unwrap();
    }
    let mut got = |ch| {
        let mut out = Vec::new();
        loop {
            match TaskContext::new(&mut k, receiver).receive_message(ch, None) {
                Ok(m) => out.push(m),
                Err(KernelError::Timeout) => break out,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
    };
    let on1 = got(ch1);
    let on2 = got(ch2);
    let payloads = |v: &[MessageEnvelope]| v.iter().map(|m| m.payload).collect::<Vec<_>>();
    assert_eq!(payloads(&on1), [1, 2, 4, 5, 7, 8].map(MessagePayload::Data).to_vec());
    assert_eq!(payloads(&on2), [0, 3, 6, 9].map(MessagePayload::Data).to_vec());
    // The kernel stamps ids (in send order) and the source.
    for v in [&on1, &on2] {
        assert!(v.windows(2).all(|w| w[0].id < w[1].id), "ids not increasing: {:?}", v.iter().map(|m| m.id).collect::<Vec<_>>());
        assert!(v.iter().all(|m| m.source == Some(sender)));
    }
    let all: BTreeSet<MessageId> = on1.iter().chain(&on2).map(|m| m.id).collect();
    assert_eq!(all, (0..10).map(MessageId).collect());
    assert_eq!(k.stats.messages_sent, 10);
    assert_eq!(k.stats.messages_delivered, 10);
}

#[test]
fn receive_on_an_empty_channel_times_out() {
    let mut k = kernel();
    let t = root(&mut k, "t");
    let ch = TaskContext::new(&mut k, t).create_channel().unwrap();
    assert_eq!(TaskContext::new(&mut k, t).receive_message(ch, Some(Duration::from_millis(5))), Err(KernelError::Timeout));
    TaskContext::new(&mut k, t).send_message(ch, data("svc", 1)).unwrap();
    assert!(TaskContext::new(&mut k, t).receive_message(ch, None).is_ok());
    assert_eq!(TaskContext::new(&mut k, t).receive_message(ch, None), Err(KernelError::Timeout));
    assert_eq!(k.stats.messages_delivered, 1);
}

#[test]
fn operations_on_a_missing_channel_fail_with_channel_error() {
    let mut k = kernel();
    let t = root(&mut k, "t");
    let existing = TaskContext::new(&mut k, t).create_channel().unwrap();
    let missing = ChannelId(existing.0 + 7);
    let mut ctx = TaskContext::new(&mut k, t);
    assert!(matches!(ctx.send_message(missing, data("svc", 1)), Err(KernelError::ChannelError(_))));
    assert!(matches!(ctx.receive_message(missing, None), Err(KernelError::ChannelError(_))));
    assert!(matches!(ctx.register_service(svc("svc"), missing), Err(KernelError::ChannelError(_))));
    assert_eq!(k.stats.messages_sent, 0);
    assert!(k.registration(&svc("svc")).is_none());
}

#[test]
fn operations_by_a_terminated_task_fail_with_the_documented_errors() {
    let mut k = kernel();
    let dead = root(&mut k, "dead");
    let live = root(&mut k, "live");
    let ch = TaskContext::new(&mut k, dead).create_channel().unwrap();
    let live_ch = TaskContext::new(&mut k, live).create_channel().unwrap();
    TaskContext::new(&mut k, live).send_message(ch, data("svc", 1)).unwrap();
    TaskContext::new(&mut k, live).register_service(svc("live-svc"), live_ch).unwrap();
    let cap = k.grant_new_capability(dead, "file_read", false).unwrap();
    let handle = TaskContext::new(&mut k, dead).capability(cap).expect("held while alive");
    terminate(&mut k, dead);

    let mut ctx = TaskContext::new(&mut k, dead);
    assert!(matches!(ctx.send_message(live_ch, data("svc", 2)), Err(KernelError::SendFailed(_))));
    assert!(matches!(ctx.receive_message(ch, None), Err(KernelError::ReceiveFailed(_))));
    assert!(matches!(ctx.create_channel(), Err(KernelError::ChannelError(_))));
    assert_eq!(ctx.register_service(svc("x"), ch), Err(KernelError::InsufficientAuthority));
    assert_eq!(ctx.lookup_service(svc("live-svc")), Err(KernelError::InsufficientAuthority));
    assert!(matches!(ctx.spawn_task(TaskDescriptor::new("c".into())), Err(KernelError::SpawnFailed(_))));
    assert_eq!(ctx.grant_capability(live, handle), Err(KernelError::InvalidCapability));
    assert!(ctx.capability(cap).is_none());
    assert_eq!(k.use_capability(cap, dead), Err(KernelError::InvalidCapability));
    assert_eq!(k.grant_new_capability(dead, "net", false), Err(KernelError::InvalidCapability));
    // Nothing changed: the queued message is still there for a live receiver.
    assert_eq!(k.channel(ch).unwrap().queue.len(), 1);
    assert_eq!(k.stats.messages_sent, 1);
    assert!(k.registration(&svc("x")).is_none());
}

#[test]
fn time_is_virtual_and_sleep_records_the_wake_time() {
    let mut k = kernel();
    let t = root(&mut k, "t");
    let mut ctx = TaskContext::new(&mut k, t);
    assert_eq!(ctx.now(), Instant(0));
    assert_eq!(ctx.wake_not_before, None);
    ctx.sleep(Duration::from_micros(3)).unwrap();
    assert_eq!(ctx.wake_not_before, Some(Instant(3_000)));
    // Sleeping does not move the clock by itself: only the event loop does.
    assert_eq!(ctx.now(), Instant(0));
}

// ----- service discovery --------------------------------------------------------------------

#[test]
fn register_then_lookup_returns_the_channel() {
    let mut k = kernel();
    let provider = root(&mut k, "provider");
    let client = root(&mut k, "client");
    let ch = TaskContext::new(&mut k, provider).create_channel().unwrap();
    TaskContext::new(&mut k, provider).register_service(svc("echo"), ch).unwrap();
    assert_eq!(TaskContext::new(&mut k, client).lookup_service(svc("echo")), Ok(ch));
    assert_eq!(TaskContext::new(&mut k, provider).lookup_service(svc("echo")), Ok(ch));
    let reg = k.registration(&svc("echo")).unwrap();
    assert_eq!((reg.channel, reg.task), (ch, provider));
    assert_eq!(k.channel(ch).unwrap().services, vec![svc("echo")]);
}

#[test]
fn registering_a_registered_service_fails() {
    let mut k = kernel();
    let p1 = root(&mut k, "p1");
    let p2 = root(&mut k, "p2");
    let ch1 = TaskContext::new(&mut k, p1).create_channel().unwrap();
    let ch2 = TaskContext::new(&mut k, p2).create_channel().unwrap();
    TaskContext::new(&mut k, p1).register_service(svc("echo"), ch1).unwrap();
    assert_eq!(TaskContext::new(&mut k, p2).register_service(svc("echo"), ch2), Err(KernelError::ServiceAlreadyRegistered("echo".into())));
    assert_eq!(TaskContext::new(&mut k, p1).register_service(svc("echo"), ch1), Err(KernelError::ServiceAlreadyRegistered("echo".into())));
    // The first registration stands.
    assert_eq!(TaskContext::new(&mut k, p2).lookup_service(svc("echo")), Ok(ch1));
    assert!(k.channel(ch2).unwrap().services.is_empty());
}

#[test]
fn looking_up_an_unknown_service_fails() {
    let mut k = kernel();
    let t = root(&mut k, "t");
    assert_eq!(TaskContext::new(&mut k, t).lookup_service(svc("nobody")), Err(KernelError::ServiceNotFound("nobody".into())));
}

#[test]
fn registration_requires_the_channel_capability() {
    let mut k = kernel();
    let creator = root(&mut k, "creator");
    let stranger = root(&mut k, "stranger");
    let ch = TaskContext::new(&mut k, creator).create_channel().unwrap();
    let cap = channel_cap(&k, ch);

    // A task without the channel's capability may not register it; the attempt is audited.
    assert_eq!(TaskContext::new(&mut k, stranger).register_service(svc("echo"), ch), Err(KernelError::InsufficientAuthority));
    assert!(k.audit_log().has_event(|e| *e == CapabilityEvent::InvalidUseAttempt { cap, task: stranger, reason: InvalidUseReason::NotOwner }));
    assert!(k.registration(&svc("echo")).is_none());

    // After delegating the channel capability away the creator has lost that authority ...
    let handle = TaskContext::new(&mut k, creator).capability(cap).unwrap();
    TaskContext::new(&mut k, creator).grant_capability(stranger, handle).unwrap();
    assert_eq!(TaskContext::new(&mut k, creator).register_service(svc("echo"), ch), Err(KernelError::InsufficientAuthority));
    // ... and the new holder has it.
    TaskContext::new(&mut k, stranger).register_service(svc("echo"), ch).unwrap();
    assert_eq!(k.registration(&svc("echo")).unwrap().task, stranger);
}

#[test]
fn registration_after_dropping_the_channel_capability_fails() {
    let mut k = kernel();
    let t = root(&mut k, "t");
    let ch = TaskContext::new(&mut k, t).create_channel().unwrap();
    let cap = channel_cap(&k, ch);
    k.drop_capability(cap, t).unwrap();
    assert_eq!(TaskContext::new(&mut k, t).register_service(svc("echo"), ch), Err(KernelError::InsufficientAuthority));
    assert!(k.audit_log().has_event(|e| *e == CapabilityEvent::InvalidUseAttempt { cap, task: t, reason: InvalidUseReason::NotValid }));
}

#[test]
fn services_are_deregistered_when_the_provider_terminates() {
    let mut k = kernel();
    let provider = root(&mut k, "provider");
    let client = root(&mut k, "client");
    let ch_a = TaskContext::new(&mut k, provider).create_channel().unwrap();
    let ch_b = TaskContext::new(&mut k, provider).create_channel().unwrap();
    TaskContext::new(&mut k, provider).register_service(svc("a"), ch_a).unwrap();
    TaskContext::new(&mut k, provider).register_service(svc("b"), ch_b).unwrap();
    let other = root(&mut k, "other");
    let ch_c = TaskContext::new(&mut k, other).create_channel().unwrap();
    TaskContext::new(&mut k, other).register_service(svc("c"), ch_c).unwrap();

    k.terminate_task_with_reason(provider, ExitReason::Failure { error: "boom".into() }).unwrap();
    for name in ["a", "b"] {
        assert_eq!(TaskContext::new(&mut k, client).lookup_service(svc(name)), Err(KernelError::ServiceNotFound(name.into())));
        assert!(k.registration(&svc(name)).is_none());
    }
    assert!(k.channel(ch_a).unwrap().services.is_empty());
    assert!(k.channel(ch_b).unwrap().services.is_empty());
    // The channel capabilities died with the provider.
    assert_eq!(k.authority().entry(channel_cap(&k, ch_a)).unwrap().status, CapStatus::Invalid);
    // Other providers are unaffected.
    assert_eq!(TaskContext::new(&mut k, client).lookup_service(svc("c")), Ok(ch_c));
    // The name is free again for a successor.
    let successor = root(&mut k, "provider");
    let ch_new = TaskContext::new(&mut k, successor).create_channel().unwrap();
    TaskContext::new(&mut k, successor).register_service(svc("a"), ch_new).unwrap();
    assert_eq!(TaskContext::new(&mut k, client).lookup_service(svc("a")), Ok(ch_new));
}

#[test]
fn a_channel_shared_by_two_services_stays_registered_for_the_survivor() {
    // The registry allows several services on one channel. When the provider of one of them
    // terminates, only its own registration goes: the channel is still the registered channel
    // of the other service, and the channel record must say so (`ChannelRecord::services` are "the
    // services currently registered on this channel"; fault scopes `Service(..)` rely on it).
    let mut k = kernel();
    let first = root(&mut k, "first");
    let second = root(&mut k, "second");
    let ch = TaskContext::new(&mut k, first).create_channel().unwrap();
    TaskContext::new(&mut k, first).register_service(svc("one"), ch).unwrap();
    let cap = channel_cap(&k, ch);
    let handle = TaskContext::new(&mut k, first).capability(cap).unwrap();
    TaskContext::new(&mut k, first).grant_capability(second, handle).unwrap();
    TaskContext::new(&mut k, second).register_service(svc("two"), ch).unwrap();
    assert_eq!(TaskContext::new(&mut k, second).lookup_service(svc("one")), Ok(ch));
    assert_eq!(TaskContext::new(&mut k, second).lookup_service(svc("two")), Ok(ch));

    terminate(&mut k, first);
    assert_eq!(TaskContext::new(&mut k, second).lookup_service(svc("one")), Err(KernelError::ServiceNotFound("one".into())));
    assert_eq!(TaskContext::new(&mut k, second).lookup_service(svc("two")), Ok(ch));
    assert_eq!(k.registration(&svc("two")).map(|r| (r.channel, r.task)), Some((ch, second)));
    assert_eq!(
        k.channel(ch).unwrap().services,
        vec![svc("two")],
        "the channel record forgot the service that is still registered on it"
    );
}

// ----- correlation ids and the seed's example -----------------------------------------------

#[test]
fn responses_carry_the_request_id_as_correlation_id() {
    let mut k = kernel();
    let server = root(&mut k, "server");
    let client = root(&mut k, "client");
    let service_ch = TaskContext::new(&mut k, server).create_channel().unwrap();
    TaskContext::new(&mut k, server).register_service(svc("echo"), service_ch).unwrap();
    let reply_ch = TaskContext::new(&mut k, client).create_channel().unwrap();

    let mut request_ids = Vec::new();
    for seq in 0..3 {
        let ch = TaskContext::new(&mut k, client).lookup_service(svc("echo")).unwrap();
        let request =
            MessageEnvelope::new(svc("echo"), model::names::well_known::REQUEST, SchemaVersion::new(1, 0), MessagePayload::Request { reply_to: reply_ch, seq });
        assert_eq!(request.correlation_id, None);
        request_ids.push(k.send_message(client, ch, request).unwrap());
    }
    for _ in 0..3 {
        let request = TaskContext::new(&mut k, server).receive_message(service_ch, None).unwrap();
        let MessagePayload::Request { reply_to, seq } = request.payload else { panic!("not a request: {request:?}") };
        let response = MessageEnvelope::new(svc("client"), model::names::well_known::REPLY, request.schema_version, MessagePayload::Response { seq })
            .with_correlation(request.id);
        TaskContext::new(&mut k, server).send_message(reply_to, response).unwrap();
    }
    for (seq, request_id) in request_ids.iter().enumerate() {
        let response = TaskContext::new(&mut k, client).receive_message(reply_ch, None).unwrap();
        assert_eq!(response.correlation_id, Some(*request_id));
        assert_eq!(response.payload, MessagePayload::Response { seq: seq as u32 });
        assert_eq!(response.source, Some(server));
        assert_ne!(response.id, *request_id);
    }
}

#[test]
fn with_correlation_sets_only_the_correlation_id() {
    let base = data("svc", 7);
    let response = base.with_correlation(MessageId(41));
    assert_eq!(response.correlation_id, Some(MessageId(41)));
    assert_eq!(MessageEnvelope { correlation_id: None, ..response }, base);
}

/// The seed's `test_service_communication`, adapted: the kernel stamps the message id at send
/// time, so the id to compare with is the one `send_message` returns.
#[test]
fn test_service_communication() {
    let mut kernel = kernel();
    let task = root(&mut kernel, "test");

    // Setup
    let channel = TaskContext::new(&mut kernel, task).create_channel().unwrap();
    let service_id = svc("test-service");
    TaskContext::new(&mut kernel, task).register_service(service_id, channel).unwrap();

    // Test
    let message = MessageEnvelope::new(service_id, model::names::well_known::REQUEST, SchemaVersion::new(1, 0), MessagePayload::Data(42));
    let sent_id = kernel.send_message(task, channel, message).unwrap();
    let received = TaskContext::new(&mut kernel, task).receive_message(channel, None).unwrap();

    // Assert
    assert_eq!(received.id, sent_id);
    assert_eq!(received.source, Some(task));
    assert_eq!(MessageEnvelope { id: message.id, source: None, ..received }, message);
}
