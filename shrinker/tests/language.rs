//! Shrinking scenarios written with the newer steps and expectations (`Spawn`, `IsValid`, a
//! blocking `Receive`, timing expectations): the shrinker keeps, deletes and simplifies them like
//! any other part, deleting a `Spawn` step deletes what names its child, and the shrunk file
//! states its steps' results in place and still reads back as the same scenario.

use model::scenario::{StepOp, StepOutcome};
use model::RunConfig;
use shrinker::{output, shrink, Budget};
use std::sync::atomic::AtomicBool;

/// `DelegateKeepsSource` breaks the move of `f` from p to the child it spawns (step 4); the other
/// steps, the second spawn and the expectations are noise the shrinker must remove.
const FAILING: &str = r#"(
    name: "spawn-bug",
    limits: (sched_jitter_ns: 0),
    tasks: [
        (name: "p", behaviour: Idle, caps: [(label: "f", kind: "file_read")]),
        (name: "q", behaviour: Idle),
        (name: "rx", behaviour: Idle),
    ],
    steps: [
        (at_ns: 1_000, op: CreateChannel(task: "rx", channel: "c")),
        (at_ns: 2_000, op: Receive(task: "rx", channel: "c", timeout_ns: 5_000), expect: Err(Timeout)),
        (at_ns: 3_000, op: Spawn(task: "q", child: (name: "other", behaviour: Idle, caps: [(label: "o", kind: "net")]))),
        (at_ns: 4_000, op: IsValid(task: "other", cap: "o"), expect: Valid),
        (at_ns: 10_000, op: Spawn(task: "p", child: (name: "kid", behaviour: Idle), give: ["f"])),
    ],
    bugs: [DelegateKeepsSource],
    expect: (verdict: Violation("cap.single_owner"), timing: [(event: Step(1), at_ns: 7_000)]),
)"#;

#[test]
fn shrinking_keeps_the_spawn_that_matters_and_drops_the_rest() {
    let scenario = scenarios::parse_scenario(FAILING, "spawn-bug.ron").expect("valid");
    let report = model::run(&scenario, &RunConfig { seed: 0, record_choices: true, ..RunConfig::default() });
    assert!(report.passed(), "the input fails as it says: {:#?}", report.expectations);
    let choices = report.choices.clone().unwrap_or_default();
    let shrunk = shrink(&scenario, choices, 0, Budget::default(), &AtomicBool::new(false), &mut |_| {}).expect("it fails");
    assert_eq!(shrunk.signature, "cap.single_owner@capability.delegate");
    let steps = &shrunk.scenario.steps;
    assert_eq!(steps.len(), 1, "only the failing spawn is left: {steps:#?}");
    assert!(matches!(&steps[0].op, StepOp::Spawn { give, .. } if give == &["f"]), "{steps:#?}");
    assert_eq!(steps[0].expect, Some(StepOutcome::Ok), "the shrunk file states the step's result");
    assert!(shrunk.scenario.expect.timing.is_empty(), "the input's other expectations are gone");
    let text = output::scenario_text(&shrunk, "spawn-bug.ron");
    let reread = scenarios::parse_scenario(&text, "shrunk.ron").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(reread, shrunk.scenario, "{text}");
    let rerun = model::run(&reread, &RunConfig::seeded(reread.seed));
    assert!(rerun.passed(), "{:#?}", rerun.expectations);
}

#[test]
fn deleting_a_spawn_step_deletes_what_names_its_child() {
    let tree = shrinker::tree::to_tree(&scenarios::parse_scenario(FAILING, "spawn-bug.ron").expect("valid"));
    let steps = tree.get("steps").and_then(|s| s.as_array()).expect("steps");
    assert_eq!(shrinker::tree::spawned_names(&steps[2..3]), vec![String::from("other")]);
    assert!(shrinker::tree::spawned_names(&steps[0..2]).is_empty());
}
