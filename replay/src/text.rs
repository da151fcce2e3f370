//! The readable text encoding of a trace: pretty RON, one field per line, one event per line.
//! A person can read it, edit it (a choice, a digest, the scenario) and re-encode it; the replay
//! then reports exactly where the edited run departs from the recorded one.

use model::trace::Trace;

/// Encodes a trace as pretty RON.
pub fn to_text(trace: &Trace) -> String {
    let config = ron::ser::PrettyConfig::new().depth_limit(2).struct_names(false);
    let body = ron::ser::to_string_pretty(trace, config).unwrap_or_default();
    format!("// PandaGen trace (text encoding). Edit freely; `replay` reports the first divergence.\n{body}\n")
}

/// A RON decoding error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The RON options traces and scenarios are read with: `implicit_some`, so optional fields can
/// be written without `Some(...)`.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Decodes a RON trace.
pub fn from_text(text: &str) -> Result<Trace, TextError> {
    ron_options().from_str::<Trace>(text).map_err(|e| TextError { line: e.span.start.line, column: e.span.start.col, message: e.code.to_string() })
}
