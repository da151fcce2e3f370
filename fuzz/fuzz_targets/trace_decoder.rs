//! The binary trace decoder (`PGTRACE`, version byte, postcard): untrusted bytes must decode or be
//! rejected with an error, never panic. A decoded trace whose scenario validates is replayed with
//! bounded limits (at most 5,000 events and 100 ms of virtual time); replay must report a match or
//! a divergence, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use model::trace::Trace;

fuzz_target!(|data: &[u8]| {
    let Ok(mut trace) = Trace::from_binary(data) else {
        return;
    };
    if trace.scenario.validate().is_err() {
        return;
    }
    trace.scenario.limits.max_events = trace.scenario.limits.max_events.min(5_000);
    trace.scenario.limits.max_time_ns = trace.scenario.limits.max_time_ns.min(100_000_000);
    let _ = replay::replay(&trace, 2);
});
