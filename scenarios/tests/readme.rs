//! The README's examples: the complete example is `tests/data/example.ron` verbatim, and every
//! RON example in the README parses, validates and passes its own expectations (in the build of
//! its networking path: canonical `network` examples in default builds, `lite_network` ones in lite
//! builds).

use model::{run, RunConfig};
use scenarios::parse_scenario;

const README: &str = include_str!("../README.md");
const EXAMPLE: &str = include_str!("data/example.ron");

/// The bodies of the README's ```` ```ron ```` code blocks.
fn ron_blocks() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in README.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```ron") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(body), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn complete_example_is_the_test_file() {
    let blocks = ron_blocks();
    assert!(blocks.len() >= 2, "README has its RON examples");
    assert_eq!(blocks[0], EXAMPLE, "README's complete example differs from tests/data/example.ron");
}

#[test]
fn readme_examples_pass() {
    for (i, block) in ron_blocks().iter().enumerate() {
        if !scenarios::runs_here(block) {
            continue; // an example of the other networking path: the other configuration runs it
        }
        let origin = format!("README.md example {i}");
        let scenario = parse_scenario(block, &origin).unwrap_or_else(|e| panic!("{e}"));
        let report = run(&scenario, &RunConfig::seeded(scenario.seed));
        let unmet: Vec<_> = report.expectations.iter().filter(|e| !e.met).collect();
        assert!(report.passed(), "{origin} fails: {unmet:?}");
    }
}
