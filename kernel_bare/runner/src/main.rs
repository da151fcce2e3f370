//! `bare`: build the kernel_bare image, boot it in QEMU (software emulation), compare every
//! result line with the host model. Exit status 0 only on full agreement and the explicit
//! isa-debug-exit status. Usage: `bare [--no-build] [--kernel PATH] [--qemu BIN] [--timeout SECS] [--quiet] [--no-fault-tests] [--no-plan-modules] [--trace FILE]...`.

fn main() {
    let mut options = kernel_bare_runner::Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-build" => options.build = false,
            "--kernel" => options.kernel = args.next().map(Into::into),
            "--qemu" => options.qemu = args.next().unwrap_or_else(|| usage("--qemu needs a value")),
            "--timeout" => {
                options.timeout_secs = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage("--timeout needs seconds"))
            }
            "--quiet" => options.quiet = true,
            "--no-fault-tests" => options.fault_tests = false,
            "--no-plan-modules" => options.plan_modules = false,
            "--trace" => options.extra_traces.push(args.next().map(Into::into).unwrap_or_else(|| usage("--trace needs a file"))),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument `{other}`")),
        }
    }
    match kernel_bare_runner::run(&options) {
        Ok(summary) if summary.ok() => {}
        Ok(_) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("error: {problem}");
    }
    eprintln!("usage: bare [--no-build] [--kernel PATH] [--qemu BIN] [--timeout SECS] [--quiet] [--no-fault-tests] [--no-plan-modules] [--trace FILE]...");
    std::process::exit(2)
}
