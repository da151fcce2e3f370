//! Build script of the bare-metal image: freestanding link arguments, the interrupt stubs, and
//! the embedded run plan (scenarios + seeds + binary traces, postcard-encoded).

#[path = "plan/plan.rs"]
mod plan;

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());

    // Link: no C runtime, no libc, static, our linker script.
    let script = manifest.join("linker.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-changed=plan/plan.rs");
    for arg in ["-nostartfiles", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-Wl,-z,max-page-size=4096", "-Wl,--gc-sections"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());

    // Interrupt stubs for all 256 vectors: push a zero error code where the CPU pushes none, then
    // the vector number, and jump to the common entry (src/arch/x86_64.rs).
    const HAS_ERROR_CODE: [u8; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];
    let mut asm = String::from(".section .text\n.code64\n");
    for v in 0..256u32 {
        let _ = writeln!(asm, ".balign 16\n__isr_stub_{v}:");
        if !HAS_ERROR_CODE.contains(&(v as u8)) {
            asm.push_str("    pushq $0\n");
        }
        let _ = writeln!(asm, "    pushq ${v}\n    jmp __isr_common");
    }
    asm.push_str(".section .rodata\n.balign 8\n.global __isr_stub_table\n__isr_stub_table:\n");
    for v in 0..256u32 {
        let _ = writeln!(asm, "    .quad __isr_stub_{v}");
    }
    std::fs::write(out.join("isr_stubs.s"), asm).unwrap();

    // The run plan.
    let scenarios_dir = manifest.join("../scenarios");
    println!("cargo:rerun-if-changed={}", scenarios_dir.display());
    for f in plan::input_files(&scenarios_dir) {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let plan = plan::build(&scenarios_dir).unwrap_or_else(|e| panic!("cannot build the run plan: {e}"));
    std::fs::write(out.join("plan.bin"), plan::encode(&plan)).unwrap();
}
