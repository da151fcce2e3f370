//! Contract tests for the seed's "Policy Engine Interface": "Policy Engine Trait", "Policy
//! Decision Types", "Policy Context", "Policy Events", "Reference Policy Implementations",
//! "Policy Composition", "Policy Audit" and "Pipeline Policy Enforcement" (architecture Phases 8
//! and 9), plus the focus-request policy example of "Input System Interface" / "Policy
//! Integration".
//!
//! Choices of the model tested where the seed is silent (`model/src/policy/`): a composed
//! `Require` joins the collected actions with "; "; the audit log has one record per policy
//! evaluated; `PipelineSafetyPolicy::new()` allows 10 stages unsupervised; a rule list allows when
//! no rule matches; no `OnPipelineStageEnd` is evaluated for a cancelled stage.

mod common;

use common::*;
use model::cancellation::CancellationReason;
use model::derivation::CapabilitySet;
use model::identity::IdentityKind;
use model::pipeline::drive::World;
use model::pipeline::events::Verdict;
use model::pipeline::{ExecutorError, PipelineEvent, PipelineExecutionResult, StageHandler};
use model::policy::audit::PolicyAuditLog;
use model::policy::checks::{composition_precedence, DecisionMemo};
use model::policy::rules::{PolicyRule, RuleCondition, RuleDecision};
use model::policy::*;
use model::rule_check::RuleLog;
use model::time::Instant;
use std::sync::atomic::{AtomicU32, Ordering};

