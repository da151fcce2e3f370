//! Campaigns end to end: the power test (each planted bug, alone, is found by a short campaign and
//! its shrunk repro has the bug's signature), a clean campaign with no finding and complete
//! reports, resumption that loses nothing, and shards that merge into the whole.

use campaign::campaign::{run, Options, Stop};
use campaign::shard::Shard;
use campaign::{findings, report, RunSpec};
use model::bugs::PlantedBug;
use std::path::Path;
use std::sync::atomic::AtomicBool;

fn spec(bugs: Vec<PlantedBug>) -> RunSpec {
    RunSpec { swarm: true, max_workload_ops: 200, bugs, spot_check_per_mille: 20, templates: vec![] }
}

fn options(dir: &Path, spec: RunSpec, shard: Shard, runs: u64) -> Options {
    Options { dir: dir.to_path_buf(), spec, shard, stop: Stop::Runs(runs), threads: 2, shrink_budget: 3_000, batch: 64 }
}

#[test]
fn power_test_every_planted_bug_is_found_and_shrunk_with_its_signature() {
    for bug in PlantedBug::reachable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outcome = run(&options(dir.path(), spec(vec![bug]), Shard::WHOLE, 512), &AtomicBool::new(false), &mut |_| {}).expect("campaign runs");
        let caught: Vec<_> = outcome.state.findings.values().filter(|f| bug.is_caught_by(f.signature.split('@').next().unwrap_or(""))).collect();
        assert!(!caught.is_empty(), "{bug:?} not found in 512 runs: {:?}", outcome.state.findings.keys());
        for f in caught {
            let shrunk = f.shrunk.as_ref().expect("shrunk");
            assert_eq!(shrunk.signature, f.signature);
            // The shrinker orders by scenario parts first, then events: a violation in the very first
            // event can take an event or two more once tasks are merged, never more.
            assert!(shrunk.events_after <= shrunk.events_before.max(3), "{bug:?}: shrunk {} events, found {}", shrunk.events_after, shrunk.events_before);
            let repro = findings::finding_dir(dir.path(), &f.signature).join("shrunk.ron");
            let scenario = scenarios::load_scenario(&repro).expect("the repro loads");
            let trace = replay::files::read_trace(&repro.with_extension("trace.ron")).expect("its trace");
            let replayed = replay::replay(&trace, 1).expect("valid trace");
            assert!(replayed.confirmed(), "{bug:?}: the shrunk trace does not replay");
            assert_eq!(scenario.expect.verdict, model::scenario::ExpectedVerdict::Violation(f.signature.split('@').next().unwrap_or("").into()));
        }
    }
}

#[test]
fn a_clean_campaign_finds_nothing_and_writes_every_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outcome = run(&options(dir.path(), spec(vec![]), Shard::WHOLE, 600), &AtomicBool::new(false), &mut |_| {}).expect("campaign runs");
    assert!(outcome.state.findings.is_empty(), "{:?}", outcome.state.findings.keys());
    assert_eq!(outcome.state.runs, 600);
    assert!(outcome.state.spot_checks > 0, "the determinism spot check ran");
    report::write_all(dir.path(), &outcome.state).expect("reports");
    for name in ["report.md", "report.html", "junit.xml", "summary.json"] {
        assert!(dir.path().join(name).exists(), "{name} missing");
    }
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).expect("summary")).expect("json");
    assert_eq!(summary["runs"], 600);
    assert!(std::fs::read_to_string(dir.path().join("report.html")).expect("html").contains("<svg"));
    // Run coverage summed over the campaign: operations by result, rule shapes, situations.
    let sends = summary["coverage"]["operations"]["Send"]["Ok"].as_u64().expect("sends counted");
    assert!(sends > 600, "600 runs send more than once each: {sends}");
    assert!(summary["coverage"]["fault_rules"].as_object().is_some_and(|r| r.len() >= 5), "{}", summary["coverage"]["fault_rules"]);
    assert!(summary["coverage"]["situations"]["msg.at_most_once"].as_array().is_some_and(|s| s.len() >= 2));
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("markdown");
    assert!(md.contains("Operations by result") && md.contains("Fault rules by shape") && md.contains("Invariant situations"));
}

#[test]
fn an_interrupted_campaign_resumes_without_losing_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = spec(vec![PlantedBug::DuplicateExitNotification]);
    let first = run(&options(dir.path(), s.clone(), Shard::WHOLE, 128), &AtomicBool::new(false), &mut |_| {}).expect("first session");
    assert!(!first.state.findings.is_empty());
    // A later session continues from the checkpoint, keeps the findings and adds hits.
    let second = run(&options(dir.path(), s.clone(), Shard::WHOLE, 256), &AtomicBool::new(false), &mut |_| {}).expect("resumed");
    assert_eq!(second.state.runs, 256);
    assert_eq!(second.state.next_index, 256);
    for (sig, f) in &first.state.findings {
        let g = second.state.findings.get(sig).expect("finding kept");
        assert_eq!(g.first_seed, f.first_seed);
        assert!(g.hits >= f.hits);
    }
    // An interrupt stops at once, after a checkpoint.
    let stopped = run(&options(dir.path(), s.clone(), Shard::WHOLE, 10_000), &AtomicBool::new(true), &mut |_| {}).expect("interrupted");
    assert!(stopped.interrupted);
    assert_eq!(stopped.state.runs, 256);
    // Other settings in the same directory are refused.
    assert!(run(&options(dir.path(), spec(vec![]), Shard::WHOLE, 10), &AtomicBool::new(false), &mut |_| {}).is_err());
}

