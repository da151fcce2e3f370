//! [`LoadError`]: why a scenario file could not be loaded, with the file and, when known, the line
//! and column of the problem. Its `Display` form is the familiar `file:line:column: message`.

use std::fmt;

/// A scenario that could not be read, parsed or validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The file (or other origin) the text came from.
    pub file: String,
    /// 1-based line of the problem, when it could be located.
    pub line: Option<usize>,
    /// 1-based column (in characters) of the problem, when it could be located.
    pub column: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl LoadError {
    /// An error at a known line and column.
    pub fn at(file: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        LoadError { file: file.to_string(), line: Some(line), column: Some(column), message: message.into() }
    }

    /// An error that concerns the whole file (for example, it cannot be read).
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        LoadError { file: file.to_string(), line: None, column: None, message: message.into() }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{}:{}:{}: {}", self.file, line, column, self.message),
            (Some(line), None) => write!(f, "{}:{}: {}", self.file, line, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for LoadError {}
