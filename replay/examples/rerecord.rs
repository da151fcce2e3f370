//! Re-records text trace files in the current trace format and model, keeping their scenario,
//! seed and recorded choices: `cargo run -p replay --example rerecord -- scenarios/regressions/*.trace.ron`.
//!
//! For a deliberate change that moves digests (a new audit event, a new observation) or bumps
//! `TRACE_FORMAT_VERSION`: a shrunk repro's trace is replayed from its choices, and the new digests
//! and descriptions are written back. The run must still end as recorded (same violation, or
//! none), or the file is left alone and the example exits 1. Binary traces cannot be re-read once
//! the scenario's binary form changed; re-record those from their scenario files (fuzz/README.md).

use model::trace::Trace;
use model::RunConfig;
use std::path::Path;
use std::process::ExitCode;

fn rerecord(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let old = replay::text::from_text(&text).map_err(|e| format!("{}:{}: {}", e.line, e.column, e.message))?;
    let config = RunConfig {
        seed: old.seed,
        replay_choices: Some(old.choices()),
        record_choices: true,
        record_digests: true,
        record_events: true,
        ..RunConfig::default()
    };
    let report = model::run(&old.scenario, &config);
    let new = Trace::from_run(&old.scenario, old.seed, &report);
    if new.outcome.violation.as_ref().map(|v| &v.0) != old.outcome.violation.as_ref().map(|v| &v.0) {
        return Err(format!("the run now ends with {:?}, recorded {:?}: not rewritten", new.outcome.violation, old.outcome.violation));
    }
    replay::files::write_trace(path, &new).map_err(|e| e.to_string())?;
    Ok(format!("{} events (was {}), hash {:016x} (was {:016x})", new.outcome.events, old.outcome.events, new.outcome.trace_hash, old.outcome.trace_hash))
}

fn main() -> ExitCode {
    let mut failed = false;
    for arg in std::env::args().skip(1) {
        match rerecord(Path::new(&arg)) {
            Ok(what) => println!("{arg}: {what}"),
            Err(e) => {
                eprintln!("{arg}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
