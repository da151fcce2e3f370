//! The committed seed corpora of the cargo-fuzz targets (`fuzz/seeds/`) stay meaningful: every
//! `trace_decoder` seed is a trace of the current format that replays bit for bit (a stale one
//! would only exercise the decoder's version error), and every `ron_loader` seed is a copy of a
//! scenario file that still loads (`cp scenarios/*.ron fuzz/seeds/ron_loader/` refreshes them).

use std::path::{Path, PathBuf};

fn files_in(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .{extension} seeds in {dir}");
    files
}

#[test]
fn trace_decoder_seeds_are_current_traces_that_replay() {
    for path in files_in("../fuzz/seeds/trace_decoder", "trace") {
        let trace = replay::files::read_trace(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (re-record it, see fuzz/README.md)", path.display()));
        let report = replay::replay(&trace, 1).expect("valid trace");
        assert!(report.confirmed(), "{}: {:?}", path.display(), report.divergence);
    }
}

#[test]
fn ron_loader_seeds_are_copies_of_loadable_scenario_files() {
    for path in files_in("../fuzz/seeds/ron_loader", "ron") {
        let name = path.file_name().expect("file name");
        let original = Path::new("../scenarios").join(name);
        let seed = std::fs::read_to_string(&path).expect("seed readable");
        let current = std::fs::read_to_string(&original)
            .unwrap_or_else(|e| panic!("{}: no scenario file {} ({e})", path.display(), original.display()));
        assert_eq!(seed, current, "{} is stale: cp scenarios/*.ron fuzz/seeds/ron_loader/", path.display());
        // A file of the other networking path is refused by this build (still a useful seed).
        if scenarios::runs_here(&seed) {
            scenarios::load_scenario(&path).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
