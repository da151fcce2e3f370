//! Trace files: the encoding is chosen by extension when writing (`.ron` or `.txt` → text,
//! anything else → binary) and detected by content when reading (the binary magic, otherwise
//! RON). Writes are atomic: a temporary file in the same folder, renamed into place.

use crate::text;
use model::scenario::{nesting_limit, MAX_SUPERVISOR_DEPTH};
use model::trace::{BinaryWriter, ByteSink, Trace, TraceError, TraceHeader, TraceOutcome, BINARY_MAGIC, MODEL_VERSION};
use model::{RunConfig, RunReport, Scenario, Simulation};
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

/// Largest file the tools read, scenario or trace (1 GiB): a larger one, or an endless one such
/// as `/dev/zero`, is refused instead of filling memory. The tools never write a larger trace
/// (recording stops with an error instead), so whatever they write, they read.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Why a trace file could not be read or written.
#[derive(Debug)]
pub struct FileError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for FileError {}

fn error(path: &Path, message: impl Into<String>) -> FileError {
    FileError { file: path.display().to_string(), line: None, column: None, message: message.into() }
}

/// Whether a path asks for the text encoding.
pub fn is_text_path(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("ron") | Some("txt"))
}

/// Reads a whole file of at most [`MAX_FILE_BYTES`]; `what` names the kind of file expected
/// ("trace", "scenario") in errors.
pub fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, FileError> {
    if path.is_dir() {
        return Err(error(path, format!("is a directory, not a {what} file")));
    }
    let file = std::fs::File::open(path).map_err(|e| error(path, format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| error(path, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(error(path, format!("is larger than {} MiB, the most a {what} file may be", MAX_FILE_BYTES >> 20)));
    }
    Ok(bytes)
}

/// Reads a trace in either encoding.
pub fn read_trace(path: &Path) -> Result<Trace, FileError> {
    let bytes = read_file(path, "trace")?;
    decode(path, &bytes)
}

/// Decodes trace bytes in either encoding (`path` is only used in messages). The scenario inside
/// must keep the nesting limit of scenario files ([`MAX_SUPERVISOR_DEPTH`]).
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Trace, FileError> {
    let trace = decode_either(path, bytes)?;
    let depth = trace.scenario.supervisor_depth();
    if depth > MAX_SUPERVISOR_DEPTH {
        return Err(error(path, format!("its scenario nests supervisors {depth} levels deep: {}", nesting_limit())));
    }
    Ok(trace)
}

/// Whether bytes are (or begin) a binary trace: the magic, or a start of it cut short.
pub fn looks_binary(bytes: &[u8]) -> bool {
    !bytes.is_empty() && (bytes.starts_with(BINARY_MAGIC) || BINARY_MAGIC.starts_with(bytes))
}

fn decode_either(path: &Path, bytes: &[u8]) -> Result<Trace, FileError> {
    if bytes.is_empty() {
        return Err(error(path, "the file is empty (expected a trace)"));
    }
    if looks_binary(bytes) {
        return Trace::from_binary(bytes).map_err(|e| error(path, e.to_string()));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(error(path, TraceError::NotATrace.to_string()));
    };
    let trace = text::from_text(text).map_err(|e| FileError {
        file: path.display().to_string(),
        line: Some(e.line),
        column: Some(e.column),
        message: format!("not a valid RON trace: {}", e.message),
    })?;
    trace.check_version().map_err(|e| error(path, e.to_string()))?;
    Ok(trace)
}

/// Replays a trace file: a binary trace is verified record by record straight from its bytes
/// (memory independent of the number of events), a text trace is parsed, then replayed.
pub fn replay_file(path: &Path, context: usize) -> Result<crate::ReplayReport, FileError> {
    let bytes = read_file(path, "trace")?;
    if looks_binary(&bytes) {
        return crate::verify::replay_binary(&bytes, context).map_err(|e| error(path, e));
    }
    let trace = decode(path, &bytes)?;
    crate::verify::replay(&trace, context).map_err(|e| error(path, e))
}

/// Writes a trace atomically, in the encoding the extension asks for.
pub fn write_trace(path: &Path, trace: &Trace) -> Result<(), FileError> {
    let bytes = if is_text_path(path) { text::to_text(trace).into_bytes() } else { trace.to_binary() };
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(error(path, format!("cannot write: {}", too_large_to_read())));
    }
    write_atomically(path, &bytes)
}

/// Writes bytes to `path` through a temporary file in the same folder and a rename, creating
/// the folder first if it does not exist yet.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_atomically_with(path, |w| w.write_all(bytes))
}

