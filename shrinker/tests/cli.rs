//! The `shrink` command as a user meets it: it shrinks a failing scenario file and a failing trace,
//! writes a scenario that loads and fails the same way plus a trace that replays, refuses a passing
//! run with exit 1 and bad input with exit 2.

use std::path::Path;
use std::process::Command;

const SHRINK: &str = env!("CARGO_BIN_EXE_shrink");

fn failing_scenario(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string("tests/data/random_run.ron").expect("random run");
    let text = text.replacen("    faults: (", "    bugs: [DuplicateExitNotification],\n    faults: (", 1);
    let path = dir.join("failing.ron");
    std::fs::write(&path, text).expect("written");
    path
}

#[test]
fn shrinks_a_scenario_file_and_writes_a_loadable_repro_with_its_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = failing_scenario(dir.path());
    let out = dir.path().join("repro.ron");
    let status = Command::new(SHRINK).arg(&input).args(["--seed", "1", "--out"]).arg(&out).output().expect("runs");
    assert_shrunk(&status, "identity.one_exit_notification@termination", &out);
}

/// `shrink` succeeded with `signature`; `out` loads and fails as it expects, and the trace beside
/// it replays.
fn assert_shrunk(status: &std::process::Output, signature: &str, out: &Path) {
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(stdout.contains(signature), "{stdout}");
    let repro = scenarios::load_scenario(out).expect("the repro loads");
    let report = model::run(&repro, &model::RunConfig::seeded(repro.seed));
    assert!(report.passed(), "the repro expects its violation: {:?}", report.expectations);
    let trace = replay::files::read_trace(&out.with_file_name("repro.trace.ron")).expect("trace written");
    assert!(replay::replay(&trace, 1).expect("valid").confirmed());
}

#[test]
fn shrinks_a_recorded_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = failing_scenario(dir.path());
    let scenario = scenarios::load_scenario(&input).expect("loads");
    let (trace, _) = replay::record(&scenario, 1);
    let trace_path = dir.path().join("failing.trace");
    replay::files::write_trace(&trace_path, &trace).expect("written");
    let out = dir.path().join("from_trace.ron");
    let status = Command::new(SHRINK).arg(&trace_path).arg("--out").arg(&out).arg("--json").output().expect("runs");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json report");
    assert!(json["after"]["events"].as_u64() < json["before"]["events"].as_u64(), "{json}");
}

#[test]
fn a_passing_run_exits_1_and_bad_input_exits_2() {
    let passing = Command::new(SHRINK).arg("tests/data/random_run.ron").output().expect("runs");
    assert_eq!(passing.status.code(), Some(1), "{}", String::from_utf8_lossy(&passing.stderr));
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.ron");
    std::fs::write(&bad, "(name: \"x\", tasks: [ (name: 3) ])").expect("written");
    let out = Command::new(SHRINK).arg(&bad).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.ron:1:"), "{}", String::from_utf8_lossy(&out.stderr));
    let missing = Command::new(SHRINK).arg("no/such/file.ron").output().expect("runs");
    assert_eq!(missing.status.code(), Some(2));
}

/// A crash artifact of the `generated_run` fuzz target (found by
/// `PANDAGEN_FUZZ_BUG=DelegateKeepsSource cargo +nightly fuzz run generated_run ... -seed=1`)
/// becomes a shrunk scenario that fails with the same signature, written into a folder that did
/// not exist yet, and a trace that replays.
#[test]
fn shrinks_a_fuzz_crash_artifact_into_a_new_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("findings/new/repro.ron");
    let status = Command::new(SHRINK)
        .args(["--fuzz-artifact", "tests/data/fuzz_crash_delegate_keeps_source.bin", "--bug", "DelegateKeepsSource", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_shrunk(&status, "cap.no_use_after_transfer@capability.use", &out);
}

#[test]
fn a_fuzz_artifact_with_an_unknown_bug_exits_2() {
    let out = Command::new(SHRINK)
        .args(["--fuzz-artifact", "tests/data/fuzz_crash_delegate_keeps_source.bin", "--bug", "NoSuchBug"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown planted bug"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Without `--out`, the file name comes from the scenario's name made safe: a name that climbs
/// out of the folder (`../../x`) or is empty writes a visible file in the current folder, never
/// anywhere else.
#[test]
fn without_out_the_repro_lands_in_the_current_folder_whatever_the_name() {
    let base = std::fs::read_to_string(failing_scenario(tempfile::tempdir().expect("tempdir").path())).expect("failing scenario");
    for (name, expected) in [("../../escaped_name", "escaped_name.shrunk.ron"), ("", "scenario.shrunk.ron"), ("/tmp/abs", "tmp_abs.shrunk.ron")] {
        let root = tempfile::tempdir().expect("tempdir");
        let cwd = root.path().join("a/b");
        std::fs::create_dir_all(&cwd).expect("folders");
        let text = base.replacen(&format!("name: \"{}\"", scenario_name(&base)), &format!("name: {name:?}"), 1);
        let input = cwd.join("input.ron");
        std::fs::write(&input, text).expect("written");
        let out = Command::new(SHRINK).current_dir(&cwd).args(["input.ron", "--seed", "1", "--max-executions", "300", "--format", "json"]).output().expect("runs");
        assert!(out.status.success(), "{name:?}: {}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--format json");
        assert_eq!(json["scenario_file"], expected, "{name:?}");
        assert!(cwd.join(expected).is_file(), "{name:?}: {expected} not in the current folder");
        let outside: Vec<_> = std::fs::read_dir(root.path()).expect("root").flatten().map(|e| e.file_name()).collect();
        assert_eq!(outside, vec![std::ffi::OsString::from("a")], "{name:?}: wrote outside the current folder");
    }
}

fn scenario_name(text: &str) -> String {
    let start = text.find("name: \"").expect("a name") + "name: \"".len();
    text[start..].split('"').next().expect("closed").to_string()
}
