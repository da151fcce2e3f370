//! Contract tests for the seed's "Capability System" section (`Cap<T>`, "Capability Lifecycle":
//! grant / delegate / drop / invalidate, "Capability Semantics" move-only transfer, durable
//! capabilities, "Lifetime Rules" validation before use, "Audit Trail") and the trust-boundary
//! audit of "Execution Identity and Supervision" ("Trust Boundaries").
//!
//! Choices of `model/src/capability.rs` and `kernel/mod.rs` tested where the seed is silent:
//! failed operations return `InvalidCapability`; a failed validation is audited as
//! `InvalidUseAttempt` with a reason; a durable capability of a dead owner stays `Valid` but is
//! usable by nobody until `rebind_durable_capabilities` moves it to the owner's successor, which
//! is audited as a `Delegated` event from the dead task; every change of the authority table
//! appends one audit record, so `ReplayedTable::from_log` rebuilds the table.

use std::collections::BTreeSet;

use model::capability::{AuditKind, CapStatus, CapabilityEvent, InvalidUseReason, ReplayedRow, ReplayedTable};
use model::choices::Choices;
use model::error::KernelError;
use model::fault::FaultPlan;
use model::identity::{ExitReason, IdentityKind, TrustDomain};
use model::ids::{CapId, TaskId};
use model::kernel::{KernelApi, SimulatedKernel, TaskContext, TaskDescriptor};

fn kernel() -> SimulatedKernel {
    SimulatedKernel::new(&FaultPlan::new(), &[], Choices::seeded(1))
}

fn spawn_in(k: &mut SimulatedKernel, name: &str, domain: TrustDomain) -> TaskId {
    k.spawn_task_with_identity(None, TaskDescriptor::new(name.to_string()), IdentityKind::Service, domain, None).unwrap().0.task_id
}

fn spawn(k: &mut SimulatedKernel, name: &str) -> TaskId {
    spawn_in(k, name, TrustDomain::user())
}

fn events_for(k: &SimulatedKernel, cap: CapId) -> Vec<CapabilityEvent> {
    k.audit_log().get_events_for_cap(cap).cloned().collect()
}

fn invalid_use(k: &SimulatedKernel, cap: CapId, task: TaskId, reason: InvalidUseReason) -> bool {
    k.audit_log().has_event(|e| *e == CapabilityEvent::InvalidUseAttempt { cap, task, reason })
}

/// Rebuilds the table from the audit log and compares every row with the kernel's table.
fn assert_replay_matches(k: &SimulatedKernel) {
    let replayed = ReplayedTable::from_log(k.audit_log());
    assert_eq!(replayed.len() as u64, k.authority().minted(), "replay has a different number of capabilities");
    for id in 0..k.authority().minted() {
        let cap = CapId(id);
        let entry = k.authority().entry(cap).expect("minted");
        let row = replayed.row(cap).unwrap_or_else(|| panic!("{cap} missing from the replay"));
        assert_eq!(row, ReplayedRow { owner: entry.owner, status: entry.status, durable: entry.durable }, "row of {cap} differs");
    }
    let tasks: BTreeSet<TaskId> = k.tasks().iter().map(|t| t.id).collect();
    for t in tasks {
        let a: Vec<CapId> = replayed.owned_by(t).collect();
        let b: Vec<CapId> = k.authority().owned_by(t).collect();
        assert_eq!(a, b, "owned caps of {t} differ");
    }
}

// ----- grant and move semantics ---------------------------------------------------------------

#[test]
fn grant_creates_a_valid_entry_and_an_audit_record() {
    let mut k = kernel();
    let t = spawn(&mut k, "t");
    let cap = k.grant_new_capability(t, "file_read", false).unwrap();
    let entry = k.authority().entry(cap).unwrap().clone();
    assert_eq!((entry.id, k.names().resolve(entry.kind), entry.owner, entry.status, entry.durable), (cap, "file_read", t, CapStatus::Valid, false));
    assert_eq!(entry.also_held_by, None);
    assert!(k.is_capability_valid(cap, t));
    assert_eq!(events_for(&k, cap), vec![CapabilityEvent::Granted { cap, kind: k.names().get("file_read").unwrap(), to_task: t, durable: false }]);
    // Ids are minted by the kernel's counter: distinct and increasing.
    let next = k.grant_new_capability(t, "file_read", false).unwrap();
    assert!(next > cap);
    assert_eq!(k.authority().minted(), 2);
}

