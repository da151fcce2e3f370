//! Trace files: the encoding is chosen by extension when writing (`.ron` or `.txt` → text,
//! anything else → binary) and detected by content when reading (the binary magic, otherwise
//! RON). Writes are atomic: a temporary file in the same folder, renamed into place.

use crate::text;
use model::scenario::{nesting_limit, MAX_SUPERVISOR_DEPTH};
use model::trace::{Trace, TraceError, BINARY_MAGIC};
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

/// Largest file the tools read, scenario or trace (1 GiB): a larger one, or an endless one such
/// as `/dev/zero`, is refused instead of filling memory.
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

/// Writes a trace atomically, in the encoding the extension asks for.
pub fn write_trace(path: &Path, trace: &Trace) -> Result<(), FileError> {
    let bytes = if is_text_path(path) { text::to_text(trace).into_bytes() } else { trace.to_binary() };
    write_atomically(path, &bytes)
}

/// Writes bytes to `path` through a temporary file in the same folder and a rename, creating
/// the folder first if it does not exist yet.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_atomically_with(path, bytes, &mut || ())
}

/// [`write_atomically`], calling `before_rename` once the temporary file is complete and just
/// before it is renamed into place: the instant at which a kill leaves a temporary file behind
/// (the campaign's kill-anywhere test stops there on purpose).
pub fn write_atomically_with(path: &Path, bytes: &[u8], before_rename: &mut dyn FnMut()) -> Result<(), FileError> {
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
    let mut tmp = tempfile::Builder::new().prefix(TEMPORARY_PREFIX).tempfile_in(dir).map_err(|e| {
        let message = e.to_string();
        let cause = message.split(" at path ").next().unwrap_or_default();
        error(path, format!("cannot create a file in {}: {cause}", dir.display()))
    })?;
    tmp.write_all(bytes).and_then(|_| tmp.as_file().sync_all()).map_err(|e| error(path, format!("cannot write: {e}")))?;
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
