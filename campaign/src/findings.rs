//! Findings: one directory per failure signature, `findings/<signature>/`, holding
//! `original.trace` (the generated run that first failed, binary), once shrunk `shrunk.ron` and
//! `shrunk.trace.ron`, and `finding.json` (signature, first seed, first/last seen, hits, shrink
//! summary).
//!
//! The checkpoint (`state.json`) is the one record of what was found and counted: a batch's
//! new traces are written before the checkpoint that counts them, the shrunk files before the
//! checkpoint that records the shrink, and `finding.json` is a view of the checkpoint written
//! after it. On resume, [`reconcile`] makes the folders agree with the checkpoint again: folders
//! of signatures it does not know (their batch is re-run) are removed, and every `finding.json`
//! is rewritten from it. So a kill at any instant counts no hit twice and loses none.

use crate::store;
use crate::RunSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Signature of a run whose determinism re-check gave another hash.
pub const NONDETERMINISM: &str = "determinism@engine";

/// The shrink of a finding's first run (the reports' type: the checkpoint holds what they show).
pub use reports::campaign::ShrinkSummary;

/// A finding, as the checkpoint holds it and `finding.json` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub signature: String,
    /// The seed of the first failing run, a decimal string in JSON (see `replay::json`).
    #[serde(with = "replay::json::decimal")]
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

/// Writes `finding.json` (a view of the checkpoint) atomically.
pub fn save(campaign: &Path, finding: &Finding) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(finding).map_err(|e| e.to_string())?;
    store::write(&finding_dir(campaign, &finding.signature).join("finding.json"), &bytes)
}

/// Records the first run of a new signature as `original.trace` (before the checkpoint that
/// counts it).
pub fn record_original(campaign: &Path, spec: &RunSpec, finding: &Finding) -> Result<(), String> {
    let scenario = spec.scenario(finding.first_seed);
    let (trace, _) = replay::record(&scenario, finding.first_seed);
    store::write(&finding_dir(campaign, &finding.signature).join("original.trace"), &trace.compact().to_binary())
}

/// Makes the finding folders agree with the checkpoint `findings`: removes the folders of other
/// signatures (written by a batch the checkpoint does not count; it is re-run), forgets a shrink
/// whose files are missing, records missing original traces and rewrites every `finding.json`.
pub fn reconcile(campaign: &Path, spec: &RunSpec, findings: &mut BTreeMap<String, Finding>) -> Result<(), String> {
    let root = campaign.join("findings");
    let known: Vec<String> = findings.keys().map(|s| dir_name(s)).collect();
    for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !known.contains(&name) {
            remove_uncounted(&entry.path())?;
        }
    }
    for finding in findings.values_mut() {
        let dir = finding_dir(campaign, &finding.signature);
        if finding.shrunk.is_some() && !["shrunk.ron", "shrunk.trace.ron"].iter().all(|f| dir.join(f).is_file()) {
            finding.shrunk = None;
        }
        if !dir.join("original.trace").is_file() {
            record_original(campaign, spec, finding)?;
        }
        save(campaign, finding)?;
    }
    Ok(())
}

/// The files a finding folder holds.
const FINDING_FILES: [&str; 4] = ["finding.json", "original.trace", "shrunk.ron", "shrunk.trace.ron"];

/// Removes a finding folder the checkpoint does not count — only if it holds nothing but a
/// finding's files, so a folder someone put there is never deleted.
fn remove_uncounted(dir: &Path) -> Result<(), String> {
    let foreign = std::fs::read_dir(dir).into_iter().flatten().flatten().find(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        !(e.path().is_file() && (FINDING_FILES.contains(&name.as_str()) || store::is_temporary(&name)))
    });
    if let Some(entry) = foreign {
        return Err(format!("{}: not a finding folder of this campaign ({} does not belong in one); move it out of the campaign directory", dir.display(), entry.file_name().to_string_lossy()));
    }
    std::fs::remove_dir_all(dir).map_err(|e| format!("{}: cannot remove a finding the checkpoint does not count: {e}", dir.display()))
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
    let mut inside = |p: &shrinker::Progress| {
        if p.executions == 1 || p.executions == 100 {
            store::point(&format_args!("shrinking {}, execution {}", finding.signature, p.executions));
        }
    };
    let shrunk = shrinker::shrink(&trace.scenario, trace.choices(), trace.seed, budget, interrupt, &mut inside).map_err(|e| e.to_string())?;
    if shrunk.stopped == shrinker::StopCause::Interrupted {
        return Ok(None);
    }
    let origin = format!("campaign run seed {}", finding.first_seed);
    let scenario_path = dir.join("shrunk.ron");
    store::write(&scenario_path, shrinker::output::scenario_text(&shrunk, &origin).as_bytes())?;
    let trace_text = replay::text::to_text(&shrinker::output::trace(&shrunk));
    store::write(&shrinker::output::trace_path(&scenario_path), trace_text.as_bytes())?;
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
