//! The checkpointed state of a campaign directory (`state.json`), written atomically after every
//! batch: the settings (a resumed campaign must keep them), the next run index, totals, the
//! events-per-run distribution, invariant check counts, a timeline for the report's charts, and
//! every finding with its hits and shrink. It is the one record of what was counted: a resumed
//! campaign starts from it and re-runs whatever came after it (see `findings` for how the finding
//! folders are kept in step with it).

use crate::findings::Finding;
use crate::shard::Shard;
use crate::store;
use crate::SpecRecord;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Most points the timeline keeps.
pub const MAX_TIMELINE_POINTS: usize = 1000;

/// One point of the timeline (after a batch): the reports' type.
pub use reports::campaign::TimelinePoint;

/// Version of the `state.json` layout this build reads and writes.
pub const STATE_FORMAT: u32 = 2;

/// Everything a campaign needs to continue where it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignState {
    /// [`STATE_FORMAT`].
    pub format: u32,
    pub spec: SpecRecord,
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
    /// Events per run, an hdrhistogram (two significant digits) for the report's percentiles,
    /// stored as `(value, count)` pairs.
    #[serde(default = "events_histogram", with = "histogram_pairs")]
    pub events_per_run: Histogram<u64>,
    pub invariant_checks: BTreeMap<String, u64>,
    /// Operations by result, fault rules by shape and invariant situations over every run.
    #[serde(default)]
    pub coverage: reports::coverage::Coverage,
    pub timeline: Vec<TimelinePoint>,
    /// Runs re-executed by the determinism spot check.
    pub spot_checks: u64,
    /// The shards a `campaign merge` combined (empty for a campaign that runs). A merged
    /// directory is a report: it cannot be resumed.
    #[serde(default)]
    pub merged_from: Vec<Shard>,
    /// Every finding, by signature, as of this checkpoint.
    pub findings: BTreeMap<String, Finding>,
}

impl CampaignState {
    pub fn new(spec: SpecRecord, shard: Shard) -> Self {
        CampaignState {
            format: STATE_FORMAT,
            spec,
            shard,
            next_index: 0,
            runs: 0,
            events: 0,
            failing_runs: 0,
            elapsed_s: 0.0,
            events_log2: vec![0; 64],
            events_per_run: events_histogram(),
            invariant_checks: BTreeMap::new(),
            coverage: Default::default(),
            timeline: Vec::new(),
            spot_checks: 0,
            merged_from: Vec::new(),
            findings: BTreeMap::new(),
        }
    }

    /// Which shards the state covers: `0/4`, or for a merge `0/4 + 1/4 + 2/4 + 3/4 (merged)`.
    pub fn shards(&self) -> String {
        if self.merged_from.is_empty() {
            return self.shard.to_string();
        }
        let shards: Vec<String> = self.merged_from.iter().map(Shard::to_string).collect();
        format!("{} (merged)", shards.join(" + "))
    }

    /// Records the totals after a batch. The latest point always moves forward; a new point starts
    /// once the latest is `max(1 s, elapsed / 500)` past the one before it, and past
    /// [`MAX_TIMELINE_POINTS`] every other point is dropped, so an overnight state stays small.
    pub fn record_timeline(&mut self, point: TimelinePoint) {
        let gap = (point.elapsed_s / 500.0).max(1.0);
        match self.timeline.as_mut_slice() {
            [.., before, latest] if latest.elapsed_s - before.elapsed_s < gap => *latest = point,
            _ => self.timeline.push(point),
        }
        if self.timeline.len() > MAX_TIMELINE_POINTS {
            let latest = self.timeline.len() - 1;
            let mut index = 0;
            self.timeline.retain(|_| {
                index += 1;
                (index - 1) % 2 == 0 || index - 1 == latest
            });
        }
    }

