//! Writing the campaign directory. Every file is written atomically (a temporary file in the same
//! folder, then a rename); a session killed in between leaves a `.tmp*` file, which the next
//! session removes on start ([`remove_temporaries`]).
//!
//! For the kill-anywhere test, every write passes numbered **crash points** (before the
//! temporary file, between it and the rename, after the rename), and so does a shrink (after its
//! first and its hundredth execution). `campaign run --crash-at N` (hidden) ends the process at
//! crash point `N` with exit status [`CRASH_EXIT`], without unwinding or cleaning up: for the
//! directory, exactly what `kill -9` at that instant leaves.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Exit status of a process ended at its crash point.
pub const CRASH_EXIT: i32 = 86;

/// The crash point to stop at (0: none).
static CRASH_AT: AtomicU64 = AtomicU64::new(0);
/// Crash points passed so far.
static PASSED: AtomicU64 = AtomicU64::new(0);

/// Ends the process at crash point `n` (counted from 1 over the whole process), for the
/// kill-anywhere test.
pub fn crash_at(n: u64) {
    CRASH_AT.store(n, Ordering::SeqCst);
}

/// A crash point: the process ends here if this is the chosen one.
pub fn point(what: &dyn std::fmt::Display) {
    let target = CRASH_AT.load(Ordering::SeqCst);
    if target == 0 {
        return;
    }
    if PASSED.fetch_add(1, Ordering::SeqCst) + 1 == target {
        eprintln!("crash point {target}: {what}");
        std::process::exit(CRASH_EXIT);
    }
}

/// Writes `bytes` to `path` atomically, passing three crash points.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let shown = path.display();
    point(&format_args!("before writing {shown}"));
    replay::files::write_atomically_then(path, |w| w.write_all(bytes), &mut || point(&format_args!("{shown} written, not yet renamed"))).map_err(|e| e.to_string())?;
    point(&format_args!("after writing {shown}"));
    Ok(())
}

/// Whether a file name is one of [`write`]'s temporary files: the prefix and six random letters or
/// digits (`tempfile`'s naming), nothing a person would name a file of their own.
pub fn is_temporary(name: &str) -> bool {
    name.strip_prefix(replay::files::TEMPORARY_PREFIX).is_some_and(|rest| rest.len() == 6 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Removes the temporary files a killed session left in `dir` and its finding folders.
pub fn remove_temporaries(dir: &Path) -> Result<(), String> {
    let findings = dir.join("findings");
    let finding_dirs = std::fs::read_dir(&findings).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_dir());
    for folder in std::iter::once(dir.to_path_buf()).chain(std::iter::once(findings.clone())).chain(finding_dirs) {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            if is_temporary(&entry.file_name().to_string_lossy()) && entry.path().is_file() {
                std::fs::remove_file(entry.path()).map_err(|e| format!("{}: cannot remove a stale temporary file: {e}", entry.path().display()))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_temporary;

    #[test]
    fn only_temporary_file_names_count_as_temporary() {
        assert!(is_temporary(".tmpA1b2C3"));
        for name in [".tmp", ".tmprc", ".tmpA1b2C3.bak", "tmpA1b2C3", ".tmp-1b2C3", "state.json"] {
            assert!(!is_temporary(name), "{name}");
        }
    }
}
