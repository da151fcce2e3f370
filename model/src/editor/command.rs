//! The editor's command-mode commands (interface reference, "Command Mode Commands"):
//! `:w` / `:write`, `:q` / `:quit`, `:q!` / `:quit!`, `:wq` / `:x`.
//!
//! Choices where the seed is silent: surrounding spaces are ignored; an empty command does
//! nothing; `:x` is `:wq` (the seed lists them together: it always writes a new version, unlike
//! vim's write-if-modified); anything else is `E492: Not an editor command`.

use alloc::string::String;
use core::fmt;
use serde::{Deserialize, Serialize};

/// A command-mode command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EditorCommand {
    /// Save: a new version.
    Write,
    /// Quit; refused while the buffer is dirty.
    Quit,
    /// Quit, discarding changes.
    ForceQuit,
    /// Save, then quit.
    WriteQuit,
}

/// A command line that is not a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandError {
    Unknown(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown(c) => write!(f, "E492: Not an editor command: {c}"),
        }
    }
}

impl EditorCommand {
    /// Reads a command line (without its `:`); `Ok(None)` for an empty one.
    pub fn parse(line: &str) -> Result<Option<Self>, CommandError> {
        Ok(Some(match line.trim() {
            "" => return Ok(None),
            "w" | "write" => EditorCommand::Write,
            "q" | "quit" => EditorCommand::Quit,
            "q!" | "quit!" => EditorCommand::ForceQuit,
            "wq" | "x" => EditorCommand::WriteQuit,
            other => return Err(CommandError::Unknown(other.into())),
        }))
    }
}
