//! `campaign merge`: combines shard directories into one report. Totals and distributions add
//! up; wall-clock time is the longest shard's (shards run side by side); findings with the same
//! signature merge: hits add up, the lowest first seed keeps its files (the same finding a single
//! campaign over all seeds would keep; wall-clock sightings differ between machines), and first and
//! last seen become the earliest and latest. The inputs must be distinct shards of one campaign
//! (same settings and shard count; all of them unless `--partial`). The merged directory is a
//! report, not a campaign to resume: its state names the shards it came from, and `campaign run`
//! refuses it.

use crate::findings::{self, Finding};
use crate::shard::Shard;
use crate::state::CampaignState;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Merges `dirs` into `out`; returns the merged state (its findings included). The directories
/// must be distinct shards `k/N` of one campaign (same settings, same `N`), all `N` of them unless
/// `partial`; `out` must not be one of them nor hold a campaign that runs. Findings come from each
/// shard's checkpoint (a shard still running contributes what its last checkpoint counted).
pub fn merge(out: &Path, dirs: &[PathBuf], partial: bool) -> Result<CampaignState, String> {
    let (states, replaces_merge) = load_shards(out, dirs, partial)?;
    // An earlier merge in `out` is replaced whole: none of its findings may linger. (A folder
    // without a campaign state is left as it is.)
    let old = out.join("findings");
    if replaces_merge && old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| format!("{}: {e}", old.display()))?;
    }
    let mut merged: Option<CampaignState> = None;
    let mut found: BTreeMap<String, (Finding, PathBuf)> = BTreeMap::new();
    for (dir, state) in dirs.iter().zip(&states) {
        merged = Some(match merged {
            None => CampaignState { shard: Shard::WHOLE, merged_from: vec![state.shard], findings: BTreeMap::new(), ..state.clone() },
            Some(m) => add(m, state),
        });
        for (sig, f) in state.findings.clone() {
            let source = findings::finding_dir(dir, &sig);
            match found.get_mut(&sig) {
                None => {
                    found.insert(sig, (f, source));
                }
                Some((g, g_source)) => {
                    let hits = g.hits + f.hits;
                    let (first, last) = (g.first_seen_s.min(f.first_seen_s), g.last_seen_s.max(f.last_seen_s));
                    if f.first_seed < g.first_seed {
                        *g = f;
                        *g_source = source;
                    }
                    g.hits = hits;
                    g.first_seen_s = first;
                    g.last_seen_s = last;
                }
            }
        }
    }
    let mut state = merged.ok_or("give at least one campaign directory")?;
    state.merged_from.sort_by_key(|s| s.index);
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    for (finding, source) in found.values() {
        copy_finding(source, &findings::finding_dir(out, &finding.signature))?;
        findings::save(out, finding)?;
    }
    state.findings = found.into_iter().map(|(k, (f, _))| (k, f)).collect();
    state.save(out)?;
    Ok(state)
}

/// Loads every shard's state and checks that together they are shards of one campaign; also
/// says whether `out` holds an earlier merge (any other campaign there is refused).
fn load_shards(out: &Path, dirs: &[PathBuf], partial: bool) -> Result<(Vec<CampaignState>, bool), String> {
    let same_place = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let Some(dir) = dirs.iter().find(|d| same_place(d, out)) {
        return Err(format!("--out {} is one of the shard directories ({}); merge into a new directory", out.display(), dir.display()));
    }
    let existing = CampaignState::load(out)?;
    if let Some(campaign) = existing.as_ref().filter(|s| s.merged_from.is_empty()) {
        return Err(format!("--out {} holds a campaign (shard {}); merge into a new directory", out.display(), campaign.shard));
    }
    let mut states: Vec<CampaignState> = Vec::new();
    let mut seen: BTreeMap<u64, &Path> = BTreeMap::new();
    for dir in dirs {
        let state = CampaignState::load(dir)?.ok_or_else(|| format!("{}: not a campaign directory (no state.json)", dir.display()))?;
        if !state.merged_from.is_empty() {
            return Err(format!("{}: is itself a merged report; merge the shard directories instead", dir.display()));
        }
        if let Some(first) = states.first() {
            if state.spec != first.spec {
                return Err(format!("{}: ran with other settings than {}", dir.display(), dirs[0].display()));
            }
            if state.shard.count != first.shard.count {
                return Err(format!("{}: is shard {}, but {} is shard {}: shards of one campaign share N", dir.display(), state.shard, dirs[0].display(), first.shard));
            }
        }
        if let Some(other) = seen.insert(state.shard.index, dir) {
            return Err(format!("{} and {} are both shard {}: each shard is merged once", other.display(), dir.display(), state.shard));
        }
        states.push(state);
    }
    let count = states.first().map_or(0, |s| s.shard.count);
    let missing: Vec<String> = (0..count).filter(|k| !seen.contains_key(k)).map(|k| format!("{k}/{count}")).collect();
    if !missing.is_empty() && !partial {
        return Err(format!("shards {} are missing; give every shard, or --partial to merge only these", missing.join(", ")));
    }
    Ok((states, existing.is_some()))
}

fn add(mut m: CampaignState, s: &CampaignState) -> CampaignState {
    m.merged_from.push(s.shard);
    m.runs += s.runs;
    m.events += s.events;
    m.failing_runs += s.failing_runs;
    m.spot_checks += s.spot_checks;
    m.elapsed_s = m.elapsed_s.max(s.elapsed_s);
    m.next_index += s.next_index;
    for (a, b) in m.events_log2.iter_mut().zip(&s.events_log2) {
        *a += b;
    }
    // Both histograms auto-resize, so adding cannot run out of range.
    let _ = m.events_per_run.add(&s.events_per_run);
    for (id, n) in &s.invariant_checks {
        *m.invariant_checks.entry(id.clone()).or_default() += n;
    }
    m.coverage.merge(&s.coverage);
    if s.timeline.len() > m.timeline.len() {
        m.timeline = s.timeline.clone();
    }
    m
}

fn copy_finding(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries.flatten() {
        // finding.json is written from the merged checkpoint; a temporary file is a write in flight.
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "finding.json" || crate::store::is_temporary(&name) || !entry.path().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| format!("{}: {e}", entry.path().display()))?;
        crate::store::write(&to.join(entry.file_name()), &bytes)?;
    }
    Ok(())
}
