//! Traces on the host: recording a run, reading and writing trace files in both encodings, and
//! replaying a trace bit for bit with a report of the first divergence.
//!
//! - [`record`] runs a scenario with a seed and returns its [`Trace`] (scenario, choices, per-event
//!   digests and descriptions, outcome).
//! - [`files`] reads a trace file in either encoding (detected by the binary magic) and writes one
//!   atomically (temporary file, then rename).
//! - [`json`]: JSON as every tool prints it (64-bit seeds and hashes as strings).
//! - [`verify`] re-executes a trace from its recorded choices and compares every event digest and
//!   the outcome.

pub mod files;
pub mod json;
pub mod text;
pub mod verify;

pub use model::trace::{Trace, TraceError, TraceOutcome};
pub use verify::{replay, replay_binary, Divergence, ReplayReport};

use model::{RunConfig, RunReport, Scenario};

/// Runs `scenario` with `seed`, recording everything a trace needs, in memory (for short runs;
/// [`files::record_to_file`] streams a long one to disk).
pub fn record(scenario: &Scenario, seed: u64) -> (Trace, RunReport) {
    let config = RunConfig { seed, record_events: true, ..RunConfig::default() };
    let report = model::run(scenario, &config);
    (Trace::from_run(scenario, seed, &report), report)
}

/// Writes a line to stdout; a closed pipe (`| head`) ends the output quietly instead of
/// panicking. Shared by the harness' command-line tools.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Like [`out!`] without the newline.
#[macro_export]
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}
