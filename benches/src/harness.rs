//! What every benchmark shares: the mode it runs in, where its result file goes, printing its
//! tables and writing its JSON (atomically), medians of repetitions and latency percentiles.
//!
//! Environment: `PANDAGEN_BENCH_QUICK=1` runs tiny sizes (the smoke test; figures are not
//! comparable); `PANDAGEN_BENCH_OUT=DIR` writes results there instead of
//! `target/bench-results`; `PANDAGEN_BENCH_TURMOIL=0` skips the turmoil run of `reference`.

use hdrhistogram::Histogram;
use reports::results::{BenchResult, Latency};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How a benchmark runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mode {
    /// Tiny sizes, for the smoke test.
    pub quick: bool,
    /// Where `<bench>.json` is written.
    pub out_dir: PathBuf,
    /// Whether `reference` builds and runs the turmoil workspace.
    pub turmoil: bool,
    /// The `peak_rss` helper binary (only bench and test targets know its path), for `recording`.
    pub peak_rss: Option<PathBuf>,
}

/// The workspace root (benchmarks read `benches/workloads/` and build other workspaces from it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn flag(name: &str) -> Option<bool> {
    std::env::var(name).ok().map(|v| !matches!(v.as_str(), "" | "0" | "false" | "no"))
}

impl Mode {
    /// The mode the environment asks for.
    pub fn from_env() -> Self {
        let quick = flag("PANDAGEN_BENCH_QUICK").unwrap_or(false);
        Mode { quick, out_dir: reports::results::results_dir(), turmoil: flag("PANDAGEN_BENCH_TURMOIL").unwrap_or(!quick), peak_rss: None }
    }

    /// Quick mode writing into `out_dir`, without turmoil (the smoke test's).
    pub fn quick(out_dir: &Path) -> Self {
        Mode { quick: true, out_dir: out_dir.to_path_buf(), turmoil: false, peak_rss: None }
    }

    /// With the `peak_rss` helper at `path` (`env!("CARGO_BIN_EXE_peak_rss")`).
    pub fn with_peak_rss(mut self, path: &str) -> Self {
        self.peak_rss = Some(PathBuf::from(path));
        self
    }

    /// `normal` sizes, or `quick` ones in quick mode.
    pub fn pick<T>(&self, normal: T, quick: T) -> T {
        if self.quick {
            quick
        } else {
            normal
        }
    }
}

/// Prints a result's tables and writes `<out_dir>/<bench>.json` atomically; returns its path.
pub fn emit(mode: &Mode, result: &BenchResult) -> Result<PathBuf, String> {
    print!("{}", result.text());
    let path = result.write(&mode.out_dir)?;
    println!("wrote {}", path.display());
    Ok(path)
}

/// The `main` of every benchmark target: run, print, write; exit 2 with a message on error.
pub fn main(run: fn(&Mode) -> Result<BenchResult, String>) -> ExitCode {
    main_in(&Mode::from_env(), run)
}

/// [`main`] in a given mode.
pub fn main_in(mode: &Mode, run: fn(&Mode) -> Result<BenchResult, String>) -> ExitCode {
    let mode = mode.clone();
    match run(&mode).and_then(|result| emit(&mode, &result)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The median of some measurements (the lower middle one for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
}

/// A histogram of microseconds (1 µs to 1 h, 3 significant digits).
pub fn micros() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|e| unreachable!("valid bounds: {e}"))
}

/// The quantiles every latency distribution reports.
pub const QUANTILES: [f64; 7] = [0.0, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0];

/// A histogram of microseconds as percentiles in milliseconds.
pub fn latency_ms(h: &Histogram<u64>) -> Latency {
    let ms = |v: u64| v as f64 / 1e3;
    Latency { unit: "ms".into(), count: h.len(), percentiles: QUANTILES.iter().map(|q| (*q, ms(h.value_at_quantile(*q)))).collect(), max: ms(h.max()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_value() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.0);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn latency_percentiles_are_in_milliseconds() {
        let mut h = micros();
        for us in [1_000, 2_000, 3_000, 100_000] {
            h.record(us).expect("in range");
        }
        let l = latency_ms(&h);
        assert_eq!(l.count, 4);
        assert!((l.at(0.5) - 2.0).abs() < 0.01 && (l.max - 100.0).abs() < 0.1, "{l:?}");
    }
}
