//! The RON scenario loader: arbitrary text must parse, or be rejected with an error, never panic.
//! Whatever it accepts (a validated scenario) is run with bounded limits (at most 5,000 events and
//! 100 ms of virtual time), which must not panic either (violations are fine: scenarios may plant
//! bugs).

#![no_main]

use libfuzzer_sys::fuzz_target;
use model::RunConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut scenario) = scenarios::parse_scenario(text, "fuzz") else {
        return;
    };
    scenario.limits.max_events = scenario.limits.max_events.min(5_000);
    scenario.limits.max_time_ns = scenario.limits.max_time_ns.min(100_000_000);
    let _ = model::run(&scenario, &RunConfig::seeded(scenario.seed));
});
