//! The input event schema (interface reference, "Input System Interface", "Input Event Schema";
//! architecture Phase 14, "Input Types (`input_types`)"): [`InputEvent`], [`KeyEvent`],
//! [`KeyCode`], [`Modifiers`], [`KeyState`]. Logical keys, never scan codes.
//!
//! Character translation ("Character Translation" of Phase 15), one US layout, no locale:
//! letters are lower case, upper case with Shift; digits, with Shift the symbols above them
//! (`!@#$%^&*()`); `Space` and the punctuation keys give their character, with Shift the shifted
//! one (`;` / `:`, `,` / `<`, ...). A key held with Ctrl, Alt or Meta gives no character (it is a
//! command chord, not text). `Tab`, `Enter` and the other named keys give no character either:
//! consumers handle them by code.
//!
//! Every key event has a *notation* — the key-script form of [`super::script`], vim-like:
//! `a`, `A`, `:`, `<Esc>`, `<Enter>`, `<C-c>`, `<S-Up>`, `<lt>` for `<` (and `<C-gt>` for Ctrl+`>`),
//! `<Space>` for a space —
//! and [`parse_key`](super::script::parse_keys) reads it back exactly (tested for every key and
//! every modifier set).

use crate::trace_hash::{Fold, TraceHasher};
use alloc::string::String;
use core::fmt::{self, Write};
use serde::{Deserialize, Serialize};

/// A logical key (not a hardware scan code). New keys are appended: the discriminant is part of
/// the trace hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum KeyCode {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    I,
    J,
    K,
    L,
    M,
    N,
    O,
    P,
    Q,
    R,
    S,
    T,
    U,
    V,
    W,
    X,
    Y,
    Z,
    Num0,
    Num1,
    Num2,
    Num3,
    Num4,
    Num5,
    Num6,
    Num7,
    Num8,
    Num9,
    F1,
    F2,
    F3,
    F4,
    F5,
    F6,
    F7,
    F8,
    F9,
    F10,
    F11,
    F12,
    Enter,
    Backspace,
    Delete,
    Tab,
    Escape,
    Space,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    Insert,
    LeftCtrl,
    RightCtrl,
    LeftShift,
    RightShift,
    LeftAlt,
    RightAlt,
    LeftMeta,
    RightMeta,
    Comma,
    Period,
    Slash,
    Semicolon,
    Quote,
    Minus,
    Equals,
    LeftBracket,
    RightBracket,
    Backslash,
    Grave,
}

const LETTERS: [KeyCode; 26] = {
    use KeyCode::*;
    [A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W, X, Y, Z]
};
const DIGITS: [KeyCode; 10] = {
    use KeyCode::*;
    [Num0, Num1, Num2, Num3, Num4, Num5, Num6, Num7, Num8, Num9]
};
const FUNCTION_KEYS: [KeyCode; 12] = {
    use KeyCode::*;
    [F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12]
};
/// Digits with Shift (US layout), indexed by digit.
const SHIFTED_DIGITS: [char; 10] = [')', '!', '@', '#', '$', '%', '^', '&', '*', '('];
/// Character keys other than letters and digits: (key, plain, shifted).
const PUNCTUATION: [(KeyCode, char, char); 11] = [
    (KeyCode::Space, ' ', ' '),
    (KeyCode::Comma, ',', '<'),
    (KeyCode::Period, '.', '>'),
    (KeyCode::Slash, '/', '?'),
    (KeyCode::Semicolon, ';', ':'),
    (KeyCode::Quote, '\'', '"'),
    (KeyCode::Minus, '-', '_'),
    (KeyCode::Equals, '=', '+'),
    (KeyCode::LeftBracket, '[', '{'),
    (KeyCode::RightBracket, ']', '}'),
    (KeyCode::Backslash, '\\', '|'),
];
/// Keys without a character, by their key-script name (first name is the one written).
pub(crate) const NAMED_KEYS: [(&str, KeyCode); 28] = [
    ("Enter", KeyCode::Enter),
    ("BS", KeyCode::Backspace),
    ("Del", KeyCode::Delete),
    ("Tab", KeyCode::Tab),
    ("Esc", KeyCode::Escape),
    ("Space", KeyCode::Space),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Insert", KeyCode::Insert),
    ("LeftCtrl", KeyCode::LeftCtrl),
    ("RightCtrl", KeyCode::RightCtrl),
    ("LeftShift", KeyCode::LeftShift),
    ("RightShift", KeyCode::RightShift),
    ("LeftAlt", KeyCode::LeftAlt),
    ("RightAlt", KeyCode::RightAlt),
    ("LeftMeta", KeyCode::LeftMeta),
    ("RightMeta", KeyCode::RightMeta),
    // Aliases accepted when reading.
    ("CR", KeyCode::Enter),
    ("Return", KeyCode::Enter),
    ("Backspace", KeyCode::Backspace),
    ("Delete", KeyCode::Delete),
    ("Escape", KeyCode::Escape),
];