/// The seed's move-semantics example: grant to task1, delegate to task2.
#[test]
fn delegation_moves_the_capability() {
    let mut k = kernel();
    let task1 = spawn(&mut k, "task1");
    let task2 = spawn(&mut k, "task2");
    let cap_id = k.grant_new_capability(task1, "file_read", false).unwrap();
    assert!(k.is_capability_valid(cap_id, task1));
    assert!(!k.is_capability_valid(cap_id, task2));

    k.delegate_capability(cap_id, task1, task2).unwrap();

    assert!(!k.is_capability_valid(cap_id, task1), "task1 can still use the capability after delegating it");
    assert!(k.is_capability_valid(cap_id, task2));
    assert_eq!(k.authority().entry(cap_id).unwrap().owner, task2);
    assert_eq!(k.authority().entry(cap_id).unwrap().also_held_by, None);
    assert!(k.audit_log().has_event(|e| *e == CapabilityEvent::Delegated { cap: cap_id, from_task: task1, to_task: task2 }));
    // A use by the old owner is refused and audited.
    assert_eq!(k.use_capability(cap_id, task1), Err(KernelError::InvalidCapability));
    assert!(invalid_use(&k, cap_id, task1, InvalidUseReason::NotOwner));
    assert_eq!(k.use_capability(cap_id, task2), Ok(()));
}

#[test]
fn delegation_chain_leaves_only_the_last_holder() {
    let mut k = kernel();
    let a = spawn(&mut k, "a");
    let b = spawn(&mut k, "b");
    let c = spawn(&mut k, "c");
    let cap = k.grant_new_capability(a, "net", false).unwrap();
    k.delegate_capability(cap, a, b).unwrap();
    k.delegate_capability(cap, b, c).unwrap();
    assert!(!k.is_capability_valid(cap, a));
    assert!(!k.is_capability_valid(cap, b));
    assert!(k.is_capability_valid(cap, c));
    assert_eq!(
        events_for(&k, cap),
        vec![
            CapabilityEvent::Granted { cap, kind: k.names().get("net").unwrap(), to_task: a, durable: false },
            CapabilityEvent::Delegated { cap, from_task: a, to_task: b },
            CapabilityEvent::Delegated { cap, from_task: b, to_task: c },
        ]
    );
    // Earlier holders cannot delegate it any more.
    assert_eq!(k.delegate_capability(cap, a, b), Err(KernelError::InvalidCapability));
    assert_eq!(k.delegate_capability(cap, b, a), Err(KernelError::InvalidCapability));
    assert_eq!(k.authority().entry(cap).unwrap().owner, c);
    assert_replay_matches(&k);
}

#[test]
fn delegation_by_a_non_owner_fails_and_is_audited() {
    let mut k = kernel();
    let owner = spawn(&mut k, "owner");
    let thief = spawn(&mut k, "thief");
    let cap = k.grant_new_capability(owner, "file_write", false).unwrap();
    assert_eq!(k.delegate_capability(cap, thief, thief), Err(KernelError::InvalidCapability));
    assert_eq!(k.delegate_capability(cap, thief, owner), Err(KernelError::InvalidCapability));
    assert!(invalid_use(&k, cap, thief, InvalidUseReason::NotOwner));
    assert_eq!(k.audit_log().count_events(|e| matches!(e, CapabilityEvent::InvalidUseAttempt { .. })), 2);
    assert_eq!(k.audit_log().count_events(|e| matches!(e, CapabilityEvent::Delegated { .. })), 0);
    assert_eq!(k.authority().entry(cap).unwrap().owner, owner);
    assert!(k.is_capability_valid(cap, owner));
    // An id the kernel never minted is refused as unknown.
    let forged = CapId(1_000);
    assert_eq!(k.delegate_capability(forged, owner, thief), Err(KernelError::InvalidCapability));
    assert!(invalid_use(&k, forged, owner, InvalidUseReason::Unknown));
    assert!(k.authority().entry(forged).is_none());
}

