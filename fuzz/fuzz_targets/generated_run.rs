//! A generated run checked against every invariant: the fuzzer's bytes become the choices that
//! shape the scenario (services, clients, passers, workload, swarm fault plan) and then drive the
//! run itself (`model::generate::fuzz_case`). Any invariant violation is a crash.
//!
//! `PANDAGEN_FUZZ_BUG=<PlantedBug>` (e.g. `DelegateKeepsSource`) switches a planted bug on, to
//! measure how fast coverage guidance finds it. Unset (or empty) = the correct model.
//!
//! A crash artifact maps to exactly one `(scenario, run choices)` pair; turn it into a shrunk,
//! replayable repro with `cargo run --release --bin shrink -- --fuzz-artifact <file> --out repro.ron`
//! (plus `--bug <name>` when it was found with `PANDAGEN_FUZZ_BUG`). That command decodes the
//! artifact with the same `GenConfig::fuzzing` as [`config`].

#![no_main]

use libfuzzer_sys::fuzz_target;
use model::bugs::PlantedBug;
use model::generate::{fuzz_case, GenConfig};
use model::RunConfig;
use std::sync::OnceLock;

/// The planted bug named by `PANDAGEN_FUZZ_BUG`, if any.
fn bugs_from_env() -> Vec<PlantedBug> {
    let Ok(name) = std::env::var("PANDAGEN_FUZZ_BUG") else {
        return Vec::new();
    };
    let name = name.trim();
    if name.is_empty() {
        return Vec::new();
    }
    match PlantedBug::reachable().find(|bug| format!("{bug:?}") == name) {
        Some(bug) => vec![bug],
        None => {
            let known: Vec<String> = PlantedBug::reachable().map(|b| format!("{b:?}")).collect();
            eprintln!(
                "PANDAGEN_FUZZ_BUG={name:?} is not a planted bug; known: {}",
                known.join(", ")
            );
            std::process::exit(2);
        }
    }
}

fn config() -> &'static GenConfig {
    static CONFIG: OnceLock<GenConfig> = OnceLock::new();
    CONFIG.get_or_init(|| GenConfig::fuzzing(bugs_from_env()))
}

fuzz_target!(
    // Read PANDAGEN_FUZZ_BUG once, before any input: a bad name stops the fuzzer at start-up.
    init: {
        config();
    },
    |data: &[u8]| {
        let (scenario, choices) = fuzz_case(data, config());
        if let Err(e) = scenario.validate() {
            panic!("generated scenario does not validate: {e}");
        }
        let report = model::run(&scenario, &RunConfig { replay_choices: Some(choices), ..Default::default() });
        if let Some(v) = report.violations.first() {
            panic!(
                "invariant violated: {} at event {} (t={} ns): {} [{}]",
                v.signature(),
                v.event,
                v.at.0,
                v.message,
                v.objects.join(", ")
            );
        }
    }
);
