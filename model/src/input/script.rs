//! Input from scenarios: typed text and key sequences at given virtual times ([`KeyScript`]), and
//! input faults as data ([`InputFault`]: storms, key repeat, lost and duplicated key events). Both
//! are serde types a scenario can write; expanding them is a pure function (of the choices, for
//! `Chance` triggers) into [`TimedKey`]s, the keys the event loop injects.
//!
//! Key-script notation (vim-like): every character types itself (`A` is Shift+a, `:` is
//! Shift+;); `<Name>` is a named key — `<Esc>`, `<Enter>` (or `<CR>`, `<Return>`), `<BS>`,
//! `<Del>`, `<Tab>`, `<Space>`, `<Up>` `<Down>` `<Left>` `<Right>`, `<Home>`, `<End>`,
//! `<PageUp>`, `<PageDown>`, `<Insert>`, `<F1>`…`<F12>`, `<LeftCtrl>` … `<RightMeta>` (names are
//! case-insensitive); modifiers are prefixes inside the brackets — `C-` Ctrl, `A-` Alt, `S-`
//! Shift, `M-` Meta (upper case) — as in `<C-c>`, `<C-S-Up>`; `<lt>` is a literal `<`, and `gt`
//! spells `>` inside brackets (`<C-gt>`). Errors name
//! the 1-based column and what was expected; nothing panics.
//!
//! Expansion: a script's `n`-th key is pressed at `at_ns + n * interval_ns` (saturating); only
//! presses are produced (the seed's examples inject presses; releases and repeats come from
//! faults). Several scripts merge in time order, ties in script order.
//!
//! Faults are applied in plan order, each to the output of the one before, and the result is
//! sorted by time (stable). A fault's trigger ([`FaultTrigger`], the message faults' triggers)
//! counts the key events that fault considers, in time order: `Next { count }` the first `count`,
//! `EveryNth { n }` every `n`-th, `Chance` one draw per considered key, `Window` / `Periodic` by
//! the key's time.
//! - `Storm` adds `count` repetitions of a key script typed from `at_ns`;
//! - `Repeat` holds each matching press: `count` `Repeat` events of the same key, the first
//!   `delay_ns` after the press, then every `interval_ns` (only presses are considered);
//! - `Lose` removes each matching key event;
//! - `Duplicate` adds a copy of each matching key event `after_ns` later (0: the same instant,
//!   right after it).
//!
//! [`apply_input_faults_counted`] also counts each fault's firings ([`FaultFirings`]): the key
//! events its trigger considered and the ones it fired for (a `Storm` is one evaluation that
//! fires); runs report them as the input-fault rule counts (`expect.interactive.input_rules`).
//!
//! Sizes are bounded: at most [`MAX_SCRIPT_KEYS`] keys per script, [`MAX_INPUT_KEYS`] after faults.

use super::types::{KeyCode, KeyEvent, KeyState, Modifiers};
use crate::choices::Choices;
use crate::fault::FaultTrigger;
use crate::time::{Duration, Instant};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize};

/// The most keys one script (or one storm repetition set) may expand to.
pub const MAX_SCRIPT_KEYS: usize = 65_536;
/// The most key events an input plan may expand to, faults included.
pub const MAX_INPUT_KEYS: usize = 1 << 20;

/// Typed input: `keys` in key-script notation, the first key at `at_ns`, one key every
/// `interval_ns` (default 1 ms).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct KeyScript {
    pub at_ns: u64,
    #[serde(default = "default_interval")]
    pub interval_ns: u64,
    pub keys: String,
}

fn default_interval() -> u64 {
    1_000_000
}

/// A key event at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedKey {
    pub at: Instant,
    pub event: KeyEvent,
}

/// A key script or input fault that cannot be expanded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyScriptError {
    /// 1-based column (in characters) of the problem in the key text; 0 if not about one place.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for KeyScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column > 0 {
            write!(f, "column {}: ", self.column)?;
        }
        f.write_str(&self.message)
    }
}

fn error(column: usize, message: String) -> KeyScriptError {
    KeyScriptError { column, message }
}