#[test]
fn delegation_to_a_dead_task_fails() {
    let mut k = kernel();
    let owner = spawn(&mut k, "owner");
    let dead = spawn(&mut k, "dead");
    k.terminate_task_with_reason(dead, ExitReason::Normal).unwrap();
    let cap = k.grant_new_capability(owner, "net", false).unwrap();
    assert_eq!(k.delegate_capability(cap, owner, dead), Err(KernelError::InvalidCapability));
    assert_eq!(k.delegate_capability(cap, owner, TaskId(99)), Err(KernelError::InvalidCapability));
    assert_eq!(k.authority().entry(cap).unwrap().owner, owner);
    assert!(k.is_capability_valid(cap, owner));
    assert!(!k.audit_log().has_event(|e| matches!(e, CapabilityEvent::Delegated { .. })));
}

#[test]
fn kernel_api_grant_requires_the_caller_to_hold_the_capability() {
    let mut k = kernel();
    let a = spawn(&mut k, "a");
    let b = spawn(&mut k, "b");
    let c = spawn(&mut k, "c");
    let cap = k.grant_new_capability(a, "file_read", false).unwrap();
    assert!(TaskContext::new(&mut k, b).capability(cap).is_none(), "a non-holder obtained a handle");
    let handle = TaskContext::new(&mut k, a).capability(cap).expect("holder gets a handle");
    let stale = TaskContext::new(&mut k, a).capability(cap).unwrap();
    assert_eq!(handle.id(), cap);
    TaskContext::new(&mut k, a).grant_capability(b, handle).unwrap();
    assert!(k.is_capability_valid(cap, b));
    assert!(!k.is_capability_valid(cap, a));
    // A handle obtained before the transfer no longer gives authority.
    assert_eq!(TaskContext::new(&mut k, a).grant_capability(c, stale), Err(KernelError::InvalidCapability));
    assert!(!k.is_capability_valid(cap, c));
    assert!(invalid_use(&k, cap, a, InvalidUseReason::NotOwner));
}

// ----- drop and clone -------------------------------------------------------------------------

#[test]
fn dropping_makes_the_capability_invalid() {
    let mut k = kernel();
    let t = spawn(&mut k, "t");
    let other = spawn(&mut k, "other");
    let cap = k.grant_new_capability(t, "file_read", false).unwrap();
    assert_eq!(k.drop_capability(cap, other), Err(KernelError::InvalidCapability), "a non-owner dropped it");
    assert!(k.is_capability_valid(cap, t));
    k.drop_capability(cap, t).unwrap();
    assert!(!k.is_capability_valid(cap, t));
    assert_eq!(k.authority().entry(cap).unwrap().status, CapStatus::Invalid);
    assert!(k.capabilities_of(t).is_empty());
    assert!(k.audit_log().has_event(|e| *e == CapabilityEvent::Dropped { cap, task: t }));
    // It cannot be used, delegated, cloned or dropped again.
    assert_eq!(k.use_capability(cap, t), Err(KernelError::InvalidCapability));
    assert_eq!(k.delegate_capability(cap, t, other), Err(KernelError::InvalidCapability));
    assert_eq!(k.clone_capability(cap, t), Err(KernelError::InvalidCapability));
    assert_eq!(k.drop_capability(cap, t), Err(KernelError::InvalidCapability));
    assert!(invalid_use(&k, cap, t, InvalidUseReason::NotValid));
    assert_eq!(k.audit_log().count_events(|e| matches!(e, CapabilityEvent::Dropped { .. })), 1);
    assert_replay_matches(&k);
}

