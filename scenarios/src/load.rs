//! Reading scenarios: RON text → [`Scenario`], then `Scenario::validate`.
//!
//! Parsing uses `ron` with the `implicit_some` extension switched on, so optional fields can be
//! written without `Some(...)` (`bind: "x"` as well as `bind: Some("x")`). Unknown struct fields
//! are rejected (the model's scenario types say `#[serde(deny_unknown_fields)]`), so a misspelt
//! field name is an error instead of a silent default.
//! Syntax and type errors carry RON's own line, column and "Expected ..." message; validation
//! errors are located in the text by `locate`, and so are expectations after a run
//! ([`locate_expectations`]), so an unmet expectation is reported with its own line.

use crate::error::LoadError;
use crate::locate::locate;
use model::{RunReport, Scenario};
use serde::Deserialize;
use std::path::Path;

/// The RON options scenarios are read with: the same as traces (a trace embeds its scenario).
pub use replay::text::ron_options;

/// Parses and validates scenario text; `origin` names it in errors (usually the file path).
pub fn parse_scenario(text: &str, origin: &str) -> Result<Scenario, LoadError> {
    let scenario = parse_unvalidated(text, origin)?;
    scenario.validate().map_err(|e| {
        let (line, column) = locate(text, &e.path, e.name.as_deref());
        LoadError::at(origin, line, column, format!("{} ({})", e.message, e.path))
    })?;
    Ok(scenario)
}

/// Parses scenario text without validating it.
pub fn parse_unvalidated(text: &str, origin: &str) -> Result<Scenario, LoadError> {
    deserialize(text).map_err(|e| {
        LoadError::at(origin, e.span.start.line, e.span.start.col, e.code.to_string())
    })
}

fn deserialize(text: &str) -> Result<Scenario, ron::error::SpannedError> {
    let mut de = ron::Deserializer::from_str_with_options(text, &ron_options())?;
    let scenario = Scenario::deserialize(&mut de).map_err(|e| de.span_error(e))?;
    de.end().map_err(|e| de.span_error(e))?;
    Ok(scenario)
}

/// Reads, parses and validates a scenario file.
pub fn load_scenario(path: &Path) -> Result<Scenario, LoadError> {
    load_scenario_with_source(path).map(|(scenario, _)| scenario)
}

/// [`load_scenario`], also returning the file's text (to locate expectations in it after the run,
/// see [`locate_expectations`]).
pub fn load_scenario_with_source(path: &Path) -> Result<(Scenario, String), LoadError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::whole_file(&origin, format!("cannot read scenario file: {e}")))?;
    let scenario = parse_scenario(&text, &origin)?;
    Ok((scenario, text))
}

/// Gives every expectation result of `report` the line and column where the expectation is
/// written in `source` (a step's own `expect`, an element of an `expect` list, ...).
pub fn locate_expectations(report: &mut RunReport, source: &str) {
    for e in &mut report.expectations {
        e.location = Some(locate(source, &e.path, None));
    }
}
