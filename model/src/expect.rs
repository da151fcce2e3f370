//! Evaluation of a scenario's expectations against a finished run.

use crate::report::{ExpectationResult, RunReport};
use crate::scenario::{ExpectedVerdict, Expectations, StepOutcome};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// One result per expectation, the verdict first.
pub fn evaluate(expect: &Expectations, report: &RunReport) -> Vec<ExpectationResult> {
    let mut out = Vec::new();
    out.push(verdict(&expect.verdict, report));
    for s in &expect.steps {
        let actual = report.step_results.get(s.step as usize).copied().flatten();
        let wanted = match s.result {
            StepOutcome::Ok => Ok(()),
            StepOutcome::Err(kind) => Err(kind),
        };
        out.push(ExpectationResult {
            expected: format!("step {} returns {}", s.step, outcome(Some(wanted))),
            actual: outcome(actual),
            met: actual == Some(wanted),
        });
    }
    for (kind, count) in &expect.audit {
        let n = report.audit_counts.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
        out.push(ExpectationResult { expected: format!("audit {kind:?} count {count:?}"), actual: format!("{n}"), met: count.admits(n) });
    }
    for (counter, count) in &expect.counters {
        let n = report.stats.get(*counter);
        out.push(ExpectationResult { expected: format!("{counter:?} {count:?}"), actual: format!("{n}"), met: count.admits(n) });
    }
    out
}

fn verdict(expected: &ExpectedVerdict, report: &RunReport) -> ExpectationResult {
    let first = report.first_violation();
    let actual = match first {
        None => String::from("no violation"),
        Some(v) => format!("{} violated at event {}", v.invariant, v.event),
    };
    match expected {
        ExpectedVerdict::Pass => ExpectationResult { expected: String::from("no violation"), actual, met: first.is_none() },
        ExpectedVerdict::Violation(id) => ExpectationResult {
            expected: format!("{id} violated first"),
            actual,
            met: first.is_some_and(|v| &v.invariant == id),
        },
    }
}

fn outcome(result: Option<Result<(), crate::error::KernelErrorKind>>) -> String {
    match result {
        None => String::from("nothing (the step never ran)"),
        Some(Ok(())) => String::from("Ok"),
        Some(Err(kind)) => format!("Err({kind})"),
    }
}