/// A policy that always answers the same.
struct Fixed(&'static str, PolicyDecision);

impl PolicyEngine for Fixed {
    fn evaluate(&self, _: PolicyEvent, _: &PolicyContext) -> PolicyDecision {
        self.1.clone()
    }
    fn name(&self) -> &str {
        self.0
    }
}

fn spawn_ctx(actor_domain: &str, target_kind: IdentityKind) -> PolicyContext {
    PolicyContext::for_spawn(identity(1, actor_domain, IdentityKind::Component), identity(2, actor_domain, target_kind))
}

fn delegate_ctx(from: &str, to: &str) -> PolicyContext {
    PolicyContext::for_capability_delegation(identity(1, from, IdentityKind::Service), identity(2, to, IdentityKind::Service), 7)
}

// ----- decisions and context ------------------------------------------------------------------

#[test]
fn decision_helpers() {
    assert!(PolicyDecision::allow().is_allow() && PolicyDecision::allow().derived().is_none());
    assert!(PolicyDecision::deny("x").is_deny() && !PolicyDecision::deny("x").is_allow());
    assert!(PolicyDecision::require("y").is_require());
    assert_eq!(PolicyDecision::deny("no"), PolicyDecision::Deny { reason: "no".into() });
    let d = PolicyDecision::allow_with_derived(model::derivation::DerivedAuthority::from_capabilities([1]));
    assert_eq!(d.derived().unwrap().capabilities, CapabilitySet::from([1]));
}

#[test]
fn context_constructors_and_cross_domain() {
    let c = delegate_ctx("user", "sandbox");
    assert!(c.is_cross_domain());
    assert_eq!(c.capability_id, Some(7));
    assert!(!delegate_ctx("user", "user").is_cross_domain());
    assert!(!PolicyContext::new(identity(1, "user", IdentityKind::Service)).is_cross_domain(), "no target is not cross-domain");
    let p = PolicyContext::for_pipeline(executor_identity(), model::pipeline::PipelineId(3)).with_metadata("timeout_ms", "5000").with_metadata("stage_count", "3");
    assert_eq!(p.metadata_value("timeout_ms"), Some("5000"));
    assert_eq!(p.metadata_value("stage_count"), Some("3"));
    assert_eq!(p.metadata_value("nope"), None);
    assert_eq!(p.summary(), "actor=exec#1(user) pipeline=3 timeout_ms=5000 stage_count=3");
    assert_eq!(c.summary(), "actor=exec#1(user) target=exec#2(sandbox) cap=7");
    let f = PolicyContext::for_focus_request(identity(1, "user", IdentityKind::Component), Some(identity(2, "core", IdentityKind::System)));
    assert!(f.is_cross_domain());
}

// ----- reference policies ---------------------------------------------------------------------

#[test]
fn noop_policy_allows_every_event() {
    for event in PolicyEvent::ALL {
        for ctx in [spawn_ctx("sandbox", IdentityKind::System), delegate_ctx("user", "sandbox")] {
            assert_eq!(NoOpPolicy.evaluate(event, &ctx), PolicyDecision::allow(), "{event:?}");
        }
    }
    assert_eq!(NoOpPolicy.name(), "NoOpPolicy");
}

#[test]
fn trust_domain_policy_table() {
    // (event, context, expected)
    let cases = [
        (PolicyEvent::OnSpawn, spawn_ctx("sandbox", IdentityKind::System), PolicyDecision::deny("Sandbox cannot spawn System services")),
        (PolicyEvent::OnSpawn, spawn_ctx("sandbox", IdentityKind::Service), PolicyDecision::allow()),
        (PolicyEvent::OnSpawn, spawn_ctx("user", IdentityKind::System), PolicyDecision::allow()),
        (PolicyEvent::OnSpawn, spawn_ctx("core", IdentityKind::System), PolicyDecision::allow()),
        (PolicyEvent::OnSpawn, PolicyContext::new(identity(1, "sandbox", IdentityKind::Component)), PolicyDecision::allow()),
        (PolicyEvent::OnCapabilityDelegate, delegate_ctx("user", "sandbox"), PolicyDecision::require("Cross-domain delegation needs approval")),
        (PolicyEvent::OnCapabilityDelegate, delegate_ctx("core", "user"), PolicyDecision::require("Cross-domain delegation needs approval")),
        (PolicyEvent::OnCapabilityDelegate, delegate_ctx("user", "user"), PolicyDecision::allow()),
        (PolicyEvent::OnTerminate, spawn_ctx("sandbox", IdentityKind::System), PolicyDecision::allow()),
        (PolicyEvent::OnPipelineStart, delegate_ctx("user", "sandbox"), PolicyDecision::allow()),
        (PolicyEvent::OnInputFocusRequest, delegate_ctx("user", "sandbox"), PolicyDecision::allow()),
    ];
    for (i, (event, ctx, expected)) in cases.iter().enumerate() {
        assert_eq!(TrustDomainPolicy.evaluate(*event, ctx), *expected, "case {i}: {event:?} {}", ctx.summary());
    }
}

#[test]
fn pipeline_safety_policy_table() {
    let ctx = |domain: &str, timeout: bool, stages: Option<&str>| {
        let mut c = PolicyContext::for_pipeline(identity(1, domain, IdentityKind::Component), model::pipeline::PipelineId(1));
        if timeout {
            c = c.with_metadata("timeout_ms", "5000");
        }
        if let Some(n) = stages {
            c = c.with_metadata("stage_count", n);
        }
        c
    };
    let policy = PipelineSafetyPolicy { max_stages_unsupervised: 3 };
    let cases = [
        (ctx("user", false, Some("2")), PolicyDecision::require("Pipelines in user domain must specify timeout")),
        (ctx("user", true, Some("2")), PolicyDecision::allow()),
        (ctx("user", true, Some("3")), PolicyDecision::allow()),
        (ctx("user", true, Some("4")), PolicyDecision::require("Pipelines with 4 stages require supervision")),
        (ctx("core", false, Some("4")), PolicyDecision::require("Pipelines with 4 stages require supervision")),
        (ctx("core", false, Some("many")), PolicyDecision::allow()),
        (ctx("core", false, None), PolicyDecision::allow()),
        (ctx("sandbox", false, Some("1")), PolicyDecision::allow()),
    ];
    for (i, (c, expected)) in cases.iter().enumerate() {
        assert_eq!(policy.evaluate(PolicyEvent::OnPipelineStart, c), *expected, "case {i}: {}", c.summary());
        assert_eq!(policy.evaluate(PolicyEvent::OnPipelineStageStart, c), PolicyDecision::allow(), "only OnPipelineStart is checked");
    }
    assert_eq!(PipelineSafetyPolicy::new().max_stages_unsupervised, 10);
    assert_eq!(PipelineSafetyPolicy::default(), PipelineSafetyPolicy::new());
}

// ----- composition ----------------------------------------------------------------------------

#[test]
fn the_seed_composition_of_noop_and_trust_domain_decides_like_trust_domain() {
    let composed = ComposedPolicy::new().add_policy(Box::new(NoOpPolicy)).add_policy(Box::new(TrustDomainPolicy));
    for event in PolicyEvent::ALL {
        for ctx in [spawn_ctx("sandbox", IdentityKind::System), spawn_ctx("user", IdentityKind::System), delegate_ctx("user", "sandbox"), delegate_ctx("user", "user")] {
            assert_eq!(composed.evaluate(event, &ctx), TrustDomainPolicy.evaluate(event, &ctx), "{event:?} {}", ctx.summary());
        }
    }
    assert_eq!(composed.name(), "ComposedPolicy");
    assert_eq!(composed.len(), 2);
}

#[test]
fn composition_precedence_first_deny_wins_requires_are_collected_allow_only_if_neither() {
    use PolicyDecision as D;
    let a = || D::allow();
    let d = |r: &str| D::deny(r);
    let r = |x: &str| D::require(x);
    // (decisions in order, expected decision, policies evaluated)
    let cases: Vec<(Vec<PolicyDecision>, PolicyDecision, usize)> = vec![
        (vec![], a(), 0),
        (vec![a(), a()], a(), 2),
        (vec![a(), d("x"), d("y")], d("x"), 2),
        (vec![d("first"), a()], d("first"), 1),
        (vec![r("timeout"), a()], r("timeout"), 2),
        (vec![r("timeout"), a(), r("approval")], r("timeout; approval"), 3),
        (vec![r("timeout"), d("no"), r("approval")], d("no"), 2),
        (vec![a(), r("approval"), a()], r("approval"), 3),
    ];
    for (i, (decisions, expected, evaluated)) in cases.into_iter().enumerate() {
        let composed = decisions.iter().enumerate().fold(ComposedPolicy::new(), |c, (j, dec)| c.add_policy(Box::new(Fixed(["p0", "p1", "p2"][j], dec.clone()))));
        let report = composed.evaluate_with_report(PolicyEvent::OnSpawn, &spawn_ctx("user", IdentityKind::Service));
        assert_eq!(report.decision, expected, "case {i}");
        assert_eq!(report.evaluated_policies.len(), evaluated, "case {i}: later policies are not evaluated after a Deny");
        let requires = decisions[..evaluated].iter().filter(|d| d.is_require()).count();
        assert_eq!(report.required_actions.len(), requires, "case {i}");
        assert_eq!(report.deny_reason.is_some(), expected.is_deny(), "case {i}");
        let mut log = RuleLog::default();
        composition_precedence(&report, &mut log);
        assert!(log.is_clean(), "case {i}: {:?}", log.breaches);
        assert_eq!(composed.evaluate(PolicyEvent::OnSpawn, &spawn_ctx("user", IdentityKind::Service)), expected);
    }
}

#[test]
fn the_report_names_the_deciding_policy() {
    let composed = ComposedPolicy::new()
        .add_policy(Box::new(Fixed("Quiet", PolicyDecision::allow())))
        .add_policy(Box::new(Fixed("Needs", PolicyDecision::require("approval"))))
        .add_policy(Box::new(Fixed("Blocks", PolicyDecision::deny("no"))));
    let report = composed.evaluate_with_report(PolicyEvent::OnSpawn, &spawn_ctx("user", IdentityKind::Service));
    assert_eq!(report.deciding_policy(), Some("Blocks"));
    assert_eq!(report.required_actions, ["approval"]);
    assert_eq!(report.deny_reason.as_deref(), Some("no"));
    assert_eq!(report.to_string(), r#"Deny { reason: "no" }; Quiet: Allow { derived: None }; Needs: Require { action: "approval" }; Blocks: Deny { reason: "no" }"#);
    let single = TrustDomainPolicy.evaluate_with_report(PolicyEvent::OnSpawn, &spawn_ctx("sandbox", IdentityKind::System));
    assert_eq!(single.evaluated_policies.len(), 1);
    assert_eq!(single.deciding_policy(), Some("TrustDomainPolicy"));
    assert_eq!(single.deny_reason.as_deref(), Some("Sandbox cannot spawn System services"));
}

#[test]
fn the_precedence_check_catches_a_report_that_breaks_the_rules() {
    let composed = ComposedPolicy::new().add_policy(Box::new(Fixed("a", PolicyDecision::require("x")))).add_policy(Box::new(NoOpPolicy));
    let mut report = composed.evaluate_with_report(PolicyEvent::OnSpawn, &spawn_ctx("user", IdentityKind::Service));
    report.decision = PolicyDecision::allow();
    let mut log = RuleLog::default();
    composition_precedence(&report, &mut log);
    assert_eq!(log.breached(), ["policy.composition_precedence"]);
}

// ----- audit ----------------------------------------------------------------------------------

#[test]
fn the_audit_log_records_every_evaluated_policy_with_time_and_context() {
    let composed = ComposedPolicy::new().add_policy(Box::new(NoOpPolicy)).add_policy(Box::new(TrustDomainPolicy));
    let mut audit = PolicyAuditLog::default();
    let ctx = spawn_ctx("sandbox", IdentityKind::System);
    audit.record(Instant(5), PolicyEvent::OnSpawn, &ctx, &composed.evaluate_with_report(PolicyEvent::OnSpawn, &ctx));
    let ctx2 = delegate_ctx("user", "sandbox");
    audit.record(Instant(9), PolicyEvent::OnCapabilityDelegate, &ctx2, &composed.evaluate_with_report(PolicyEvent::OnCapabilityDelegate, &ctx2));
    assert_eq!(audit.len(), 4);
    let denies = audit.find_events(|e| e.decision.is_deny());
    assert_eq!(denies.len(), 1);
    assert_eq!((denies[0].policy_name.as_str(), denies[0].timestamp), ("TrustDomainPolicy", Instant(5)));
    assert_eq!(denies[0].context_summary, ctx.summary());
    assert!(audit.has_event(|e| matches!(e.event, PolicyEvent::OnSpawn) && e.decision.is_deny()));
    assert_eq!(audit.find_events(|e| e.decision.is_require()).len(), 1);
    assert!(!audit.has_event(|e| e.event == PolicyEvent::OnTerminate));
}

// ----- determinism ----------------------------------------------------------------------------

/// A policy that breaks the contract: it denies every second evaluation.
struct Flaky(AtomicU32);

impl PolicyEngine for Flaky {
    fn evaluate(&self, _: PolicyEvent, _: &PolicyContext) -> PolicyDecision {
        if self.0.fetch_add(1, Ordering::Relaxed) % 2 == 1 {
            PolicyDecision::deny("flaky")
        } else {
            PolicyDecision::allow()
        }
    }
    fn name(&self) -> &str {
        "Flaky"
    }
}

#[test]
fn the_determinism_check_passes_pure_policies_and_catches_a_stateful_one() {
    let contexts = [spawn_ctx("sandbox", IdentityKind::System), spawn_ctx("user", IdentityKind::Service), delegate_ctx("user", "sandbox")];
    let pure: Vec<Box<dyn PolicyEngine>> = vec![Box::new(NoOpPolicy), Box::new(TrustDomainPolicy), Box::new(PipelineSafetyPolicy::new())];
    let mut memo = DecisionMemo::default();
    let mut log = RuleLog::default();
    for round in 0..3 {
        for (p, policy) in pure.iter().enumerate() {
            for ctx in &contexts {
                for event in PolicyEvent::ALL {
                    // One memo per policy: key the context with the policy index.
                    let ctx = ctx.clone().with_metadata("policy", p.to_string());
                    memo.observe(event, &ctx, &policy.evaluate(event, &ctx), &mut log);
                }
            }
        }
        assert!(log.is_clean(), "round {round}");
    }
    assert_eq!(log.count("policy.deterministic"), 2 * 3 * 3 * 7);
    let flaky = Flaky(AtomicU32::new(0));
    let ctx = spawn_ctx("user", IdentityKind::Service);
    memo.observe(PolicyEvent::OnSpawn, &ctx, &flaky.evaluate(PolicyEvent::OnSpawn, &ctx), &mut log);
    memo.observe(PolicyEvent::OnSpawn, &ctx, &flaky.evaluate(PolicyEvent::OnSpawn, &ctx), &mut log);
    assert_eq!(log.breached(), ["policy.deterministic"]);
}

// ----- scenario-written policies --------------------------------------------------------------

#[test]
fn rule_lists_decide_by_the_first_matching_rule_and_allow_otherwise() {
    let policy = RuleListPolicy {
        name: "Rules".into(),
        rules: vec![
            PolicyRule { on: vec![PolicyEvent::OnSpawn], when: vec![RuleCondition::ActorDomain("sandbox".into())], then: RuleDecision::Deny("sandbox spawns nothing".into()) },
            PolicyRule { on: vec![], when: vec![RuleCondition::CrossDomain], then: RuleDecision::Require("approval".into()) },
            PolicyRule { on: vec![PolicyEvent::OnSpawn], when: vec![], then: RuleDecision::Require("never reached for sandbox".into()) },
        ],
    };
    assert_eq!(policy.evaluate(PolicyEvent::OnSpawn, &spawn_ctx("sandbox", IdentityKind::Service)), PolicyDecision::deny("sandbox spawns nothing"));
    assert_eq!(policy.evaluate(PolicyEvent::OnCapabilityDelegate, &delegate_ctx("user", "core")), PolicyDecision::require("approval"));
    assert_eq!(policy.evaluate(PolicyEvent::OnSpawn, &spawn_ctx("user", IdentityKind::Service)), PolicyDecision::require("never reached for sandbox"));
    assert_eq!(policy.evaluate(PolicyEvent::OnTerminate, &spawn_ctx("user", IdentityKind::Service)), PolicyDecision::allow());
    assert_eq!(policy.name(), "Rules");
}

#[test]
fn rule_conditions_table() {
    let ctx = PolicyContext::for_capability_delegation(identity(1, "user", IdentityKind::Component), identity(2, "core", IdentityKind::System), 9)
        .with_stage(model::pipeline::StageId(2))
        .with_metadata("timeout_ms", "500");
    let ctx = PolicyContext { pipeline_id: Some(model::pipeline::PipelineId(4)), ..ctx };
    use RuleCondition as C;
    let cases = [
        (C::ActorDomain("user".into()), true),
        (C::ActorDomain("core".into()), false),
        (C::TargetDomain("core".into()), true),
        (C::ActorKind(IdentityKind::Component), true),
        (C::TargetKind(IdentityKind::System), true),
        (C::TargetKind(IdentityKind::Service), false),
        (C::CrossDomain, true),
        (C::Capability(9), true),
        (C::Capability(8), false),
        (C::Pipeline(model::pipeline::PipelineId(4)), true),
        (C::Stage(model::pipeline::StageId(2)), true),
        (C::Stage(model::pipeline::StageId(1)), false),
        (C::HasMetadata("timeout_ms".into()), true),
        (C::HasMetadata("stage_count".into()), false),
        (C::MetadataEquals { key: "timeout_ms".into(), value: "500".into() }, true),
        (C::MetadataEquals { key: "timeout_ms".into(), value: "50".into() }, false),
        (C::MetadataAbove { key: "timeout_ms".into(), value: 499 }, true),
        (C::MetadataAbove { key: "timeout_ms".into(), value: 500 }, false),
        (C::Not(Box::new(C::CrossDomain)), false),
        (C::Not(Box::new(C::Capability(8))), true),
    ];
    for (c, expected) in cases {
        assert_eq!(c.holds(&ctx), expected, "{c:?}");
    }
    let no_target = PolicyContext::new(identity(1, "user", IdentityKind::Component));
    assert!(!C::TargetDomain("user".into()).holds(&no_target));
    assert!(!C::TargetKind(IdentityKind::Component).holds(&no_target));
}

#[test]
fn the_cross_domain_focus_policy_of_the_input_section() {
    // "Focus requests can be policy-gated": cross-domain → deny, otherwise allow.
    let spec: PolicySpec = ron::from_str(
        r#"Rules((name: "FocusPolicy", rules: [
            (on: [OnInputFocusRequest], when: [CrossDomain], then: Deny("Cross-domain focus requires approval")),
        ]))"#,
    )
    .unwrap();
    let policy = spec.build();
    let request = |holder: &str| PolicyContext::for_focus_request(identity(1, "user", IdentityKind::Component), Some(identity(2, holder, IdentityKind::Component)));
    assert_eq!(policy.evaluate(PolicyEvent::OnInputFocusRequest, &request("core")), PolicyDecision::deny("Cross-domain focus requires approval"));
    assert_eq!(policy.evaluate(PolicyEvent::OnInputFocusRequest, &request("user")), PolicyDecision::allow());
    assert_eq!(policy.evaluate(PolicyEvent::OnSpawn, &request("core")), PolicyDecision::allow());
}

