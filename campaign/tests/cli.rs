//! The `campaign` command as a user meets it: arguments out of range are refused (exit 2) before
//! anything runs, `--help` says what is required, what the defaults and planted bugs are, the exit
//! codes and examples; a template that is a trace or a `--dir` that is a file is named as such;
//! and a large template does not bloat the checkpoint.

use std::path::Path;
use std::process::{Command, Output};

const CAMPAIGN: &str = env!("CARGO_BIN_EXE_campaign");

fn campaign(args: &[&str]) -> Output {
    Command::new(CAMPAIGN).args(args).output().expect("the campaign binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn arguments_out_of_range_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("camp");
    let d = d.to_str().expect("utf-8");
    for (args, wanted) in [
        (vec!["run", "--dir", d], "--runs <RUNS>|--duration <DURATION>"),
        (vec!["run", "--dir", d, "--runs", "1", "--threads", "10000"], "10000 is not in 1..=256"),
        (vec!["run", "--dir", d, "--runs", "1", "--threads", "0"], "0 is not in 1..=256"),
        (vec!["run", "--dir", d, "--runs", "1", "--spot-check-per-mille", "1001"], "1001 is not in 0..=1000"),
        (vec!["run", "--dir", d, "--runs", "1", "--batch", "0"], "0 is not in 1..=100000"),
        (vec!["run", "--dir", d, "--runs", "1", "--bug", "NoSuchBug"], "possible values: DelegateKeepsSource"),
        (vec!["run", "--dir", d, "--duration", "18446744073709551615h"], "is too long"),
    ] {
        let out = campaign(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(wanted), "{args:?}: {}", stderr(&out));
    }
    assert!(!Path::new(d).exists(), "nothing ran");
}

#[test]
fn help_says_what_is_required_the_defaults_the_bugs_exit_codes_and_examples() {
    let help = String::from_utf8_lossy(&campaign(&["run", "--help"]).stdout).into_owned();
    for wanted in ["This or --duration is required", "[default: one per core]", "Exit codes:", "Examples:", "--runs 100000 --bug DelegateKeepsSource"] {
        assert!(help.contains(wanted), "`{wanted}` missing from run --help:\n{help}");
    }
    for bug in model::bugs::PlantedBug::reachable() {
        assert!(help.contains(&format!("{bug:?}")), "{bug:?} missing from run --help:\n{help}");
    }
    assert!(String::from_utf8_lossy(&campaign(&["--help"]).stdout).contains("Exit codes:"));
}

#[test]
fn more_threads_than_cores_are_allowed_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("camp");
    let out = campaign(&["run", "--dir", d.to_str().expect("utf-8"), "--runs", "4", "--threads", "256"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning: --threads 256 on"), "{}", stderr(&out));
}

#[test]
fn a_trace_as_template_and_a_file_as_dir_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = scenarios::load_scenario(Path::new("../scenarios/bug_delegate_keeps_source.ron")).expect("loads");
    let trace = dir.path().join("run.trace");
    replay::files::write_trace(&trace, &replay::record(&scenario, 1).0).expect("written");
    let camp = dir.path().join("camp");
    let out = campaign(&["run", "--dir", camp.to_str().expect("utf-8"), "--runs", "1", "--template", trace.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is a trace, not a scenario"), "{}", stderr(&out));
    let file = dir.path().join("a_file");
    std::fs::write(&file, b"x").expect("written");
    let out = campaign(&["run", "--dir", file.to_str().expect("utf-8"), "--runs", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is a file, not a campaign directory"), "{}", stderr(&out));
}

/// The checkpoint records a template by name and digest, not by content: a 2 MB template keeps
/// `state.json` at a few kilobytes, and a changed template is still noticed on resume.
#[test]
fn a_large_template_keeps_the_checkpoint_small_and_changes_are_noticed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string("../scenarios/faults_drop_delay.ron").expect("template");
    let large = text.replacen("description: \"", &format!("description: \"{}", "x".repeat(2 << 20)), 1);
    let template = dir.path().join("large.ron");
    std::fs::write(&template, &large).expect("written");
    let camp = dir.path().join("camp");
    let args = |t: &Path| vec!["run".to_string(), "--dir".into(), camp.display().to_string(), "--runs".into(), "64".into(), "--batch".into(), "16".into(), "--template".into(), t.display().to_string()];
    let out = Command::new(CAMPAIGN).args(args(&template)).output().expect("runs");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let size = std::fs::metadata(camp.join("state.json")).expect("state").len();
    assert!(size < 16 << 10, "state.json is {size} bytes for a {} byte template", large.len());
    std::fs::write(&template, large.replacen("description: \"x", "description: \"y", 1)).expect("changed");
    let out = Command::new(CAMPAIGN).args(args(&template)).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--template scenarios [faults_drop_delay] there"), "{}", stderr(&out));
}

/// On start a campaign removes finding folders its checkpoint does not count (left by a killed
/// batch), but never a folder with anything else in it.
#[test]
fn a_foreign_folder_among_the_findings_is_left_alone_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let camp = dir.path().join("camp");
    let stale = camp.join("findings/cap.single_owner__capability.delegate");
    std::fs::create_dir_all(&stale).expect("folders");
    std::fs::write(stale.join("original.trace"), b"left by a killed batch").expect("written");
    std::fs::write(stale.join(".tmpAb12Cd"), b"a write in flight").expect("written");
    let out = campaign(&["run", "--dir", camp.to_str().expect("utf-8"), "--runs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stale.exists(), "an uncounted finding folder is removed");
    let mine = camp.join("findings/notes");
    std::fs::create_dir_all(&mine).expect("folder");
    std::fs::write(mine.join("todo.txt"), b"mine").expect("written");
    let out = campaign(&["run", "--dir", camp.to_str().expect("utf-8"), "--runs", "4"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a finding folder of this campaign (todo.txt"), "{}", stderr(&out));
    assert!(mine.join("todo.txt").exists());
}
