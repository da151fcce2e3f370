//! Generated whole runs (`model::generate`): every generated scenario validates, the correct
//! model never violates an invariant on them (swarm and uniform), generation is deterministic,
//! and with a planted bug switched on, short searches over generated runs catch every bug.

use model::bugs::PlantedBug;
use model::choices::Choices;
use model::generate::{generate, GenConfig};
use model::{run, RunConfig};

#[path = "support/strategies.rs"]
mod strategies;

fn generated(seed: u64, config: &GenConfig) -> model::Scenario {
    generate(&mut Choices::seeded(seed ^ 0x9e37_79b9_7f4a_7c15), config)
}

#[test]
fn generated_scenarios_validate_and_pass_on_the_correct_model() {
    for swarm in [true, false] {
        let config = GenConfig { swarm, ..GenConfig::default() };
        for seed in 0..150 {
            let s = generated(seed, &config);
            s.validate().unwrap_or_else(|e| panic!("seed {seed} swarm {swarm}: generated an invalid scenario: {e}"));
            let report = run(&s, &RunConfig::seeded(seed));
            assert!(report.violations.is_empty(), "seed {seed} swarm {swarm}: {:#?}\n{s:#?}", report.violations);
            assert!(report.stats.events > 0);
        }
    }
}

#[test]
fn generation_is_deterministic_and_seed_dependent() {
    let config = GenConfig::default();
    assert_eq!(generated(5, &config), generated(5, &config));
    let distinct: std::collections::BTreeSet<String> = (0..20).map(|s| format!("{:?}", generated(s, &config))).collect();
    assert!(distinct.len() >= 18, "generation barely depends on the seed");
}

#[test]
fn arbitrary_bytes_generate_valid_scenarios() {
    // What a fuzzer does: choices straight from bytes (exhausted lists read as zeros).
    for len in [0usize, 1, 7, 64, 300] {
        for fill in [0u64, 1, 255, u64::MAX] {
            let mut choices = Choices::replaying(vec![fill; len]);
            let s = generate(&mut choices, &GenConfig::default());
            s.validate().unwrap_or_else(|e| panic!("len {len} fill {fill}: {e}"));
        }
    }
}

#[test]
fn short_searches_over_generated_runs_catch_every_planted_bug() {
    for bug in PlantedBug::reachable() {
        let config = GenConfig { bugs: vec![bug], ..GenConfig::default() };
        let found = (0..300).find(|&seed| {
            let report = run(&generated(seed, &config), &RunConfig::seeded(seed));
            report.first_violation().is_some_and(|v| bug.is_caught_by(&v.invariant))
        });
        assert!(found.is_some(), "{bug:?} was not found in 300 generated runs");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whole generated runs as a proptest strategy: valid, and never violating on the correct model.
    #[test]
    fn proptest_generated_runs_never_violate(
        scenario in strategies::scenario(GenConfig::default()),
        seed in proptest::prelude::any::<u64>(),
    ) {
        proptest::prop_assert!(scenario.validate().is_ok());
        let report = run(&scenario, &RunConfig::seeded(seed));
        proptest::prop_assert!(report.violations.is_empty(), "{:#?}", report.violations);
    }
}

#[test]
fn swarm_over_a_template_keeps_it_valid_and_varies_it() {
    let template = generated(3, &GenConfig { swarm: false, ..GenConfig::default() });
    let variants: std::collections::BTreeSet<String> = (0..20)
        .map(|seed| {
            let s = model::generate::swarm_template(&template, &mut Choices::seeded(seed));
            s.validate().expect("a swarm subset of a valid scenario is valid");
            assert!(s.faults.message_faults.len() <= template.faults.message_faults.len());
            format!("{:?}", s.faults)
        })
        .collect();
    assert!(variants.len() > 1, "swarm subsets never differ");
}
