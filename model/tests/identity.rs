//! Contract tests for the seed's "Execution Identity and Supervision" section (execution ids,
//! `IdentityMetadata`, exit notifications, trust domains) and "Service Lifecycle" (restart
//! policies, lifecycle states and their transitions).
//!
//! Choices of the model tested where the seed is silent: execution ids come from a counter
//! (`ids.rs`); a task spawned by another task has that task as creator and, through `KernelApi`,
//! as parent, and inherits its trust domain (`kernel/api.rs`); exit notifications go to the global
//! log and to the inbox of the parent task if it runs (`kernel/mod.rs`); terminating a task that
//! is not running fails; `Timeout` counts as a failure for restart policies, `Cancelled` does not
//! (`identity.rs`); exponential backoff doubles the base delay per restart, capped at 2^20 times
//! the base (`lifecycle.rs`); the transitions `Restarting→Starting`, `Starting→Failed` and
//! `Stopped→Restarting` are allowed in addition to the seed's five (`lifecycle.rs`).

use std::collections::BTreeSet;

use model::choices::Choices;
use model::error::KernelError;
use model::fault::FaultPlan;
use model::identity::{ExitNotification, ExitReason, IdentityKind, IdentityMetadata, TrustDomain};
use model::ids::{ExecutionId, TaskId};
use model::kernel::{KernelApi, SimulatedKernel, TaskContext, TaskDescriptor};
use model::lifecycle::{LifecycleState, RestartPolicy};
use model::time::Duration;

fn kernel() -> SimulatedKernel {
    SimulatedKernel::new(&FaultPlan::new(), &[], Choices::seeded(1))
}

fn spawn_root(k: &mut SimulatedKernel, name: &str, kind: IdentityKind, domain: TrustDomain) -> (TaskId, ExecutionId) {
    let (handle, exec) = k.spawn_task_with_identity(None, TaskDescriptor::new(name.to_string()), kind, domain, None).unwrap();
    (handle.task_id, exec)
}

fn spawn_child(k: &mut SimulatedKernel, parent: TaskId, name: &str) -> (TaskId, ExecutionId) {
    let task = TaskContext::new(k, parent).spawn_task(TaskDescriptor::new(name.to_string())).unwrap().task_id;
    (task, k.get_task_identity(task).unwrap())
}

fn all_reasons() -> Vec<ExitReason> {
    vec![
        ExitReason::Normal,
        ExitReason::Failure { error: "boom".into() },
        ExitReason::Cancelled { reason: "operator".into() },
        ExitReason::Timeout,
    ]
}

// ----- execution ids --------------------------------------------------------------------------

#[test]
fn execution_ids_are_never_reused() {
    let mut k = kernel();
    let (sup, sup_exec) = spawn_root(&mut k, "sup", IdentityKind::System, TrustDomain::core());
    let mut seen = vec![sup_exec];
    for round in 0..4 {
        let mut round_tasks = Vec::new();
        for i in 0..5 {
            let (t, e) = spawn_child(&mut k, sup, &format!("w{round}-{i}"));
            seen.push(e);
            round_tasks.push(t);
        }
        for (i, t) in round_tasks.into_iter().enumerate() {
            k.terminate_task_with_reason(t, all_reasons()[i % 4].clone()).unwrap();
        }
        // A restart under the same name gets a fresh identity too.
        let (_, e) = spawn_root(&mut k, "w-restarted", IdentityKind::Service, TrustDomain::user());
        seen.push(e);
    }
    let distinct: BTreeSet<ExecutionId> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), seen.len(), "an execution id was handed out twice: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "execution ids are not handed out in increasing order: {seen:?}");
    // The identity of a terminated task is still known and still its own.
    for e in &seen {
        let meta = k.get_identity(*e).unwrap_or_else(|| panic!("{e} forgotten"));
        assert_eq!(meta.execution_id, *e);
        assert_eq!(k.get_task_identity(meta.task_id.unwrap()), Some(*e));
    }
}

