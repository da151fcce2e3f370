//! Campaign reports: [`CampaignSummary`] is what a campaign directory's `summary.json` holds
//! (totals, distributions, timeline, findings with their repro commands); from it come the
//! document section (overview, findings, invariant checks, charts of runs per second and findings
//! over time, events per run, shrink before and after), the JUnit XML (one failing test case per
//! finding) and the four files a campaign writes into its directory.

use crate::charts::{self, Series, XAxis};
use crate::document::{Chart, Document, Section};
use crate::numbers::count;
use crate::table::Table;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Everything a campaign report shows; `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignSummary {
    /// The shard (`0/1`) or, for a merge, the shards it combines.
    pub shard: String,
    pub runs: u64,
    #[serde(default)]
    pub next_index: u64,
    pub events: u64,
    pub elapsed_s: f64,
    pub runs_per_s: f64,
    pub events_per_s: f64,
    pub failing_runs: u64,
    pub spot_checks: u64,
    /// The campaign's settings in words.
    #[serde(default)]
    pub settings: String,
    pub events_per_run: EventsPercentiles,
    /// Runs by events in power-of-two buckets (only the buckets with runs).
    #[serde(default)]
    pub events_buckets: Vec<EventsBucket>,
    pub findings: Vec<FindingSummary>,
    pub invariant_checks: BTreeMap<String, u64>,
    #[serde(default)]
    pub timeline: Vec<TimelinePoint>,
    /// Operations by result, fault rules by shape and invariant situations over every run.
    #[serde(default)]
    pub coverage: crate::coverage::Coverage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsPercentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

/// Runs with `from <= events <= to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsBucket {
    pub from: u64,
    pub to: u64,
    pub runs: u64,
}

/// The totals after a batch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub elapsed_s: f64,
    pub runs: u64,
    pub events: u64,
    pub findings: u64,
}

/// One finding (what its `finding.json` holds) and the command that reproduces it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FindingSummary {
    pub signature: String,
    /// A decimal string in JSON, as every tool writes seeds (`replay::json`).
    #[serde(with = "replay::json::decimal")]
    pub first_seed: u64,
    pub first_seen_s: f64,
    pub last_seen_s: f64,
    pub hits: u64,
    pub shrunk: Option<ShrinkSummary>,
    #[serde(default)]
    pub repro: String,
}

/// The shrink of a finding's first run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShrinkSummary {
    pub events_before: u64,
    pub events_after: u64,
    pub executions: u64,
    pub slippage: u64,
    pub deterministic: bool,
    pub signature: String,
}

impl CampaignSummary {
    fn overview(&self) -> Table {
        let e = self.events_per_run;
        let mut t = Table::new("", &["", ""]);
        let rows = [
            ("shard", self.shard.clone()),
            ("runs", format!("{} (next index {})", self.runs, self.next_index)),
            ("events", self.events.to_string()),
            ("wall-clock", format!("{:.1} s", self.elapsed_s)),
            ("throughput", format!("{:.0} runs/s, {:.0} events/s", self.runs_per_s, self.events_per_s)),
            ("failing runs", self.failing_runs.to_string()),
            ("distinct findings", self.findings.len().to_string()),
            ("events per run", format!("p50 {}, p90 {}, p99 {}, max {}", e.p50, e.p90, e.p99, e.max)),
            ("determinism spot checks", self.spot_checks.to_string()),
            ("settings", self.settings.clone()),
        ];
        for (k, v) in rows {
            t.row(vec![k.to_string(), v]);
        }
        t
    }

    fn findings_table(&self) -> Table {
        let mut t = Table::new("Findings", &["signature", "hits", "first seed", "first seen", "last seen", "shrunk events", "repro"]).code(&[0, 6]);
        for f in &self.findings {
            let shrunk = f.shrunk.as_ref().map_or("not yet".to_string(), |s| format!("{} → {}", s.events_before, s.events_after));
            t.row(vec![f.signature.clone(), f.hits.to_string(), f.first_seed.to_string(), format!("{:.1} s", f.first_seen_s), format!("{:.1} s", f.last_seen_s), shrunk, f.repro.clone()]);
        }
        t
    }

    fn checks_table(&self) -> Table {
        let mut t = Table::new("Invariant checks", &["invariant", "checks"]).code(&[0]);
        for (id, n) in &self.invariant_checks {
            t.row(vec![id.clone(), n.to_string()]);
        }
        t
    }

