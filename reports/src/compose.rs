//! One report from many inputs: a targets section gathering every benchmark's checks, one
//! section per benchmark (in a fixed order), one per campaign; and the JUnit XML of it all (a
//! test case per target, a failing one per missed target and per campaign finding).

use crate::benchmarks::{self, ORDER};
use crate::document::{Document, Section};
use crate::inputs::Input;
use crate::results::{checks_table, BenchResult};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

fn benches(inputs: &[Input]) -> Vec<&BenchResult> {
    let mut out: Vec<&BenchResult> = inputs.iter().filter_map(|i| if let Input::Bench(b) = i { Some(b.as_ref()) } else { None }).collect();
    out.sort_by_key(|b| (ORDER.iter().position(|n| *n == b.bench).unwrap_or(ORDER.len()), b.bench.clone()));
    out
}

/// The report document.
pub fn document(inputs: &[Input]) -> Result<Document, String> {
    let results = benches(inputs);
    let mut doc = Document { title: "PandaGen performance report".into(), ..Document::default() };
    if !results.is_empty() {
        doc.intro.push("Every figure was measured in a release build; ratios are taken within one benchmark run. Produce the inputs with the commands named in each section and render with `cargo run --release --bin report -- target/bench-results`.".into());
        let checks: Vec<(&str, &crate::results::Check)> = results.iter().flat_map(|r| r.checks.iter().map(move |c| (r.bench.as_str(), c))).collect();
        if !checks.is_empty() {
            let mut targets = Section::new("Targets");
            let missed = checks.iter().filter(|(_, c)| !c.met()).count();
            targets.paragraphs.push(format!("{} of {} targets met.", checks.len() - missed, checks.len()));
            targets.tables.push(checks_table("", checks));
            doc.sections.push(targets);
        }
    }
    for r in &results {
        doc.sections.push(benchmarks::section(r)?);
    }
    for input in inputs {
        if let Input::Campaign { dir, summary } = input {
            doc.sections.push(summary.section(&format!("Campaign {}", dir.display()))?);
        }
    }
    if results.is_empty() && doc.sections.len() == 1 {
        doc.title = "Campaign report".into();
    }
    Ok(doc)
}

/// JUnit XML: suite `pandagen-benchmarks` (one case per target) and a suite per campaign.
pub fn junit(inputs: &[Input]) -> Result<String, String> {
    let mut report = Report::new("pandagen");
    let results = benches(inputs);
    if !results.is_empty() {
        let mut suite = TestSuite::new("pandagen-benchmarks");
        for r in &results {
            for c in &r.checks {
                let status = if c.met() {
                    TestCaseStatus::success()
                } else {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("measured {}, wanted {}", c.value_text(), c.target_text()));
                    s
                };
                let mut case = TestCase::new(c.name.clone(), status);
                case.set_classname(format!("bench.{}", r.bench));
                suite.add_test_case(case);
            }
        }
        report.add_test_suite(suite);
    }
    for input in inputs {
        if let Input::Campaign { summary, .. } = input {
            report.add_test_suite(summary.junit_suite());
        }
    }
    report.to_string().map_err(|e| format!("cannot write JUnit XML: {e}"))
}
