//! The checkpointed state of a campaign directory (`state.json`), written atomically after every
//! batch: the settings (a resumed campaign must keep them), the next run index, totals, the
//! events-per-run distribution, invariant check counts and a timeline for the report's charts.
//! Findings are not stored here: their directories are the source of truth.

use crate::shard::Shard;
use crate::RunSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One point of the timeline (after a batch).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub elapsed_s: f64,
    pub runs: u64,
    pub events: u64,
    pub findings: u64,
}

/// Everything a campaign needs to continue where it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignState {
    pub spec: RunSpec,
    pub shard: Shard,
    /// The next run index of this shard (its seed is `shard.seed(next_index)`).
    pub next_index: u64,
    pub runs: u64,
    pub events: u64,
    pub failing_runs: u64,
    /// Wall-clock seconds spent, summed over every session of the campaign.
    pub elapsed_s: f64,
    /// Runs by events, in power-of-two buckets: bucket `b` counts runs with `2^b <= events < 2^(b+1)`.
    pub events_log2: Vec<u64>,
    pub invariant_checks: BTreeMap<String, u64>,
    pub timeline: Vec<TimelinePoint>,
    /// Runs re-executed by the determinism spot check.
    pub spot_checks: u64,
}

impl CampaignState {
    pub fn new(spec: RunSpec, shard: Shard) -> Self {
        CampaignState {
            spec,
            shard,
            next_index: 0,
            runs: 0,
            events: 0,
            failing_runs: 0,
            elapsed_s: 0.0,
            events_log2: vec![0; 64],
            invariant_checks: BTreeMap::new(),
            timeline: Vec::new(),
            spot_checks: 0,
        }
    }

    /// Adds one run's events to the distribution.
    pub fn count_events(&mut self, events: u64) {
        let bucket = 63 - events.max(1).leading_zeros() as usize;
        self.events_log2[bucket] += 1;
    }

    pub fn path(dir: &Path) -> std::path::PathBuf {
        dir.join("state.json")
    }

    /// Loads the state of a campaign directory, if it has one.
    pub fn load(dir: &Path) -> Result<Option<CampaignState>, String> {
        let path = Self::path(dir);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("{}: not a campaign state: {e}", path.display())),
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        replay::files::write_atomically(&Self::path(dir), &bytes).map_err(|e| e.to_string())
    }
}
