//! The benchmark result files, `target/bench-results/<bench>.json`: one schema for every
//! benchmark (common header, the bench's figures, the targets as checks), and the tables
//! the benchmarks print and the reports show.

use crate::numbers::{bytes, count, ratio, si, three_figures};
use crate::table::Table;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The version of this schema; a file of another version is refused by name.
pub const SCHEMA_VERSION: u32 = 1;

/// One benchmark's result file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    pub schema: u32,
    /// The benchmark's name, also the file's: `reference`, `scaling`, `recording`, ...
    pub bench: String,
    /// Quick mode (`PANDAGEN_BENCH_QUICK=1`): tiny sizes for the smoke test, not comparable figures.
    pub quick: bool,
    /// When the benchmark finished, in seconds since the Unix epoch.
    pub finished_unix_s: u64,
    /// Logical CPUs of the machine it ran on.
    pub cpus: usize,
    pub figures: Figures,
    /// The performance issue's targets, each measured as a ratio or a size in this run.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Anything the reader must know: what was skipped and why, how a figure was measured.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// What each benchmark measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Figures {
    Reference(Reference),
    Scaling(Scaling),
    Recording(Recording),
    Throughput(Throughput),
    TimeToFind(TimeToFind),
    Shrink(Shrink),
    Network(Network),
}

/// A target of the issue and the value this run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub value: f64,
    pub target: Target,
    /// How the value is written: `ratio`, `bytes`, `bytes/event`.
    pub unit: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Check {
    pub fn new(name: impl Into<String>, value: f64, target: Target, unit: &str) -> Self {
        Check { name: name.into(), value, target, unit: unit.to_string() }
    }

    pub fn met(&self) -> bool {
        match self.target {
            Target::AtLeast(t) => self.value >= t,
            Target::AtMost(t) => self.value <= t,
        }
    }

    fn show(&self, v: f64) -> String {
        match self.unit.as_str() {
            "ratio" => ratio(v),
            "bytes" => bytes(v),
            other => format!("{} {other}", three_figures(v)),
        }
    }

    /// `≥ 0.50×`, `≤ 100 MB`.
    pub fn target_text(&self) -> String {
        match self.target {
            Target::AtLeast(t) => format!("≥ {}", self.show(t)),
            Target::AtMost(t) => format!("≤ {}", self.show(t)),
        }
    }

    pub fn value_text(&self) -> String {
        self.show(self.value)
    }
}

/// The checks of several results as one table.
pub fn checks_table<'a>(title: &str, checks: impl IntoIterator<Item = (&'a str, &'a Check)>) -> Table {
    let mut t = Table::new(title, &["bench", "target", "measured", "wanted", "verdict"]);
    for (bench, c) in checks {
        t.row(vec![bench.to_string(), c.name.clone(), c.value_text(), c.target_text(), if c.met() { "met" } else { "MISSED" }.to_string()]);
    }
    t
}

/// A latency distribution: percentiles of an hdrhistogram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub unit: String,
    pub count: u64,
    /// `(quantile, value)` pairs in increasing quantile order, e.g. 0.5, 0.9, 0.99, 0.999.
    pub percentiles: Vec<(f64, f64)>,
    pub max: f64,
}

impl Latency {
    /// The value at quantile `q` (the nearest one recorded at or above it).
    pub fn at(&self, q: f64) -> f64 {
        self.percentiles.iter().find(|(p, _)| *p >= q - 1e-12).map_or(self.max, |(_, v)| *v)
    }

    /// `p50 1.23 / p99 4.56 / max 7.89 ms`.
    pub fn summary(&self) -> String {
        format!("p50 {} / p99 {} / max {} {}", three_figures(self.at(0.5)), three_figures(self.at(0.99)), three_figures(self.max), self.unit)
    }
}

// ----- reference ---------------------------------------------------------------------------------

/// The reference workload on the model, the minimal hand-written loop and turmoil.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub workload: String,
    /// Repetitions, interleaved (model, loop, turmoil, model, ...); figures use the median.
    pub rounds: u32,
    pub engines: Vec<EngineRun>,
}

