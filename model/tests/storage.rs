//! Contract tests for the seed's "Storage Interface" ("Object Types", "Object Identifiers",
//! "Transactions", "Transactional Storage Trait") and architecture Phase 4's "Storage Schema
//! Evolution Model" (schema identity and version, migrations as pure functions, old versions
//! remain accessible).
//!
//! Choices of the model tested where the seed is silent (`model/src/storage/`): optimistic
//! commits (a conflicting commit fails and rolls back); `write` replaces a blob and appends to a
//! log, maps use `put`/`remove`; reads and writes cost one `StorageOps`, a migration two.

use model::rule_check::RuleLog;
use model::storage::checks::StorageMonitor;
use model::storage::*;

fn schema() -> (ObjectSchemaId, ObjectSchemaVersion) {
    (ObjectSchemaId("doc".into()), ObjectSchemaVersion(1))
}

/// A store with one committed object of `kind`; returns its id.
fn with_object(store: &mut VersionedStore, kind: ObjectKind) -> ObjectId {
    let mut tx = store.begin_transaction().unwrap();
    let (id, v) = schema();
    let o = store.create(&mut tx, kind, id, v).unwrap();
    store.commit(&mut tx).unwrap();
    o
}

/// Checks the storage invariants over everything the store did since the last call.
fn check(store: &mut VersionedStore, monitor: &mut StorageMonitor, log: &mut RuleLog) {
    let events = store.take_events();
    monitor.check_events(&events, store, log);
}

fn blob(store: &VersionedStore, v: VersionId) -> Vec<u8> {
    match &store.version(v).unwrap().content {
        ObjectContent::Blob(b) => b.clone(),
        other => panic!("not a blob: {other:?}"),
    }
}

#[test]
fn ids_are_unique_and_every_modification_makes_a_new_version() {
    let mut store = VersionedStore::new();
    let (mut monitor, mut log) = (StorageMonitor::default(), RuleLog::default());
    let a = with_object(&mut store, ObjectKind::Blob);
    let b = with_object(&mut store, ObjectKind::Blob);
    assert_ne!(a, b);
    let mut versions = vec![store.head(a).unwrap(), store.head(b).unwrap()];
    for i in 0..5u8 {
        let mut tx = store.begin_transaction().unwrap();
        versions.push(store.write(&mut tx, a, &[i]).unwrap());
        store.commit(&mut tx).unwrap();
    }
    let distinct: std::collections::BTreeSet<_> = versions.iter().collect();
    assert_eq!(distinct.len(), versions.len());
    assert_eq!(store.history(a).len(), 6);
    // Old versions remain accessible, unchanged.
    for (i, v) in store.history(a)[1..].iter().enumerate() {
        assert_eq!(blob(&store, *v), [i as u8]);
        assert_eq!(store.version(*v).unwrap().parent, Some(store.history(a)[i]));
    }
    check(&mut store, &mut monitor, &mut log);
    assert!(log.is_clean(), "{:?}", log.breaches);
}

#[test]
fn a_transaction_sees_its_own_writes_others_see_them_after_commit() {
    let mut store = VersionedStore::new();
    let o = with_object(&mut store, ObjectKind::Blob);
    let before = store.head(o).unwrap();
    let mut writer = store.begin_transaction().unwrap();
    let reader = store.begin_transaction().unwrap();
    let v = store.write(&mut writer, o, b"new").unwrap();
    assert_eq!(store.read(&writer, o), Ok(v));
    assert_eq!(store.read(&reader, o), Ok(before), "not visible before commit");
    assert!(store.version(v).is_none(), "a pending version is not readable");
    store.commit(&mut writer).unwrap();
    assert_eq!(store.read(&reader, o), Ok(v));
    assert_eq!(blob(&store, v), b"new");
}