    /// Adds one run's events to the distribution.
    pub fn count_events(&mut self, events: u64) {
        let bucket = 63 - events.max(1).leading_zeros() as usize;
        self.events_log2[bucket] += 1;
        // Auto-resizing: recording cannot fail for lack of range.
        let _ = self.events_per_run.record(events);
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
            Ok(bytes) => Self::decode(&bytes).map(Some).map_err(|e| format!("{}: {e}", path.display())),
        }
    }

    fn decode(bytes: &[u8]) -> Result<CampaignState, String> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not a campaign state: {e}"))?;
        match value.get("format").and_then(serde_json::Value::as_u64) {
            Some(f) if f == u64::from(STATE_FORMAT) => serde_json::from_value(value).map_err(|e| format!("not a campaign state: {e}")),
            Some(f) => Err(format!("campaign state format {f}; this build reads format {STATE_FORMAT}: use a new directory")),
            None => Err(format!("a campaign state of an earlier build (before format {STATE_FORMAT}, which keeps findings in the checkpoint): use a new directory")),
        }
    }

    /// Writes the state atomically (the checkpoint).
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        store::write(&Self::path(dir), &bytes)
    }
}

/// An empty events-per-run histogram: auto-resizing, two significant digits (1% precision).
pub fn events_histogram() -> Histogram<u64> {
    Histogram::new(2).unwrap_or_else(|_| unreachable!("2 significant digits is a valid precision"))
}

/// Serde for a histogram as its non-empty `(value, count)` buckets: a few hundred pairs at most
/// for runs of up to a million events, readable in `state.json`, and exact to rebuild.
mod histogram_pairs {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(h: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(u64, u64)> = h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect();
        pairs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let mut h = super::events_histogram();
        for (value, count) in Vec::<(u64, u64)>::deserialize(d)? {
            h.record_n(value, count).map_err(serde::de::Error::custom)?;
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batches(state: &mut CampaignState, seconds: u64) {
        for tenth in 1..=seconds * 10 {
            let t = tenth as f64 / 10.0;
            state.record_timeline(TimelinePoint { elapsed_s: t, runs: tenth * 1000, events: tenth * 300_000, findings: tenth / 600 });
        }
    }

    fn state() -> CampaignState {
        let spec = crate::RunSpec { swarm: true, max_workload_ops: 10, bugs: Vec::new(), spot_check_per_mille: 0, templates: Vec::new() };
        CampaignState::new(spec.record(), Shard { index: 0, count: 1 })
    }

    #[test]
    fn the_timeline_has_a_point_per_second_and_ends_at_the_latest_batch() {
        let mut s = state();
        batches(&mut s, 100);
        assert!((99..=101).contains(&s.timeline.len()), "{} points", s.timeline.len());
        assert!(s.timeline.windows(3).all(|w| w[1].elapsed_s - w[0].elapsed_s >= 1.0 - 1e-9));
        assert_eq!(s.timeline.last().map(|p| p.runs), Some(1_000_000));
        assert_eq!(s.timeline.first().map(|p| p.elapsed_s), Some(0.1));
    }

    #[test]
    fn the_events_histogram_survives_a_checkpoint() {
        let mut s = state();
        for events in [3, 3, 120, 999, 1000, 4096, 250_000] {
            s.count_events(events);
        }
        let back = CampaignState::decode(&serde_json::to_vec(&s).expect("encodes")).expect("decodes");
        assert_eq!(back.events_per_run, s.events_per_run);
        assert_eq!(back.events_per_run.len(), 7);
        assert_eq!(back.events_per_run.value_at_quantile(0.5), 999);
    }

    #[test]
    fn an_overnight_timeline_stays_small_and_spans_the_whole_campaign() {
        let mut s = state();
        batches(&mut s, 8 * 3600);
        assert!(s.timeline.len() <= MAX_TIMELINE_POINTS && s.timeline.len() >= 400, "{} points", s.timeline.len());
        assert_eq!(s.timeline.first().map(|p| p.elapsed_s), Some(0.1));
        assert_eq!(s.timeline.last().map(|p| p.elapsed_s), Some(8.0 * 3600.0));
        assert!(s.timeline.windows(2).all(|w| w[0].elapsed_s < w[1].elapsed_s));
    }
}
