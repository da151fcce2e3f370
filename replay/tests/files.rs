//! Trace files as a user meets them: whatever is not a trace is named for what it is (empty, a
//! binary trace cut short, a directory, an endless device), a byte-order mark before a text trace
//! is ignored, writes say why they cannot happen, and `replay --format json` writes 64-bit values
//! as strings.

use replay::files;
use std::path::Path;
use std::process::Command;

fn small_trace(seed: u64) -> model::trace::Trace {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/bug_delegate_keeps_source.ron")).expect("scenario");
    let scenario = scenarios::parse_scenario(&text, "bug.ron").expect("valid");
    replay::record(&scenario, seed).0
}

#[test]
fn what_is_not_a_trace_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("written");
        path
    };
    let mut cases = vec![
        (write("empty.trace", b""), "the file is empty (expected a trace)".to_string()),
        (dir.path().to_path_buf(), "is a directory, not a trace file".to_string()),
        (Path::new("/dev/zero").to_path_buf(), "is larger than 1024 MiB".to_string()),
    ];
    for n in 1..=7 {
        cases.push((write(&format!("cut{n}.trace"), &b"PGTRACE"[..n]), "file is too short to be a binary trace".to_string()));
    }
    let version = model::trace::TRACE_FORMAT_VERSION as u8;
    cases.push((write("cut8.trace", &[&b"PGTRACE"[..], &[version]].concat()), "corrupted or truncated trace".to_string()));
    for (path, wanted) in cases {
        let err = files::read_trace(&path).expect_err("not a trace").to_string();
        assert!(err.contains(&wanted), "{}: {err}", path.display());
        assert!(!err.contains("RON"), "{}: a binary or empty file is not called a bad RON trace: {err}", path.display());
    }
}

#[test]
fn a_text_trace_with_a_byte_order_mark_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = small_trace(3);
    let path = dir.path().join("bom.trace.ron");
    let mut bytes = vec![0xef, 0xbb, 0xbf];
    bytes.extend(replay::text::to_text(&trace).into_bytes());
    std::fs::write(&path, bytes).expect("written");
    assert_eq!(files::read_trace(&path).expect("reads"), trace);
}

#[test]
fn writes_that_cannot_happen_say_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a_file");
    std::fs::write(&file, b"x").expect("written");
    let under_file = files::write_atomically(&file.join("x.trace"), b"data").expect_err("under a file").to_string();
    assert!(under_file.contains("it is a file, not a folder"), "{under_file}");
    let onto_dir = files::write_atomically(dir.path(), b"data").expect_err("onto a directory").to_string();
    assert!(onto_dir.contains("is a directory"), "{onto_dir}");
}

#[test]
fn json_output_writes_seeds_and_hashes_as_strings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big_seed.trace");
    let trace = small_trace(u64::MAX);
    files::write_trace(&path, &trace).expect("written");
    let out = Command::new(env!("CARGO_BIN_EXE_replay")).arg(&path).args(["--format", "json"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    fn numbers(v: &serde_json::Value, out: &mut Vec<u64>) {
        match v {
            serde_json::Value::Number(n) => out.extend(n.as_u64()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| numbers(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| numbers(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    numbers(&json, &mut all);
    assert!(all.iter().all(|&n| n <= replay::json::EXACT_LIMIT), "an integer a double cannot hold: {json}");
    let hash = format!("\"{:016x}\"", trace.outcome.trace_hash);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&hash), "the trace hash as 16 hex digits: {json}");
}