    fn charts(&self) -> Result<Vec<Chart>, String> {
        let rates: Vec<(f64, f64)> = self.timeline.windows(2).map(|w| (w[1].elapsed_s, (w[1].runs - w[0].runs) as f64 / (w[1].elapsed_s - w[0].elapsed_s).max(1e-9))).collect();
        let found: Vec<(f64, f64)> = self.timeline.iter().map(|p| (p.elapsed_s, p.findings as f64)).collect();
        let buckets: Vec<(String, f64)> = self.events_buckets.iter().map(|b| (format!("{}–{} events", count(b.from), count(b.to)), b.runs as f64)).collect();
        let checks: Vec<(String, f64)> = self.invariant_checks.iter().map(|(k, v)| (k.clone(), *v as f64)).collect();
        let series = |name: &str, points| vec![Series { name: name.to_string(), points }];
        let mut out = vec![
            Chart { caption: "Distinct findings over the campaign's wall-clock time.".into(), svg: charts::lines("Findings over time", "wall-clock s", "findings", &series("findings", found), XAxis::Linear)? },
            Chart { caption: "Runs per second between checkpoints.".into(), svg: charts::lines("Runs per second over time", "wall-clock s", "runs/s", &series("runs/s", rates), XAxis::Linear)? },
            Chart { caption: "Runs by number of events (power-of-two buckets).".into(), svg: charts::bars("Events per run", "runs", &buckets)? },
            Chart { caption: "How often each invariant was checked.".into(), svg: charts::bars("Invariant checks", "checks", &checks)? },
        ];
        let shrunk: Vec<(&FindingSummary, &ShrinkSummary)> = self.findings.iter().filter_map(|f| f.shrunk.as_ref().map(|s| (f, s))).collect();
        if !shrunk.is_empty() {
            let labels: Vec<String> = shrunk.iter().map(|(f, _)| f.signature.clone()).collect();
            let before: Vec<f64> = shrunk.iter().map(|(_, s)| s.events_before as f64).collect();
            let after: Vec<f64> = shrunk.iter().map(|(_, s)| s.events_after as f64).collect();
            let svg = charts::grouped("Shrunk findings: events before and after", "events (log scale)", &labels, &[("before", &before), ("after", &after)], true)?;
            out.push(Chart { caption: "Events of each finding's first failing run and of its shrunk repro.".into(), svg });
        }
        Ok(out)
    }

    /// What the runs exercised, and what they never reached.
    fn coverage_tables(&self, s: &mut Section) {
        let c = &self.coverage;
        if c.operations.is_empty() {
            return;
        }
        let never = c.never_reached();
        s.paragraphs.push(if never.is_empty() {
            "Coverage: every operation was called and every kind of fault rule fired.".into()
        } else {
            format!("Never reached: {}.", never.join("; "))
        });
        s.tables.push(c.operations_table());
        s.tables.push(c.rules_table());
        s.tables.push(c.situations_table());
    }

    /// The campaign as a report section (`heading` names it among other sections).
    pub fn section(&self, heading: &str) -> Result<Section, String> {
        let mut s = Section::new(heading);
        s.tables.push(self.overview());
        if self.findings.is_empty() {
            s.paragraphs.push("No findings.".into());
        } else {
            s.tables.push(self.findings_table());
        }
        s.tables.push(self.checks_table());
        self.coverage_tables(&mut s);
        s.charts = self.charts()?;
        Ok(s)
    }

    /// The campaign's own report document.
    pub fn document(&self) -> Result<Document, String> {
        Ok(Document { title: "Campaign report".into(), intro: Vec::new(), sections: vec![self.section("Campaign")?] })
    }

    /// The JUnit test suite: one passing case for the runs, one failing case per finding.
    pub fn junit_suite(&self) -> TestSuite {
        let mut suite = TestSuite::new("pandagen-campaign");
        suite.set_time(std::time::Duration::from_secs_f64(self.elapsed_s.max(0.0)));
        let mut runs = TestCase::new(format!("{} runs, shard {}", self.runs, self.shard), TestCaseStatus::success());
        runs.set_classname("campaign");
        suite.add_test_case(runs);
        for f in &self.findings {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(format!("{} hits, first seed {}", f.hits, f.first_seed));
            status.set_description(format!("repro: {}", f.repro));
            let mut case = TestCase::new(f.signature.clone(), status);
            case.set_classname("finding");
            suite.add_test_case(case);
        }
        suite
    }

    /// `junit.xml` for CI systems.
    pub fn junit(&self) -> Result<String, String> {
        let mut report = Report::new("pandagen-campaign");
        report.add_test_suite(self.junit_suite());
        report.to_string().map_err(|e| format!("cannot write JUnit XML: {e}"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| unreachable!("a summary always encodes: {e}")) + "\n"
    }
}

/// Writes `report.md`, `report.html`, `junit.xml` and `summary.json` into a campaign directory,
/// each atomically.
pub fn write_all(dir: &Path, summary: &CampaignSummary) -> Result<(), String> {
    let document = summary.document()?;
    let files = [("report.md", document.markdown()?), ("report.html", document.html()?), ("junit.xml", summary.junit()?), ("summary.json", summary.to_json())];
    for (name, text) in files {
        replay::files::write_atomically(&dir.join(name), text.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(())
}
