//! Host side of kernel_bare: build the image, boot it in `qemu-system-x86_64` (TCG software
//! emulation, never KVM), parse its COM1 lines, and compare every verdict, invariant id, event
//! count and trace hash with the host's own `model::run` on the same (scenario, seed) or trace.
//!
//! The run plan comes from the same code as the image's build script (`kernel_bare/plan/plan.rs`),
//! so both sides agree on what was run.

#[path = "../../plan/plan.rs"]
pub mod plan;

use model::scenario::ExpectedVerdict;
use model::{RunConfig, RunReport};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// isa-debug-exit statuses (`(value << 1) | 1`) written by the image.
pub const STATUS_PASS: i32 = (0x10 << 1) | 1;
pub const STATUS_VIOLATION: i32 = (0x11 << 1) | 1;
pub const STATUS_FAULT: i32 = (0x12 << 1) | 1;
pub const STATUS_MISMATCH: i32 = (0x13 << 1) | 1;

/// Runner options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Build the image first (`cargo build --release --manifest-path kernel_bare/Cargo.toml`).
    pub build: bool,
    /// Image to boot (default: `kernel_bare/target/release/kernel_bare`, or `kernel_bare/target/lite/release/kernel_bare` in a lite build).
    pub kernel: Option<PathBuf>,
    pub qemu: String,
    pub timeout_secs: u64,
    /// Print only disagreements and the summary.
    pub quiet: bool,
    /// Also boot the image with deliberate faults and check they are reported as faults.
    pub fault_tests: bool,
    /// Pass the plan's traces to the image a second time as multiboot modules.
    pub plan_modules: bool,
    /// Extra trace files (binary or RON) passed to the image as multiboot modules.
    pub extra_traces: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options { build: true, kernel: None, qemu: String::from("qemu-system-x86_64"), timeout_secs: 300, quiet: false, fault_tests: true, plan_modules: true, extra_traces: Vec::new() }
    }
}

/// The repository root (this crate lives in `kernel_bare/runner`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Whether `bin` can be started.
pub fn qemu_available(bin: &str) -> bool {
    Command::new(bin).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// One parsed `RESULT` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub kind: String,
    pub name: String,
    pub seed: u64,
    pub verdict: String,
    pub invariant: String,
    pub events: u64,
    pub hash: String,
    pub expect: String,
}

impl Row {
    fn of(kind: &str, name: &str, seed: u64, report: &RunReport) -> Row {
        let (verdict, invariant) = match report.first_violation() {
            Some(v) => ("violation", v.invariant.clone()),
            None => ("pass", String::from("-")),
        };
        Row {
            kind: kind.into(),
            name: name.into(),
            seed,
            verdict: verdict.into(),
            invariant,
            events: report.stats.events,
            hash: format!("{:016x}", report.trace_hash),
            expect: if report.passed() { "met" } else { "unmet" }.into(),
        }
    }

    fn key(&self) -> (String, String, u64) {
        (self.kind.clone(), self.name.clone(), self.seed)
    }
}