#[test]
fn policy_specs_build_the_reference_policies_and_round_trip() {
    let text = r#"Composed([
        NoOp,
        TrustDomain,
        PipelineSafety(max_stages_unsupervised: 2),
        PipelineSafety(),
        Rules((name: "R", rules: [(then: Derive(capabilities: [1, 2], constraints: ["read-only"]))])),
        Composed([]),
    ])"#;
    let spec: PolicySpec = ron::from_str(text).unwrap();
    let PolicySpec::Composed(parts) = &spec else { panic!("composed") };
    assert_eq!(parts[2], PolicySpec::PipelineSafety { max_stages_unsupervised: 2 });
    assert_eq!(parts[3], PolicySpec::PipelineSafety { max_stages_unsupervised: 10 }, "the default parameter");
    let names: Vec<String> = parts.iter().map(|p| p.build().name().to_string()).collect();
    assert_eq!(names, ["NoOpPolicy", "TrustDomainPolicy", "PipelineSafetyPolicy", "PipelineSafetyPolicy", "R", "ComposedPolicy"]);
    let again: PolicySpec = ron::from_str(&ron::to_string(&spec).unwrap()).unwrap();
    assert_eq!(again, spec);
    let built = spec.build();
    let report = built.evaluate_with_report(PolicyEvent::OnPipelineStart, &PolicyContext::for_pipeline(identity(1, "core", IdentityKind::Service), model::pipeline::PipelineId(1)));
    assert_eq!(report.evaluated_policies.len(), 6);
    assert_eq!(report.decision.derived().map(|d| d.capabilities.clone()), Some(CapabilitySet::from([1, 2])));
    // Built engines decide like the engines they name.
    for ctx in [spawn_ctx("sandbox", IdentityKind::System), delegate_ctx("user", "sandbox")] {
        for event in PolicyEvent::ALL {
            assert_eq!(PolicySpec::TrustDomain.build().evaluate(event, &ctx), TrustDomainPolicy.evaluate(event, &ctx));
        }
    }
}

