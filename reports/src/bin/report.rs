//! `report`: renders benchmark results and campaign directories into one report.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Render benchmark results and campaigns as markdown, a self-contained HTML page with charts,
/// and JUnit XML.
///
/// Inputs are benchmark result files (`cargo bench -p benches --bench NAME` writes
/// `target/bench-results/NAME.json`), directories of them, and campaign directories (their
/// `summary.json`). Writes `report.md`, `report.html` and `junit.xml` into --out.
///
/// Exit codes: 0 rendered, every target met; 1 rendered, some target missed or a campaign
/// has findings; 2 bad input.
#[derive(Parser, Debug)]
#[command(name = "report", version)]
struct Cli {
    /// Result files, result directories or campaign directories.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "target/report")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rendered = reports::inputs::load(&cli.inputs).and_then(|inputs| reports::render(&inputs, &cli.out).map(|paths| (inputs, paths)));
    match rendered {
        Ok((inputs, paths)) => {
            for p in &paths {
                println!("wrote {}", p.display());
            }
            let failing = inputs.iter().any(|i| match i {
                reports::inputs::Input::Bench(b) => b.checks.iter().any(|c| !c.met()),
                reports::inputs::Input::Campaign { summary, .. } => !summary.findings.is_empty(),
            });
            ExitCode::from(u8::from(failing))
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