#[test]
fn identity_metadata_records_kind_domain_name_task_and_lineage() {
    let mut k = kernel();
    let (sup, sup_exec) = spawn_root(&mut k, "init", IdentityKind::System, TrustDomain::core());
    let root = k.get_identity(sup_exec).unwrap().clone();
    assert_eq!(root.execution_id, sup_exec);
    assert_eq!(root.kind, IdentityKind::System);
    assert_eq!(root.task_id, Some(sup));
    assert_eq!(root.parent_id, None);
    assert_eq!(root.creator_id, None);
    assert_eq!(root.created_at_nanos, k.now().nanos());
    assert_eq!(root.trust_domain, TrustDomain::core());
    assert_eq!(root.name, "init");

    // Through KernelApi: the caller is parent and creator; the child inherits the caller's domain.
    let (child, child_exec) = spawn_child(&mut k, sup, "worker");
    let meta = k.get_identity(child_exec).unwrap().clone();
    assert_eq!(meta.task_id, Some(child));
    assert_eq!(meta.parent_id, Some(sup_exec));
    assert_eq!(meta.creator_id, Some(sup_exec));
    assert_eq!(meta.kind, IdentityKind::Component);
    assert_eq!(meta.trust_domain, TrustDomain::core());
    assert_eq!(meta.name, "worker");
    assert_eq!(k.task(child).unwrap().identity, meta);

    // With full identity control: the parent is the one given, the creator is the spawning task.
    let (_, other_exec) = spawn_root(&mut k, "other", IdentityKind::Service, TrustDomain::user());
    let (handle, exec) = k
        .spawn_task_with_identity(Some(sup), TaskDescriptor::new("stage".into()), IdentityKind::PipelineStage, TrustDomain::sandbox(), Some(other_exec))
        .unwrap();
    let meta = k.get_identity(exec).unwrap();
    assert_eq!(meta.task_id, Some(handle.task_id));
    assert_eq!(meta.parent_id, Some(other_exec));
    assert_eq!(meta.creator_id, Some(sup_exec));
    assert_eq!(meta.kind, IdentityKind::PipelineStage);
    assert_eq!(meta.trust_domain, TrustDomain::sandbox());

    // Metadata does not change when the task terminates.
    let before = k.get_identity(child_exec).unwrap().clone();
    k.terminate_task_with_reason(child, ExitReason::Normal).unwrap();
    assert_eq!(k.get_identity(child_exec).unwrap(), &before);
    assert_eq!(k.get_identity(ExecutionId(10_000)), None);
    assert_eq!(k.get_task_identity(TaskId(10_000)), None);
}

#[test]
fn same_domain_and_is_child_of() {
    let mut k = kernel();
    let (sup, sup_exec) = spawn_root(&mut k, "sup", IdentityKind::System, TrustDomain::core());
    let (_, c1) = spawn_child(&mut k, sup, "c1");
    let (c2_task, c2) = spawn_child(&mut k, sup, "c2");
    let (_, grandchild) = spawn_child(&mut k, c2_task, "g");
    let (_, user_exec) = spawn_root(&mut k, "u", IdentityKind::Service, TrustDomain::user());
    let (_, custom_core) = spawn_root(&mut k, "cc", IdentityKind::Service, TrustDomain::new("core"));
    let id = |e: ExecutionId| k.get_identity(e).unwrap().clone();

    assert!(id(c1).same_domain(&id(sup_exec)));
    assert!(id(c1).same_domain(&id(c2)));
    assert!(id(custom_core).same_domain(&id(sup_exec)), "domains are compared by tag");
    assert!(!id(user_exec).same_domain(&id(sup_exec)));
    assert!(!id(sup_exec).same_domain(&id(user_exec)));

    assert!(id(c1).is_child_of(sup_exec));
    assert!(id(c2).is_child_of(sup_exec));
    assert!(id(grandchild).is_child_of(c2));
    assert!(!id(grandchild).is_child_of(sup_exec), "is_child_of is about the direct parent only");
    assert!(!id(sup_exec).is_child_of(c1));
    assert!(!id(sup_exec).is_child_of(sup_exec));
    assert!(!id(user_exec).is_child_of(sup_exec));

    // The predicates are plain functions of the metadata.
    let meta = IdentityMetadata {
        execution_id: ExecutionId(5),
        kind: IdentityKind::Service,
        task_id: None,
        parent_id: Some(ExecutionId(2)),
        creator_id: Some(ExecutionId(3)),
        created_at_nanos: 7,
        trust_domain: TrustDomain::sandbox(),
        name: "m".into(),
    };
    assert!(meta.is_child_of(ExecutionId(2)));
    assert!(!meta.is_child_of(ExecutionId(3)), "the creator is not the parent");
    assert!(meta.same_domain(&IdentityMetadata { name: "n".into(), ..meta.clone() }));
    assert!(!meta.same_domain(&IdentityMetadata { trust_domain: TrustDomain::user(), ..meta.clone() }));
}

