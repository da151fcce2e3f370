//! The `scenarios` crate: reads PandaGen scenarios from RON files and presents run results.
//!
//! - [`parse_scenario`] / [`load_scenario`]: RON text or file → validated [`model::Scenario`],
//!   with errors that carry the file, line and column ([`LoadError`]);
//! - [`render_summary`], [`render_audit`], [`JsonOutput`]: text and JSON forms of a
//!   [`model::RunReport`];
//! - [`compare_runs`] / [`check_against`]: the determinism check.
//!
//! The `scenario` binary (`src/bin/scenario.rs`) ties them together; the scenario format is
//! documented in `scenarios/README.md`.

mod determinism;
mod error;
mod json;
mod load;
mod locate;
mod scan;
mod summary;

pub use determinism::{check_against, compare_runs, render_check, DeterminismCheck};
pub use error::LoadError;
pub use json::{render_json, JsonOutput};
pub use load::{load_scenario, parse_scenario, parse_unvalidated, ron_options};
pub use summary::{format_ms, render_audit, render_summary, render_unmet, reproduce_command, verdict};
