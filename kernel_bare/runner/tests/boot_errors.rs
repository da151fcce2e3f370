//! A boot that cannot happen is a boot error (exit 2, one clear line), never a run of "MISSING"
//! disagreements (exit 1): an image that is not a multiboot kernel, a missing image, and an image
//! QEMU starts but that never prints its BOOT line. None of these needs QEMU itself: a stand-in
//! script plays the emulator.

use std::process::Command;

const BARE: &str = env!("CARGO_BIN_EXE_bare");

fn bare(kernel: &std::path::Path, qemu: &str) -> std::process::Output {
    Command::new(BARE).args(["--no-build", "--no-fault-tests", "--quiet", "--qemu", qemu, "--kernel"]).arg(kernel).output().expect("the runner starts")
}

fn assert_boot_error(out: &std::process::Output, wanted: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains(wanted), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("MISSING"), "no comparison without a boot");
}

#[test]
fn garbage_missing_and_silent_images_are_boot_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, b"this is not a kernel at all").expect("written");
    assert_boot_error(&bare(&garbage, "qemu-system-x86_64"), "no multiboot header");
    assert_boot_error(&bare(&dir.path().join("absent"), "qemu-system-x86_64"), "cannot read the image");
    assert_boot_error(&bare(dir.path(), "qemu-system-x86_64"), "is not a file");

    // A file with a valid multiboot header, booted by an "emulator" that prints nothing.
    let mut image = vec![0u8; 64];
    let flags = 0x0001_0000u32;
    for (i, word) in [0x1BAD_B002u32, flags, 0u32.wrapping_sub(0x1BAD_B002 + flags)].iter().enumerate() {
        image[16 + 4 * i..20 + 4 * i].copy_from_slice(&word.to_le_bytes());
    }
    let kernel = dir.path().join("kernel");
    std::fs::write(&kernel, image).expect("written");
    let silent = dir.path().join("silent-qemu");
    std::fs::write(&silent, "#!/bin/sh\necho 'qemu: could not load kernel' >&2\nexit 1\n").expect("written");
    #[cfg(unix)]
    std::fs::set_permissions(&silent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    assert_boot_error(&bare(&kernel, silent.to_str().expect("utf-8 path")), "did not boot");
}
