//! The `time_to_find` benchmark (see `benches::time_to_find`): prints its tables and writes
//! `target/bench-results/time_to_find.json`.
//!
//! `cargo bench -p benches --bench time_to_find` (release); `PANDAGEN_BENCH_QUICK=1` for tiny sizes.

fn main() -> std::process::ExitCode {
    benches::main(benches::time_to_find::run)
}