/// Reads key-script notation into key presses.
pub fn parse_keys(text: &str) -> Result<Vec<KeyEvent>, KeyScriptError> {
    let chars: Vec<char> = text.chars().collect();
    let mut keys = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if keys.len() >= MAX_SCRIPT_KEYS {
            return Err(error(i + 1, format!("more than {MAX_SCRIPT_KEYS} keys in one script")));
        }
        if chars[i] != '<' {
            let key = KeyEvent::typing(chars[i]).ok_or_else(|| error(i + 1, format!("no key types {:?}; write named keys as <Esc>, <Enter>, <Tab>, ...", chars[i])))?;
            keys.push(key);
            i += 1;
            continue;
        }
        let close = chars[i + 1..].iter().position(|&c| c == '>').map(|p| i + 1 + p);
        // `<>` and a `<` with no `>` after it are errors: a literal `<` is written `<lt>`.
        let Some(close) = close.filter(|&c| c > i + 1) else {
            return Err(error(i + 1, "`<` opens a named key that is not closed by `>` (a literal `<` is `<lt>`)".into()));
        };
        let body: String = chars[i + 1..close].iter().collect();
        keys.push(parse_named(&body).map_err(|m| error(i + 1, m))?);
        i = close + 1;
    }
    Ok(keys)
}

/// The key inside `<...>`: modifier prefixes, then one character, `lt`, `gt`, or a key name.
fn parse_named(body: &str) -> Result<KeyEvent, String> {
    let mut modifiers = Modifiers::NONE;
    let mut rest = body;
    loop {
        let b = rest.as_bytes();
        let Some(&(flag, _)) = (b.len() >= 3 && b[1] == b'-').then(|| Modifiers::FLAGS.iter().find(|(_, l)| *l as u8 == b[0])).flatten() else { break };
        modifiers = modifiers.with(flag);
        rest = &rest[2..];
    }
    let mut it = rest.chars();
    let (code, shift) = match (it.next(), it.next()) {
        (Some(c), None) => KeyCode::for_char(c).ok_or_else(|| format!("no key types {c:?} in <{body}>"))?,
        _ if rest == "lt" => (KeyCode::Comma, true),
        _ if rest == "gt" => (KeyCode::Period, true),
        _ => (KeyCode::from_name(rest).ok_or_else(|| format!("unknown key <{body}>; expected a character, lt, gt, a name (Esc, Enter, CR, BS, Del, Tab, Space, Up, Down, Left, Right, Home, End, PageUp, PageDown, Insert, F1-F12, LeftCtrl, ...) after optional C-, A-, S-, M- prefixes"))?, false),
    };
    if shift {
        modifiers = modifiers.with(Modifiers::SHIFT);
    }
    Ok(KeyEvent::pressed(code, modifiers))
}

impl KeyScript {
    pub fn new(at_ns: u64, keys: &str) -> Self {
        KeyScript { at_ns, interval_ns: default_interval(), keys: keys.into() }
    }

    pub fn with_interval(mut self, interval_ns: u64) -> Self {
        self.interval_ns = interval_ns;
        self
    }

    /// The script's key presses at their times.
    pub fn expand(&self) -> Result<Vec<TimedKey>, KeyScriptError> {
        let keys = parse_keys(&self.keys)?;
        Ok(keys.into_iter().enumerate().map(|(n, event)| TimedKey { at: Instant(self.at_ns.saturating_add((n as u64).saturating_mul(self.interval_ns))), event }).collect())
    }
}

/// Every script's keys merged in time order (ties in script order).
pub fn expand_scripts(scripts: &[KeyScript]) -> Result<Vec<TimedKey>, KeyScriptError> {
    let mut all = Vec::new();
    for s in scripts {
        let keys = s.expand()?;
        if all.len() + keys.len() > MAX_INPUT_KEYS {
            return Err(error(0, format!("the scripts expand to more than {MAX_INPUT_KEYS} keys")));
        }
        all.extend(keys);
    }
    all.sort_by_key(|k| k.at);
    Ok(all)
}

/// An input fault (DESIGN.md, "Faults are data": input storms; the key repeat, lost and
/// duplicated key events).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum InputFault {
    /// `count` repetitions of `keys` typed from `at_ns`, one key every `interval_ns`.
    Storm {
        at_ns: u64,
        keys: String,
        count: u32,
        #[serde(default = "default_interval")]
        interval_ns: u64,
    },
    /// Each matching press is held: `count` repeats, the first `delay_ns` after it, then every
    /// `interval_ns`.
    Repeat { when: FaultTrigger, count: u32, delay_ns: u64, interval_ns: u64 },
    /// Each matching key event is lost.
    Lose { when: FaultTrigger },
    /// Each matching key event arrives a second time, `after_ns` later.
    Duplicate {
        when: FaultTrigger,
        #[serde(default)]
        after_ns: u64,
    },
}

