//! `peak_rss COMMAND [ARGS...]`: runs a command, waits for it and prints one JSON object with its
//! peak resident set (`getrusage(RUSAGE_CHILDREN)`: this helper has no other child, so the
//! maximum is that command's), its wall-clock time and whether it succeeded. Its stdout goes to
//! stderr, so stdout holds only the JSON. Used by the `recording` benchmark.

use nix::sys::resource::{getrusage, UsageWho};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: peak_rss COMMAND [ARGS...]");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let status = match Command::new(&program).args(args).stdout(Stdio::from(std::io::stderr())).status() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", program.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let wall_s = start.elapsed().as_secs_f64();
    let usage = match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: getrusage: {e}");
            return ExitCode::from(2);
        }
    };
    // Linux reports kilobytes (KiB).
    let max_rss_bytes = usage.max_rss().max(0) as u64 * 1024;
    println!("{}", serde_json::json!({ "max_rss_bytes": max_rss_bytes, "wall_s": wall_s, "success": status.success() }));
    ExitCode::SUCCESS
}
