//! The workspace's part in the authority checks, shown on scenario files: its policy decisions
//! (launch `OnSpawn`, focus `OnInputFocusRequest`) are policy observations that
//! `policy.deterministic` and `policy.composition_precedence` check, and an editor's saves are
//! `StorageOps` charges that `budget.exact_consumption` matches with the saves.

use model::{run, RunConfig, RunReport, Scenario};
use std::path::Path;

fn load(file: &str) -> Scenario {
    scenarios::load_scenario(&Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).expect("the scenario loads")
}

fn checks(report: &RunReport, invariant: &str) -> u64 {
    report.invariant_checks.iter().find(|(id, _)| id == invariant).map_or(0, |(_, n)| *n)
}

#[test]
fn every_workspace_policy_decision_is_checked_for_composition_precedence() {
    let report = run(&load("workspace_launch_close.ron"), &RunConfig::default());
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    // One policy, so one audit record per decision: four launches and two focus requests.
    let audit = &report.authority.as_ref().expect("the workspace uses the authority state").policy_audit;
    let decisions = audit.len() as u64;
    assert_eq!(decisions, 6, "{audit:?}");
    assert_eq!(checks(&report, "policy.composition_precedence"), decisions);
    assert_eq!(report.stats.policy_evaluations, decisions);
    assert_eq!(report.stats.policy_refusals, 2, "the sandbox launch and the guest's focus request");
}

#[test]
fn a_repeated_workspace_focus_request_is_checked_for_determinism() {
    let mut scenario = load("workspace_launch_close.ron");
    let once = run(&scenario, &RunConfig::default());
    assert_eq!(checks(&once, "policy.deterministic"), 0, "no decision repeats in the file as it is");
    // `next` from the editor asks again for the guest shell's focus: the same input as before.
    let again = scenario.steps.iter().find(|s| matches!(s.op, model::scenario::StepOp::NextComponent)).expect("the file has a NextComponent step").clone();
    let mut later = again.clone();
    later.at_ns += 100_000;
    scenario.steps.push(later);
    scenario.steps.sort_by_key(|s| s.at_ns);
    scenario.expect = Default::default();
    let twice = run(&scenario, &RunConfig::default());
    assert!(twice.violations.is_empty(), "{:?}", twice.violations);
    assert_eq!(checks(&twice, "policy.deterministic"), 1);
}

#[test]
fn an_editor_save_is_charged_its_storage_operations() {
    let report = run(&load("editor_save_budget.ron"), &RunConfig::default());
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!(report.stats.storage_ops, 3, "a save (read, write), then a read before the refused write");
    // A save of an existing document costs two: the plain session's one save.
    let session = run(&load("editor_save_session.ron"), &RunConfig::default());
    assert_eq!(session.stats.storage_ops, 2);
}

#[test]
fn a_save_that_touches_no_storage_is_not_charged_and_the_check_says_so() {
    // `SaveReusesVersion` records a save without writing anything: no StorageOps are charged, which
    // the save-charge part of budget.exact_consumption reports after editor.save_creates_version.
    let report = run(&load("bug_save_reuses_version.ron"), &RunConfig::default());
    let ids: Vec<&str> = report.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(ids.first(), Some(&"editor.save_creates_version"), "{:?}", report.violations);
    let charge = report.violations.iter().find(|v| v.invariant == "budget.exact_consumption").expect("the uncharged save is reported");
    assert!(charge.message.contains("charged 0 StorageOps"), "{}", charge.message);
}
