//! The input system (interface reference, "Input System Interface"; architecture "Phase 14: Input
//! System Abstraction"). Pure state machines; in runs, the scenario's workspace owns the input
//! service (`kernel::Interactive`) and its key scripts and input faults become key events.
//!
//! Input is explicit, not ambient: a task gets key events only through a subscription it asked
//! for, and only while its subscription has focus ([`crate::focus`]). Events are structured
//! ([`types`]), never byte streams, and everything is testable without hardware: scenarios type
//! keys at virtual times and inject input faults ([`script`]).
//!
//! Modules: [`types`] (`InputEvent`, `KeyEvent`, `KeyCode`, `Modifiers`, `KeyState`, character
//! translation, key notation), [`service`] (the input service: subscribe, revoke, unsubscribe,
//! deliver — charging `MessageCount` — and [`dispatch`], the route-then-deliver step), [`script`]
//! (`KeyScript` and `InputFault`, the scenario's data, expanded by pure functions), [`checks`] (the
//! `input.*` invariants).

pub mod checks;
pub mod script;
pub mod service;
pub mod types;

pub use script::{apply_input_faults, apply_input_faults_counted, expand_scripts, FaultFirings, parse_keys, InputFault, KeyScript, KeyScriptError, TimedKey};
pub use service::{dispatch, Delivery, Dispatch, InputAuditEvent, InputService, InputServiceError, InputSubscriptionCap, Refusal, SubscriptionId};
pub use types::{InputEvent, KeyCode, KeyEvent, KeyState, Modifiers};