#[test]
fn trust_domain_constructors_are_the_seed_tags() {
    assert_eq!(TrustDomain::core().0, "core");
    assert_eq!(TrustDomain::user().0, "user");
    assert_eq!(TrustDomain::sandbox().0, "sandbox");
    assert_eq!(TrustDomain::new("lab"), TrustDomain("lab".to_string()));
    assert_eq!(TrustDomain::new("core"), TrustDomain::core());
}

// ----- exit notifications ---------------------------------------------------------------------

#[test]
fn every_termination_yields_exactly_one_exit_notification() {
    let mut k = kernel();
    let (sup, _) = spawn_root(&mut k, "sup", IdentityKind::System, TrustDomain::core());
    let mut expected = Vec::new();
    for (i, reason) in all_reasons().into_iter().enumerate() {
        let (t, e) = spawn_child(&mut k, sup, &format!("c{i}"));
        k.terminate_task_with_reason(t, reason.clone()).unwrap();
        expected.push(ExitNotification { execution_id: e, task_id: Some(t), reason, terminated_at_nanos: k.now().nanos() });
    }
    // A root task (no parent) gets its notification into the global log as well.
    let (lone, lone_exec) = spawn_root(&mut k, "lone", IdentityKind::Service, TrustDomain::user());
    k.terminate_task_with_reason(lone, ExitReason::Normal).unwrap();
    expected.push(ExitNotification { execution_id: lone_exec, task_id: Some(lone), reason: ExitReason::Normal, terminated_at_nanos: 0 });

    assert_eq!(k.get_exit_notifications(), expected.as_slice());
    assert_eq!(k.stats.task_exits, 5);
    assert_eq!(k.task(lone).unwrap().exit, Some(ExitReason::Normal));
    assert!(!k.is_alive(lone));
}

#[test]
fn the_parent_receives_its_childrens_notifications_in_its_inbox() {
    let mut k = kernel();
    let (sup, _) = spawn_root(&mut k, "sup", IdentityKind::System, TrustDomain::core());
    let (other_sup, _) = spawn_root(&mut k, "other", IdentityKind::System, TrustDomain::core());
    let (c1, c1_exec) = spawn_child(&mut k, sup, "c1");
    let (c2, c2_exec) = spawn_child(&mut k, sup, "c2");
    let (g, g_exec) = spawn_child(&mut k, c2, "g");

    k.terminate_task_with_reason(g, ExitReason::Timeout).unwrap();
    k.terminate_task_with_reason(c1, ExitReason::Failure { error: "crash".into() }).unwrap();

    // The grandchild's exit goes to its own parent, not to the grandparent.
    let c2_inbox = k.take_exit_notifications(c2);
    assert_eq!(c2_inbox.len(), 1);
    assert_eq!((c2_inbox[0].execution_id, c2_inbox[0].task_id, &c2_inbox[0].reason), (g_exec, Some(g), &ExitReason::Timeout));

    let inbox = k.take_exit_notifications(sup);
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0].execution_id, c1_exec);
    assert_eq!(inbox[0].reason, ExitReason::Failure { error: "crash".into() });
    assert_eq!(inbox[0], k.get_exit_notifications()[1]);
    // Taking empties the inbox, but not the global log; unrelated tasks get nothing.
    assert!(k.take_exit_notifications(sup).is_empty());
    assert!(k.take_exit_notifications(other_sup).is_empty());
    assert_eq!(k.get_exit_notifications().len(), 2);

    // A child that outlives its parent: the notification goes to the global log only.
    k.terminate_task_with_reason(sup, ExitReason::Normal).unwrap();
    k.terminate_task_with_reason(c2, ExitReason::Cancelled { reason: "orphan".into() }).unwrap();
    assert!(k.task(sup).unwrap().inbox.is_empty());
    let last = k.get_exit_notifications().last().unwrap();
    assert_eq!((last.execution_id, &last.reason), (c2_exec, &ExitReason::Cancelled { reason: "orphan".into() }));
    assert_eq!(k.get_exit_notifications().len(), 4);
}