#[test]
fn cloning_creates_a_distinct_capability_of_the_same_kind() {
    let mut k = kernel();
    let t = spawn(&mut k, "t");
    let other = spawn(&mut k, "other");
    let cap = k.grant_new_capability(t, "storage", true).unwrap();
    let copy = k.clone_capability(cap, t).unwrap();
    assert_ne!(copy, cap);
    let (orig, dup) = (k.authority().entry(cap).unwrap().clone(), k.authority().entry(copy).unwrap().clone());
    assert_eq!(dup.kind, orig.kind);
    assert_eq!(dup.durable, orig.durable);
    assert_eq!(dup.owner, t);
    assert!(k.is_capability_valid(cap, t) && k.is_capability_valid(copy, t));
    assert!(k.audit_log().has_event(|e| *e == CapabilityEvent::Cloned { cap, new_cap: copy, task: t }));
    // The two are independent: dropping the copy leaves the original valid.
    k.drop_capability(copy, t).unwrap();
    assert!(k.is_capability_valid(cap, t));
    // Only the owner may clone.
    assert_eq!(k.clone_capability(cap, other), Err(KernelError::InvalidCapability));
    assert!(invalid_use(&k, cap, other, InvalidUseReason::NotOwner));
    assert_eq!(k.authority().minted(), 2);
    assert_replay_matches(&k);
}

// ----- termination and durability -------------------------------------------------------------

#[test]
fn owner_termination_invalidates_its_capabilities() {
    let mut k = kernel();
    let t = spawn(&mut k, "t");
    let other = spawn(&mut k, "other");
    let a = k.grant_new_capability(t, "file_read", false).unwrap();
    let b = k.grant_new_capability(t, "net", false).unwrap();
    let kept = k.grant_new_capability(other, "net", false).unwrap();
    k.terminate_task_with_reason(t, ExitReason::Failure { error: "crash".into() }).unwrap();
    for cap in [a, b] {
        assert_eq!(k.authority().entry(cap).unwrap().status, CapStatus::Invalid);
        assert!(!k.is_capability_valid(cap, t));
        assert!(k.audit_log().has_event(|e| *e == CapabilityEvent::Invalidated { cap, owner: t }));
        assert_eq!(k.use_capability(cap, t), Err(KernelError::InvalidCapability));
    }
    assert_eq!(k.audit_log().count_events(|e| e.kind() == AuditKind::Invalidated), 2);
    assert!(k.is_capability_valid(kept, other), "another task's capability was invalidated");
    assert_replay_matches(&k);
}

#[test]
fn durable_capabilities_survive_owner_death_and_are_rebound_to_the_successor() {
    let mut k = kernel();
    let old = spawn(&mut k, "storage");
    let bystander = spawn(&mut k, "bystander");
    let durable = k.grant_new_capability(old, "storage", true).unwrap();
    let plain = k.grant_new_capability(old, "net", false).unwrap();
    k.terminate_task_with_reason(old, ExitReason::Failure { error: "crash".into() }).unwrap();

    // The durable capability is still valid, but nobody can use it while its owner is dead.
    assert_eq!(k.authority().entry(durable).unwrap().status, CapStatus::Valid);
    assert_eq!(k.authority().entry(durable).unwrap().owner, old);
    assert!(!k.audit_log().has_event(|e| *e == CapabilityEvent::Invalidated { cap: durable, owner: old }));
    assert_eq!(k.authority().entry(plain).unwrap().status, CapStatus::Invalid);
    assert_eq!(k.use_capability(durable, old), Err(KernelError::InvalidCapability));
    assert!(invalid_use(&k, durable, old, InvalidUseReason::OwnerDead));

    // Re-binding to a successor that is not running, or from a task that still runs, does nothing.
    let dead_successor = spawn(&mut k, "storage");
    k.terminate_task_with_reason(dead_successor, ExitReason::Normal).unwrap();
    k.rebind_durable_capabilities(old, dead_successor);
    k.rebind_durable_capabilities(bystander, old);
    assert_eq!(k.authority().entry(durable).unwrap().owner, old);

    let successor = spawn(&mut k, "storage");
    k.rebind_durable_capabilities(old, successor);
    assert_eq!(k.authority().entry(durable).unwrap().owner, successor);
    assert!(k.is_capability_valid(durable, successor));
    assert_eq!(k.use_capability(durable, successor), Ok(()));
    assert!(k.audit_log().has_event(|e| *e == CapabilityEvent::Delegated { cap: durable, from_task: old, to_task: successor }));
    // The invalidated non-durable capability is not revived.
    assert_eq!(k.authority().entry(plain).unwrap().status, CapStatus::Invalid);
    assert!(!k.is_capability_valid(plain, successor));
    assert_replay_matches(&k);
}

