//! The `recording` benchmark (see `benches::recording`): prints its tables and writes
//! `target/bench-results/recording.json`.
//!
//! `cargo bench -p benches --bench recording` (release); `PANDAGEN_BENCH_QUICK=1` for tiny sizes.

fn main() -> std::process::ExitCode {
    let mode = benches::Mode::from_env().with_peak_rss(env!("CARGO_BIN_EXE_peak_rss"));
    benches::harness::main_in(&mode, benches::recording::run)
}