/// One engine's runs of the reference workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineRun {
    pub engine: String,
    pub messages_delivered: u64,
    pub requests_completed: u64,
    /// Events of the engine's own event loop (turmoil has none to count).
    pub events: Option<u64>,
    pub virtual_s: f64,
    /// Wall-clock seconds of each round.
    pub wall_s: Vec<f64>,
    pub median_wall_s: f64,
    pub messages_per_s: f64,
    pub events_per_s: Option<f64>,
}

impl Reference {
    pub fn engine(&self, prefix: &str) -> Option<&EngineRun> {
        self.engines.iter().find(|e| e.engine.starts_with(prefix))
    }

    fn table(&self) -> Table {
        let model = self.engines.first().map_or(0.0, |e| e.messages_per_s);
        let mut t = Table::new(format!("Reference workload: {} (median of {} interleaved rounds)", self.workload, self.rounds), &["engine", "messages delivered", "events", "virtual time", "wall (median)", "messages/s", "events/s", "model ÷ engine"]);
        for e in &self.engines {
            t.row(vec![
                e.engine.clone(),
                si(e.messages_delivered as f64),
                e.events.map_or("–".into(), |n| si(n as f64)),
                format!("{:.1} s", e.virtual_s),
                format!("{:.3} s", e.median_wall_s),
                si(e.messages_per_s),
                e.events_per_s.map_or("–".into(), si),
                ratio(model / e.messages_per_s.max(1e-12)),
            ]);
        }
        t
    }
}

// ----- scaling -----------------------------------------------------------------------------------

/// Cost per event as one dimension of the workload grows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    pub series: Vec<ScalingSeries>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingSeries {
    /// What grows: `tasks`, `messages in flight`.
    pub dimension: String,
    /// How the workload is built.
    pub workload: String,
    pub points: Vec<ScalingPoint>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingPoint {
    /// The size asked for.
    pub size: u64,
    /// The size observed, where it is measured rather than set (messages in flight, by Little's law).
    pub observed: Option<f64>,
    pub events: u64,
    pub wall_s: f64,
    pub ns_per_event: f64,
    /// `ns_per_event` over the smallest size's.
    pub ratio_to_smallest: f64,
}

impl Scaling {
    fn tables(&self) -> Vec<Table> {
        self.series
            .iter()
            .map(|s| {
                let mut t = Table::new(format!("Cost per event by {}: {}", s.dimension, s.workload), &[s.dimension.as_str(), "observed", "events", "wall", "ns/event", "÷ smallest"]);
                for p in &s.points {
                    t.row(vec![count(p.size), p.observed.map_or("–".into(), si), si(p.events as f64), format!("{:.3} s", p.wall_s), three_figures(p.ns_per_event), ratio(p.ratio_to_smallest)]);
                }
                t
            })
            .collect()
    }
}

// ----- recording ---------------------------------------------------------------------------------

/// Recording and replaying traces of the reference workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    pub scenario: String,
    pub events: u64,
    pub plain_events_per_s: f64,
    pub record_events_per_s: f64,
    pub replay_events_per_s: f64,
    /// The binary trace as `scenario --record FILE.trace` writes it (with event descriptions).
    pub binary_bytes: u64,
    /// The binary trace without event descriptions, as a campaign stores a finding's run.
    pub compact_binary_bytes: u64,
    /// The text (RON) trace, `scenario --record FILE.trace.ron`.
    pub text_bytes: u64,
    pub peak_rss: Option<PeakRss>,
}

/// The peak resident set of a child process that recorded a long run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeakRss {
    pub command: String,
    pub events: u64,
    pub bytes: u64,
    pub wall_s: f64,
}

impl Recording {
    pub fn bytes_per_event(&self, total: u64) -> f64 {
        total as f64 / self.events.max(1) as f64
    }

