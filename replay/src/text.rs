//! The readable text encoding of a trace: pretty RON, one field per line, one event per line.
//! A person can read it, edit it (a choice, a digest, the scenario) and re-encode it; the replay
//! then reports exactly where the edited run departs from the recorded one.

use model::scenario::{nesting_limit, MAX_SUPERVISOR_DEPTH};
use model::trace::Trace;

/// Encodes a trace as pretty RON.
pub fn to_text(trace: &Trace) -> String {
    let config = ron::ser::PrettyConfig::new().depth_limit(2).struct_names(false);
    // The options traces are read with, so what is written reads back (the nesting limit).
    let body = ron_options().to_string_pretty(trace, config).unwrap_or_default();
    format!("// PandaGen trace (text encoding). Edit freely; `replay` reports the first divergence.\n{body}\n")
}

/// A RON decoding error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// RON nesting levels one supervisor level takes (its task spec, the `behaviour` field, the
/// `Supervisor` variant, the `children` field and list; the test below measures it).
const RON_LEVELS_PER_SUPERVISOR: usize = 8;

/// RON nesting levels above the scenario's tasks in a trace (trace, scenario, `tasks` list) and
/// below the deepest task (an `Idle` behaviour needs none, a `Server`'s version one more).
const RON_LEVELS_OUTSIDE_SUPERVISORS: usize = 8;

/// How deeply RON values may nest: room for [`MAX_SUPERVISOR_DEPTH`] supervisor levels and eight
/// more, so a scenario a few levels too deep still parses and validation says which task is too
/// deep; anything deeper gets the same message without a task name (see [`describe`]).
pub const RON_RECURSION_LIMIT: usize = (MAX_SUPERVISOR_DEPTH + 8) * RON_LEVELS_PER_SUPERVISOR + RON_LEVELS_OUTSIDE_SUPERVISORS;

/// The RON options traces and scenarios are read with: `implicit_some`, so optional fields can
/// be written without `Some(...)`, and the nesting limit [`RON_RECURSION_LIMIT`].
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME).with_recursion_limit(RON_RECURSION_LIMIT)
}

/// A RON error in the harness' own words where RON's would name its internals.
pub fn describe(error: &ron::Error) -> String {
    match error {
        ron::Error::ExceededRecursionLimit => format!("values nest too deeply: {}", nesting_limit()),
        other => other.to_string(),
    }
}

/// The text without a leading UTF-8 byte-order mark (some editors write one).
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Decodes a RON trace (a leading byte-order mark is ignored).
pub fn from_text(text: &str) -> Result<Trace, TextError> {
    ron_options()
        .from_str::<Trace>(without_bom(text))
        .map_err(|e| TextError { line: e.span.start.line, column: e.span.start.col, message: describe(&e.code) })
}
