//! Campaign reports, written atomically into the campaign directory: `report.md`, a
//! self-contained `report.html` with SVG charts (runs per second over time, findings over time,
//! events per run, invariant check counts), `junit.xml` for CI systems (one test case per
//! signature) and `summary.json`.

use crate::findings::Finding;
use crate::state::CampaignState;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Events-per-run percentiles (p50, p90, p99, max).
pub fn events_percentiles(state: &CampaignState) -> [u64; 4] {
    let h = &state.events_per_run;
    [h.value_at_quantile(0.5), h.value_at_quantile(0.9), h.value_at_quantile(0.99), h.max()]
}

/// Writes every report file (of the state's findings).
pub fn write_all(dir: &Path, state: &CampaignState) -> Result<(), String> {
    let findings = &state.findings;
    let files = [
        ("report.md", markdown(dir, state, findings)),
        ("report.html", html(dir, state, findings)),
        ("junit.xml", junit(dir, state, findings)),
        ("summary.json", summary(state, findings)),
    ];
    for (name, text) in files {
        crate::store::write(&dir.join(name), text.as_bytes())?;
    }
    Ok(())
}

fn rate(state: &CampaignState) -> (f64, f64) {
    let t = state.elapsed_s.max(1e-9);
    (state.runs as f64 / t, state.events as f64 / t)
}

/// The overview rows shared by the markdown and HTML reports.
fn overview(state: &CampaignState, findings: &BTreeMap<String, Finding>) -> Vec<(&'static str, String)> {
    let (runs_s, events_s) = rate(state);
    let [p50, p90, p99, max] = events_percentiles(state);
    vec![
        ("shard", state.shards()),
        ("runs", format!("{} (next index {})", state.runs, state.next_index)),
        ("events", state.events.to_string()),
        ("wall-clock", format!("{:.1} s", state.elapsed_s)),
        ("throughput", format!("{runs_s:.0} runs/s, {events_s:.0} events/s")),
        ("failing runs", state.failing_runs.to_string()),
        ("distinct findings", findings.len().to_string()),
        ("events per run", format!("p50 {p50}, p90 {p90}, p99 {p99}, max {max}")),
        ("determinism spot checks", state.spot_checks.to_string()),
        ("settings", format!("swarm {}, workload up to {} ops, planted bugs {:?}, {} templates", state.spec.swarm, state.spec.max_workload_ops, state.spec.bugs, state.spec.templates.len())),
    ]
}

const FINDING_COLUMNS: [&str; 7] = ["signature", "hits", "first seed", "first seen", "last seen", "shrunk events", "repro"];

/// One finding as table cells (plain text; each report escapes them its own way).
fn finding_cells(dir: &Path, f: &Finding) -> [String; 7] {
    let shrunk = f.shrunk.as_ref().map_or("not yet".to_string(), |s| format!("{} → {}", s.events_before, s.events_after));
    [
        f.signature.clone(),
        f.hits.to_string(),
        f.first_seed.to_string(),
        format!("{:.1} s", f.first_seen_s),
        format!("{:.1} s", f.last_seen_s),
        shrunk,
        f.repro_command(dir),
    ]
}

