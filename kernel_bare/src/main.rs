//! PandaGen on bare metal: boots under QEMU (multiboot), runs the embedded plan through the very
//! same `model` crate as the host (every invariant enabled), prints one line per run over COM1
//! and exits QEMU through isa-debug-exit.
//!
//! Output lines (one per run):
//! `RESULT kind=seed name=<scenario> seed=<n> verdict=<pass|violation> invariant=<id|-> events=<n> hash=<16 hex> expect=<met|unmet>`
//! `RESULT kind=trace name=<trace> seed=<n> verdict=... invariant=... events=... hash=... expect=... recorded=<16 hex> match=<yes|no>`
//! Exit status (QEMU reports `(code << 1) | 1`): see `ExitCode`.
//!
//! All `unsafe` and `asm!` live in `arch::x86_64`; this file is safe code over the HAL traits.

#![no_std]
#![no_main]
#![deny(unsafe_code)]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;

// The architecture layer is the only module allowed to use `unsafe`.
#[allow(unsafe_code)]
mod arch;
mod hal;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use hal::{CpuHal, InterruptHal, MemoryHal};
use model::trace::Trace;
use model::{RunConfig, RunReport, Scenario};

/// The plan built by build.rs: `(seeded runs, binary traces)`.
static PLAN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/plan.bin"));

/// isa-debug-exit values; QEMU exits with `(value << 1) | 1`.
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum ExitCode {
    /// Every run finished without an invariant violation (status 33).
    Pass = 0x10,
    /// Every run finished and at least one violated an invariant (status 35).
    Violation = 0x11,
    /// Panic, CPU exception or undecodable plan (status 37).
    Fault = 0x12,
    /// A trace replay did not reproduce its recorded hash (status 39).
    Mismatch = 0x13,
}

struct Serial;

impl Write for Serial {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        arch::x86_64::serial_write(s.as_bytes());
        Ok(())
    }
}

macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(Serial, $($arg)*);
    }};
}

fn exit(code: ExitCode) -> ! {
    arch::x86_64::exit_qemu(code as u8)
}

static FAULTING: AtomicBool = AtomicBool::new(false);

/// Reports a fatal kernel error and exits with the fault status.
pub fn fatal(what: &str) -> ! {
    if !FAULTING.swap(true, Ordering::SeqCst) {
        say!("FAULT {what}");
    }
    exit(ExitCode::Fault)
}

/// CPU exception (or unhandled interrupt) reported by the arch layer.
pub fn cpu_exception(vector: u8, error_code: u64, rip: u64, cr2: u64) -> ! {
    if !FAULTING.swap(true, Ordering::SeqCst) {
        say!("FAULT cpu-exception vector={vector} error={error_code:#x} rip={rip:#x} cr2={cr2:#x}");
    }
    exit(ExitCode::Fault)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if !FAULTING.swap(true, Ordering::SeqCst) {
        say!("FAULT panic: {info}");
    }
    exit(ExitCode::Fault)
}

static SOFT_INTERRUPTS: AtomicU32 = AtomicU32::new(0);

fn count_soft_interrupt() {
    SOFT_INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

/// Exercises the HAL once at boot; returns a one-word verdict.
fn hal_self_test(platform: &mut arch::x86_64::Platform) -> Result<(), &'static str> {
    if platform.interrupts.interrupts_enabled() {
        return Err("interrupts unexpectedly enabled");
    }
    let frame = platform.memory.allocate_page().map_err(|_| "allocate_page")?;
    let virt = 0x40_0000_0000usize; // 256 GiB: outside the boot identity map
    platform.memory.map_page(virt, frame, true, false).map_err(|_| "map_page")?;
    platform.memory.write_u64(virt + 8, 0x5a5a_1234_dead_beef).map_err(|_| "write through mapping")?;
    if platform.memory.read_physical_u64(frame + 8) != Ok(0x5a5a_1234_dead_beef) {
        return Err("mapping does not reach the frame");
    }
    if platform.memory.map_page(virt, frame, true, false).is_ok() {
        return Err("double map accepted");
    }
    platform.memory.unmap_page(virt).map_err(|_| "unmap_page")?;
    if platform.memory.read_u64(virt).is_ok() {
        return Err("read after unmap");
    }
    platform.memory.free_page(frame).map_err(|_| "free_page")?;
    if platform.memory.free_page(frame).is_ok() {
        return Err("double free accepted");
    }
    platform.interrupts.register_handler(0x80, count_soft_interrupt);
    platform.interrupts.raise_0x80();
    if SOFT_INTERRUPTS.load(Ordering::SeqCst) != 1 {
        return Err("software interrupt handler not called");
    }
    platform.interrupts.enable_interrupts();
    let enabled = platform.interrupts.interrupts_enabled();
    platform.interrupts.disable_interrupts();
    if !enabled || platform.interrupts.interrupts_enabled() {
        return Err("enable/disable interrupts");
    }
    Ok(())
}

