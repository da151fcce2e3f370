//! Writing a shrunk case: the scenario as a readable `.ron` file (with a header saying what it
//! reproduces and how it was obtained) and its trace beside it (`<name>.trace.ron`), both written
//! atomically; and the shrink report.

use crate::Shrunk;
use model::trace::Trace;
use model::RunConfig;
use replay::files::{write_atomically, write_trace, FileError};
use std::path::{Path, PathBuf};

/// The shrunk scenario as RON text with an explanatory header.
pub fn scenario_text(shrunk: &Shrunk, origin: &str) -> String {
    let config = ron::ser::PrettyConfig::new().depth_limit(6).struct_names(false);
    let full = ron::ser::to_string_pretty(&shrunk.scenario, config).unwrap_or_default();
    let body = without_empty_fields(&full, &shrunk.scenario).unwrap_or(full);
    let how = if shrunk.deterministic {
        "It fails the same way under any seed: no randomness is needed to reproduce it."
    } else {
        "It needs its recorded choices: replay the trace written beside it."
    };
    format!(
        "// Shrunk by `shrink` from {origin}.\n// Reproduces {} ({} events before, {} after; {} executions, {} slippage).\n// {how}\n{body}\n",
        shrunk.signature, shrunk.before.events, shrunk.after.events, shrunk.executions, shrunk.slippage
    )
}

/// Drops lines that only restate an empty default (`steps: [],`, `workload: None,`, `budget:
/// None,`). Most such fields have a serde default; the few that do not (`capabilities: [],` of a
/// derivation) stay: all such lines are dropped at once if the result parses back to the same
/// scenario, else one by one, each kept out only if the text still parses back to it.
fn without_empty_fields(text: &str, scenario: &model::Scenario) -> Option<String> {
    let same = |lines: &[&str]| scenarios::parse_unvalidated(&lines.join("\n"), "shrunk").is_ok_and(|s| s == *scenario);
    let lines: Vec<&str> = text.lines().collect();
    let all: Vec<&str> = lines.iter().copied().filter(|l| !restates_empty_default(l)).collect();
    if same(&all) {
        return Some(all.join("\n"));
    }
    let mut kept = lines.clone();
    let mut i = 0;
    while i < kept.len() {
        if restates_empty_default(kept[i]) {
            let mut candidate = kept.clone();
            candidate.remove(i);
            if same(&candidate) {
                kept = candidate;
                continue;
            }
        }
        i += 1;
    }
    (kept.len() < lines.len()).then(|| kept.join("\n"))
}

/// `name: [],` or `name: None,`.
fn restates_empty_default(line: &str) -> bool {
    let t = line.trim();
    let empty_value = t.ends_with(": [],") || t.ends_with(": None,");
    empty_value && t.split(':').next().is_some_and(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

/// The trace of the shrunk case (its recorded choices replayed, with event descriptions).
pub fn trace(shrunk: &Shrunk) -> Trace {
    let config = RunConfig {
        seed: shrunk.scenario.seed,
        replay_choices: Some(shrunk.choices.clone()),
        record_choices: true,
        record_digests: true,
        record_events: true,
        ..RunConfig::default()
    };
    let report = model::run(&shrunk.scenario, &config);
    Trace::from_run(&shrunk.scenario, shrunk.scenario.seed, &report)
}

/// Where `shrink` writes when no `--out` is given: `<name>.shrunk.ron` in the current folder, the
/// scenario's name reduced to a safe file name (letters, digits, `-` and `_`; every other run of
/// characters becomes one `_`), so a name like `../../x` or `""` cannot write outside the current
/// folder or make a hidden file.
pub fn default_path(scenario_name: &str) -> PathBuf {
    let parts: Vec<&str> = scenario_name.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).filter(|p| !p.is_empty()).collect();
    let mut stem: String = parts.join("_").chars().take(100).collect();
    if stem.is_empty() {
        stem = String::from("scenario");
    }
    PathBuf::from(format!("{stem}.shrunk.ron"))
}

/// The trace path that goes with a scenario path: `x.ron` → `x.trace.ron`.
pub fn trace_path(scenario_path: &Path) -> PathBuf {
    scenario_path.with_extension("trace.ron")
}

/// Writes the scenario and its trace; returns the trace path.
pub fn write(shrunk: &Shrunk, scenario_path: &Path, origin: &str) -> Result<PathBuf, FileError> {
    write_atomically(scenario_path, scenario_text(shrunk, origin).as_bytes())?;
    let trace_path = trace_path(scenario_path);
    write_trace(&trace_path, &trace(shrunk))?;
    Ok(trace_path)
}

/// The shrink report in words.
pub fn render_report(shrunk: &Shrunk) -> String {
    let (b, a) = (&shrunk.before, &shrunk.after);
    let mut out = format!("signature      {}\n", shrunk.signature);
    out += &format!("stopped        {:?} after {:.2} s\n", shrunk.stopped, shrunk.elapsed.as_secs_f64());
    out += &format!("executions     {} ({} kept, {} slippage, {} rejected before running)\n", shrunk.executions, shrunk.accepted, shrunk.slippage, shrunk.invalid);
    out += "size           before -> after\n";
    for (name, x, y) in [
        ("events", b.events, a.events),
        ("tasks", b.tasks, a.tasks),
        ("steps", b.steps, a.steps),
        ("faults", b.faults, a.faults),
        ("pipelines", b.pipelines, a.pipelines),
        ("policies", b.policies, a.policies),
        ("workload ops", b.workload_ops, a.workload_ops),
        ("choices", b.choices, a.choices),
    ] {
        out += &format!("  {name:<13}{x:>8} -> {y}\n");
    }
    out += &format!("deterministic  {}\n", if shrunk.deterministic { "yes (the .ron alone reproduces it)" } else { "no (replay the trace)" });
    out
}

#[cfg(test)]
mod tests {
    use super::default_path;
    use std::path::{Component, Path};

    #[test]
    fn default_paths_stay_in_the_current_folder_and_are_visible() {
        for (name, expected) in [
            ("supervised-echo", "supervised-echo.shrunk.ron"),
            ("../../escaped_name", "escaped_name.shrunk.ron"),
            ("/etc/passwd", "etc_passwd.shrunk.ron"),
            ("", "scenario.shrunk.ron"),
            ("...", "scenario.shrunk.ron"),
            ("a b\\c:d", "a_b_c_d.shrunk.ron"),
            ("generated-42", "generated-42.shrunk.ron"),
        ] {
            let path = default_path(name);
            assert_eq!(path, Path::new(expected), "{name:?}");
            assert!(path.components().all(|c| matches!(c, Component::Normal(_))) && path.components().count() == 1);
        }
        assert_eq!(default_path(&"x".repeat(500)).to_string_lossy().len(), 100 + ".shrunk.ron".len());
    }
}
