//! `bare`: build the kernel_bare image, boot it in QEMU (software emulation), compare every
//! result line with the host model. Exit status 0 only on full agreement and the explicit
//! isa-debug-exit status.

use clap::Parser;
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::process::ExitCode;

/// Boot the kernel_bare image under QEMU and check that it agrees with the host.
///
/// Builds the image (unless --no-build), boots it in qemu-system-x86_64 with software emulation,
/// lets it run every scenario with five seeds and replay every embedded trace (again as multiboot
/// modules unless --no-plan-modules), and compares every result line (verdict, violated
/// invariant, events, trace hash) with the host's own run. Then boots it with a deliberate panic,
/// CPU exception and triple fault and checks each is reported as a fault, never a pass.
///
/// Exit codes: 0 every line agrees and QEMU exits with the predicted status; 1 a disagreement, a
/// wrong exit status or a fault test that passed; 2 bad input or a build/boot error.
#[derive(Parser, Debug)]
#[command(name = "bare", version)]
struct Args {
    /// Boot the image as it is, without building it first.
    #[arg(long)]
    no_build: bool,
    /// Image to boot (default: kernel_bare/target/release/kernel_bare, or kernel_bare/target/lite/release/kernel_bare in a lite build).
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// QEMU binary.
    #[arg(long, default_value = "qemu-system-x86_64")]
    qemu: String,
    /// Seconds one boot may take before it counts as hung.
    #[arg(long, default_value = "300")]
    timeout: NonZeroU64,
    /// Print only disagreements and the summary.
    #[arg(long)]
    quiet: bool,
    /// Skip the fault tests (panic, CPU exception, triple fault).
    #[arg(long)]
    no_fault_tests: bool,
    /// Do not pass the plan's traces a second time as multiboot modules.
    #[arg(long)]
    no_plan_modules: bool,
    /// Extra trace file (binary or RON) to replay on bare metal, as a multiboot module; repeatable.
    #[arg(long = "trace", value_name = "FILE")]
    traces: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = kernel_bare_runner::Options {
        build: !args.no_build,
        kernel: args.kernel,
        qemu: args.qemu,
        timeout_secs: args.timeout.get(),
        quiet: args.quiet,
        fault_tests: !args.no_fault_tests,
        plan_modules: !args.no_plan_modules,
        extra_traces: args.traces,
    };
    match kernel_bare_runner::run(&options) {
        Ok(summary) if summary.ok() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