#[test]
fn rollback_discards_every_write_and_creation() {
    let mut store = VersionedStore::new();
    let (mut monitor, mut log) = (StorageMonitor::default(), RuleLog::default());
    let o = with_object(&mut store, ObjectKind::Log);
    let head = store.head(o);
    let mut tx = store.begin_transaction().unwrap();
    store.write(&mut tx, o, b"a").unwrap();
    store.write(&mut tx, o, b"b").unwrap();
    let (sid, sv) = schema();
    let created = store.create(&mut tx, ObjectKind::Map, sid, sv).unwrap();
    store.rollback(&mut tx).unwrap();
    assert_eq!(tx.state(), TransactionState::RolledBack);
    assert_eq!(store.head(o), head);
    assert_eq!(store.head(created), None);
    let fresh = store.begin_transaction().unwrap();
    assert_eq!(store.read(&fresh, created), Err(TransactionError::ObjectNotFound(created)));
    check(&mut store, &mut monitor, &mut log);
    assert!(log.is_clean(), "{:?}", log.breaches);
}

#[test]
fn nothing_can_be_done_with_a_finalized_transaction() {
    let mut store = VersionedStore::new();
    let o = with_object(&mut store, ObjectKind::Blob);
    for finalize in [TransactionState::Committed, TransactionState::RolledBack] {
        let mut tx = store.begin_transaction().unwrap();
        match finalize {
            TransactionState::Committed => store.commit(&mut tx).unwrap(),
            _ => store.rollback(&mut tx).unwrap(),
        }
        let not_active = Err(TransactionError::NotActive { tx: tx.id(), state: finalize });
        assert_eq!(store.write(&mut tx, o, b"x").map(|_| ()), not_active);
        assert_eq!(store.read(&tx, o).map(|_| ()), not_active);
        assert_eq!(store.append(&mut tx, o, b"x").map(|_| ()), not_active);
        assert_eq!(store.put(&mut tx, o, b"k", b"v").map(|_| ()), not_active);
        let (sid, sv) = schema();
        assert_eq!(store.create(&mut tx, ObjectKind::Blob, sid, sv).map(|_| ()), not_active);
        assert_eq!(store.commit(&mut tx), not_active);
        assert_eq!(store.rollback(&mut tx), not_active);
    }
}

#[test]
fn object_kinds_have_their_own_semantics() {
    let mut store = VersionedStore::new();
    let (b, l, m) = (with_object(&mut store, ObjectKind::Blob), with_object(&mut store, ObjectKind::Log), with_object(&mut store, ObjectKind::Map));
    let mut tx = store.begin_transaction().unwrap();
    store.write(&mut tx, b, b"one").unwrap();
    store.write(&mut tx, b, b"two").unwrap();
    store.write(&mut tx, l, b"one").unwrap();
    store.append(&mut tx, l, b"two").unwrap();
    store.put(&mut tx, m, b"k", b"1").unwrap();
    store.put(&mut tx, m, b"j", b"2").unwrap();
    store.remove(&mut tx, m, b"k").unwrap();
    assert_eq!(store.write(&mut tx, m, b"x"), Err(TransactionError::WrongKind { object: m, kind: ObjectKind::Map, operation: StorageOperation::Write }));
    assert!(matches!(store.put(&mut tx, b, b"k", b"v"), Err(TransactionError::WrongKind { kind: ObjectKind::Blob, .. })));
    assert!(matches!(store.append(&mut tx, m, b"v"), Err(TransactionError::WrongKind { .. })));
    store.commit(&mut tx).unwrap();
    let content = |o| store.version(store.head(o).unwrap()).unwrap().content.clone();
    assert_eq!(content(b), ObjectContent::Blob(b"two".to_vec()), "a blob is replaced whole");
    assert_eq!(content(l), ObjectContent::Log(vec![b"one".to_vec(), b"two".to_vec()]), "a log only grows");
    assert_eq!(content(m), ObjectContent::Map([(b"j".to_vec(), b"2".to_vec())].into_iter().collect()));
    assert_eq!(store.history(b).len(), 3, "creation and both writes of the transaction are versions");
}

#[test]
fn a_conflicting_commit_fails_whole_and_rolls_back() {
    let mut store = VersionedStore::new();
    let (mut monitor, mut log) = (StorageMonitor::default(), RuleLog::default());
    let (a, b) = (with_object(&mut store, ObjectKind::Blob), with_object(&mut store, ObjectKind::Blob));
    let mut slow = store.begin_transaction().unwrap();
    store.write(&mut slow, a, b"slow-a").unwrap();
    store.write(&mut slow, b, b"slow-b").unwrap();
    let mut fast = store.begin_transaction().unwrap();
    store.write(&mut fast, b, b"fast-b").unwrap();
    store.commit(&mut fast).unwrap();
    let heads = (store.head(a), store.head(b));
    assert_eq!(store.commit(&mut slow), Err(TransactionError::Conflict { object: b }));
    assert_eq!(slow.state(), TransactionState::RolledBack);
    assert_eq!((store.head(a), store.head(b)), heads, "neither of slow's writes was installed");
    assert_eq!(blob(&store, store.head(b).unwrap()), b"fast-b");
    check(&mut store, &mut monitor, &mut log);
    assert!(log.is_clean(), "{:?}", log.breaches);
    assert!(log.count("storage.no_partial_commit") > 0);
}

