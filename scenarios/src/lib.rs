//! The `scenarios` crate: reads PandaGen scenarios from RON files and presents run results.
//!
//! - [`parse_scenario`] / [`load_scenario`]: RON text or file → validated [`model::Scenario`],
//!   with errors that carry the file, line and column ([`LoadError`]); [`locate_expectations`]
//!   maps each expectation result of a run back to its line in the file;
//! - [`render_summary`], [`render_audit`], [`render_authority`], [`render_interactive`], [`render_network`], [`JsonOutput`]: text and JSON
//!   forms of a [`model::RunReport`];
//! - [`compare_runs`] / [`check_against`]: the determinism check.
//!
//! The `scenario` binary (`src/bin/scenario.rs`) ties them together; the scenario format is
//! documented in `scenarios/README.md`.

mod authority;
mod interactive;
mod determinism;
mod error;
mod json;
mod lint;
mod load;
mod locate;
mod network;
mod scan;
mod summary;

pub use authority::render_authority;
pub use interactive::render_interactive;
pub use network::render_network;
pub use determinism::{check_against, compare_runs, render_check, DeterminismCheck};
pub use error::LoadError;
pub use json::{audit_json, render_json, JsonOutput};
pub use lint::{lint, Warning};

/// The warnings of [`lint`], each as `warning: <file>:<line>:<column>: <path>: <message>`.
pub fn render_warnings(warnings: &[Warning], source: &str, file: &str) -> String {
    warnings
        .iter()
        .map(|w| {
            let (line, column) = locate::locate(source, &w.path, None);
            format!("warning: {file}:{line}:{column}: {}: {}\n", w.path, w.message)
        })
        .collect()
}
pub use load::{load_scenario, load_scenario_with_source, locate_expectations, parse_scenario, parse_unvalidated, ron_options};
pub use summary::{format_ms, render_audit, render_summary, render_unmet, reproduce_command, reproduce_run_command, verdict};

/// The networking path a scenario text needs, if any (seed 001: a build has exactly one): a
/// top-level `lite_network` needs `net-bringup-lite`, a `network` needs `net-canonical`; a
/// scenario with neither runs in both. Read from the text (a field name at the start of a line), so
/// it works whichever path this build has; the scenario-files tests check it against the loader.
pub fn required_net_path(text: &str) -> Option<&'static str> {
    let fields = || text.lines().map(str::trim_start);
    if fields().any(|l| l.starts_with("lite_network:")) {
        Some("net-bringup-lite")
    } else if fields().any(|l| l.starts_with("network:")) {
        Some("net-canonical")
    } else {
        None
    }
}

/// Whether this build runs a scenario text (see [`required_net_path`]).
pub fn runs_here(text: &str) -> bool {
    required_net_path(text).is_none_or(|p| p == model::scenario::NET_PATH)
}

/// Parses a seed given on a command line: decimal or `0x` hex, the forms every tool prints.
pub fn parse_seed(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|e| format!("expected a 64-bit unsigned seed (decimal or 0x hex): {e}"))
}