impl KeyCode {
    /// Every key, in discriminant order.
    pub const ALL: [KeyCode; 82] = {
        use KeyCode::*;
        [
            A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W, X, Y, Z, Num0, Num1, Num2, Num3, Num4, Num5, Num6, Num7, Num8, Num9, F1, F2, F3, F4, F5, F6, F7, F8, F9,
            F10, F11, F12, Enter, Backspace, Delete, Tab, Escape, Space, Up, Down, Left, Right, Home, End, PageUp, PageDown, Insert, LeftCtrl, RightCtrl, LeftShift, RightShift, LeftAlt,
            RightAlt, LeftMeta, RightMeta, Comma, Period, Slash, Semicolon, Quote, Minus, Equals, LeftBracket, RightBracket, Backslash, Grave,
        ]
    };

    /// The character this key types, with or without Shift (`None`: a key without a character).
    pub fn char_with(self, shift: bool) -> Option<char> {
        if let Some(i) = LETTERS.iter().position(|&k| k == self) {
            let c = (b'a' + i as u8) as char;
            return Some(if shift { c.to_ascii_uppercase() } else { c });
        }
        if let Some(i) = DIGITS.iter().position(|&k| k == self) {
            return Some(if shift { SHIFTED_DIGITS[i] } else { (b'0' + i as u8) as char });
        }
        if self == KeyCode::Grave {
            return Some(if shift { '~' } else { '`' });
        }
        PUNCTUATION.iter().find(|(k, _, _)| *k == self).map(|&(_, plain, shifted)| if shift { shifted } else { plain })
    }

    /// The key (and whether Shift is needed) that types `c`, if one does.
    pub fn for_char(c: char) -> Option<(KeyCode, bool)> {
        if c.is_ascii_lowercase() {
            return Some((LETTERS[(c as u8 - b'a') as usize], false));
        }
        if c.is_ascii_uppercase() {
            return Some((LETTERS[(c as u8 - b'A') as usize], true));
        }
        if c.is_ascii_digit() {
            return Some((DIGITS[(c as u8 - b'0') as usize], false));
        }
        if let Some(i) = SHIFTED_DIGITS.iter().position(|&s| s == c) {
            return Some((DIGITS[i], true));
        }
        match c {
            '`' => return Some((KeyCode::Grave, false)),
            '~' => return Some((KeyCode::Grave, true)),
            _ => {}
        }
        PUNCTUATION.iter().find_map(|&(k, plain, shifted)| match c {
            _ if c == plain => Some((k, false)),
            _ if c == shifted => Some((k, true)),
            _ => None,
        })
    }

    /// The key-script name of a key without a printable notation (`Esc`, `F5`), if it has one.
    pub fn name(self) -> Option<&'static str> {
        if let Some(i) = FUNCTION_KEYS.iter().position(|&k| k == self) {
            return Some(["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12"][i]);
        }
        NAMED_KEYS.iter().find(|(_, k)| *k == self).map(|(n, _)| *n)
    }

    /// The key a key-script name stands for (`Esc`, `CR`, `F12`; case-insensitive).
    pub fn from_name(name: &str) -> Option<KeyCode> {
        let lower = |s: &str| s.eq_ignore_ascii_case(name);
        NAMED_KEYS.iter().find(|(n, _)| lower(n)).map(|(_, k)| *k).or_else(|| FUNCTION_KEYS.iter().copied().find(|k| k.name().is_some_and(lower)))
    }
}

/// Modifier keys held with a key, as bit flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Modifiers(u8);

impl Modifiers {
    pub const NONE: Modifiers = Modifiers(0);
    /// Control.
    pub const CTRL: Modifiers = Modifiers(1);
    pub const ALT: Modifiers = Modifiers(2);
    pub const SHIFT: Modifiers = Modifiers(4);
    /// Meta / Super / Windows.
    pub const META: Modifiers = Modifiers(8);
    /// Every flag, in key-script prefix order (`C-`, `A-`, `S-`, `M-`).
    pub const FLAGS: [(Modifiers, char); 4] = [(Modifiers::CTRL, 'C'), (Modifiers::ALT, 'A'), (Modifiers::SHIFT, 'S'), (Modifiers::META, 'M')];

    pub const fn none() -> Self {
        Modifiers::NONE
    }

    /// Both sets of modifiers.
    pub const fn with(self, other: Modifiers) -> Self {
        Modifiers(self.0 | other.0)
    }

    /// Whether every flag of `other` is held.
    pub const fn contains(self, other: Modifiers) -> bool {
        self.0 & other.0 == other.0
    }

    /// These modifiers without the flags of `other`.
    pub const fn without(self, other: Modifiers) -> Self {
        Modifiers(self.0 & !other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw bits (CTRL 1, ALT 2, SHIFT 4, META 8).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether Ctrl, Alt or Meta is held (a chord, not text).
    pub const fn is_chord(self) -> bool {
        self.0 & (Modifiers::CTRL.0 | Modifiers::ALT.0 | Modifiers::META.0) != 0
    }
}

/// Whether the key went down, came up or repeats while held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum KeyState {
    Pressed,
    Released,
    /// Auto-repeat while the key is held.
    Repeat,
}

/// One structured keyboard event.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEvent {
    /// The logical key.
    pub code: KeyCode,
    pub modifiers: Modifiers,
    pub state: KeyState,
    /// Text from an input method (reserved: always `None` in the model).
    #[serde(default)]
    pub text: Option<String>,
}