#[test]
fn policy_specs_reject_unknown_fields() {
    assert!(ron::from_str::<PolicySpec>(r#"Rules((name: "R", rules: [], extra: 1))"#).is_err());
    assert!(ron::from_str::<PolicySpec>(r#"Rules((name: "R", rules: [(then: Allow, unless: [])]))"#).is_err());
    assert!(ron::from_str::<PolicySpec>(r#"PipelineSafety(max_stages: 2)"#).is_err());
    assert!(ron::from_str::<PolicySpec>(r#"Sandbox"#).is_err());
}

#[test]
fn decisions_and_contexts_fold_deterministically_and_distinctly() {
    use model::trace_hash::TraceHasher;
    let digest = |f: &dyn Fn(&mut TraceHasher)| {
        let mut h = TraceHasher::default();
        f(&mut h);
        h.value()
    };
    let decisions = [PolicyDecision::allow(), PolicyDecision::deny("a"), PolicyDecision::require("a"), PolicyDecision::allow_with_derived(model::derivation::DerivedAuthority::from_capabilities([]))];
    let ds: std::collections::BTreeSet<u64> = decisions.iter().map(|d| digest(&|h| h.feed(d))).collect();
    assert_eq!(ds.len(), decisions.len());
    let c1 = spawn_ctx("user", IdentityKind::Service);
    assert_eq!(digest(&|h| h.feed(&c1)), digest(&|h| h.feed(&c1.clone())));
    assert_ne!(digest(&|h| h.feed(&c1)), digest(&|h| h.feed(&c1.clone().with_metadata("k", "v"))));
    assert_ne!(digest(&|h| h.feed(&c1)), digest(&|h| h.feed(&spawn_ctx("sandbox", IdentityKind::Service))));
}

// ----- Pipeline Policy Enforcement -----------------------------------------------------------

fn world_with(policy: PolicySpec) -> World {
    World { policy: Some(policy.build()), ..World::new() }
}

fn deny_sandbox_pipelines() -> PolicySpec {
    ron::from_str(r#"Rules((name: "DenySandboxPipelinePolicy", rules: [(on: [OnPipelineStart], when: [ActorDomain("user")], then: Deny("Sandbox cannot run pipelines"))]))"#).unwrap()
}

fn started(events: &[PipelineEvent]) -> usize {
    events.iter().filter(|e| matches!(e, PipelineEvent::AttemptStarted { .. })).count()
}

#[test]
fn pipeline_safety_policy_requires_a_timeout_for_user_pipelines() {
    let handlers = vec![StageHandler::default(); 2];
    let without = run_in(chain(2, |_, s| s), &handlers, CapabilitySet::new(), world_with(PolicySpec::PipelineSafety { max_stages_unsupervised: 10 }), None, &[]);
    let Err(ExecutorError::PolicyRequire { policy, event, action, pipeline_id }) = &without.result else { panic!("{:?}", without.result) };
    assert_eq!((policy.as_str(), *event, action.as_str()), ("PipelineSafetyPolicy", PolicyEvent::OnPipelineStart, "Pipelines in user domain must specify timeout"));
    assert_eq!(*pipeline_id, Some(model::pipeline::PipelineId(1)));
    assert_eq!(without.result.as_ref().unwrap_err().to_string(), "REQUIRES: Pipelines in user domain must specify timeout (policy: PipelineSafetyPolicy, event: OnPipelineStart)");
    assert_eq!(started(&without.events), 0, "no stage runs");
    assert!(without.executor.trace().entries.is_empty());
    assert!(matches!(without.executor.trace().final_result, PipelineExecutionResult::Failed { stage_name: None, .. }));
    without.assert_clean();

    let with = run_in(chain(2, |_, s| s).with_timeout_ms(5000), &handlers, CapabilitySet::new(), world_with(PolicySpec::PipelineSafety { max_stages_unsupervised: 10 }), None, &[]);
    assert_eq!(with.result, Ok(()));
    assert_eq!(with.executor.trace().entries.len(), 2);
    with.assert_clean();

    let supervised = run_in(chain(3, |_, s| s).with_timeout_ms(5000), &[], CapabilitySet::new(), world_with(PolicySpec::PipelineSafety { max_stages_unsupervised: 2 }), None, &[]);
    assert!(matches!(&supervised.result, Err(ExecutorError::PolicyRequire { action, .. }) if action == "Pipelines with 3 stages require supervision"));
}

#[test]
fn a_policy_denies_the_whole_pipeline_before_any_stage() {
    let r = run_in(chain(3, |_, s| s), &[], CapabilitySet::from([1]), world_with(deny_sandbox_pipelines()), None, &[]);
    let Err(ExecutorError::PolicyDenied { policy, reason, .. }) = &r.result else { panic!("{:?}", r.result) };
    assert_eq!((policy.as_str(), reason.as_str()), ("DenySandboxPipelinePolicy", "Sandbox cannot run pipelines"));
    assert_eq!(r.result.as_ref().unwrap_err().to_string(), "DENIED by DenySandboxPipelinePolicy: Sandbox cannot run pipelines (event: OnPipelineStart)");
    assert_eq!(started(&r.events), 0);
    assert!(r.world.policy_audit.has_event(|e| e.event == PolicyEvent::OnPipelineStart && e.decision.is_deny()));
    assert!(!r.world.policy_audit.has_event(|e| e.event == PolicyEvent::OnPipelineStageStart), "no stage was evaluated");
    assert_eq!(r.world.resources.usage(executor_identity().execution_id).pipeline_stages.get(), 0, "nothing consumed");
    r.assert_clean();
}

#[test]
fn a_policy_denies_one_stage_and_nothing_after_it_runs_or_leaks() {
    let spec: PolicySpec = ron::from_str(r#"Rules((name: "NoStage1", rules: [(on: [OnPipelineStageStart], when: [Stage(1)], then: Deny("stage 1 is forbidden"))]))"#).unwrap();
    let handlers = [StageHandler::succeeding(vec![10]), StageHandler::succeeding(vec![11]), StageHandler::succeeding(vec![12])];
    let r = run_in(chain(3, |_, s| s), &handlers, CapabilitySet::new(), world_with(spec), None, &[]);
    assert!(matches!(&r.result, Err(ExecutorError::PolicyDenied { event: PolicyEvent::OnPipelineStageStart, .. })));
    assert_eq!(r.attempts(), [(0, 0)], "stage 0 ran, stage 1 was refused at its boundary");
    assert_eq!(r.executor.authority().pool(), &CapabilitySet::from([10]), "only stage 0's capability joined the pool");
    assert!(matches!(&r.executor.trace().final_result, PipelineExecutionResult::Failed { stage_name: Some(n), .. } if n == "s1"));
    assert!(r.events.iter().any(|e| matches!(e, PipelineEvent::PolicyChecked { verdict: Verdict::Denied, stage: Some(s), .. } if s.0 == 1)));
    r.assert_clean();
}

#[test]
fn require_at_stage_start_also_stops_the_pipeline() {
    let spec: PolicySpec = ron::from_str(r#"Rules((name: "Approve", rules: [(on: [OnPipelineStageStart], when: [MetadataEquals(key: "stage_name", value: "s0")], then: Require("operator approval"))]))"#).unwrap();
    let r = run_in(chain(2, |_, s| s), &[], CapabilitySet::new(), world_with(spec), None, &[]);
    assert!(matches!(&r.result, Err(ExecutorError::PolicyRequire { policy, action, .. }) if policy == "Approve" && action == "operator approval"));
    assert_eq!(started(&r.events), 0);
    r.assert_clean();
}

#[test]
fn stage_end_decisions_are_recorded_but_never_enforced() {
    let spec: PolicySpec = ron::from_str(r#"Rules((name: "Grumpy", rules: [(on: [OnPipelineStageEnd], then: Deny("I do not like endings"))]))"#).unwrap();
    let r = run_in(chain(3, |_, s| s), &[], CapabilitySet::new(), world_with(spec), None, &[]);
    assert_eq!(r.result, Ok(()));
    assert_eq!(r.world.policy_audit.find_events(|e| e.event == PolicyEvent::OnPipelineStageEnd && e.decision.is_deny()).len(), 3);
    assert!(r.events.iter().filter(|e| matches!(e, PipelineEvent::PolicyChecked { verdict: Verdict::Observed, .. })).count() == 3);
    r.assert_clean();
}

#[test]
fn stage_end_is_recorded_for_stages_that_failed_but_not_for_cancelled_ones() {
    let count_ends = |r: &Run| r.world.policy_audit.find_events(|e| e.event == PolicyEvent::OnPipelineStageEnd).len();
    let failing = run_in(chain(2, |_, s| s), &[always_failing()], CapabilitySet::new(), world_with(PolicySpec::NoOp), None, &[]);
    assert_eq!(count_ends(&failing), 1, "a permanent failure ends the stage");
    let spec = chain(1, |_, s| s.with_retry_policy(model::pipeline::RetryPolicy::fixed_retries(1, 5)));
    let retry = StageHandler::default().with_outcome(model::pipeline::HandlerOutcome::FailRetryably("busy".into()));
    let given_up = run_in(spec, &[retry], CapabilitySet::new(), world_with(PolicySpec::NoOp), None, &[]);
    assert_eq!(count_ends(&given_up), 1, "giving up after the retries ends the stage once");
    let timed_out = run_in(chain(1, |_, s| s.with_timeout_ms(5)), &[StageHandler::default().with_duration_ms(9)], CapabilitySet::new(), world_with(PolicySpec::NoOp), None, &[]);
    assert_eq!(count_ends(&timed_out), 0, "a cancelled stage has no end decision");
}

fn always_failing() -> StageHandler {
    StageHandler::default().with_outcome(model::pipeline::HandlerOutcome::FailPermanently("no".into()))
}

#[test]
fn without_a_policy_the_pipeline_behaves_as_with_an_allowing_one_and_nothing_is_audited() {
    let handlers = [StageHandler::succeeding(vec![5]).with_duration_ms(3), StageHandler::default().with_duration_ms(4)];
    let spec = chain(2, |i, s| if i == 1 { s.with_capabilities(vec![5]) } else { s });
    let none = run(spec.clone(), &handlers, CapabilitySet::from([1]));
    let noop = run_in(spec, &handlers, CapabilitySet::from([1]), world_with(PolicySpec::NoOp), None, &[]);
    assert_eq!(none.result, Ok(()));
    assert_eq!(none.executor.trace(), noop.executor.trace());
    assert!(none.world.policy_audit.is_empty());
    assert_eq!(noop.world.policy_audit.len(), 1 + 2 * 2, "pipeline start, then start and end of each stage");
    none.assert_clean();
    noop.assert_clean();
}

#[test]
fn policy_decisions_stay_coherent_when_the_pipeline_is_cancelled() {
    // Cancel during stage 1 of 3: decisions exist for stages 0 and 1 only, no stage-end for the
    // cancelled stage, no capabilities from it.
    let mut world = world_with(PolicySpec::NoOp);
    let source = world.cancellations.new_source();
    world.cancel_at = Some((Instant(15_000_000), source, CancellationReason::UserCancel));
    let handlers = vec![StageHandler::succeeding(vec![1]).with_duration_ms(10); 3];
    let r = run_in(chain(3, |_, s| s), &handlers, CapabilitySet::new(), world, Some(source.token()), &[]);
    assert!(matches!(&r.result, Err(ExecutorError::Cancelled { reason: CancellationReason::UserCancel, stage_name: Some(n) }) if n == "s1"));
    let stage_starts: Vec<_> = r.events.iter().filter_map(|e| match e {
        PipelineEvent::PolicyChecked { event: PolicyEvent::OnPipelineStageStart, stage, .. } => *stage,
        _ => None,
    }).map(|s| s.0).collect();
    assert_eq!(stage_starts, [0, 1]);
    assert_eq!(r.world.policy_audit.find_events(|e| e.event == PolicyEvent::OnPipelineStageEnd).len(), 1, "only stage 0 ended");
    assert_eq!(r.executor.authority().pool(), &CapabilitySet::from([1]));
    r.assert_clean();
}

#[test]
fn policy_checks_happen_at_virtual_time() {
    let handlers = vec![StageHandler::default().with_duration_ms(7); 2];
    let r = run_in(chain(2, |_, s| s), &handlers, CapabilitySet::new(), world_with(PolicySpec::NoOp), None, &[]);
    let times: Vec<(PolicyEvent, u64)> = r.world.policy_audit.events().iter().map(|e| (e.event, e.timestamp.nanos() / 1_000_000)).collect();
    use PolicyEvent::*;
    assert_eq!(times, [(OnPipelineStart, 0), (OnPipelineStageStart, 0), (OnPipelineStageEnd, 7), (OnPipelineStageStart, 7), (OnPipelineStageEnd, 14)]);
}

#[test]
fn a_composition_is_empty_until_a_policy_is_added() {
    use model::policy::{ComposedPolicy, NoOpPolicy};
    assert!(ComposedPolicy::new().is_empty());
    assert!(!ComposedPolicy::new().add_policy(Box::new(NoOpPolicy)).is_empty());
}