/// Parses `key=value` fields of a `RESULT` line.
pub fn parse_result(line: &str) -> Option<Row> {
    let rest = line.strip_prefix("RESULT ")?;
    let fields: BTreeMap<&str, &str> = rest.split_whitespace().filter_map(|f| f.split_once('=')).collect();
    Some(Row {
        kind: fields.get("kind")?.to_string(),
        name: fields.get("name")?.to_string(),
        seed: fields.get("seed").and_then(|s| s.parse().ok()).unwrap_or(u64::MAX),
        verdict: fields.get("verdict").copied().unwrap_or("error").to_string(),
        invariant: fields.get("invariant").copied().unwrap_or("-").to_string(),
        events: fields.get("events").and_then(|s| s.parse().ok()).unwrap_or(0),
        hash: fields.get("hash").copied().unwrap_or("").to_string(),
        expect: fields.get("expect").copied().unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_result_lines() {
        let row = parse_result("RESULT kind=seed name=default seed=7 verdict=violation invariant=msg.fifo_per_channel events=12 hash=00000000000000ff expect=unmet").unwrap();
        assert_eq!(row.key(), (String::from("seed"), String::from("default"), 7));
        assert_eq!((row.verdict.as_str(), row.invariant.as_str(), row.events, row.hash.as_str()), ("violation", "msg.fifo_per_channel", 12, "00000000000000ff"));
        assert!(parse_result("BOOT kernel_bare").is_none());
        assert!(parse_result("RESULT seed=1").is_none());
    }

    #[test]
    fn success_needs_agreement_and_no_problems() {
        assert!(!Summary::default().ok());
        assert!(Summary { agreed: 3, ..Summary::default() }.ok());
        assert!(!Summary { agreed: 3, disagreed: 1, ..Summary::default() }.ok());
        assert!(!Summary { agreed: 3, problems: vec![String::from("x")], ..Summary::default() }.ok());
    }
}

/// What a boot produced.
#[derive(Debug, Default)]
pub struct Boot {
    /// `(seconds since QEMU was started, line)`.
    pub lines: Vec<(f64, String)>,
    /// QEMU's exit status (`None`: killed by a signal or the timeout).
    pub status: Option<i32>,
    pub timed_out: bool,
    pub wall: f64,
}

/// Boots `kernel` and collects its serial lines.
pub fn boot(qemu: &str, kernel: &Path, append: Option<&str>, modules: &[PathBuf], timeout: Duration) -> Result<Boot, String> {
    let started = Instant::now();
    let mut command = Command::new(qemu);
    command.args(["-kernel"]).arg(kernel);
    if !modules.is_empty() {
        let list: Vec<String> = modules.iter().map(|m| m.display().to_string()).collect();
        if list.iter().any(|m| m.contains(',') || m.contains(' ')) {
            return Err(String::from("module paths must not contain commas or spaces"));
        }
        command.arg("-initrd").arg(list.join(","));
    }
    if let Some(append) = append {
        command.args(["-append", append]);
    }
    let mut child = command
        .args(["-serial", "stdio", "-display", "none", "-monitor", "none", "-no-reboot"])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-m", "256M", "-accel", "tcg"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {qemu}: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            lines.push((started.elapsed().as_secs_f64(), line.trim_end_matches('\r').to_string()));
        }
        lines
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().map_err(|e| e.to_string())?;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed().as_secs_f64();
    let lines = reader.join().unwrap_or_default();
    Ok(Boot { lines, status: status.code(), timed_out, wall })
}

/// Checks that `kernel` is a bootable multiboot image, as QEMU's `-kernel` will want it: a file
/// with a multiboot header (magic `0x1BADB002`, flags, checksum summing to zero) at a 4-byte
/// boundary in its first 8 KiB.
pub fn check_image(kernel: &Path) -> Result<u64, String> {
    let shown = kernel.display();
    let meta = std::fs::metadata(kernel).map_err(|e| format!("--kernel {shown}: cannot read the image: {e}"))?;
    if !meta.is_file() {
        return Err(format!("--kernel {shown}: is not a file (expected the kernel_bare image)"));
    }
    let mut head = Vec::new();
    let file = std::fs::File::open(kernel).map_err(|e| format!("--kernel {shown}: cannot read the image: {e}"))?;
    std::io::Read::read_to_end(&mut std::io::Read::take(file, 8192), &mut head).map_err(|e| format!("--kernel {shown}: cannot read the image: {e}"))?;
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let has_header = (0..head.len().saturating_sub(11)).step_by(4).any(|i| word(i) == 0x1BAD_B002 && word(i).wrapping_add(word(i + 4)).wrapping_add(word(i + 8)) == 0);
    if !has_header {
        return Err(format!("--kernel {shown}: not a bootable image (no multiboot header in its first 8 KiB); build one with `cargo build --release --manifest-path kernel_bare/Cargo.toml` or drop --no-build"));
    }
    Ok(meta.len())
}

/// Builds the image; returns its path.
pub fn build_image(root: &Path) -> Result<PathBuf, String> {
    let manifest = root.join("kernel_bare/Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| String::from("cargo"));
    let mut command = Command::new(cargo);
    command.args(["build", "--release", "--manifest-path"]).arg(&manifest);
    // The image links the networking path this runner was built with (its host side runs the
    // same one); the lite image has its own target directory so neither rebuilds the other.
    if cfg!(feature = "net-bringup-lite") {
        command.args(["--no-default-features", "--features", "net-bringup-lite", "--target-dir"]).arg(root.join("kernel_bare/target/lite"));
    }
    // The image is its own workspace with its own target directory and flags: do not inherit
    // the calling cargo's settings.
    for var in ["CARGO_TARGET_DIR", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_BUILD_RUSTFLAGS", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER"] {
        command.env_remove(var);
    }
    let status = command.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building {} failed ({status})", manifest.display()));
    }
    Ok(default_image(root))
}

/// Where `build_image` puts the image of this runner's networking path.
pub fn default_image(root: &Path) -> PathBuf {
    if cfg!(feature = "net-bringup-lite") {
        root.join("kernel_bare/target/lite/release/kernel_bare")
    } else {
        root.join("kernel_bare/target/release/kernel_bare")
    }
}

/// The outcome of a runner invocation.
#[derive(Debug, Default)]
pub struct Summary {
    pub agreed: usize,
    pub disagreed: usize,
    pub problems: Vec<String>,
}

impl Summary {
    pub fn ok(&self) -> bool {
        self.disagreed == 0 && self.problems.is_empty() && self.agreed > 0
    }
}

/// Build (optionally), boot, compare, print. `Err` only for setup failures.
pub fn run(options: &Options) -> Result<Summary, String> {
    let root = repo_root();
    let kernel = match (&options.kernel, options.build) {
        (Some(k), _) => k.clone(),
        (None, true) => build_image(&root)?,
        (None, false) => default_image(&root),
    };
    let image_bytes = check_image(&kernel)?;

    // Host side: the same plan, run with the host model.
    let plan = plan::build(&root.join("scenarios"))?;
    let mut expected: Vec<Row> = Vec::new();
    let mut declared: BTreeMap<(String, u64), String> = BTreeMap::new();
    // Every host run is timed, so events/s compares the very same runs on both sides.
    let (mut host_events, mut host_secs) = (0u64, 0.0f64);
    let mut host_run = |scenario: &model::Scenario, config: &RunConfig| {
        let started = Instant::now();
        let report = model::run(scenario, config);
        host_secs += started.elapsed().as_secs_f64();
        host_events += report.stats.events;
        report
    };
    for (name, scenario, seeds) in &plan.seeded {
        if let ExpectedVerdict::Violation(id) = &scenario.expect.verdict {
            declared.insert((name.clone(), scenario.seed), id.clone());
        }
        for &seed in seeds {
            let report = host_run(scenario, &RunConfig::seeded(seed));
            expected.push(Row::of("seed", name, seed, &report));
        }
    }
    for (name, trace) in &plan.traces {
        let config = RunConfig { seed: trace.seed, replay_choices: Some(trace.choices()), ..RunConfig::default() };
        let report = host_run(&trace.scenario, &config);
        expected.push(Row::of("trace", name, trace.seed, &report));
    }

    // Traces handed to the image as multiboot modules (binary encoding, one file each).
    let module_dir = std::env::temp_dir().join(format!("kernel_bare_modules_{}", std::process::id()));
    let mut module_traces: Vec<(String, model::trace::Trace)> = Vec::new();
    if options.plan_modules {
        for (name, trace) in &plan.traces {
            module_traces.push((format!("{}.pgtrace", name.replace(['/', ' ', ','], "_")), trace.clone()));
        }
    }
    for path in &options.extra_traces {
        let trace = replay::files::read_trace(path).map_err(|e| e.to_string())?;
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("trace").replace([' ', ','], "_");
        module_traces.push((format!("extra{}_{file}.pgtrace", module_traces.len()), trace));
    }
    let mut modules = Vec::new();
    if !module_traces.is_empty() {
        std::fs::create_dir_all(&module_dir).map_err(|e| format!("{}: {e}", module_dir.display()))?;
    }
    for (file, trace) in &module_traces {
        let path = module_dir.join(file);
        std::fs::write(&path, trace.to_binary()).map_err(|e| format!("{}: {e}", path.display()))?;
        modules.push(path);
        let config = RunConfig { seed: trace.seed, replay_choices: Some(trace.choices()), ..RunConfig::default() };
        let report = host_run(&trace.scenario, &config);
        expected.push(Row::of("trace", &format!("module:{file}"), trace.seed, &report));
    }

    // Bare metal.
    let boot = boot(&options.qemu, &kernel, None, &modules, Duration::from_secs(options.timeout_secs));
    let _ = std::fs::remove_dir_all(&module_dir);
    let boot = boot?;
    if !boot.lines.iter().any(|(_, line)| line.starts_with("BOOT ")) {
        let shown: Vec<&str> = boot.lines.iter().take(5).map(|(_, l)| l.as_str()).collect();
        return Err(format!(
            "{} did not boot: {qemu} {} without printing the image's BOOT line (first serial lines: {shown:?})",
            kernel.display(),
            match (boot.timed_out, boot.status) {
                (true, _) => format!("ran {} s", options.timeout_secs),
                (false, Some(s)) => format!("exited with status {s}"),
                (false, None) => String::from("was killed by a signal"),
            },
            qemu = options.qemu
        ));
    }
    let mut summary = Summary::default();
    let mut got: BTreeMap<(String, String, u64), Vec<Row>> = BTreeMap::new();
    let (mut boot_at, mut done_at) = (None, None);
    for (at, line) in &boot.lines {
        if line.starts_with("BOOT ") {
            boot_at = Some(*at);
        } else if line.starts_with("DONE ") {
            done_at = Some(*at);
        } else if line.starts_with("FAULT") {
            summary.problems.push(format!("kernel fault: {line}"));
        } else if line.contains("kind=trace") && line.contains(" match=no") {
            summary.problems.push(format!("trace replay did not reproduce its recording: {line}"));
        }
        if !line.starts_with("RESULT ") {
            println!("serial | {line}");
        }
        if let Some(row) = parse_result(line) {
            got.entry(row.key()).or_default().push(row);
        }
    }

    println!();
    println!("{:<5} {:<58} {:>20} {:<9} {:<30} {:>7} {:<16} agree", "kind", "name", "seed", "verdict", "invariant", "events", "hash");
    for want in &expected {
        let rows = got.remove(&want.key()).unwrap_or_default();
        let (agree, shown) = match rows.as_slice() {
            [one] if one == want => (true, one.clone()),
            [one] => (false, one.clone()),
            [] => (false, Row { verdict: String::from("MISSING"), ..want.clone() }),
            many => (false, Row { verdict: format!("x{}", many.len()), ..many[0].clone() }),
        };
        let mut note = String::new();
        if !agree {
            note = format!("  host: {} {} events={} hash={} expect={}", want.verdict, want.invariant, want.events, want.hash, want.expect);
        }
        if let Some(id) = declared.get(&(want.name.clone(), want.seed)) {
            if want.kind == "seed" && (shown.verdict != "violation" || &shown.invariant != id) {
                summary.problems.push(format!("{} seed {}: expected violation of {id} on bare metal, got {} {}", want.name, want.seed, shown.verdict, shown.invariant));
            }
        }
        if agree {
            summary.agreed += 1;
        } else {
            summary.disagreed += 1;
        }
        if !options.quiet || !agree {
            println!(
                "{:<5} {:<58} {:>20} {:<9} {:<30} {:>7} {:<16} {}{}",
                shown.kind,
                shown.name,
                shown.seed,
                shown.verdict,
                shown.invariant,
                shown.events,
                shown.hash,
                if agree { "yes" } else { "NO" },
                note
            );
        }
    }
    for rows in got.values() {
        for row in rows {
            summary.disagreed += 1;
            println!("unexpected line from the image: {row:?}");
        }
    }

    // Exit status: the explicit isa-debug-exit code, never 0.
    let host_violations = expected.iter().any(|r| r.verdict == "violation");
    let wanted_status = if host_violations { STATUS_VIOLATION } else { STATUS_PASS };
    match boot.status {
        _ if boot.timed_out => summary.problems.push(format!("QEMU timed out after {} s", options.timeout_secs)),
        Some(s) if s == wanted_status => {}
        Some(STATUS_FAULT) => summary.problems.push(String::from("image exited with the kernel-fault status (37)")),
        Some(STATUS_MISMATCH) => summary.problems.push(String::from("image exited with the trace-mismatch status (39)")),
        Some(0) => summary.problems.push(String::from("QEMU exited 0: no isa-debug-exit (triple fault or reset?)")),
        Some(s) => summary.problems.push(format!("QEMU exited with status {s}, expected {wanted_status}")),
        None => summary.problems.push(String::from("QEMU was killed by a signal")),
    }
    if done_at.is_none() {
        summary.problems.push(String::from("the image never printed its DONE line"));
    }

    let qemu_events: u64 = expected.iter().map(|r| r.events).sum();
    println!();
    println!("{} agreed, {} disagreed", summary.agreed, summary.disagreed);
    println!("image: {} ({} bytes on disk)", kernel.display(), image_bytes);
    println!("QEMU exit status: {:?} (expected {wanted_status}); wall time {:.3} s", boot.status, boot.wall);
    if let (Some(b), Some(d)) = (boot_at, done_at) {
        let in_qemu = (d - b).max(1e-9);
        println!("boot time (QEMU start -> first serial line): {:.3} s", b);
        println!(
            "events/s: QEMU {:.0} ({} events in {:.3} s), host {:.0} ({} events in {:.3} s), host/QEMU {:.1}x",
            qemu_events as f64 / in_qemu,
            qemu_events,
            in_qemu,
            host_events as f64 / host_secs.max(1e-9),
            host_events,
            host_secs,
            (host_events as f64 / host_secs.max(1e-9)) / (qemu_events as f64 / in_qemu)
        );
    }
    if options.fault_tests {
        summary.problems.extend(check_fault_paths(&options.qemu, &kernel));
    }
    for p in &summary.problems {
        println!("problem: {p}");
    }
    println!("{}", if summary.ok() { "kernel_bare: OK" } else { "kernel_bare: FAILED" });
    Ok(summary)
}

/// Boots the image with each deliberate fault (`-append selftest=...`) and checks that it is
/// reported as a kernel fault: a panic and a CPU exception must print `FAULT` and exit with the
/// fault status; a triple fault must never produce a success status. Returns the problems found.
pub fn check_fault_paths(qemu: &str, kernel: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (mode, want_status, want_line) in [
        ("panic", Some(STATUS_FAULT), Some("FAULT panic")),
        ("exception", Some(STATUS_FAULT), Some("FAULT cpu-exception vector=6")),
        ("triple", None, None),
    ] {
        let boot = match boot(qemu, kernel, Some(&format!("selftest={mode}")), &[], Duration::from_secs(60)) {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("fault test {mode}: {e}"));
                continue;
            }
        };
        let saw_line = want_line.is_none_or(|w| boot.lines.iter().any(|(_, l)| l.starts_with(w)));
        let status_ok = match want_status {
            Some(s) => boot.status == Some(s),
            None => !matches!(boot.status, Some(STATUS_PASS) | Some(STATUS_VIOLATION)),
        };
        println!(
            "fault test {mode:<9}: QEMU status {:?} after {:.3} s -> {}",
            boot.status,
            boot.wall,
            if saw_line && status_ok { "reported as a fault (ok)" } else { "NOT reported as a fault" }
        );
        if !(saw_line && status_ok) {
            problems.push(format!("fault test {mode}: status {:?}, lines {:?}", boot.status, boot.lines));
        }
    }
    problems
}