/// Whether `trigger` fires for the `ordinal`-th considered key (0-based), at `at`.
fn fires(trigger: FaultTrigger, ordinal: u64, at: Instant, choices: &mut Choices) -> bool {
    match trigger {
        FaultTrigger::Always => true,
        FaultTrigger::Next { count } => ordinal < u64::from(count),
        FaultTrigger::EveryNth { n } => n > 0 && (ordinal + 1).is_multiple_of(u64::from(n)),
        FaultTrigger::Chance { per_mille } => choices.chance(per_mille),
        FaultTrigger::Window { .. } | FaultTrigger::Periodic { .. } => trigger.active_at(at.nanos()),
    }
}

/// Refuses to grow a sequence of `current` keys by `adding` beyond [`MAX_INPUT_KEYS`].
fn bounded(current: usize, adding: u64) -> Result<(), KeyScriptError> {
    if (current as u64).saturating_add(adding) > MAX_INPUT_KEYS as u64 {
        return Err(error(0, format!("the input faults expand to more than {MAX_INPUT_KEYS} keys")));
    }
    Ok(())
}

/// Applies `faults`, in order, to `keys` (in time order); the result is in time order.
pub fn apply_input_faults(keys: Vec<TimedKey>, faults: &[InputFault], choices: &mut Choices) -> Result<Vec<TimedKey>, KeyScriptError> {
    apply_input_faults_counted(keys, faults, choices).map(|(keys, _)| keys)
}

/// How often one input fault's trigger was evaluated and fired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultFirings {
    /// Key events the trigger considered (a `Storm` is one evaluation).
    pub evaluated: u64,
    /// Of those, the ones it fired for (a `Storm` fires once).
    pub fired: u64,
}

/// [`apply_input_faults`], with each fault's firings (in plan order).
pub fn apply_input_faults_counted(mut keys: Vec<TimedKey>, faults: &[InputFault], choices: &mut Choices) -> Result<(Vec<TimedKey>, Vec<FaultFirings>), KeyScriptError> {
    let mut firings = Vec::with_capacity(faults.len());
    for fault in faults {
        let mut counts = FaultFirings::default();
        keys = apply_one(keys, fault, choices, &mut counts)?;
        keys.sort_by_key(|k| k.at);
        firings.push(counts);
    }
    Ok((keys, firings))
}

fn apply_one(keys: Vec<TimedKey>, fault: &InputFault, choices: &mut Choices, counts: &mut FaultFirings) -> Result<Vec<TimedKey>, KeyScriptError> {
    let total = keys.len();
    let mut out = Vec::with_capacity(total);
    let mut ordinal = 0;
    let mut tally = |fired: bool| {
        counts.evaluated += 1;
        counts.fired += u64::from(fired);
        fired
    };
    match fault {
        InputFault::Storm { at_ns, keys: text, count, interval_ns } => {
            let one = parse_keys(text)?;
            let added = (one.len() as u64).saturating_mul(u64::from(*count));
            bounded(total, added)?;
            tally(true);
            out = keys;
            for n in 0..added {
                let at = Instant(at_ns.saturating_add(n.saturating_mul(*interval_ns)));
                out.push(TimedKey { at, event: one[(n % one.len() as u64) as usize].clone() });
            }
        }
        InputFault::Repeat { when, count, delay_ns, interval_ns } => {
            for (i, key) in keys.into_iter().enumerate() {
                let pressed = key.event.state == KeyState::Pressed;
                let hit = pressed && tally(fires(*when, ordinal, key.at, choices));
                ordinal += u64::from(pressed);
                let (at, event) = (key.at, key.event.with_state(KeyState::Repeat));
                out.push(key);
                if hit {
                    bounded(out.len() + (total - i - 1), u64::from(*count))?;
                    for r in 0..u64::from(*count) {
                        out.push(TimedKey { at: at.after(Duration(delay_ns.saturating_add(r.saturating_mul(*interval_ns)))), event: event.clone() });
                    }
                }
            }
        }
        InputFault::Lose { when } => {
            for key in keys {
                let hit = tally(fires(*when, ordinal, key.at, choices));
                ordinal += 1;
                if !hit {
                    out.push(key);
                }
            }
        }
        InputFault::Duplicate { when, after_ns } => {
            for (i, key) in keys.into_iter().enumerate() {
                let hit = tally(fires(*when, ordinal, key.at, choices));
                ordinal += 1;
                let copy = hit.then(|| TimedKey { at: key.at.after(Duration(*after_ns)), event: key.event.clone() });
                out.push(key);
                if let Some(copy) = copy {
                    bounded(out.len() + (total - i - 1), 1)?;
                    out.push(copy);
                }
            }
        }
    }
    Ok(out)
}
