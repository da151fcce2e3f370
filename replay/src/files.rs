//! Trace files: the encoding is chosen by extension when writing (`.ron` or `.txt` → text,
//! anything else → binary) and detected by content when reading (the binary magic, otherwise
//! RON). Writes are atomic: a temporary file in the same folder, renamed into place.

use crate::text;
use model::trace::{Trace, TraceError, BINARY_MAGIC};
use std::fmt;
use std::io::Write;
use std::path::Path;

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

/// Reads a trace in either encoding.
pub fn read_trace(path: &Path) -> Result<Trace, FileError> {
    let bytes = std::fs::read(path).map_err(|e| error(path, format!("cannot read: {e}")))?;
    decode(path, &bytes)
}

/// Decodes trace bytes in either encoding (`path` is only used in messages).
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Trace, FileError> {
    if bytes.starts_with(BINARY_MAGIC) {
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
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| error(path, format!("cannot create the folder {}: {e}", dir.display())))?;
    // The io error of `tempfile` names the random temporary path; say which folder instead.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
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
    tmp.persist(path).map_err(|e| error(path, format!("cannot rename into place: {}", e.error)))?;
    Ok(())
}