fn verdict(report: &RunReport) -> (&'static str, String) {
    match report.first_violation() {
        Some(v) => ("violation", v.invariant.clone()),
        None => ("pass", String::from("-")),
    }
}

/// Called by the arch layer once the CPU, serial port, IDT and heap are set up.
pub fn kernel_main(platform: &mut arch::x86_64::Platform, command_line: &str, modules: Vec<(String, Vec<u8>)>) -> ! {
    let (start, end) = arch::x86_64::image_extent();
    say!(
        "BOOT kernel_bare model={} cpu={} image={:#x}..{:#x} heap={}MiB cmdline={:?}",
        model::trace::MODEL_VERSION,
        platform.cpu.cpu_id(),
        start,
        end,
        arch::x86_64::HEAP_SIZE >> 20,
        command_line
    );
    match hal_self_test(platform) {
        Ok(()) => say!("HAL ok sp={:#x} ip={:#x}", platform.cpu.stack_pointer(), platform.cpu.instruction_pointer()),
        Err(what) => fatal(what),
    }

    // Fault-path self-tests for the runner: `-append selftest=panic|exception|triple`.
    for word in command_line.split_whitespace() {
        match word {
            "selftest=panic" => panic!("deliberate panic (selftest=panic)"),
            "selftest=exception" => arch::x86_64::deliberate::invalid_opcode(),
            "selftest=triple" => arch::x86_64::deliberate::triple_fault(),
            _ => {}
        }
    }
    if command_line.split_whitespace().any(|w| w.starts_with("selftest=")) {
        fatal("deliberate fault did not stop the kernel");
    }

    type Seeded = Vec<(String, Scenario, Vec<u64>)>;
    type Traces = Vec<(String, Vec<u8>)>;
    let (seeded, traces): (Seeded, Traces) = match postcard::from_bytes(PLAN) {
        Ok(plan) => plan,
        Err(_) => fatal("cannot decode the embedded plan"),
    };
    let seeded_runs: usize = seeded.iter().map(|(_, _, seeds)| seeds.len()).sum();
    say!("PLAN seeded={} traces={} modules={} bytes={}", seeded_runs, traces.len(), modules.len(), PLAN.len());
    // Traces loaded as multiboot modules are named `module:<file name>`.
    let mut traces = traces;
    for (string, bytes) in modules {
        let path = string.split_whitespace().next().unwrap_or("");
        let file = path.rsplit('/').next().unwrap_or(path);
        traces.push((alloc::format!("module:{file}"), bytes));
    }

    let (mut runs, mut violations, mut mismatches, mut events) = (0u64, 0u64, 0u64, 0u64);
    for (name, scenario, seeds) in &seeded {
        for &seed in seeds {
            let report = model::run(scenario, &RunConfig::seeded(seed));
            let (verdict, invariant) = verdict(&report);
            say!(
                "RESULT kind=seed name={name} seed={seed} verdict={verdict} invariant={invariant} events={} hash={:016x} expect={}",
                report.stats.events,
                report.trace_hash,
                if report.passed() { "met" } else { "unmet" }
            );
            runs += 1;
            events += report.stats.events;
            violations += u64::from(report.first_violation().is_some());
        }
    }
    for (name, bytes) in &traces {
        let trace = match Trace::from_binary(bytes) {
            Ok(t) => t,
            Err(e) => {
                say!("RESULT kind=trace name={name} error={e}");
                mismatches += 1;
                continue;
            }
        };
        let config = RunConfig { seed: trace.seed, replay_choices: Some(trace.choices()), ..RunConfig::default() };
        let report = model::run(&trace.scenario, &config);
        let (verdict, invariant) = verdict(&report);
        let matched = report.trace_hash == trace.outcome.trace_hash
            && report.stats.events == trace.outcome.events
            && report.first_violation().map(|v| &v.invariant) == trace.outcome.violation.as_ref().map(|(id, _)| id);
        say!(
            "RESULT kind=trace name={name} seed={} verdict={verdict} invariant={invariant} events={} hash={:016x} expect={} recorded={:016x} match={}",
            trace.seed,
            report.stats.events,
            report.trace_hash,
            if report.passed() { "met" } else { "unmet" },
            trace.outcome.trace_hash,
            if matched { "yes" } else { "no" }
        );
        runs += 1;
        events += report.stats.events;
        violations += u64::from(report.first_violation().is_some());
        mismatches += u64::from(!matched);
    }
    say!(
        "DONE runs={runs} violations={violations} mismatches={mismatches} events={events} heap_used={}",
        arch::x86_64::heap_used()
    );
    if mismatches > 0 {
        exit(ExitCode::Mismatch)
    } else if violations > 0 {
        exit(ExitCode::Violation)
    } else {
        exit(ExitCode::Pass)
    }
}
