//! JSON rendering of a run: the whole [`RunReport`] plus the reproduce command, the verdict, the
//! optional determinism check and, on request, the audit log.

use crate::determinism::DeterminismCheck;
use crate::summary::reproduce_run_command;
use model::RunReport;
use serde::Serialize;
use serde_json::Value;

/// The JSON document the binary prints with `--format json`.
#[derive(Serialize)]
pub struct JsonOutput<'a> {
    /// The scenario file as given on the command line.
    pub file: &'a str,
    /// Whether every expectation was met (the exit code is 0 exactly then).
    pub passed: bool,
    /// `report.trace_hash` as 16 hex digits (so is `report.trace_hash` itself, since JSON numbers
    /// lose precision above 2^53; this field stays for scripts that read it).
    pub trace_hash_hex: String,
    pub report: &'a RunReport,
    /// The command that re-runs this exact run.
    pub reproduce: String,
    pub determinism_check: Option<&'a DeterminismCheck>,
    /// The capability audit log, present with `--audit` (see [`audit_json`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_log: Option<Value>,
}

/// The audit log of `report` as JSON, with interned names (capability kinds, trust domains)
/// written as the strings they stand for.
pub fn audit_json(report: &RunReport) -> Value {
    let mut value = serde_json::to_value(report.audit.records()).unwrap_or(Value::Null);
    for record in value.as_array_mut().into_iter().flatten() {
        let Some(fields) = record.pointer_mut("/event").and_then(Value::as_object_mut).and_then(|e| e.values_mut().next()).and_then(Value::as_object_mut) else {
            continue;
        };
        for key in ["kind", "from_domain", "to_domain"] {
            if let Some(symbol) = fields.get(key).and_then(Value::as_u64) {
                let name = report.names.resolve(model::names::Symbol(symbol as u32));
                fields.insert(key.to_string(), Value::String(name.to_string()));
            }
        }
    }
    value
}

impl<'a> JsonOutput<'a> {
    /// The output for `report` of the scenario at `file`.
    pub fn new(report: &'a RunReport, file: &'a str) -> Self {
        JsonOutput {
            file,
            passed: report.passed(),
            trace_hash_hex: report.trace_hash_hex(),
            report,
            reproduce: reproduce_run_command(report, file),
            determinism_check: None,
            audit_log: None,
        }
    }
}

/// `output` as pretty-printed JSON, seeds and hashes as strings (`replay::json`).
pub fn render_json(output: &JsonOutput<'_>) -> Result<String, serde_json::Error> {
    replay::json::to_string_pretty(output)
}