// ----- trust boundaries -----------------------------------------------------------------------

#[test]
fn cross_domain_delegation_is_allowed_but_audited() {
    let mut k = kernel();
    let task1 = spawn_in(&mut k, "task1", TrustDomain::core());
    let task3 = spawn_in(&mut k, "task3", TrustDomain::user());
    let cap_id = k.grant_new_capability(task1, "file_read", false).unwrap();
    k.delegate_capability(cap_id, task1, task3).unwrap();
    assert!(k.is_capability_valid(cap_id, task3));
    let audit = k.audit_log();
    assert!(audit.has_event(|e| matches!(
        e,
        CapabilityEvent::CrossDomainDelegation { from_domain, to_domain, .. } if k.names().resolve(*from_domain) == "core" && k.names().resolve(*to_domain) == "user"
    )));
    assert!(audit.has_event(|e| *e
        == CapabilityEvent::CrossDomainDelegation {
            cap: cap_id,
            from_task: task1,
            from_domain: k.names().get("core").unwrap(),
            to_task: task3,
            to_domain: k.names().get("user").unwrap()
        }));
    // The move itself is audited as an ordinary delegation too.
    assert!(audit.has_event(|e| *e == CapabilityEvent::Delegated { cap: cap_id, from_task: task1, to_task: task3 }));
    assert_eq!(audit.count_events(|e| e.kind() == AuditKind::CrossDomainDelegation), 1);
    assert_replay_matches(&k);
}

#[test]
fn same_domain_delegation_is_not_audited_as_cross_domain() {
    let mut k = kernel();
    let task1 = spawn_in(&mut k, "task1", TrustDomain::core());
    let task2 = spawn_in(&mut k, "task2", TrustDomain::core());
    let sandboxed = spawn_in(&mut k, "sandboxed", TrustDomain::sandbox());
    let custom = spawn_in(&mut k, "custom", TrustDomain::new("core"));
    let cap_id = k.grant_new_capability(task1, "file_read", false).unwrap();
    k.delegate_capability(cap_id, task1, task2).unwrap();
    k.delegate_capability(cap_id, task2, custom).unwrap();
    assert_eq!(k.audit_log().count_events(|e| e.kind() == AuditKind::Delegated), 2);
    assert!(!k.audit_log().has_event(|e| e.kind() == AuditKind::CrossDomainDelegation));
    // Moving on to the sandbox crosses a boundary.
    k.delegate_capability(cap_id, custom, sandboxed).unwrap();
    assert!(k.audit_log().has_event(|e| matches!(
        e,
        CapabilityEvent::CrossDomainDelegation { from_domain, to_domain, .. } if k.names().resolve(*from_domain) == "core" && k.names().resolve(*to_domain) == "sandbox"
    )));
}

#[test]
fn spawning_across_domains_with_a_capability_is_audited() {
    let mut k = kernel();
    let parent = spawn_in(&mut k, "parent", TrustDomain::core());
    let cap = k.grant_new_capability(parent, "net", false).unwrap();
    let (handle, _) = k
        .spawn_task_with_identity(Some(parent), TaskDescriptor::new("child".into()).with_capability(cap), IdentityKind::Component, TrustDomain::user(), None)
        .unwrap();
    assert!(k.audit_log().has_event(|e| *e
        == CapabilityEvent::CrossDomainDelegation {
            cap,
            from_task: parent,
            from_domain: k.names().get("core").unwrap(),
            to_task: handle.task_id,
            to_domain: k.names().get("user").unwrap()
        }));
}