/// The markdown report; repro commands name files under `dir` as the user gave it.
pub fn markdown(dir: &Path, state: &CampaignState, findings: &BTreeMap<String, Finding>) -> String {
    let mut out = String::from("# Campaign report\n\n| | |\n|---|---|\n");
    for (name, value) in overview(state, findings) {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    out.push_str("\n## Findings\n\n");
    if findings.is_empty() {
        out.push_str("None.\n\n");
    } else {
        let _ = writeln!(out, "| {} |\n|{}", FINDING_COLUMNS.join(" | "), "---|".repeat(FINDING_COLUMNS.len()));
        for f in findings.values() {
            let [sig, rest @ .., repro] = finding_cells(dir, f);
            let _ = writeln!(out, "| `{sig}` | {} | `{repro}` |", rest.join(" | "));
        }
        out.push('\n');
    }
    out.push_str("## Invariant checks\n\n| invariant | checks |\n|---|---|\n");
    for (id, n) in &state.invariant_checks {
        let _ = writeln!(out, "| `{id}` | {n} |");
    }
    out
}

/// An HTML table; the first row is the header.
fn html_table<const N: usize>(rows: impl IntoIterator<Item = [String; N]>) -> String {
    let mut out = String::from("<table>");
    for (i, row) in rows.into_iter().enumerate() {
        let cell = if i == 0 { "th" } else { "td" };
        out.push_str("<tr>");
        for value in row {
            let _ = write!(out, "<{cell}>{}</{cell}>", escape(&value));
        }
        out.push_str("</tr>");
    }
    out + "</table>"
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A line chart of `(x, y)` points as inline SVG, from zero on both axes; points are marked
/// when there are few of them (a one-point series is still visible).
fn line_chart(title: &str, x_label: &str, points: &[(f64, f64)]) -> String {
    let (w, h, pad) = (640.0, 220.0, 40.0);
    let max_x = points.iter().map(|p| p.0).fold(1e-9, f64::max);
    let max_y = points.iter().map(|p| p.1).fold(1e-9, f64::max);
    let at = |(x, y): &(f64, f64)| (pad + x / max_x * (w - 2.0 * pad), h - pad - y / max_y * (h - 2.0 * pad));
    let path: Vec<String> = points.iter().map(&at).map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let marks: String = if points.len() <= 60 {
        points.iter().map(&at).map(|(x, y)| format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#2a6fdb\"/>")).collect()
    } else {
        String::new()
    };
    format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\"><rect x=\"{pad}\" y=\"{pad}\" width=\"{}\" height=\"{}\" fill=\"#f6f6f6\"/><polyline fill=\"none\" stroke=\"#2a6fdb\" stroke-width=\"2\" points=\"{}\"/>{marks}<text x=\"{pad}\" y=\"{}\" font-size=\"11\">0</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{max_x:.1} {}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{max_y:.0}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">0</text></svg></figure>",
        escape(title), w - 2.0 * pad, h - 2.0 * pad, path.join(" "), h - 8.0, w - pad, h - 8.0, escape(x_label), pad - 4.0, pad + 4.0, pad - 4.0, h - pad
    )
}

/// A horizontal bar chart as inline SVG.
fn bar_chart(title: &str, bars: &[(String, u64)]) -> String {
    let (w, row) = (640.0, 18.0);
    let h = row * bars.len() as f64 + 10.0;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let mut svg = format!("<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\">", escape(title));
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = 5.0 + row * i as f64;
        let len = *v as f64 / max * (w - 320.0);
        let _ = write!(svg, "<text x=\"0\" y=\"{:.1}\" font-size=\"11\">{}</text><rect x=\"240\" y=\"{y:.1}\" width=\"{len:.1}\" height=\"{:.1}\" fill=\"#2a6fdb\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{v}</text>", y + 12.0, escape(label), row - 4.0, 245.0 + len, y + 12.0);
    }
    svg + "</svg></figure>"
}

pub fn html(dir: &Path, state: &CampaignState, findings: &BTreeMap<String, Finding>) -> String {
    let rates: Vec<(f64, f64)> = state
        .timeline
        .windows(2)
        .map(|w| (w[1].elapsed_s, (w[1].runs - w[0].runs) as f64 / (w[1].elapsed_s - w[0].elapsed_s).max(1e-9)))
        .collect();
    let found: Vec<(f64, f64)> = state.timeline.iter().map(|p| (p.elapsed_s, p.findings as f64)).collect();
    let buckets: Vec<(String, u64)> = state.events_log2.iter().enumerate().filter(|(_, n)| **n > 0).map(|(b, n)| (format!("{}..{} events", 1u64 << b, (1u64 << (b + 1)) - 1), *n)).collect();
    let checks: Vec<(String, u64)> = state.invariant_checks.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let overview = html_table(std::iter::once(["".to_string(), "".to_string()]).chain(overview(state, findings).into_iter().map(|(k, v)| [k.to_string(), v])));
    let found_table = if findings.is_empty() {
        String::from("<p>None.</p>")
    } else {
        html_table(std::iter::once(FINDING_COLUMNS.map(String::from)).chain(findings.values().map(|f| finding_cells(dir, f))))
    };
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Campaign report</title><style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}}th{{background:#f0f0f0}}figure{{margin:1.5em 0}}figcaption{{font-weight:bold}}</style></head><body><h1>Campaign report</h1>{overview}<h2>Findings</h2>{found_table}<h2>Charts</h2>{}{}{}{}</body></html>\n",
        line_chart("Runs per second over time", "s", &rates),
        line_chart("Findings over time", "s", &found),
        bar_chart("Events per run (runs per bucket)", &buckets),
        bar_chart("Invariant checks", &checks),
    )
}

pub fn junit(dir: &Path, state: &CampaignState, findings: &BTreeMap<String, Finding>) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"pandagen-campaign\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">\n",
        findings.len() + 1,
        findings.len(),
        state.elapsed_s
    );
    let _ = writeln!(out, "    <testcase classname=\"campaign\" name=\"{} runs, shard {}\"/>", state.runs, escape(&state.shards()));
    for f in findings.values() {
        let _ = writeln!(
            out,
            "    <testcase classname=\"finding\" name=\"{}\"><failure message=\"{} hits, first seed {}\">repro: {}</failure></testcase>",
            escape(&f.signature),
            f.hits,
            f.first_seed,
            escape(&f.repro_command(dir))
        );
    }
    out + "  </testsuite>\n</testsuites>\n"
}

pub fn summary(state: &CampaignState, findings: &BTreeMap<String, Finding>) -> String {
    let (runs_per_s, events_per_s) = rate(state);
    let [p50, p90, p99, max] = events_percentiles(state);
    let value = serde_json::json!({
        "shard": state.shards(),
        "runs": state.runs,
        "events": state.events,
        "elapsed_s": state.elapsed_s,
        "runs_per_s": runs_per_s,
        "events_per_s": events_per_s,
        "failing_runs": state.failing_runs,
        "spot_checks": state.spot_checks,
        "events_per_run": {"p50": p50, "p90": p90, "p99": p99, "max": max},
        "findings": findings.values().collect::<Vec<_>>(),
        "invariant_checks": state.invariant_checks,
    });
    replay::json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