#[test]
fn terminating_twice_fails_and_notifies_once() {
    let mut k = kernel();
    let (sup, _) = spawn_root(&mut k, "sup", IdentityKind::System, TrustDomain::core());
    let (c, _) = spawn_child(&mut k, sup, "c");
    k.terminate_task_with_reason(c, ExitReason::Normal).unwrap();
    let again = k.terminate_task_with_reason(c, ExitReason::Failure { error: "again".into() });
    assert_eq!(again, Err(KernelError::InsufficientAuthority));
    assert_eq!(k.get_exit_notifications().len(), 1);
    assert_eq!(k.take_exit_notifications(sup).len(), 1);
    assert_eq!(k.task(c).unwrap().exit, Some(ExitReason::Normal), "the first exit reason was overwritten");
    assert_eq!(k.stats.task_exits, 1);
    assert!(k.terminate_task_with_reason(TaskId(999), ExitReason::Normal).is_err());
}

// ----- restart policies and lifecycle ---------------------------------------------------------

#[test]
fn should_restart_for_every_policy_and_reason() {
    use RestartPolicy::*;
    let backoff = ExponentialBackoff { max_attempts: 3 };
    // (policy, [Normal, Failure, Cancelled, Timeout]) with no restart so far.
    let table: [(RestartPolicy, [bool; 4]); 4] = [
        (Never, [false, false, false, false]),
        (Always, [true, true, true, true]),
        (OnFailure, [false, true, false, true]),
        (backoff, [false, true, false, true]),
    ];
    for (policy, expected) in table {
        for (reason, want) in all_reasons().into_iter().zip(expected) {
            assert_eq!(policy.should_restart(&reason, 0), want, "{policy:?} after {reason:?}");
            // Only the backoff policy is bounded by the number of restarts.
            let bounded = if matches!(policy, ExponentialBackoff { .. }) { false } else { want };
            assert_eq!(policy.should_restart(&reason, 3), bounded, "{policy:?} after {reason:?}, 3 restarts");
            assert_eq!(policy.should_restart(&reason, 1000), bounded, "{policy:?} after {reason:?}, 1000 restarts");
        }
    }
    let failure = ExitReason::Failure { error: "x".into() };
    assert!(backoff.should_restart(&failure, 2));
    assert!(!backoff.should_restart(&failure, 3));
    assert!(!ExponentialBackoff { max_attempts: 0 }.should_restart(&failure, 0));
    assert_eq!(RestartPolicy::default(), Never);
    assert!(failure.is_failure() && ExitReason::Timeout.is_failure());
    assert!(!ExitReason::Normal.is_failure() && !ExitReason::Cancelled { reason: "c".into() }.is_failure());
}

#[test]
fn exponential_backoff_doubles_the_delay() {
    let base = Duration(100_000);
    let backoff = RestartPolicy::ExponentialBackoff { max_attempts: 30 };
    for n in 0..=20u32 {
        assert_eq!(backoff.restart_delay(base, n), Duration(100_000 << n), "restart {n}");
    }
    for n in [21, 25, 64, u32::MAX] {
        assert_eq!(backoff.restart_delay(base, n), Duration(100_000 << 20), "the doubling is capped (restart {n})");
    }
    assert_eq!(backoff.restart_delay(Duration(u64::MAX / 2), 5), Duration(u64::MAX), "saturates instead of overflowing");
    for policy in [RestartPolicy::Never, RestartPolicy::Always, RestartPolicy::OnFailure] {
        for n in [0, 1, 7] {
            assert_eq!(policy.restart_delay(base, n), base, "{policy:?} uses the base delay");
        }
    }
}