// ----- audit log ------------------------------------------------------------------------------

#[test]
fn audit_log_helpers_query_the_records() {
    let mut k = kernel();
    let a = spawn(&mut k, "a");
    let b = spawn(&mut k, "b");
    let x = k.grant_new_capability(a, "file_read", false).unwrap();
    let y = k.grant_new_capability(a, "net", false).unwrap();
    k.delegate_capability(x, a, b).unwrap();
    k.drop_capability(x, b).unwrap();
    let _ = k.use_capability(y, b);

    let audit = k.audit_log();
    let for_x: Vec<AuditKind> = audit.get_events_for_cap(x).map(|e| e.kind()).collect();
    assert_eq!(for_x, vec![AuditKind::Granted, AuditKind::Delegated, AuditKind::Dropped]);
    assert!(audit.get_events_for_cap(x).all(|e| e.cap() == x));
    let for_y: Vec<AuditKind> = audit.get_events_for_cap(y).map(|e| e.kind()).collect();
    assert_eq!(for_y, vec![AuditKind::Granted, AuditKind::InvalidUseAttempt]);
    assert_eq!(audit.get_events_for_cap(CapId(77)).count(), 0);

    let grant_count = audit.count_events(|e| matches!(e, CapabilityEvent::Granted { .. }));
    assert_eq!(grant_count, 2);
    assert_eq!(audit.count_events(|_| true), audit.records().len());
    assert_eq!(audit.records().len(), 5);
    assert!(audit.has_event(|e| matches!(e, CapabilityEvent::InvalidUseAttempt { task, .. } if *task == b)));
    assert!(!audit.has_event(|e| matches!(e, CapabilityEvent::Cloned { .. })));
    // Records are stamped with the virtual time of the operation.
    assert!(audit.records().iter().all(|r| r.at == k.now()));
}

#[test]
fn replaying_the_audit_log_rebuilds_the_authority_table() {
    let mut k = kernel();
    let core = spawn_in(&mut k, "core", TrustDomain::core());
    let user = spawn_in(&mut k, "user", TrustDomain::user());
    let sandbox = spawn_in(&mut k, "sandbox", TrustDomain::sandbox());
    let mut caps = Vec::new();
    for (i, owner) in [core, user, sandbox, core, user].into_iter().enumerate() {
        caps.push(k.grant_new_capability(owner, ["file_read", "net", "storage"][i % 3], i % 2 == 0).unwrap());
    }
    let ch = TaskContext::new(&mut k, user).create_channel().unwrap();
    k.delegate_capability(caps[0], core, user).unwrap();
    k.delegate_capability(caps[0], user, sandbox).unwrap();
    let copy = k.clone_capability(caps[1], user).unwrap();
    k.delegate_capability(copy, user, core).unwrap();
    k.drop_capability(caps[3], core).unwrap();
    let _ = k.use_capability(caps[2], core); // refused, audited
    let _ = k.delegate_capability(caps[4], core, user); // refused, audited
    let child = TaskContext::new(&mut k, user).spawn_task(TaskDescriptor::new("child".into()).with_capability(caps[4])).unwrap().task_id;
    k.delegate_capability(k.channel(ch).unwrap().cap, user, child).unwrap();
    k.terminate_task_with_reason(sandbox, ExitReason::Timeout).unwrap(); // caps[0] and caps[2] are durable: they survive
    let successor = spawn_in(&mut k, "sandbox", TrustDomain::sandbox());
    k.rebind_durable_capabilities(sandbox, successor);
    k.terminate_task_with_reason(child, ExitReason::Normal).unwrap(); // the channel cap is invalidated

    assert!(k.authority().minted() >= 7);
    assert!(k.audit_log().has_event(|e| e.kind() == AuditKind::Invalidated));
    assert!(k.audit_log().has_event(|e| e.kind() == AuditKind::InvalidUseAttempt));
    assert_replay_matches(&k);
}