impl KeyEvent {
    pub fn new(code: KeyCode, modifiers: Modifiers, state: KeyState) -> Self {
        KeyEvent { code, modifiers, state, text: None }
    }
    pub fn pressed(code: KeyCode, modifiers: Modifiers) -> Self {
        Self::new(code, modifiers, KeyState::Pressed)
    }
    pub fn released(code: KeyCode, modifiers: Modifiers) -> Self {
        Self::new(code, modifiers, KeyState::Released)
    }
    pub fn repeat(code: KeyCode, modifiers: Modifiers) -> Self {
        Self::new(code, modifiers, KeyState::Repeat)
    }

    /// The press that types `c` (`None` if no key types it).
    pub fn typing(c: char) -> Option<Self> {
        KeyCode::for_char(c).map(|(code, shift)| Self::pressed(code, if shift { Modifiers::SHIFT } else { Modifiers::NONE }))
    }

    /// The same key in another state.
    pub fn with_state(&self, state: KeyState) -> Self {
        KeyEvent { state, ..self.clone() }
    }

    /// The character the event types: `None` for keys without one and for chords (Ctrl, Alt,
    /// Meta held). The state is not looked at.
    pub fn char(&self) -> Option<char> {
        if self.modifiers.is_chord() {
            return None;
        }
        self.code.char_with(self.modifiers.contains(Modifiers::SHIFT))
    }

    /// The key-script notation of the key (the state is not part of it): `a`, `A`, `:`, `<Esc>`,
    /// `<C-c>`, `<S-Up>`, `<lt>`, `<Space>`.
    pub fn notation(&self) -> String {
        let mut s = String::new();
        let shift = self.modifiers.contains(Modifiers::SHIFT);
        let plain = |c: char| c != ' ' && c != '<';
        // Without a chord, a key with a character is written as that character.
        if !self.modifiers.is_chord() {
            match self.code.char_with(shift) {
                Some(c) if plain(c) => {
                    s.push(c);
                    return s;
                }
                Some('<') => return "<lt>".into(),
                _ => {}
            }
        }
        s.push('<');
        // Shift is spelled only where the character does not already say it.
        let shift_in_char = self.code.char_with(true).is_some_and(|up| self.code.char_with(false) != Some(up) && plain(up));
        for (flag, letter) in Modifiers::FLAGS {
            if self.modifiers.contains(flag) && !(flag == Modifiers::SHIFT && shift_in_char) {
                s.push(letter);
                s.push('-');
            }
        }
        match self.code.char_with(shift && shift_in_char) {
            Some('<') => s.push_str("lt"),
            // A `>` would close the brackets early.
            Some('>') => s.push_str("gt"),
            Some(c) if plain(c) => s.push(c),
            _ => s.push_str(self.code.name().unwrap_or("?")),
        }
        s.push('>');
        s
    }
}

impl fmt::Display for KeyEvent {
    /// The notation, with `(released)` or `(repeat)` after keys not pressed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.notation())?;
        match self.state {
            KeyState::Pressed => Ok(()),
            KeyState::Released => f.write_str(" (released)"),
            KeyState::Repeat => f.write_str(" (repeat)"),
        }
    }
}

/// An input event. Only keys exist; pointer and touch are reserved.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InputEvent {
    Key(KeyEvent),
}

impl InputEvent {
    pub fn key(event: KeyEvent) -> Self {
        InputEvent::Key(event)
    }

    /// The key event, if this is one.
    pub fn as_key(&self) -> Option<&KeyEvent> {
        match self {
            InputEvent::Key(k) => Some(k),
        }
    }
}

impl fmt::Display for InputEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputEvent::Key(k) => write!(f, "key {k}"),
        }
    }
}

impl Fold for KeyEvent {
    /// One word: code, modifiers and state packed beside the tag; then the IME text, if any.
    fn fold(&self, h: &mut TraceHasher) {
        h.tag(0, self.code as u64 | u64::from(self.modifiers.bits()) << 8 | (self.state as u64) << 16);
        match &self.text {
            None => h.word(0),
            Some(t) => {
                h.word(1);
                h.str(t);
            }
        }
    }
}

impl Fold for InputEvent {
    fn fold(&self, h: &mut TraceHasher) {
        match self {
            InputEvent::Key(k) => {
                h.tag(0, 0);
                k.fold(h);
            }
        }
    }
}

/// Writes `events` in notation, separated by nothing (`ihello<Esc>`), for messages and snapshots.
pub fn notation_of<'a>(events: impl IntoIterator<Item = &'a KeyEvent>) -> String {
    let mut s = String::new();
    for e in events {
        let _ = write!(s, "{}", e.notation());
    }
    s
}