#[test]
fn lifecycle_transitions() {
    use LifecycleState::*;
    let all = [Starting, Running, Stopping, Stopped, Failed, Restarting];
    // The seed's five transitions and the harness's three additions.
    let allowed: BTreeSet<(LifecycleState, LifecycleState)> = [
        (Starting, Running),
        (Running, Stopping),
        (Stopping, Stopped),
        (Running, Failed),
        (Failed, Restarting),
        (Restarting, Starting),
        (Starting, Failed),
        (Stopped, Restarting),
    ]
    .into_iter()
    .collect();
    for from in all {
        for to in all {
            assert_eq!(from.can_become(to), allowed.contains(&(from, to)), "{from:?} -> {to:?}");
        }
    }
    // A few forbidden ones, spelt out.
    for (from, to) in [(Stopped, Running), (Failed, Running), (Running, Running), (Running, Starting), (Stopping, Running), (Restarting, Running)] {
        assert!(!from.can_become(to), "{from:?} -> {to:?} must be forbidden");
    }
}

// ----- termination in virtual time (through the event loop) -----------------------------------

#[test]
fn termination_happens_at_the_virtual_time_of_its_event() {
    let text = r#"(
        name: "exit-time",
        limits: (sched_jitter_ns: 0),
        tasks: [(name: "a", behaviour: Idle, caps: [(label: "k", kind: "file_read")]), (name: "b", behaviour: Idle)],
        steps: [
            (at_ns: 5000, op: Terminate(task: "a", reason: Failure(error: "boom"))),
            (at_ns: 6000, op: Terminate(task: "a")),
        ],
    )"#;
    let s: model::Scenario =
        ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME).from_str(text).unwrap();
    s.validate().unwrap();
    let report = model::run(&s, &model::RunConfig { record_events: true, ..model::RunConfig::default() });
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
    assert_eq!(report.step_results, vec![Some(Ok(())), Some(Err(model::error::KernelErrorKind::InsufficientAuthority))]);
    assert_eq!(report.stats.task_exits, 1);
    let log = report.event_log.unwrap();
    let exits: Vec<u64> = log.iter().filter(|e| e.effects.contains("TaskExited")).map(|e| e.at).collect();
    let notes: Vec<u64> = log.iter().flat_map(|e| std::iter::repeat_n(e.at, e.effects.matches("ExitNotified").count())).collect();
    assert_eq!(exits, vec![5000]);
    assert_eq!(notes, vec![5000], "exactly one exit notification, at the termination's time");
    // The capability invalidated by the termination is audited at that time too.
    let invalidated: Vec<_> = report.audit.records().iter().filter(|r| matches!(r.event, model::capability::CapabilityEvent::Invalidated { .. })).map(|r| r.at).collect();
    assert_eq!(invalidated, vec![model::time::Instant(5000)]);
}

/// The seed's `create_identity`: an identity no task runs under yet, with its own never-reused
/// id, its kind, domain, name and parent, and no task.
#[test]
fn create_identity_mints_a_detached_identity_from_the_same_counter() {
    let mut k = kernel();
    let (_, root) = spawn_root(&mut k, "root", IdentityKind::System, TrustDomain::core());
    let detached = k.create_identity(IdentityKind::Service, TrustDomain::new("sandbox"), "planned", Some(root));
    let (_, next) = spawn_root(&mut k, "later", IdentityKind::Component, TrustDomain::user());
    assert!(root < detached && detached < next, "one counter for every identity: {root:?} {detached:?} {next:?}");
    let meta = k.get_identity(detached).expect("known identity").clone();
    assert_eq!((meta.kind, meta.trust_domain, meta.name.as_str()), (IdentityKind::Service, TrustDomain::new("sandbox"), "planned"));
    assert_eq!((meta.task_id, meta.parent_id), (None, Some(root)));
}

