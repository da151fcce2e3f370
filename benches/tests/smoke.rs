//! The benchmarks still run: every one in quick mode (tiny sizes, no turmoil, no child
//! processes), its result file written and read back, and the whole set rendered as a report.
//! Speed is not checked here (figures come from `cargo bench` in release builds).

use benches::harness::{emit, Mode};
use benches::{network, recording, reference, scaling, throughput, time_to_find};
use reports::inputs::{load, load_file, Input};
use reports::results::BenchResult;

type Bench = fn(&Mode) -> Result<BenchResult, String>;

#[test]
fn every_benchmark_runs_in_quick_mode_and_its_results_render() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mode = Mode::quick(dir.path());
    let benches: [(&str, Bench); 6] = [("reference", reference::run), ("scaling", scaling::run), ("recording", recording::run), ("throughput", throughput::run), ("time_to_find", time_to_find::run), ("network", network::run)];
    for (name, run) in benches {
        let result = run(&mode).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(result.bench, name);
        assert!(result.quick);
        assert!(result.tables().iter().all(|t| !t.rows.is_empty()), "{name}: an empty table");
        let path = emit(&mode, &result).expect("the result is written");
        assert_eq!(path, dir.path().join(format!("{name}.json")));
        match load_file(&path).expect("the result reads back") {
            Input::Bench(back) => assert_eq!(*back, result, "{name}: the JSON round trip changed the result"),
            other => panic!("{name}: read back as {other:?}"),
        }
    }
    let inputs = load(&[dir.path().to_path_buf()]).expect("the directory loads");
    assert_eq!(inputs.len(), 6);
    let written = reports::render(&inputs, &dir.path().join("report")).expect("renders");
    let html = std::fs::read_to_string(&written[1]).expect("report.html");
    for heading in ["Reference workload against both references", "Scaling", "Recording and replay", "Campaign throughput", "Time to find planted bugs", "Networked runs"] {
        assert!(html.contains(heading), "{heading} missing from the report");
    }
    assert!(html.matches("<svg").count() >= 7, "every benchmark has its charts");
}

#[test]
fn the_minimal_loop_and_the_model_agree_on_the_workload() {
    // Same shape: every request answered, about two messages delivered per request.
    let ring = benches::ring::Ring::reference_with(200);
    let minimal = benches::minimal::run(&ring);
    let report = model::run(&ring.scenario().expect("parses"), &model::RunConfig::seeded(ring.seed));
    assert!(report.passed());
    assert_eq!(minimal.requests_completed, report.stats.requests_completed);
    let (a, b) = (minimal.messages_delivered as f64, report.stats.messages_delivered as f64);
    assert!((a / b - 1.0).abs() < 0.02, "minimal loop {a} vs model {b} messages delivered");
    // The minimal loop pops its stale timeouts as events; the model drops them before they count.
    let (a, b) = (minimal.events as f64, (report.stats.events + report.stats.ignored_wakeups) as f64);
    assert!((a / b - 1.0).abs() < 0.1, "minimal loop {a} vs model {b} events and ignored wake-ups");
}

#[test]
fn the_peak_rss_helper_reports_a_child_s_peak() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peak_rss")).args(["sh", "-c", "exit 0"]).output().expect("runs");
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("prints JSON");
    assert_eq!(value["success"], true);
    assert!(value["max_rss_bytes"].as_u64().is_some_and(|b| b > 100_000), "{value}");
    let failing = std::process::Command::new(env!("CARGO_BIN_EXE_peak_rss")).args(["sh", "-c", "exit 3"]).output().expect("runs");
    let value: serde_json::Value = serde_json::from_slice(&failing.stdout).expect("prints JSON");
    assert_eq!(value["success"], false);
}
