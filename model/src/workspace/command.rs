//! The workspace's minimal command surface (architecture Phase 16, "Command Surface (Minimal)"):
//! `open <type> [args]`, `list`, `focus <id>`, `next`, `prev`, `close <id>`, `status <id>`.
//! Nothing else: no variables, pipes, redirections, jobs or scripts ("Non-Goals (Enforced)").
//!
//! Choices where the seed is silent: words are separated by whitespace; a component id is written
//! `comp#3`, `comp:3` or `3`; `open <type> [args]` launches a focusable component of the
//! workspace's domain named after its first argument (or its type), with the arguments kept as
//! the `args` metadata; output is one line per component (`list`) or one line per action, and
//! never contains wall-clock time.

use super::{ComponentId, ComponentInfo, ComponentState, ComponentType, LaunchConfig, WorkspaceEnv, WorkspaceError, WorkspaceManager};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// One workspace command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum WorkspaceCommand {
    Open { component_type: ComponentType, args: Vec<String> },
    List,
    Focus(ComponentId),
    Next,
    Prev,
    Close(ComponentId),
    Status(ComponentId),
}

/// A command line that is not a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandError {
    pub message: String,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn error(message: String) -> CommandError {
    CommandError { message }
}

const USAGE: &str = "expected one of: open <type> [args], list, focus <id>, next, prev, close <id>, status <id>";

fn parse_id(word: Option<&str>, command: &str) -> Result<ComponentId, CommandError> {
    let word = word.ok_or_else(|| error(format!("`{command}` needs a component id (comp#3)")))?;
    let digits = word.strip_prefix("comp#").or_else(|| word.strip_prefix("comp:")).unwrap_or(word);
    digits.parse::<u64>().map(ComponentId).map_err(|_| error(format!("`{word}` is not a component id; expected comp#<n>, comp:<n> or <n>")))
}

impl WorkspaceCommand {
    /// Reads one command line.
    pub fn parse(line: &str) -> Result<Self, CommandError> {
        let mut words = line.split_whitespace();
        let Some(command) = words.next() else { return Err(error(format!("empty command; {USAGE}"))) };
        let parsed = match command {
            "open" => {
                let kind = words.next().ok_or_else(|| error("`open` needs a component type (editor, cli, pipeline, or a custom name)".into()))?;
                WorkspaceCommand::Open { component_type: ComponentType::from_name(kind), args: words.by_ref().map(String::from).collect() }
            }
            "list" => WorkspaceCommand::List,
            "next" => WorkspaceCommand::Next,
            "prev" => WorkspaceCommand::Prev,
            "focus" => WorkspaceCommand::Focus(parse_id(words.next(), command)?),
            "close" => WorkspaceCommand::Close(parse_id(words.next(), command)?),
            "status" => WorkspaceCommand::Status(parse_id(words.next(), command)?),
            other => return Err(error(format!("unknown command `{other}`; {USAGE}"))),
        };
        match words.next() {
            Some(extra) => Err(error(format!("unexpected `{extra}` after `{command}`"))),
            None => Ok(parsed),
        }
    }
}

impl ComponentInfo {
    /// `comp#0 editor "notes.txt" Running` (`list`'s line; `focused` appended by the workspace).
    pub fn summary(&self) -> String {
        format!("{} {} {:?} {:?}", self.id, self.component_type.name(), self.name, self.state)
    }

    /// `status`'s line: the summary, identity, subscription, budget and exit reason.
    pub fn details(&self) -> String {
        let mut s = format!("{} {}({}) focusable={}", self.summary(), self.identity.execution_id, self.identity.trust_domain, self.focusable);
        if let Some(cap) = self.subscription.filter(|_| self.state == ComponentState::Running) {
            s.push_str(&format!(" {}", cap.id));
        }
        if let Some(m) = self.budget.and_then(|b| b.message_count) {
            s.push_str(&format!(" budget={m}"));
        }
        if let Some(reason) = &self.exit_reason {
            s.push_str(&format!(" exit={reason:?}"));
        }
        s
    }
}

impl WorkspaceManager {
    /// Runs one command; the output is its lines.
    pub fn execute(&mut self, command: &WorkspaceCommand, env: &mut WorkspaceEnv<'_>) -> Result<Vec<String>, WorkspaceError> {
        Ok(match command {
            WorkspaceCommand::Open { component_type, args } => {
                let name = args.first().map_or(component_type.name(), String::as_str);
                let mut config = LaunchConfig::new(component_type.clone(), name);
                if !args.is_empty() {
                    config = config.with_metadata("args", &args.join(" "));
                }
                vec![format!("launched {}", self.launch(&config, env)?)]
            }
            WorkspaceCommand::List => {
                let focused = self.focused_component();
                self.list().iter().map(|c| if Some(c.id) == focused { format!("{} focused", c.summary()) } else { c.summary() }).collect()
            }
            WorkspaceCommand::Focus(id) => {
                self.focus(*id, env)?;
                vec![format!("focused {id}")]
            }
            WorkspaceCommand::Next => vec![format!("focused {}", self.next(env)?)],
            WorkspaceCommand::Prev => vec![format!("focused {}", self.previous(env)?)],
            WorkspaceCommand::Close(id) => {
                self.close(*id, env)?;
                vec![format!("closed {id}")]
            }
            WorkspaceCommand::Status(id) => vec![self.status(*id)?.details()],
        })
    }

    /// Parses and runs one command line (a parse error is reported as a line, like an unknown
    /// command in a console).
    pub fn execute_line(&mut self, line: &str, env: &mut WorkspaceEnv<'_>) -> Vec<String> {
        match WorkspaceCommand::parse(line) {
            Err(e) => vec![format!("error: {e}")],
            Ok(command) => self.execute(&command, env).unwrap_or_else(|e| vec![format!("error: {e}")]),
        }
    }
}

impl fmt::Display for WorkspaceCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkspaceCommand::Open { component_type, args } => {
                write!(f, "open {}", component_type.name())?;
                args.iter().try_for_each(|a| write!(f, " {a}"))
            }
            WorkspaceCommand::List => f.write_str("list"),
            WorkspaceCommand::Focus(id) => write!(f, "focus {id}"),
            WorkspaceCommand::Next => f.write_str("next"),
            WorkspaceCommand::Prev => f.write_str("prev"),
            WorkspaceCommand::Close(id) => write!(f, "close {id}"),
            WorkspaceCommand::Status(id) => write!(f, "status {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_command_parses_and_prints_back() {
        for line in ["open editor notes.txt", "open cli", "list", "focus comp#3", "next", "prev", "close comp#0", "status comp#12"] {
            assert_eq!(WorkspaceCommand::parse(line).unwrap().to_string(), line);
        }
        assert_eq!(WorkspaceCommand::parse("focus comp:7"), Ok(WorkspaceCommand::Focus(ComponentId(7))));
        assert_eq!(WorkspaceCommand::parse("  close   4 "), Ok(WorkspaceCommand::Close(ComponentId(4))));
    }

    #[test]
    fn bad_lines_say_what_was_expected() {
        for (line, expected) in [
            ("", "empty command"),
            ("ls", "unknown command `ls`"),
            ("focus", "needs a component id"),
            ("close abc", "`abc` is not a component id"),
            ("list all", "unexpected `all` after `list`"),
            ("open", "needs a component type"),
            ("next 3", "unexpected `3`"),
        ] {
            let e = WorkspaceCommand::parse(line).unwrap_err();
            assert!(e.message.contains(expected), "{line:?}: {e}");
        }
    }
}