/// The seed's `clear_exit_notifications`: the global log empties; a parent's unread inbox keeps
/// its notification, and later exits are logged again.
#[test]
fn clear_exit_notifications_empties_the_log_but_not_inboxes() {
    let mut k = kernel();
    let (parent, _) = spawn_root(&mut k, "parent", IdentityKind::Service, TrustDomain::core());
    let (first, _) = spawn_child(&mut k, parent, "first");
    let (second, _) = spawn_child(&mut k, parent, "second");
    k.terminate_task_with_reason(first, ExitReason::Normal).unwrap();
    assert_eq!(k.get_exit_notifications().len(), 1);
    k.clear_exit_notifications();
    assert!(k.get_exit_notifications().is_empty());
    assert_eq!(k.take_exit_notifications(parent).len(), 1, "the parent's inbox is not the log");
    k.terminate_task_with_reason(second, ExitReason::Normal).unwrap();
    assert_eq!(k.get_exit_notifications().len(), 1);
}

/// Architecture Phase 7, "identity retirement on termination": once its task ends, the identity
/// is retired — its metadata stays readable (the audit trail), its capabilities are invalid, and
/// a restart runs under a new identity; a detached identity is not retired.
#[test]
fn termination_retires_the_identity() {
    let mut k = kernel();
    let (parent, _) = spawn_root(&mut k, "parent", IdentityKind::Service, TrustDomain::core());
    let (child, exec) = spawn_child(&mut k, parent, "child");
    let cap = k.grant_new_capability(child, "storage", false).unwrap();
    assert!(!k.is_retired(exec));
    k.terminate_task_with_reason(child, ExitReason::Failure { error: "boom".into() }).unwrap();
    assert!(k.is_retired(exec));
    assert_eq!(k.get_identity(exec).map(|m| m.name.as_str()), Some("child"), "metadata outlives the task");
    assert!(!k.is_capability_valid(cap, child), "nothing acts under a retired identity");
    let (_, successor) = spawn_child(&mut k, parent, "child");
    assert!(successor != exec && !k.is_retired(successor));
    let detached = k.create_identity(IdentityKind::Component, TrustDomain::user(), "planned", None);
    assert!(!k.is_retired(detached));
}

/// "Identity does NOT grant authority": neither a System identity in the core domain nor being
/// the parent lets a task use a capability it does not own.
#[test]
fn identity_grants_no_authority() {
    let mut k = kernel();
    let (system, _) = spawn_root(&mut k, "init", IdentityKind::System, TrustDomain::core());
    let (parent, _) = spawn_root(&mut k, "parent", IdentityKind::Service, TrustDomain::user());
    let (child, _) = spawn_child(&mut k, parent, "child");
    let cap = k.grant_new_capability(child, "storage", false).unwrap();
    for intruder in [system, parent] {
        assert!(!k.is_capability_valid(cap, intruder));
        assert!(k.use_capability(cap, intruder).is_err(), "{intruder:?} used a capability it does not own");
    }
    assert!(k.use_capability(cap, child).is_ok());
}

/// "Identity metadata is immutable after creation": whatever happens to the task and its
/// relatives afterwards (capabilities granted and moved, children spawned, termination, a
/// successor under the same name), the metadata read back is the metadata created.
#[test]
fn identity_metadata_never_changes_after_creation() {
    let mut k = kernel();
    let (parent, parent_exec) = spawn_root(&mut k, "parent", IdentityKind::Service, TrustDomain::core());
    let (child, child_exec) = spawn_child(&mut k, parent, "child");
    let before = [k.get_identity(parent_exec).cloned(), k.get_identity(child_exec).cloned()];
    let cap = k.grant_new_capability(child, "storage", true).unwrap();
    k.delegate_capability(cap, child, parent).unwrap();
    spawn_child(&mut k, child, "grandchild");
    k.terminate_task_with_reason(child, ExitReason::Failure { error: "boom".into() }).unwrap();
    spawn_child(&mut k, parent, "child");
    k.terminate_task_with_reason(parent, ExitReason::Normal).unwrap();
    assert_eq!([k.get_identity(parent_exec).cloned(), k.get_identity(child_exec).cloned()], before);
}
