//! Contract tests for the seed's "Phase 10: Policy-Driven Capability Derivation" (interface
//! reference and architecture): `CapabilitySet`, `DerivedAuthority`, `CapabilityDelta`, the
//! security invariants (no escalation, scoped isolation, explainable), the enforcement flow and
//! the six integration tests the seed lists (read-only FS at pipeline start, no network at stage
//! start, subset enforced, report with delta, cancellation coherence, no policy unchanged).
//!
//! Choices of the model tested where the seed is silent (`model/src/derivation.rs`): several
//! proposals are each checked and then intersected; capabilities produced by a stage join the
//! execution authority even when it was restricted.

mod common;

use common::*;
use model::bugs::BugSet;
use model::cancellation::CancellationReason;
use model::derivation::*;
use model::pipeline::drive::World;
use model::pipeline::{ExecutorError, PipelineEvent, PipelineId, StageHandler, StageId};
use model::policy::*;
use model::rule_check::RuleLog;
use model::time::Instant;

const CAP_FS_READ: u64 = 1;
const CAP_FS_WRITE: u64 = 2;
const CAP_NETWORK: u64 = 3;

fn world_with(text: &str) -> World {
    let spec: PolicySpec = ron::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    World { policy: Some(spec.build()), ..World::new() }
}

fn read_only_fs() -> World {
    world_with(r#"Rules((name: "ReadOnlyFsPolicy", rules: [(on: [OnPipelineStart], then: Derive(capabilities: [1], constraints: ["read-only"]))]))"#)
}

fn no_network_on_stage_1() -> World {
    world_with(r#"Rules((name: "NoNetworkStagePolicy", rules: [(on: [OnPipelineStageStart], when: [Stage(1)], then: Derive(capabilities: [1, 2], constraints: ["no-network"]))]))"#)
}

fn visible(run: &Run) -> Vec<Vec<u64>> {
    run.world.orders.iter().map(|o| o.capabilities.to_vec()).collect()
}

// ----- the types ------------------------------------------------------------------------------

#[test]
fn capability_sets_serialize_as_sorted_lists() {
    let s = CapabilitySet::from([4, 1, 3]);
    assert_eq!(serde_json::to_string(&s).unwrap(), "[1,3,4]");
    assert_eq!(serde_json::from_str::<CapabilitySet>("[3,1]").unwrap(), CapabilitySet::from([1, 3]));
    let d = DerivedAuthority::from_capabilities([1, 2]).with_constraint("read-only");
    assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"capabilities":[1,2],"constraints":["read-only"]}"#);
    assert!(serde_json::from_str::<DerivedAuthority>(r#"{"capabilities":[1],"extra":0}"#).is_err());
}

#[test]
fn the_delta_explains_a_derivation() {
    let before = CapabilitySet::from([1, 2, 3, 4]);
    let d = CapabilityDelta::of_derivation(&before, &DerivedAuthority::from_capabilities([1, 2]).with_constraint("read-only"));
    assert_eq!((d.removed.clone(), d.added.clone(), d.restricted.clone()), (vec![3, 4], vec![], vec!["read-only".to_string()]));
    assert_eq!(d.to_string(), "removed: [3, 4], added: []");
    assert!(!d.is_escalation());
    let e = CapabilityDelta::from(&CapabilitySet::from([1]), &CapabilitySet::from([999]));
    assert_eq!(e.to_string(), "removed: [1], added: [999]");
    assert!(e.is_escalation());
}

#[test]
fn derive_checks_every_proposal_and_intersects_them() {
    let current = CapabilitySet::from([1, 2, 3]);
    let a = DerivedAuthority::from_capabilities([1, 2]);
    let b = DerivedAuthority::from_capabilities([2, 3]);
    let ok = derive(&current, [("A", &a), ("B", &b)], PolicyEvent::OnPipelineStart, None, BugSet::default()).unwrap();
    assert_eq!(ok, CapabilitySet::from([2]));
    assert_eq!(derive(&current, [], PolicyEvent::OnPipelineStart, None, BugSet::default()).unwrap(), current, "no proposal: unchanged");
    // An escalating proposal is caught and named even if the intersection would hide it.
    let evil = DerivedAuthority::from_capabilities([1, 2, 999]);
    let err = derive(&current, [("Fine", &a), ("MaliciousPolicy", &evil)], PolicyEvent::OnPipelineStageStart, Some(PipelineId(7)), BugSet::default()).unwrap_err();
    assert_eq!(err.policy, "MaliciousPolicy");
    assert_eq!(err.event, PolicyEvent::OnPipelineStageStart);
    assert_eq!(err.reason, "Derived authority grants more capabilities than available");
    assert_eq!(err.delta.to_string(), "removed: [3], added: [999]");
    assert_eq!(err.pipeline_id, Some(PipelineId(7)));
}

#[test]
fn scoped_authority_restores_the_execution_authority_after_a_stage() {
    let mut auth = ScopedAuthority::new(PipelineId(1), CapabilitySet::from([1, 2, 3]), BugSet::default());
    let no_net = DerivedAuthority::from_capabilities([1, 2]);
    auth.enter_stage(StageId(0), [("P", &no_net)]).unwrap();
    assert!(!auth.has_capability_with_authority(3) && auth.has_capability_with_authority(1));
    assert_eq!(auth.visible(), CapabilitySet::from([1, 2]));
    auth.commit_produced(StageId(0), &CapabilitySet::from([9]));
    auth.leave_stage();
    assert_eq!(auth.in_force(), &CapabilitySet::from([1, 2, 3, 9]), "the next stage sees the pipeline's authority plus what stage 0 produced");
    assert!(auth.has_capability_with_authority(3));
    assert!(!auth.has_capability_with_authority(42), "never-held capabilities are never allowed");
    let mut log = RuleLog::default();
    let mut monitor = DerivationMonitor::default();
    auth.take_events().iter().for_each(|e| monitor.observe(e, &mut log));
    assert!(log.is_clean());
    assert_eq!(log.count("derive.subset"), 1);
    assert_eq!(log.count("derive.stage_scope_restored"), 1);
}

// ----- the seed's integration tests -----------------------------------------------------------

#[test]
fn test_policy_derives_readonly_fs_at_pipeline_start() {
    // Pipeline starts with [READ, WRITE]; the policy derives [READ]; every stage sees only READ;
    // a stage that writes fails: "Missing required capability: CAP_FS_WRITE".
    let spec = chain(3, |i, s| match i {
        0 | 1 => s.with_capabilities(vec![CAP_FS_READ]),
        _ => s.with_capabilities(vec![CAP_FS_WRITE]),
    });
    let r = run_in(spec, &[], CapabilitySet::from([CAP_FS_READ, CAP_FS_WRITE]), read_only_fs(), None, &[]);
    assert_eq!(visible(&r), [vec![CAP_FS_READ], vec![CAP_FS_READ]], "handlers observe the reduced set");
    assert_eq!(r.result, Err(ExecutorError::MissingCapability { stage_name: "s2".into(), capability: CAP_FS_WRITE }));
    assert!(r.result.as_ref().unwrap_err().to_string().starts_with("Missing required capability: 2"));
    assert_eq!(r.executor.authority().pool(), &CapabilitySet::from([CAP_FS_READ, CAP_FS_WRITE]), "the pool still holds WRITE: policy restricts, it does not revoke");
    assert_eq!(r.executor.authority().execution(), &CapabilitySet::from([CAP_FS_READ]));
    r.assert_clean();
}

#[test]
fn test_policy_derives_no_network_at_stage_start() {
    // Pipeline has [READ, WRITE, NET]; stage 1 sees [READ, WRITE]; stages 0 and 2 see all again.
    let r = run_in(chain(3, |_, s| s), &[], CapabilitySet::from([CAP_FS_READ, CAP_FS_WRITE, CAP_NETWORK]), no_network_on_stage_1(), None, &[]);
    assert_eq!(r.result, Ok(()));
    assert_eq!(visible(&r), [vec![1, 2, 3], vec![1, 2], vec![1, 2, 3]]);
    r.assert_clean();
    // A stage-1 handler that needs the network fails; the others may use it.
    let needs_net = chain(3, |_, s| s.with_capabilities(vec![CAP_NETWORK]));
    let r = run_in(needs_net, &[], CapabilitySet::from([CAP_FS_READ, CAP_FS_WRITE, CAP_NETWORK]), no_network_on_stage_1(), None, &[]);
    assert_eq!(r.result, Err(ExecutorError::MissingCapability { stage_name: "s1".into(), capability: CAP_NETWORK }));
    assert_eq!(r.attempts(), [(0, 0)]);
    r.assert_clean();
}

#[test]
fn test_policy_derivation_is_subset_enforced() {
    for (at, text) in [
        ("start", r#"Rules((name: "MaliciousPolicy", rules: [(on: [OnPipelineStart], then: Derive(capabilities: [1, 999]))]))"#),
        ("stage", r#"Rules((name: "MaliciousPolicy", rules: [(on: [OnPipelineStageStart], then: Derive(capabilities: [1, 999]))]))"#),
    ] {
        let r = run_in(chain(2, |_, s| s), &[], CapabilitySet::from([CAP_FS_READ, CAP_FS_WRITE]), world_with(text), None, &[]);
        let Err(ExecutorError::PolicyDerivedAuthorityInvalid(e)) = &r.result else { panic!("{at}: {:?}", r.result) };
        assert_eq!(e.policy, "MaliciousPolicy", "{at}");
        assert_eq!(e.delta.added, [999], "{at}");
        assert_eq!(e.delta.to_string(), "removed: [2], added: [999]");
        assert_eq!(e.pipeline_id, Some(PipelineId(1)));
        assert!(r.world.orders.is_empty(), "{at}: no stage ran with the escalated authority");
        assert!(r.events.iter().any(|ev| matches!(ev, PipelineEvent::Authority(DerivationEvent::Rejected { policy, .. }) if policy == "MaliciousPolicy")));
        r.assert_clean();
    }
}

#[test]
fn test_policy_report_includes_capability_delta() {
    let w = world_with(r#"Rules((name: "Restrict", rules: [(on: [OnPipelineStart], then: Derive(capabilities: [1, 2]))]))"#);
    let r = run_in(chain(1, |_, s| s), &[], CapabilitySet::from([1, 2, 3, 4]), w, None, &[]);
    assert_eq!(r.result, Ok(()));
    let (event, stage, report) = &r.executor.reports()[0];
    assert_eq!((*event, *stage), (PolicyEvent::OnPipelineStart, None));
    assert_eq!(report.input_capabilities, Some(CapabilitySet::from([1, 2, 3, 4])));
    assert_eq!(report.output_capabilities, Some(CapabilitySet::from([1, 2])));
    let delta = report.capability_delta.clone().unwrap();
    assert_eq!((delta.removed, delta.added), (vec![3, 4], vec![]));
    let json = serde_json::to_value(report).unwrap();
    assert_eq!(json["decision"], serde_json::json!({ "Allow": { "derived": { "capabilities": [1, 2], "constraints": [] } } }));
    assert_eq!(json["input_capabilities"], serde_json::json!([1, 2, 3, 4]));
    assert_eq!(json["output_capabilities"], serde_json::json!([1, 2]));
    assert_eq!(json["capability_delta"], serde_json::json!({ "removed": [3, 4], "restricted": [], "added": [] }));
    let back: PolicyDecisionReport = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, report);
    assert_eq!(serde_json::to_value(&back).unwrap(), json, "stable serialization");
    // The stage-start report shows the stage's (unrestricted) authority.
    let (event, stage, report) = &r.executor.reports()[1];
    assert_eq!((*event, *stage), (PolicyEvent::OnPipelineStageStart, Some(StageId(0))));
    assert_eq!(report.output_capabilities, Some(CapabilitySet::from([1, 2])));
    assert_eq!(report.capability_delta.as_ref().map(|d| d.removed.len()), Some(0));
}

#[test]
fn test_policy_derivation_and_cancellation_coherent() {
    // Stage-scoped derivations for every stage; cancelled during stage 1 of 3: authority was
    // derived only for started stages, the stage scope was left, and the report stays coherent.
    let mut world = world_with(r#"Rules((name: "EachStage", rules: [(on: [OnPipelineStageStart], then: Derive(capabilities: [1]))]))"#);
    let source = world.cancellations.new_source();
    world.cancel_at = Some((Instant(15_000_000), source, CancellationReason::SupervisorCancel));
    let handlers = vec![StageHandler::succeeding(vec![50]).with_duration_ms(10); 3];
    let r = run_in(chain(3, |_, s| s), &handlers, CapabilitySet::from([1, 2]), world, Some(source.token()), &[]);
    assert!(matches!(r.result, Err(ExecutorError::Cancelled { reason: CancellationReason::SupervisorCancel, .. })));
    let entered: Vec<u32> = r.events.iter().filter_map(|e| match e {
        PipelineEvent::Authority(DerivationEvent::StageEntered { stage, .. }) => Some(stage.0),
        _ => None,
    }).collect();
    let left: Vec<u32> = r.events.iter().filter_map(|e| match e {
        PipelineEvent::Authority(DerivationEvent::StageLeft { stage, .. }) => Some(stage.0),
        _ => None,
    }).collect();
    assert_eq!((entered, left), (vec![0, 1], vec![0, 1]));
    assert_eq!(r.executor.reports().iter().filter(|(e, ..)| *e == PolicyEvent::OnPipelineStageStart).count(), 2);
    assert_eq!(r.executor.authority().pool(), &CapabilitySet::from([1, 2, 50]), "stage 0's capability only; the cancelled stage 1 added nothing");
    assert_eq!(r.executor.authority().execution(), &CapabilitySet::from([1, 2, 50]));
    r.assert_clean();
}

#[test]
fn test_no_policy_behavior_unchanged() {
    let handlers = [StageHandler::succeeding(vec![7]), StageHandler::default()];
    let spec = chain(2, |i, s| if i == 1 { s.with_capabilities(vec![7, CAP_NETWORK]) } else { s });
    let plain = run(spec.clone(), &handlers, CapabilitySet::from([CAP_NETWORK]));
    let allowing = run_in(spec, &handlers, CapabilitySet::from([CAP_NETWORK]), world_with(r#"Rules((name: "AllowAll", rules: []))"#), None, &[]);
    assert_eq!(plain.result, Ok(()));
    assert_eq!(plain.executor.trace(), allowing.executor.trace());
    assert_eq!(visible(&plain), visible(&allowing));
    assert_eq!(visible(&plain), [vec![CAP_NETWORK], vec![CAP_NETWORK, 7]]);
    assert!(!plain.events.iter().any(|e| matches!(e, PipelineEvent::Authority(DerivationEvent::PipelineDerived { .. }))));
    plain.assert_clean();
}

#[test]
fn produced_capabilities_flow_on_under_a_restricted_pipeline() {
    // Read-only pipeline: stage 0 creates blob capability 20, stage 1 requires it.
    let spec = chain(2, |i, s| if i == 1 { s.with_capabilities(vec![20]) } else { s });
    let r = run_in(spec, &[StageHandler::succeeding(vec![20])], CapabilitySet::from([CAP_FS_READ, CAP_FS_WRITE]), read_only_fs(), None, &[]);
    assert_eq!(r.result, Ok(()));
    assert_eq!(visible(&r), [vec![CAP_FS_READ], vec![CAP_FS_READ, 20]]);
    r.assert_clean();
}

#[test]
fn composed_derivations_restrict_further_and_never_widen() {
    let w = world_with(
        r#"Composed([
            Rules((name: "ReadOnly", rules: [(on: [OnPipelineStart], then: Derive(capabilities: [1, 3]))])),
            Rules((name: "NoNet", rules: [(on: [OnPipelineStart], then: Derive(capabilities: [1, 2]))])),
        ])"#,
    );
    let r = run_in(chain(1, |_, s| s), &[], CapabilitySet::from([1, 2, 3]), w, None, &[]);
    assert_eq!(visible(&r), [vec![1]]);
    // A stage-scoped proposal is checked against the (restricted) execution authority, not the pool.
    let w = world_with(
        r#"Composed([
            Rules((name: "ReadOnly", rules: [(on: [OnPipelineStart], then: Derive(capabilities: [1]))])),
            Rules((name: "Sneaky", rules: [(on: [OnPipelineStageStart], then: Derive(capabilities: [1, 2]))])),
        ])"#,
    );
    let r = run_in(chain(1, |_, s| s), &[], CapabilitySet::from([1, 2, 3]), w, None, &[]);
    assert!(matches!(&r.result, Err(ExecutorError::PolicyDerivedAuthorityInvalid(e)) if e.policy == "Sneaky" && e.delta.added == [2]));
    r.assert_clean();
}

#[test]
fn derivation_events_fold_deterministically() {
    use model::trace_hash::TraceHasher;
    let r1 = run_in(chain(3, |_, s| s), &[], CapabilitySet::from([1, 2, 3]), no_network_on_stage_1(), None, &[]);
    let r2 = run_in(chain(3, |_, s| s), &[], CapabilitySet::from([1, 2, 3]), no_network_on_stage_1(), None, &[]);
    let digest = |r: &Run| {
        let mut h = TraceHasher::default();
        r.events.iter().for_each(|e| h.feed(e));
        h.value()
    };
    assert_eq!(r1.events, r2.events);
    assert_eq!(digest(&r1), digest(&r2));
    let r3 = run_in(chain(3, |_, s| s), &[], CapabilitySet::from([1, 2, 3]), read_only_fs(), None, &[]);
    assert_ne!(digest(&r1), digest(&r3));
}
