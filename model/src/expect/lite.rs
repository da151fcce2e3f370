//! Evaluation of `expect.lite` (lite builds): the bring-up lite node's address, whether it is the
//! fallback, the echo replies, each scripted fetch and the node's counters at the end of the run,
//! from the run's [`crate::report::LiteReport`]; an unmet one shows what the node did instead.

use super::{count_text, result, Eval};
use crate::report::{ExpectationResult, LiteCounter, LiteReport};
use crate::scenario::LiteExpectation;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

impl Eval<'_> {
    /// Every lite expectation, in field order.
    pub(super) fn lite(&self, out: &mut Vec<ExpectationResult>) {
        let Some(e) = &self.scenario.expect.lite else { return };
        let empty = LiteReport::default();
        let report = self.report.lite.as_ref().unwrap_or(&empty);
        address_and_replies(e, report, out);
        for (j, f) in e.fetches.iter().enumerate() {
            let path = format!("expect.lite.fetches[{j}]");
            let row = report.fetches.get(j);
            let mut expected = format!("fetch of {} ends with status {}", f.url, f.status);
            if let Some(body) = &f.body {
                expected.push_str(&format!(", body {body:?}"));
            }
            if let Some(a) = f.attempts {
                expected.push_str(&format!(" after {a} attempt(s)"));
            }
            let met = row.is_some_and(|r| r.url == f.url && r.status == Some(f.status) && f.body.as_ref().is_none_or(|b| *b == r.body) && f.attempts.is_none_or(|a| a == r.attempts));
            let actual = match row {
                None => String::from("no such fetch"),
                Some(r) => match r.status {
                    None => format!("fetch of {} still waiting at the end of the run", r.url),
                    Some(s) => format!("fetch of {} ended with status {s}, body {:?} after {} attempt(s)", r.url, r.body, r.attempts),
                },
            };
            out.push(result(path, expected, actual, met));
        }
        for (j, (counter, count)) in e.counters.iter().enumerate() {
            let n = report.get(*counter);
            let mut r = result(format!("expect.lite.counters[{j}]"), format!("{counter:?} {}", count_text(*count)), format!("{n}"), count.admits(n));
            if !r.met {
                r.nearest = LiteCounter::ALL.iter().filter(|c| report.get(**c) > 0).map(|c| format!("{c:?}: {}", report.get(*c))).collect();
            }
            out.push(r);
        }
    }
}

/// `address`, `fallback` and `echo_replies`.
fn address_and_replies(e: &LiteExpectation, report: &LiteReport, out: &mut Vec<ExpectationResult>) {
    let shown = |a: Option<crate::net::Ipv4Cidr>| a.map_or(String::from("no address"), |c| format!("{c}"));
    if let Some(a) = e.address {
        out.push(result(String::from("expect.lite.address"), format!("address {a}"), shown(report.address), report.address == Some(a)));
    }
    if let Some(f) = e.fallback {
        let what = |f: bool| if f { "the fallback address" } else { "no fallback (a bound lease, or still asking)" };
        out.push(result(String::from("expect.lite.fallback"), String::from(what(f)), format!("{} ({})", what(report.fallback), shown(report.address)), report.fallback == f));
    }
    if let Some(replies) = &e.echo_replies {
        out.push(result(String::from("expect.lite.echo_replies"), format!("echo replies {replies:?}"), format!("{:?}", report.echo_replies), *replies == report.echo_replies));
    }
}