#[test]
fn creating_the_same_object_twice_cannot_conflict() {
    let mut store = VersionedStore::new();
    let mut t1 = store.begin_transaction().unwrap();
    let mut t2 = store.begin_transaction().unwrap();
    let (sid, sv) = schema();
    let o1 = store.create(&mut t1, ObjectKind::Blob, sid.clone(), sv).unwrap();
    let o2 = store.create(&mut t2, ObjectKind::Blob, sid, sv).unwrap();
    assert_ne!(o1, o2, "ids, not names: no two objects collide");
    store.commit(&mut t2).unwrap();
    store.commit(&mut t1).unwrap();
}

#[test]
fn storage_operations_have_fixed_costs() {
    let costs: Vec<u64> = [StorageOperation::Begin, StorageOperation::Create, StorageOperation::Read, StorageOperation::Write, StorageOperation::Migrate, StorageOperation::Commit, StorageOperation::Rollback]
        .iter()
        .map(|o| o.cost().get())
        .collect();
    assert_eq!(costs, [0, 1, 1, 1, 2, 0, 0]);
}

// ----- schema evolution -----------------------------------------------------------------------

fn plan() -> MigrationPlan {
    MigrationPlan {
        schema: ObjectSchemaId("doc".into()),
        steps: vec![
            MigrationStep { from: ObjectSchemaVersion(1), transform: Transform::Prefix("v2:".into()) },
            MigrationStep { from: ObjectSchemaVersion(2), transform: Transform::Replace { from: "name".into(), to: "full_name".into() } },
            MigrationStep { from: ObjectSchemaVersion(3), transform: Transform::Uppercase },
        ],
    }
}

#[test]
fn migrations_are_pure_chained_steps() {
    let p = plan();
    let v = ObjectSchemaVersion;
    assert_eq!(p.migrate(v(1), v(1), b"name=x").unwrap(), b"name=x");
    assert_eq!(p.migrate(v(1), v(2), b"name=x").unwrap(), b"v2:name=x");
    assert_eq!(p.migrate(v(1), v(3), b"name=x").unwrap(), b"v2:full_name=x");
    assert_eq!(p.migrate(v(1), v(4), b"name=x").unwrap(), b"V2:FULL_NAME=X");
    assert_eq!(p.migrate(v(2), v(4), b"a name").unwrap(), b"A FULL_NAME");
    assert_eq!(p.migrate(v(1), v(4), b"name=x"), p.migrate(v(1), v(4), b"name=x"), "deterministic");
    assert_eq!(p.migrate(v(3), v(1), b""), Err(MigrationError::Downgrade { from: v(3), to: v(1) }));
    assert_eq!(p.migrate(v(1), v(5), b""), Err(MigrationError::NoPath { missing: v(4) }));
    assert_eq!(p.migrate(v(0), v(1), b""), Err(MigrationError::NoPath { missing: v(0) }));
    let transforms = [
        (Transform::Identity, &b"abc"[..], &b"abc"[..]),
        (Transform::Suffix("!".into()), b"abc", b"abc!"),
        (Transform::Replace { from: "aa".into(), to: "b".into() }, b"aaaaa", b"bba"),
        (Transform::Replace { from: String::new(), to: "x".into() }, b"abc", b"abc"),
    ];
    for (t, input, output) in transforms {
        assert_eq!(t.apply(input), output, "{t:?}");
    }
}

