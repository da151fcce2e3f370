//! Benchmark results as report sections: each result's tables and notes, and its charts —
//! throughput against both references (bars), scaling curves (lines on a log axis), latency
//! distributions (percentile curves), shrink before and after (paired bars).

use crate::charts::{self, nines, Series, XAxis};
use crate::document::{Chart, Section};
use crate::results::{BenchResult, Figures, Latency, Target};

/// The word a scaling check's name uses for a dimension.
fn series_key(dimension: &str) -> &str {
    if dimension.contains("flight") {
        "in flight"
    } else {
        "tasks"
    }
}

/// The order results appear in, whatever order the files were given in.
pub const ORDER: [&str; 7] = ["reference", "scaling", "recording", "throughput", "time_to_find", "shrink", "network"];

/// A heading for each benchmark.
fn heading(bench: &str) -> String {
    match bench {
        "reference" => "Reference workload against both references".into(),
        "scaling" => "Scaling".into(),
        "recording" => "Recording and replay".into(),
        "throughput" => "Campaign throughput".into(),
        "time_to_find" => "Time to find planted bugs".into(),
        "shrink" => "Shrinking planted bugs".into(),
        "network" => "Networked runs".into(),
        other => format!("Benchmark `{other}`"),
    }
}

/// The command that produces a benchmark's result file.
pub fn command(bench: &str) -> String {
    match bench {
        "shrink" => "cargo run --release -p shrinker --example planted_bugs".into(),
        other => format!("cargo bench -p benches --bench {other}"),
    }
}

/// A percentile curve per latency distribution.
fn latency_chart(title: &str, curves: &[(String, &Latency)]) -> Result<Chart, String> {
    let unit = curves.first().map_or("ms", |(_, l)| l.unit.as_str()).to_string();
    // The maximum (q = 1) has no place on a percentile axis; the tables give it.
    let curve = |l: &Latency| l.percentiles.iter().filter(|(q, _)| *q < 1.0).map(|(q, v)| (nines(*q), *v)).collect();
    let series: Vec<Series> = curves.iter().map(|(name, l)| Series { name: name.clone(), points: curve(l) }).collect();
    let svg = charts::lines(title, "percentile", &unit, &series, XAxis::Nines)?;
    Ok(Chart { caption: format!("{title}: value at each percentile (hdrhistogram), in {unit}."), svg })
}

fn charts_of(result: &BenchResult) -> Result<Vec<Chart>, String> {
    let chart = |caption: &str, svg: String| Chart { caption: caption.to_string(), svg };
    Ok(match &result.figures {
        Figures::Reference(r) => {
            let bars: Vec<(String, f64)> = r.engines.iter().map(|e| (e.engine.clone(), e.messages_per_s)).collect();
            vec![chart("Messages delivered per wall-clock second on the reference workload (median round).", charts::bars("Reference workload throughput", "messages delivered per second", &bars)?)]
        }
        Figures::Scaling(s) => s
            .series
            .iter()
            .map(|series| {
                let points: Vec<(f64, f64)> = series.points.iter().map(|p| (p.size as f64, p.ns_per_event)).collect();
                let mut lines = vec![Series { name: "ns per event".into(), points: points.clone() }];
                // The target, where a check names one: a ratio to the smallest size's cost.
                let target = result.checks.iter().find(|c| c.name.contains(series_key(&series.dimension))).map(|c| match c.target {
                    Target::AtMost(t) | Target::AtLeast(t) => t,
                });
                if let (Some(t), Some(first), Some(last)) = (target, points.first(), points.last()) {
                    lines.push(Series { name: format!("target: {t}× the smallest"), points: vec![(first.0, first.1 * t), (last.0, first.1 * t)] });
                }
                let svg = charts::lines(&format!("Cost per event by {}", series.dimension), &format!("{} (log scale)", series.dimension), "ns per event", &lines, XAxis::Log)?;
                Ok(chart(&format!("Wall-clock nanoseconds per event as {} grow.", series.dimension), svg))
            })
            .collect::<Result<_, String>>()?,
        Figures::Recording(r) => {
            let bars = vec![("plain run".to_string(), r.plain_events_per_s), ("recording".to_string(), r.record_events_per_s), ("replay".to_string(), r.replay_events_per_s)];
            vec![chart("Events per second of a plain run, a recording and a replay of the same workload.", charts::bars("Recording and replay speed", "events per second", &bars)?)]
        }
        Figures::Throughput(t) => {
            let curves: Vec<(String, &Latency)> = t.threads.iter().map(|r| (format!("{} thread(s)", r.threads), &r.run_time)).collect();
            let bars: Vec<(String, f64)> = t.threads.iter().map(|r| (format!("{} thread(s)", r.threads), r.runs_per_s)).collect();
            vec![chart("Generated runs per second by thread count.", charts::bars("Campaign throughput", "runs per second", &bars)?), latency_chart("Wall-clock time per run", &curves)?]
        }
        Figures::TimeToFind(t) => {
            let curves: Vec<(String, &Latency)> = t.bugs.iter().filter(|b| b.found > 0).map(|b| (b.bug.clone(), &b.time)).collect();
            vec![latency_chart("Time to find each planted bug", &curves)?]
        }
        Figures::Shrink(s) => {
            let labels: Vec<String> = s.rows.iter().map(|r| r.bug.clone()).collect();
            let before: Vec<f64> = s.rows.iter().map(|r| r.before.events as f64).collect();
            let after: Vec<f64> = s.rows.iter().map(|r| r.after.events as f64).collect();
            vec![chart("Events of the first failing run and of the shrunk run, per planted bug.", charts::grouped("Shrinking: events before and after", "events (log scale)", &labels, &[("before", &before), ("after", &after)], true)?)]
        }
        Figures::Network(n) => {
            let bars: Vec<(String, f64)> = n.workloads.iter().map(|w| (w.name.clone(), w.events_per_s)).collect();
            vec![chart("Events per wall-clock second of each networked workload (median round).", charts::bars("Networked runs", "events per second", &bars)?)]
        }
    })
}

/// A benchmark result as a report section.
pub fn section(result: &BenchResult) -> Result<Section, String> {
    let mut s = Section::new(heading(&result.bench));
    s.paragraphs.push(format!("`{}` on {} CPUs.", command(&result.bench), result.cpus));
    if result.quick {
        s.paragraphs.push("Quick mode: tiny sizes for the smoke test; these figures are not comparable.".into());
    }
    s.notes = result.notes.clone();
    s.tables = result.figure_tables();
    s.charts = charts_of(result)?;
    Ok(s)
}
