//! What the `report` binary reads: benchmark result files, directories of them
//! (`target/bench-results`), and campaign directories (recognised by their `summary.json`). A file
//! that is neither is an error naming the file, line and column.

use crate::campaign::CampaignSummary;
use crate::results::{BenchResult, SCHEMA_VERSION};
use std::path::{Path, PathBuf};

/// One input of a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    Bench(Box<BenchResult>),
    Campaign { dir: PathBuf, summary: Box<CampaignSummary> },
}

/// Names the `report` binary writes, skipped when reading a directory back.
pub const OUTPUTS: [&str; 3] = ["report.md", "report.html", "junit.xml"];

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

fn json_error(path: &Path, e: &serde_json::Error, what: &str) -> String {
    // The position leads the message, so serde_json's own " at line L column C" is dropped.
    let text = e.to_string();
    let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
    format!("{}:{}:{}: not {what}: {message}", path.display(), e.line(), e.column())
}

/// Reads one JSON file: a benchmark result (it has a `bench` field) or a campaign summary.
pub fn load_file(path: &Path) -> Result<Input, String> {
    let text = read(path)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| json_error(path, &e, "JSON"))?;
    if value.get("bench").is_some() {
        if let Some(v) = value.get("schema").and_then(|v| v.as_u64()).filter(|v| *v != u64::from(SCHEMA_VERSION)) {
            return Err(format!("{}: a benchmark result of schema {v}; this report reads schema {SCHEMA_VERSION} (run the benchmark again)", path.display()));
        }
        let result: BenchResult = serde_json::from_str(&text).map_err(|e| json_error(path, &e, "a benchmark result"))?;
        return Ok(Input::Bench(Box::new(result)));
    }
    if value.get("findings").is_some() && value.get("runs").is_some() {
        let summary: CampaignSummary = serde_json::from_str(&text).map_err(|e| json_error(path, &e, "a campaign summary"))?;
        let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        return Ok(Input::Campaign { dir, summary: Box::new(summary) });
    }
    Err(format!("{}: neither a benchmark result (no `bench` field) nor a campaign summary (no `runs` and `findings`)", path.display()))
}

/// Reads every path: files as they are, a campaign directory by its `summary.json`, any other
/// directory by its `*.json` files in name order.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Input>, String> {
    let mut inputs = Vec::new();
    for path in paths {
        if !path.is_dir() {
            inputs.push(load_file(path)?);
            continue;
        }
        let summary = path.join("summary.json");
        if summary.is_file() {
            inputs.push(load_file(&summary)?);
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|e| format!("{}: cannot read the directory: {e}", path.display()))?;
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("{}: no result files (*.json) and no campaign summary.json in it", path.display()));
        }
        for file in files {
            inputs.push(load_file(&file)?);
        }
    }
    Ok(inputs)
}
