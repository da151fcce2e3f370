//! The renderer on fixtures: benchmark results of every kind (`tests/fixtures/results/`, real
//! outputs of the benchmarks) and a campaign directory (`tests/fixtures/campaign/`). The markdown
//! is an `insta` snapshot; the HTML page holds its charts as inline SVG; the JUnit XML parses back
//! with one failing case per missed target and per finding; bad inputs are errors that name the
//! file.

use quick_junit::Report;
use reports::inputs::{load, load_file, Input};
use std::path::PathBuf;

/// Relative (tests run in the package's directory), so the snapshot names the same paths anywhere.
fn fixtures() -> PathBuf {
    PathBuf::from("tests/fixtures")
}

fn inputs() -> Vec<Input> {
    load(&[fixtures().join("results"), fixtures().join("campaign")]).expect("the fixtures load")
}

#[test]
fn the_markdown_report_of_the_fixtures() {
    let md = reports::compose::document(&inputs()).expect("composes").markdown().expect("renders");
    insta::assert_snapshot!(md);
}

#[test]
fn the_html_report_is_one_self_contained_page_with_every_chart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let written = reports::render(&inputs(), dir.path()).expect("renders");
    let names: Vec<String> = written.iter().map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()).collect();
    assert_eq!(names, ["report.md", "report.html", "junit.xml"]);
    let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
    // reference 1, scaling 2, recording 1, throughput 2, time to find 1, shrink 1, campaign 5
    assert_eq!(html.matches("<svg").count(), 13, "one inline SVG per chart");
    for absent in ["<script", "<link", "src=\"http", "{{", "{%"] {
        assert!(!html.contains(absent), "the page should not contain {absent}");
    }
    for text in ["Reference workload throughput", "Cost per event by tasks", "Shrinking: events before and after", "Findings over time", "<code>cargo bench -p benches --bench reference</code>"] {
        assert!(html.contains(text), "{text} missing");
    }
}

#[test]
fn the_junit_xml_parses_with_a_failure_per_missed_target_and_finding() {
    let inputs = inputs();
    let xml = reports::compose::junit(&inputs).expect("writes");
    let report = Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    let names: Vec<&str> = report.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["pandagen-benchmarks", "pandagen-campaign"]);
    let missed: usize = inputs.iter().map(|i| if let Input::Bench(b) = i { b.checks.iter().filter(|c| !c.met()).count() } else { 0 }).sum();
    let findings: usize = inputs.iter().map(|i| if let Input::Campaign { summary, .. } = i { summary.findings.len() } else { 0 }).sum();
    assert_eq!(report.test_suites[0].failures, missed);
    assert_eq!(report.test_suites[1].failures, findings);
    assert!(findings > 0 && missed > 0, "the fixtures exercise failures");
}

#[test]
fn a_campaign_writes_its_four_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Input::Campaign { summary, .. } = load_file(&fixtures().join("campaign/summary.json")).expect("loads") else { panic!("not a campaign") };
    reports::campaign::write_all(dir.path(), &summary).expect("writes");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit");
    assert_eq!(Report::deserialize_from_str(&junit).expect("parses").test_suites[0].tests, summary.findings.len() + 1);
    assert!(std::fs::read_to_string(dir.path().join("report.html")).expect("html").contains("<svg"));
    assert!(std::fs::read_to_string(dir.path().join("report.md")).expect("md").starts_with("# Campaign report\n"));
    let back = load_file(&dir.path().join("summary.json")).expect("the written summary reads back");
    assert_eq!(back, Input::Campaign { dir: dir.path().to_path_buf(), summary });
}

#[test]
fn bad_inputs_are_errors_naming_the_file() {
    let cases = [
        ("broken.json", "{\"bench\": \"x\",\n  oops", "broken.json:2:3: not JSON"),
        ("other.json", "{\"name\": 1}", "other.json: neither a benchmark result"),
        ("old.json", "{\"bench\": \"reference\", \"schema\": 99}", "old.json: a benchmark result of schema 99"),
        ("partial.json", "{\"bench\": \"reference\", \"schema\": 1}", "partial.json:1:35: not a benchmark result: missing field `quick`"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let e = load_file(&path).expect_err(name);
        assert!(e.contains(expected), "{name}: {e}");
    }
    let empty = tempfile::tempdir().expect("tempdir");
    assert!(load(&[empty.path().to_path_buf()]).expect_err("empty dir").contains("no result files"));
    assert!(load(&[dir.path().join("missing.json")]).expect_err("missing").contains("cannot read"));
}