    fn table(&self) -> Table {
        let mut t = Table::new(format!("Recording and replay: {} ({} events)", self.scenario, si(self.events as f64)), &["measure", "value"]);
        let rows = [
            ("plain run", format!("{} events/s", si(self.plain_events_per_s))),
            ("recording (replay::record)", format!("{} events/s", si(self.record_events_per_s))),
            ("replay (replay::replay)", format!("{} events/s", si(self.replay_events_per_s))),
            ("binary trace (scenario --record)", format!("{} ({} bytes/event)", bytes(self.binary_bytes as f64), three_figures(self.bytes_per_event(self.binary_bytes)))),
            ("binary trace, compact", format!("{} ({} bytes/event)", bytes(self.compact_binary_bytes as f64), three_figures(self.bytes_per_event(self.compact_binary_bytes)))),
            ("text trace", format!("{} ({} bytes/event)", bytes(self.text_bytes as f64), three_figures(self.bytes_per_event(self.text_bytes)))),
        ];
        for (k, v) in rows {
            t.row(vec![k.to_string(), v]);
        }
        match &self.peak_rss {
            Some(p) => t.row(vec!["peak RSS, scenario --record".into(), format!("{} for {} events ({:.1} s)", bytes(p.bytes as f64), si(p.events as f64), p.wall_s)]),
            None => t.row(vec!["peak RSS".into(), "not measured (see notes)".into()]),
        }
        t
    }
}

// ----- throughput --------------------------------------------------------------------------------

/// Generated campaign runs per second on 1 and 2 threads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    pub runs: u64,
    pub threads: Vec<ThreadRun>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadRun {
    pub threads: usize,
    pub wall_s: f64,
    pub runs_per_s: f64,
    pub events_per_s: f64,
    /// Wall-clock time per run.
    pub run_time: Latency,
}

impl Throughput {
    fn table(&self) -> Table {
        let base = self.threads.first().map_or(1.0, |t| t.runs_per_s);
        let mut t = Table::new(format!("Campaign throughput: {} generated runs per thread count", si(self.runs as f64)), &["threads", "wall", "runs/s", "events/s", "÷ 1 thread", "time per run"]);
        for r in &self.threads {
            t.row(vec![r.threads.to_string(), format!("{:.2} s", r.wall_s), si(r.runs_per_s), si(r.events_per_s), ratio(r.runs_per_s / base.max(1e-12)), r.run_time.summary()]);
        }
        t
    }
}

// ----- network -----------------------------------------------------------------------------------

/// Networked runs (the canonical path): events and simulated time per wall-clock second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Network {
    pub workloads: Vec<NetWorkload>,
}

/// One networked workload, run `repetitions` times per round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetWorkload {
    pub name: String,
    pub nodes: usize,
    /// Whether the fault plan has link or node faults.
    pub faults: bool,
    /// Events of one run.
    pub events: u64,
    /// Virtual seconds one run covers.
    pub virtual_s: f64,
    /// Runs per timed round (short runs are repeated so a round lasts long enough to time).
    pub repetitions: u32,
    /// Wall-clock seconds of one run (median round ÷ repetitions).
    pub wall_s: f64,
    pub events_per_s: f64,
    /// Simulated seconds per wall-clock second.
    pub virtual_per_wall: f64,
}

impl Network {
    fn table(&self) -> Table {
        let mut t = Table::new("Networked runs (canonical path): one run of each workload", &["workload", "nodes", "faults", "events", "virtual time", "wall per run", "events/s", "simulated s per wall s"]);
        for w in &self.workloads {
            t.row(vec![
                w.name.clone(),
                w.nodes.to_string(),
                if w.faults { "yes" } else { "no" }.to_string(),
                si(w.events as f64),
                format!("{:.2} s", w.virtual_s),
                format!("{:.2} ms", w.wall_s * 1e3),
                si(w.events_per_s),
                format!("{}", three_figures(w.virtual_per_wall)),
            ]);
        }
        t
    }
}

// ----- time to find ------------------------------------------------------------------------------

/// Runs and time until a short campaign finds each planted bug.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeToFind {
    pub trials: u64,
    pub max_runs: u64,
    pub bugs: Vec<BugFind>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BugFind {
    pub bug: String,
    pub found: u64,
    pub runs_p50: u64,
    pub runs_max: u64,
    pub time: Latency,
}

