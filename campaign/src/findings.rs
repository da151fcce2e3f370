//! Findings: one directory per failure signature, `findings/<signature>/`, holding
//! `finding.json` (signature, first seed, first/last seen, hits, shrink summary), `original.trace`
//! (the generated run that first failed, binary) and, once shrunk, `shrunk.ron` and
//! `shrunk.trace.ron`. Every file is written atomically; `finding.json` is written first, so a
//! finding interrupted before shrinking is known on resume and shrunk then.

use crate::RunSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Signature of a run whose determinism re-check gave another hash.
pub const NONDETERMINISM: &str = "determinism@engine";

/// The shrink of a finding's first run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShrinkSummary {
    pub events_before: u64,
    pub events_after: u64,
    pub executions: u64,
    pub slippage: u64,
    pub deterministic: bool,
    /// The signature of the shrunk scenario (equal to the finding's).
    pub signature: String,
}

/// What `finding.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub signature: String,
    pub first_seed: u64,
    pub first_seen_s: f64,
    pub last_seen_s: f64,
    pub hits: u64,
    pub shrunk: Option<ShrinkSummary>,
}

impl Finding {
    /// The command that reproduces the finding, for a campaign in `campaign`: the shrunk
    /// scenario when it fails on its own, else the trace that carries the choices it needs (the
    /// shrunk one, or the original run's before shrinking).
    pub fn repro_command(&self, campaign: &Path) -> String {
        let dir = finding_dir(campaign, &self.signature);
        let (binary, file) = match &self.shrunk {
            Some(s) if s.deterministic => ("scenario", dir.join("shrunk.ron")),
            Some(_) => ("replay", dir.join("shrunk.trace.ron")),
            None => ("replay", dir.join("original.trace")),
        };
        format!("cargo run --release --bin {binary} -- {}", file.display())
    }
}

/// The directory name of a signature (`cap.single_owner@capability.delegate` →
/// `cap.single_owner__capability.delegate`).
pub fn dir_name(signature: &str) -> String {
    signature.replace('@', "__").chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
}

pub fn finding_dir(campaign: &Path, signature: &str) -> PathBuf {
    campaign.join("findings").join(dir_name(signature))
}

/// Every finding of a campaign directory, by signature.
pub fn load_all(campaign: &Path) -> Result<BTreeMap<String, Finding>, String> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(campaign.join("findings")) else { return Ok(out) };
    for entry in entries.flatten() {
        let path = entry.path().join("finding.json");
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let finding: Finding = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        out.insert(finding.signature.clone(), finding);
    }
    Ok(out)
}

/// Writes `finding.json` atomically.
pub fn save(campaign: &Path, finding: &Finding) -> Result<(), String> {
    let dir = finding_dir(campaign, &finding.signature);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let bytes = serde_json::to_vec_pretty(finding).map_err(|e| e.to_string())?;
    replay::files::write_atomically(&dir.join("finding.json"), &bytes).map_err(|e| e.to_string())
}

/// Records the first run of a new signature: `finding.json`, then its trace (`original.trace`).
pub fn record_original(campaign: &Path, spec: &RunSpec, finding: &Finding) -> Result<(), String> {
    save(campaign, finding)?;
    let scenario = spec.scenario(finding.first_seed);
    let (trace, _) = replay::record(&scenario, finding.first_seed);
    replay::files::write_trace(&finding_dir(campaign, &finding.signature).join("original.trace"), &trace.compact()).map_err(|e| e.to_string())
}

/// Whether a finding still needs its shrunk repro (a determinism finding has none).
pub fn needs_shrink(finding: &Finding) -> bool {
    finding.signature != NONDETERMINISM && finding.shrunk.is_none()
}

/// Shrinks the first run of a finding (read from its `original.trace`, which [`record_original`]
/// wrote), bounded by `budget` executions, and writes `shrunk.ron` and `shrunk.trace.ron`.
/// Returns `None` when `interrupt` stopped it: nothing is written then, so the next session
/// shrinks it again from the start and gets the same result.
pub fn shrink(campaign: &Path, finding: &Finding, budget: u64, interrupt: &AtomicBool) -> Result<Option<ShrinkSummary>, String> {
    let dir = finding_dir(campaign, &finding.signature);
    let trace = replay::files::read_trace(&dir.join("original.trace")).map_err(|e| e.to_string())?;
    let budget = shrinker::Budget { max_executions: budget, max_time: Some(std::time::Duration::from_secs(60)) };
    let shrunk = shrinker::shrink(&trace.scenario, trace.choices(), trace.seed, budget, interrupt, &mut |_| {}).map_err(|e| e.to_string())?;
    if shrunk.stopped == shrinker::StopCause::Interrupted {
        return Ok(None);
    }
    let origin = format!("campaign run seed {}", finding.first_seed);
    shrinker::output::write(&shrunk, &dir.join("shrunk.ron"), &origin).map_err(|e| e.to_string())?;
    Ok(Some(ShrinkSummary {
        events_before: shrunk.before.events,
        events_after: shrunk.after.events,
        executions: shrunk.executions,
        slippage: shrunk.slippage,
        deterministic: shrunk.deterministic,
        signature: shrunk.signature,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(shrunk: Option<bool>) -> Finding {
        let summary = |deterministic| ShrinkSummary { events_before: 9, events_after: 3, executions: 5, slippage: 0, deterministic, signature: "a.b@c".into() };
        Finding { signature: "a.b@c".into(), first_seed: 4, first_seen_s: 0.0, last_seen_s: 1.0, hits: 2, shrunk: shrunk.map(summary) }
    }

    #[test]
    fn the_repro_is_the_file_that_reproduces_on_its_own() {
        let camp = Path::new("camp");
        assert_eq!(finding(Some(true)).repro_command(camp), "cargo run --release --bin scenario -- camp/findings/a.b__c/shrunk.ron");
        assert_eq!(finding(Some(false)).repro_command(camp), "cargo run --release --bin replay -- camp/findings/a.b__c/shrunk.trace.ron");
        assert_eq!(finding(None).repro_command(camp), "cargo run --release --bin replay -- camp/findings/a.b__c/original.trace");
    }
}
