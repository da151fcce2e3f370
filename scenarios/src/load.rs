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
use replay::text::{describe, without_bom};

/// Parses and validates scenario text; `origin` names it in errors (usually the file path). A
/// leading UTF-8 byte-order mark is ignored.
pub fn parse_scenario(text: &str, origin: &str) -> Result<Scenario, LoadError> {
    let text = without_bom(text);
    let scenario = parse_unvalidated(text, origin)?;
    scenario.validate().map_err(|e| {
        let (line, column) = locate(text, &e.path, e.name.as_deref());
        LoadError::at(origin, line, column, format!("{} ({})", e.message, e.path))
    })?;
    Ok(scenario)
}

/// Parses scenario text without validating it.
pub fn parse_unvalidated(text: &str, origin: &str) -> Result<Scenario, LoadError> {
    deserialize(without_bom(text)).map_err(|e| LoadError::at(origin, e.span.start.line, e.span.start.col, describe(&e.code)))
}

fn deserialize(text: &str) -> Result<Scenario, ron::error::SpannedError> {
    let mut de = ron::Deserializer::from_str_with_options(text, &ron_options())?;
    let scenario = Scenario::deserialize(&mut de).map_err(|e| de.span_error(e))?;
    de.end().map_err(|e| de.span_error(e))?;
    Ok(scenario)
}

/// Reads, parses and validates a scenario file. A trace given where a scenario belongs (the usual
/// mix-up) is named as such, with the command that replays it.
pub fn load_scenario(path: &Path) -> Result<Scenario, LoadError> {
    load_scenario_with_source(path).map(|(scenario, _)| scenario)
}

/// [`load_scenario`], also returning the file's text (to locate expectations in it after the run,
/// see [`locate_expectations`]).
pub fn load_scenario_with_source(path: &Path) -> Result<(Scenario, String), LoadError> {
    let origin = path.display().to_string();
    let bytes = replay::files::read_file(path, "scenario").map_err(|e| LoadError::whole_file(&origin, e.message))?;
    let as_trace = || replay::files::decode(path, &bytes);
    if replay::files::looks_binary(&bytes) {
        return Err(match as_trace() {
            Ok(_) => trace_given(&origin),
            Err(e) => LoadError::whole_file(&origin, format!("is a binary trace, not a scenario (and a broken one: {})", e.message)),
        });
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(LoadError::whole_file(&origin, "not a scenario: the file is not UTF-8 text (expected a RON scenario)"));
    };
    let scenario = parse_scenario(text, &origin).map_err(|mut e| {
        if as_trace().is_ok() {
            return trace_given(&origin);
        }
        if e.message.contains("field named `format_version`") {
            e.message.push_str(" (the file looks like a text trace: `replay` reads traces)");
        }
        e
    })?;
    Ok((scenario, text.to_string()))
}

fn trace_given(origin: &str) -> LoadError {
    LoadError::whole_file(origin, format!("is a trace, not a scenario: replay it with `cargo run --release --bin replay -- {origin}`"))
}

/// Gives every expectation result of `report` the line and column where the expectation is
/// written in `source` (a step's own `expect`, an element of an `expect` list, ...).
pub fn locate_expectations(report: &mut RunReport, source: &str) {
    for e in &mut report.expectations {
        e.location = Some(locate(source, &e.path, None));
    }
}