#[test]
fn migrating_an_object_writes_a_new_version_and_keeps_the_old_one() {
    let mut store = VersionedStore::new();
    let (mut monitor, mut log) = (StorageMonitor::default(), RuleLog::default());
    let o = with_object(&mut store, ObjectKind::Blob);
    let mut tx = store.begin_transaction().unwrap();
    let old = store.write(&mut tx, o, b"name=ada").unwrap();
    store.commit(&mut tx).unwrap();
    let mut tx = store.begin_transaction().unwrap();
    let new = store.migrate(&mut tx, o, &plan(), ObjectSchemaVersion(3)).unwrap();
    store.commit(&mut tx).unwrap();
    let (old_obj, new_obj) = (store.version(old).unwrap(), store.version(new).unwrap());
    assert_eq!((old_obj.schema_version, &old_obj.content), (ObjectSchemaVersion(1), &ObjectContent::Blob(b"name=ada".to_vec())));
    assert_eq!((new_obj.schema_version, &new_obj.content), (ObjectSchemaVersion(3), &ObjectContent::Blob(b"v2:full_name=ada".to_vec())));
    assert_eq!(new_obj.parent, Some(old));
    // The wrong migrator, or a missing step, is refused and changes nothing.
    let mut tx = store.begin_transaction().unwrap();
    let other = MigrationPlan { schema: ObjectSchemaId("photo".into()), steps: vec![] };
    assert!(matches!(store.migrate(&mut tx, o, &other, ObjectSchemaVersion(4)), Err(TransactionError::Migration(MigrationError::WrongSchema { .. }))));
    assert_eq!(store.migrate(&mut tx, o, &plan(), ObjectSchemaVersion(9)), Err(TransactionError::Migration(MigrationError::NoPath { missing: ObjectSchemaVersion(4) })));
    store.rollback(&mut tx).unwrap();
    assert_eq!(store.head(o), Some(new));
    check(&mut store, &mut monitor, &mut log);
    assert!(log.is_clean(), "{:?}", log.breaches);
}

#[test]
fn migrations_apply_to_every_log_entry_and_map_value() {
    let mut store = VersionedStore::new();
    let (l, m) = (with_object(&mut store, ObjectKind::Log), with_object(&mut store, ObjectKind::Map));
    let mut tx = store.begin_transaction().unwrap();
    store.append(&mut tx, l, b"a").unwrap();
    store.append(&mut tx, l, b"b").unwrap();
    store.put(&mut tx, m, b"k", b"v").unwrap();
    store.migrate(&mut tx, l, &plan(), ObjectSchemaVersion(2)).unwrap();
    store.migrate(&mut tx, m, &plan(), ObjectSchemaVersion(2)).unwrap();
    store.commit(&mut tx).unwrap();
    let content = |o| store.version(store.head(o).unwrap()).unwrap().content.clone();
    assert_eq!(content(l), ObjectContent::Log(vec![b"v2:a".to_vec(), b"v2:b".to_vec()]));
    assert_eq!(content(m), ObjectContent::Map([(b"k".to_vec(), b"v2:v".to_vec())].into_iter().collect()));
}

#[test]
fn migration_plans_are_scenario_data() {
    let p: MigrationPlan = ron::from_str(r#"(schema: "doc", steps: [(from: 1, transform: Prefix("v2:")), (from: 2, transform: Replace(from: "a", to: "b"))])"#).unwrap();
    assert_eq!(p.steps.len(), 2);
    assert!(ron::from_str::<MigrationPlan>(r#"(schema: "doc", steps: [], version: 2)"#).is_err());
    assert!(ron::from_str::<MigrationPlan>(r#"(schema: "doc", steps: [(from: 1, transform: Replace(from: "a", to: "b", all: true))])"#).is_err());
}

#[test]
fn storage_events_fold_distinctly_and_deterministically() {
    use model::trace_hash::TraceHasher;
    let run = || {
        let mut store = VersionedStore::new();
        let o = with_object(&mut store, ObjectKind::Blob);
        let mut tx = store.begin_transaction().unwrap();
        store.write(&mut tx, o, b"x").unwrap();
        store.rollback(&mut tx).unwrap();
        store.take_events()
    };
    let events = run();
    assert_eq!(events, run());
    let digests: std::collections::BTreeSet<u64> = events
        .iter()
        .map(TraceHasher::digest_of)
        .collect();
    assert_eq!(digests.len(), events.len());
    assert!(matches!(events.last(), Some(StorageEvent::RolledBack { discarded, .. }) if discarded.len() == 1));
}