/// Writes `path` atomically with what `fill` writes (buffered): a temporary file in the same
/// folder, synced, then renamed into place. A crash or an error leaves no partial file behind.
pub fn write_atomically_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), FileError> {
    write_atomically_then(path, fill, &mut || ())
}

/// [`write_atomically_with`], calling `before_rename` once the temporary file is complete and
/// just before it is renamed into place: the instant at which a kill leaves a temporary file
/// behind (the campaign's kill-anywhere test stops there on purpose).
pub fn write_atomically_then(path: &Path, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>, before_rename: &mut dyn FnMut()) -> Result<(), FileError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(error(path, "is a directory; give a file name"));
    }
    if let Some(file) = dir.ancestors().find(|a| a.is_file()) {
        return Err(error(path, format!("cannot write under {}: it is a file, not a folder", file.display())));
    }
    std::fs::create_dir_all(dir).map_err(|e| error(path, format!("cannot create the folder {}: {e}", dir.display())))?;
    // The io error of `tempfile` names the random temporary path; say which folder instead.
    let tmp = tempfile::Builder::new().prefix(TEMPORARY_PREFIX).tempfile_in(dir).map_err(|e| {
        let message = e.to_string();
        let cause = message.split(" at path ").next().unwrap_or_default();
        error(path, format!("cannot create a file in {}: {cause}", dir.display()))
    })?;
    let mut buffered = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
    fill(&mut buffered).and_then(|()| buffered.flush()).map_err(|e| error(path, format!("cannot write: {e}")))?;
    drop(buffered);
    tmp.as_file().sync_all().map_err(|e| error(path, format!("cannot write: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Temporary files are private; the finished file gets ordinary permissions.
        let _ = tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    before_rename();
    tmp.persist(path).map_err(|e| error(path, format!("cannot rename into place: {}", e.error)))?;
    Ok(())
}

/// How the temporary files of [`write_atomically`] begin (a kill can leave one behind; a tool that
/// owns its folder, like a campaign, removes them on start).
pub const TEMPORARY_PREFIX: &str = ".tmp";

/// Bytes to a writer, keeping the first error (a [`ByteSink`] cannot fail as it goes).
struct WriterSink<'w> {
    out: &'w mut dyn Write,
    error: Option<std::io::Error>,
    bytes: u64,
}

impl ByteSink for WriterSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        if self.error.is_none() && self.bytes > MAX_FILE_BYTES {
            self.error = Some(std::io::Error::other(too_large_to_read()));
        }
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(bytes) {
                self.error = Some(e);
            }
        }
    }
}

/// Why a trace is not written: the tools would refuse to read it ([`MAX_FILE_BYTES`]).
fn too_large_to_read() -> String {
    format!(
        "the trace would be larger than {} MiB, the most the tools read; record fewer events (limits.max_events) or in the compact binary encoding (not .ron)",
        MAX_FILE_BYTES >> 20
    )
}

impl WriterSink<'_> {
    fn result(self) -> std::io::Result<()> {
        self.error.map_or(Ok(()), Err)
    }
}

/// What a streamed recording wrote.
#[derive(Clone, Debug)]
pub struct Recording {
    pub report: RunReport,
    /// Size of the trace file in bytes.
    pub bytes: u64,
}

/// Runs `scenario` with `seed` and streams its trace to `path` as the run goes (text if the
/// extension asks for it, else binary), atomically. Memory does not grow with the run.
pub fn record_to_file(path: &Path, scenario: &Scenario, seed: u64) -> Result<Recording, FileError> {
    let mut result = None;
    write_atomically_with(path, |out| {
        let mut sink = WriterSink { out, error: None, bytes: 0 };
        let report = if is_text_path(path) {
            let mut writer = text::TextWriter::start(|s: &str| sink.put(s.as_bytes()), MODEL_VERSION, seed, scenario);
            let report = Simulation::new(scenario, &RunConfig::seeded(seed)).with_sink(&mut writer).run();
            let _ = writer.finish(&TraceOutcome::of(&report));
            report
        } else {
            let header = TraceHeader { model_version: MODEL_VERSION.into(), seed, scenario: scenario.clone(), scenario_digest: model::trace::scenario_digest(scenario) };
            let mut writer = BinaryWriter::start(&mut sink, &header);
            let report = Simulation::new(scenario, &RunConfig::seeded(seed)).with_sink(&mut writer).run();
            writer.finish(&TraceOutcome::of(&report));
            report
        };
        let bytes = sink.bytes;
        sink.result()?;
        result = Some(Recording { report, bytes });
        Ok(())
    })?;
    result.ok_or_else(|| error(path, "internal error: the recording did not finish"))
}