impl TimeToFind {
    fn table(&self) -> Table {
        let mut t = Table::new(format!("Time to find each planted bug ({} campaigns of at most {} runs each)", self.trials, self.max_runs), &["planted bug", "found", "runs to find (p50 / max)", "time to find"]);
        for b in &self.bugs {
            t.row(vec![b.bug.clone(), format!("{}/{}", b.found, self.trials), format!("{} / {}", b.runs_p50, b.runs_max), b.time.summary()]);
        }
        t
    }
}

// ----- shrink ------------------------------------------------------------------------------------

/// The shrinker on every planted bug (`cargo run --release -p shrinker --example planted_bugs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shrink {
    pub rows: Vec<ShrinkRow>,
    /// Bugs without a failing seed to shrink.
    #[serde(default)]
    pub missing: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShrinkRow {
    pub bug: String,
    pub seed: u64,
    pub signature: String,
    pub before: ShrinkSize,
    pub after: ShrinkSize,
    pub executions: u64,
    pub slippage: u64,
    pub ms: f64,
}

/// The size of a failing run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShrinkSize {
    pub events: u64,
    pub tasks: u64,
    /// Explicit steps (before shrinking: plus workload operations).
    pub steps: u64,
    pub faults: u64,
    pub choices: u64,
}

impl Shrink {
    fn table(&self) -> Table {
        let mut t = Table::new("Shrinking each planted bug (before → after)", &["planted bug", "seed", "signature", "events", "tasks", "steps", "faults", "choices", "executions", "slippage", "time"]).code(&[2]);
        let pair = |b: u64, a: u64| format!("{b} → {a}");
        for r in &self.rows {
            let (b, a) = (r.before, r.after);
            t.row(vec![
                r.bug.clone(),
                r.seed.to_string(),
                r.signature.clone(),
                pair(b.events, a.events),
                pair(b.tasks, a.tasks),
                pair(b.steps, a.steps),
                pair(b.faults, a.faults),
                pair(b.choices, a.choices),
                r.executions.to_string(),
                r.slippage.to_string(),
                format!("{:.1} ms", r.ms),
            ]);
        }
        for bug in &self.missing {
            t.row(vec![bug.clone(), "no failing seed".into()]);
        }
        t
    }
}

impl BenchResult {
    pub fn new(bench: &str, quick: bool, figures: Figures) -> Self {
        let finished_unix_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        BenchResult { schema: SCHEMA_VERSION, bench: bench.to_string(), quick, finished_unix_s, cpus, figures, checks: Vec::new(), notes: Vec::new() }
    }

    /// The tables of the figures.
    pub fn figure_tables(&self) -> Vec<Table> {
        match &self.figures {
            Figures::Reference(r) => vec![r.table()],
            Figures::Scaling(s) => s.tables(),
            Figures::Recording(r) => vec![r.table()],
            Figures::Throughput(t) => vec![t.table()],
            Figures::TimeToFind(t) => vec![t.table()],
            Figures::Shrink(s) => vec![s.table()],
            Figures::Network(n) => vec![n.table()],
        }
    }

    /// The tables of the figures, then the checks.
    pub fn tables(&self) -> Vec<Table> {
        let mut tables = self.figure_tables();
        if !self.checks.is_empty() {
            tables.push(checks_table("Targets", self.checks.iter().map(|c| (self.bench.as_str(), c))));
        }
        tables
    }

    /// Everything a benchmark prints: its tables and notes.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.quick {
            out += "QUICK MODE: tiny sizes, figures not comparable\n\n";
        }
        for t in self.tables() {
            out += &t.text();
            out.push('\n');
        }
        for n in &self.notes {
            out += &format!("note: {n}\n");
        }
        out
    }

    /// Writes `<dir>/<bench>.json` atomically; returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, String> {
        let path = dir.join(format!("{}.json", self.bench));
        replay::files::write_atomically(&path, self.to_json().as_bytes()).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// The JSON of the result file.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| unreachable!("a result always encodes: {e}")) + "\n"
    }
}

/// Where result files go: `$PANDAGEN_BENCH_OUT`, else `bench-results` in `$CARGO_TARGET_DIR` or
/// in the workspace's `target/`.
pub fn results_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PANDAGEN_BENCH_OUT") {
        return PathBuf::from(dir);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from).join("bench-results")
}