#[test]
fn shards_partition_the_seeds_and_merge_into_the_whole() {
    let s = spec(vec![PlantedBug::ReuseExecutionIds]);
    let whole = tempfile::tempdir().expect("tempdir");
    let all = run(&options(whole.path(), s.clone(), Shard::WHOLE, 256), &AtomicBool::new(false), &mut |_| {}).expect("whole");
    let parts: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().expect("tempdir")).collect();
    for (k, dir) in parts.iter().enumerate() {
        run(&options(dir.path(), s.clone(), Shard { index: k as u64, count: 2 }, 128), &AtomicBool::new(false), &mut |_| {}).expect("shard");
    }
    let out = tempfile::tempdir().expect("tempdir");
    let dirs: Vec<_> = parts.iter().map(|d| d.path().to_path_buf()).collect();
    let merged = campaign::merge::merge(out.path(), &dirs, false).expect("merge");
    let found = &merged.findings;
    assert_eq!(merged.runs, all.state.runs);
    assert_eq!(merged.events, all.state.events, "two shards of 128 runs are exactly the first 256 seeds");
    assert_eq!(found.keys().collect::<Vec<_>>(), all.state.findings.keys().collect::<Vec<_>>());
    for (sig, f) in found {
        assert_eq!(f.hits, all.state.findings[sig].hits);
        assert_eq!(f.first_seed, all.state.findings[sig].first_seed);
        assert!(findings::finding_dir(out.path(), sig).join("shrunk.ron").exists());
    }
    assert_eq!(Shard { index: 1, count: 4 }.seed(3), 13);
    assert!("3/2".parse::<Shard>().is_err() && "1/0".parse::<Shard>().is_err() && "x".parse::<Shard>().is_err());
    assert_eq!(merged.shards(), "0/2 + 1/2 (merged)");
    let resumed = run(&options(out.path(), s.clone(), Shard::WHOLE, 512), &AtomicBool::new(false), &mut |_| {});
    assert!(resumed.expect_err("a merged report is not resumable").contains("merged report"));
}

/// A merge that would not equal one campaign over the same seeds is refused: a shard twice, a
/// missing shard (unless `partial`), shards of different counts, the output among the inputs.
#[test]
fn merging_a_wrong_set_of_shards_is_refused() {
    let s = spec(vec![]);
    let shard = |k: u64, n: u64| {
        let dir = tempfile::tempdir().expect("tempdir");
        run(&options(dir.path(), s.clone(), Shard { index: k, count: n }, 8), &AtomicBool::new(false), &mut |_| {}).expect("shard");
        dir
    };
    let (a, b, c) = (shard(0, 3), shard(1, 3), shard(1, 2));
    let out = tempfile::tempdir().expect("tempdir");
    let merge = |dirs: &[&tempfile::TempDir], partial| {
        let dirs: Vec<_> = dirs.iter().map(|d| d.path().to_path_buf()).collect();
        campaign::merge::merge(out.path(), &dirs, partial)
    };
    assert!(merge(&[&a, &a], true).expect_err("duplicate").contains("both shard 0/3"));
    assert!(merge(&[&a, &b], false).expect_err("incomplete").contains("shards 2/3 are missing"));
    assert!(merge(&[&a, &c], true).expect_err("other count").contains("share N"));
    assert_eq!(merge(&[&a, &b], true).expect("partial").shards(), "0/3 + 1/3 (merged)");
    let stale = out.path().join("findings/stale");
    std::fs::create_dir_all(&stale).expect("stale finding");
    assert_eq!(merge(&[&b], true).expect("merged again").shards(), "1/3 (merged)");
    assert!(!stale.exists(), "a new merge replaces the old one whole");
    let into_input = campaign::merge::merge(a.path(), &[a.path().to_path_buf(), b.path().to_path_buf()], true);
    assert!(into_input.expect_err("out is an input").contains("is one of the shard directories"));
}

#[test]
fn a_campaign_over_templates_finds_the_planted_bug_in_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let template = scenarios::load_scenario(Path::new("../scenarios/faults_drop_delay.ron")).expect("template loads");
    let mut s = spec(vec![PlantedBug::DelayedDeliveryDuplicates]);
    s.templates = vec![template];
    let outcome = run(&options(dir.path(), s, Shard::WHOLE, 128), &AtomicBool::new(false), &mut |_| {}).expect("campaign runs");
    assert!(outcome.state.findings.keys().any(|k| k.starts_with("msg.at_most_once")), "{:?}", outcome.state.findings.keys());
}

#[test]
fn templates_written_with_the_newer_steps_and_expectations_run_and_their_findings_shrink() {
    // kernel_spawn.ron moves a capability into a Spawn step's child: with DelegateKeepsSource the
    // spawner keeps it. Its IsValid steps and content expectations must not disturb the campaign.
    let dir = tempfile::tempdir().expect("tempdir");
    let template = scenarios::load_scenario(Path::new("../scenarios/kernel_spawn.ron")).expect("template loads");
    let mut s = spec(vec![PlantedBug::DelegateKeepsSource]);
    s.templates = vec![template, scenarios::load_scenario(Path::new("../scenarios/messages_blocking_receive.ron")).expect("loads")];
    assert!(s.scenario(0).steps.iter().all(|step| step.expect.is_none()), "runs carry no expectations");
    let outcome = run(&options(dir.path(), s, Shard::WHOLE, 16), &AtomicBool::new(false), &mut |_| {}).expect("campaign runs");
    let finding = outcome.state.findings.keys().find(|k| k.starts_with("cap.single_owner")).unwrap_or_else(|| panic!("{:?}", outcome.state.findings.keys()));
    let shrunk = dir.path().join("findings").join(finding.replace('@', "__")).join("shrunk.ron");
    let repro = scenarios::load_scenario(&shrunk).expect("the shrunk repro loads");
    assert!(repro.steps.iter().any(|step| matches!(step.op, model::scenario::StepOp::Spawn { .. })), "{repro:#?}");
}
