//! Patterns that name events of a run by their content, for expectations: an audit record
//! ([`AuditPattern`]: its kind and any of its fields) and any event of the run ([`EventPattern`]:
//! a step completing, a spawn, an exit, a message sent, enqueued or received, an audit record, a
//! wake-up, an injected fault, a lifecycle transition, ...).
//!
//! Patterns name things the way a scenario file does, never by run-time ids:
//! - a task by its name: the pattern covers every incarnation that bore it (a restarted child
//!   has a new task id under the same name);
//! - a capability by its label: the label covers every capability it was ever bound to during the
//!   run (`caps` grants, `Grant`, `Clone`, `CreateChannel(cap: ...)`), as the engine recorded in
//!   [`Labels`];
//! - a channel by its label (`CreateChannel`, `Lookup(bind: ...)`), likewise;
//! - a trust domain, a capability kind, a service by its name;
//! - a message by its `action`, for messages sent by `Send` steps.
//!
//! A pattern field that is not written matches anything. Patterns are resolved when they are
//! matched, after the run for audit records (the audit log is kept anyway) and, for event patterns,
//! by the engine's watch ([`crate::watch`]), which only exists when a scenario has order, timing
//! or occurrence expectations.
//!
//! `AuditPattern` has a hand-written serde form so that a bare kind (`Granted`) and a kind with
//! fields (`CrossDomainDelegation(from_domain: "core", to_domain: "user")`) are both accepted in
//! RON, and an unknown field is reported with the fields of that kind.

use crate::capability::{AuditKind, CapabilityEvent, InvalidUseReason};
use crate::observation::FaultKind;
use crate::identity::ExitReason;
use crate::ids::{CapId, TaskId};
use crate::kernel::WakeCause;
use crate::lifecycle::LifecycleState;
use crate::names::{Names, Symbol};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;
use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::SerializeStructVariant;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Scenario labels (capability or channel labels) and every run-time id each was bound to, in
/// binding order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels {
    bound: BTreeMap<String, Vec<u64>>,
}

impl Labels {
    /// Records that `label` now names `id`.
    pub fn bind(&mut self, label: &str, id: u64) {
        let ids = self.bound.entry(String::from(label)).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// Whether `label` was ever bound to `id`.
    pub fn names(&self, label: &str, id: u64) -> bool {
        self.bound.get(label).is_some_and(|ids| ids.contains(&id))
    }

    /// The labels bound to `id` (for descriptions).
    pub fn of(&self, id: u64) -> impl Iterator<Item = &str> {
        self.bound.iter().filter(move |(_, ids)| ids.contains(&id)).map(|(l, _)| l.as_str())
    }
}

/// How patterns see the run: names, the name of each task id, and the labels.
pub struct Resolve<'a> {
    pub names: &'a Names,
    /// The name symbol of each task id (index = task id).
    pub task_names: &'a [Symbol],
    pub caps: &'a Labels,
    pub channels: &'a Labels,
}

impl Resolve<'_> {
    /// Whether task `task` bore the name `name`.
    pub fn task_is(&self, name: &str, task: TaskId) -> bool {
        let symbol = self.task_names.get(task.index()).copied();
        symbol.is_some_and(|s| self.names.resolve(s) == name)
    }

    /// Whether capability `cap` was ever labelled `label`.
    pub fn cap_is(&self, label: &str, cap: CapId) -> bool {
        self.caps.names(label, cap.0)
    }

    /// `task#3 "worker"`.
    pub fn task(&self, task: TaskId) -> String {
        match self.task_names.get(task.index()) {
            Some(s) => alloc::format!("{task} {:?}", self.names.resolve(*s)),
            None => alloc::format!("{task}"),
        }
    }

    /// `cap#3 "f"` (every label it had, joined with `/`).
    pub fn cap(&self, cap: CapId) -> String {
        let labels: Vec<&str> = self.caps.of(cap.0).collect();
        if labels.is_empty() {
            alloc::format!("{cap}")
        } else {
            alloc::format!("{cap} {:?}", labels.join("/"))
        }
    }
}

/// The payload-free kind of an exit reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ExitKind {
    Normal,
    Failure,
    Cancelled,
    Timeout,
}

impl ExitKind {
    pub fn of(reason: &ExitReason) -> ExitKind {
        match reason {
            ExitReason::Normal => ExitKind::Normal,
            ExitReason::Failure { .. } => ExitKind::Failure,
            ExitReason::Cancelled { .. } => ExitKind::Cancelled,
            ExitReason::Timeout => ExitKind::Timeout,
        }
    }
}

// ----- audit patterns --------------------------------------------------------------------------

/// The fields an audit pattern may constrain (each one only for the kinds that have it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditFields {
    /// Label of the capability the record is about.
    pub cap: Option<String>,
    /// Label of the copy (`Cloned`).
    pub new_cap: Option<String>,
    /// Capability kind (`Granted`).
    pub kind: Option<String>,
    /// Task names.
    pub task: Option<String>,
    pub owner: Option<String>,
    pub from_task: Option<String>,
    pub to_task: Option<String>,
    /// Trust domains (`CrossDomainDelegation`).
    pub from_domain: Option<String>,
    pub to_domain: Option<String>,
    pub durable: Option<bool>,
    pub reason: Option<InvalidUseReason>,
}

/// Field names, in [`AuditFields`] order.
const FIELDS: &[&str] = &["cap", "new_cap", "kind", "task", "owner", "from_task", "to_task", "from_domain", "to_domain", "durable", "reason"];

impl AuditFields {
    /// The string-valued fields with their names, in [`FIELDS`] order.
    fn strings(&self) -> [(&'static str, &Option<String>); 9] {
        [
            ("cap", &self.cap),
            ("new_cap", &self.new_cap),
            ("kind", &self.kind),
            ("task", &self.task),
            ("owner", &self.owner),
            ("from_task", &self.from_task),
            ("to_task", &self.to_task),
            ("from_domain", &self.from_domain),
            ("to_domain", &self.to_domain),
        ]
    }

    fn string_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "cap" => &mut self.cap,
            "new_cap" => &mut self.new_cap,
            "kind" => &mut self.kind,
            "task" => &mut self.task,
            "owner" => &mut self.owner,
            "from_task" => &mut self.from_task,
            "to_task" => &mut self.to_task,
            "from_domain" => &mut self.from_domain,
            "to_domain" => &mut self.to_domain,
            _ => return None,
        })
    }

    /// Names of the fields that are written.
    pub fn written(&self) -> impl Iterator<Item = &'static str> + '_ {
        let strings = self.strings().into_iter().filter(|(_, v)| v.is_some()).map(|(n, _)| n);
        strings.chain(self.durable.map(|_| "durable")).chain(self.reason.map(|_| "reason"))
    }
}

/// The fields each audit kind has (the names of [`CapabilityEvent`]'s fields).
pub fn fields_of(kind: AuditKind) -> &'static [&'static str] {
    match kind {
        AuditKind::Granted => &["cap", "kind", "to_task", "durable"],
        AuditKind::Delegated | AuditKind::Rebound => &["cap", "from_task", "to_task"],
        AuditKind::CrossDomainDelegation => &["cap", "from_task", "from_domain", "to_task", "to_domain"],
        AuditKind::Cloned => &["cap", "new_cap", "task"],
        AuditKind::Dropped => &["cap", "task"],
        AuditKind::InvalidUseAttempt => &["cap", "task", "reason"],
        AuditKind::Invalidated => &["cap", "owner"],
    }
}

/// An audit record of a given kind whose written fields all match: `Granted`,
/// `Delegated(from_task: "a", to_task: "b")`, `InvalidUseAttempt(task: "t1", cap: "c42", reason: NotOwner)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPattern {
    pub kind: AuditKind,
    pub fields: AuditFields,
}

impl AuditPattern {
    /// A pattern matching every record of `kind`.
    pub fn any(kind: AuditKind) -> Self {
        AuditPattern { kind, fields: AuditFields::default() }
    }

    /// `(fields matched, fields written)` if `event` has the pattern's kind, else `None`. The
    /// event matches when both are equal; near misses are ranked by the first number.
    pub fn score(&self, event: &CapabilityEvent, r: &Resolve<'_>) -> Option<(u32, u32)> {
        if event.kind() != self.kind {
            return None;
        }
        let f = &self.fields;
        let v = AuditView::of(event);
        let task = |want: &Option<String>, got: Option<TaskId>| want.as_ref().map(|w| got.is_some_and(|t| r.task_is(w, t)));
        let symbol = |want: &Option<String>, got: Option<Symbol>| want.as_ref().map(|w| got.is_some_and(|s| r.names.resolve(s) == w));
        let checks = [
            f.cap.as_ref().map(|l| r.cap_is(l, v.cap)),
            f.new_cap.as_ref().map(|l| v.new_cap.is_some_and(|c| r.cap_is(l, c))),
            symbol(&f.kind, v.kind),
            task(&f.task, v.task),
            task(&f.owner, v.owner),
            task(&f.from_task, v.from_task),
            task(&f.to_task, v.to_task),
            symbol(&f.from_domain, v.from_domain),
            symbol(&f.to_domain, v.to_domain),
            f.durable.map(|d| v.durable == Some(d)),
            f.reason.map(|want| v.reason == Some(want)),
        ];
        let written = checks.iter().filter(|c| c.is_some()).count() as u32;
        let matched = checks.iter().filter(|c| **c == Some(true)).count() as u32;
        Some((matched, written))
    }

    /// Whether `event` matches.
    pub fn matches(&self, event: &CapabilityEvent, r: &Resolve<'_>) -> bool {
        self.score(event, r).is_some_and(|(m, w)| m == w)
    }

    /// The pattern as written in a scenario file.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in self.fields.strings() {
            if let Some(v) = value {
                parts.push(alloc::format!("{name}: {v:?}"));
            }
        }
        if let Some(d) = self.fields.durable {
            parts.push(alloc::format!("durable: {d}"));
        }
        if let Some(reason) = self.fields.reason {
            parts.push(alloc::format!("reason: {reason:?}"));
        }
        if parts.is_empty() {
            String::from(self.kind.name())
        } else {
            alloc::format!("{}({})", self.kind.name(), parts.join(", "))
        }
    }
}

/// The fields of an audit record, by pattern field name.
struct AuditView {
    cap: CapId,
    new_cap: Option<CapId>,
    kind: Option<Symbol>,
    task: Option<TaskId>,
    owner: Option<TaskId>,
    from_task: Option<TaskId>,
    to_task: Option<TaskId>,
    from_domain: Option<Symbol>,
    to_domain: Option<Symbol>,
    durable: Option<bool>,
    reason: Option<InvalidUseReason>,
}

impl AuditView {
    fn of(event: &CapabilityEvent) -> Self {
        use CapabilityEvent as E;
        let none = AuditView {
            cap: event.cap(),
            new_cap: None,
            kind: None,
            task: None,
            owner: None,
            from_task: None,
            to_task: None,
            from_domain: None,
            to_domain: None,
            durable: None,
            reason: None,
        };
        match *event {
            E::Granted { kind, to_task, durable, .. } => AuditView { kind: Some(kind), to_task: Some(to_task), durable: Some(durable), ..none },
            E::Delegated { from_task, to_task, .. } | E::Rebound { from_task, to_task, .. } => {
                AuditView { from_task: Some(from_task), to_task: Some(to_task), ..none }
            }
            E::CrossDomainDelegation { from_task, from_domain, to_task, to_domain, .. } => AuditView {
                from_task: Some(from_task),
                from_domain: Some(from_domain),
                to_task: Some(to_task),
                to_domain: Some(to_domain),
                ..none
            },
            E::Cloned { new_cap, task, .. } => AuditView { new_cap: Some(new_cap), task: Some(task), ..none },
            E::Dropped { task, .. } => AuditView { task: Some(task), ..none },
            E::InvalidUseAttempt { task, reason, .. } => AuditView { task: Some(task), reason: Some(reason), ..none },
            E::Invalidated { owner, .. } => AuditView { owner: Some(owner), ..none },
        }
    }
}

impl Serialize for AuditPattern {
    /// Readable formats: a bare kind when no field is written, else the kind with the written
    /// fields. Binary formats (postcard): the kind with every field, so decoding needs no lookahead.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (index, name) = (self.kind as u32, self.kind.name());
        let readable = s.is_human_readable();
        let written = self.fields.written().count();
        if readable && written == 0 {
            return s.serialize_unit_variant("AuditPattern", index, name);
        }
        let mut v = s.serialize_struct_variant("AuditPattern", index, name, if readable { written } else { FIELDS.len() })?;
        for (field, value) in self.fields.strings() {
            match value {
                Some(_) | None if !readable => v.serialize_field(field, value)?,
                Some(text) => v.serialize_field(field, text)?,
                None => v.skip_field(field)?,
            }
        }
        match (self.fields.durable, readable) {
            (Some(d), true) => v.serialize_field("durable", &d)?,
            (None, true) => v.skip_field("durable")?,
            (d, false) => v.serialize_field("durable", &d)?,
        }
        match (self.fields.reason, readable) {
            (Some(r), true) => v.serialize_field("reason", &r)?,
            (None, true) => v.skip_field("reason")?,
            (r, false) => v.serialize_field("reason", &r)?,
        }
        v.end()
    }
}

impl<'de> Deserialize<'de> for AuditPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_enum("AuditPattern", &KIND_NAMES, PatternVisitor)
    }
}

const KIND_NAMES: [&str; 8] = ["Granted", "Delegated", "CrossDomainDelegation", "Cloned", "Dropped", "InvalidUseAttempt", "Invalidated", "Rebound"];

struct PatternVisitor;

impl<'de> Visitor<'de> for PatternVisitor {
    type Value = AuditPattern;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an audit event kind, bare (`Granted`) or with fields (`Delegated(from_task: \"a\")`)")
    }

    /// The kind, then its fields if any are written. A bare kind has no body: the format reports
    /// that before reading anything (RON: no `(` follows; JSON: a string), and the pattern matches
    /// every record of the kind. An error inside a body is passed on.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<AuditPattern, A::Error> {
        let (KindTag(kind), variant) = data.variant::<KindTag>()?;
        let entered = Cell::new(false);
        match variant.struct_variant(FIELDS, FieldsVisitor { kind, entered: &entered }) {
            Ok(fields) => Ok(AuditPattern { kind, fields }),
            Err(_) if !entered.get() => Ok(AuditPattern::any(kind)),
            Err(e) => Err(e),
        }
    }
}

/// The kind of an audit pattern, read as an enum variant identifier.
struct KindTag(AuditKind);

impl<'de> Deserialize<'de> for KindTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KindTag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an audit event kind")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<KindTag, E> {
                let i = KIND_NAMES.iter().position(|n| *n == s).ok_or_else(|| E::unknown_variant(s, &KIND_NAMES))?;
                Ok(KindTag(AuditKind::ALL[i]))
            }
            fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<KindTag, E> {
                self.visit_str(core::str::from_utf8(b).map_err(|_| E::custom("audit kind is not UTF-8"))?)
            }
            fn visit_u64<E: de::Error>(self, i: u64) -> Result<KindTag, E> {
                AuditKind::ALL.get(i as usize).map(|k| KindTag(*k)).ok_or_else(|| E::custom(alloc::format!("no audit kind number {i}")))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Reads the fields of one audit kind; `entered` records that a body was there.
struct FieldsVisitor<'c> {
    kind: AuditKind,
    entered: &'c Cell<bool>,
}

impl<'de> Visitor<'de> for FieldsVisitor<'_> {
    type Value = AuditFields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the fields of {}: {}", self.kind.name(), fields_of(self.kind).join(", "))
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<AuditFields, M::Error> {
        self.entered.set(true);
        let mut fields = AuditFields::default();
        let allowed = fields_of(self.kind);
        while let Some(name) = map.next_key_seed(FieldName { allowed })? {
            let duplicate = match name {
                "durable" => fields.durable.replace(map.next_value()?).is_some(),
                "reason" => fields.reason.replace(map.next_value()?).is_some(),
                other => {
                    let value: Option<String> = map.next_value()?;
                    let slot = fields.string_mut(other).ok_or_else(|| de::Error::unknown_field(other, allowed))?;
                    let had = slot.is_some();
                    *slot = value;
                    had
                }
            };
            if duplicate {
                return Err(de::Error::duplicate_field(name));
            }
        }
        Ok(fields)
    }

    /// Binary formats: every field, in [`AuditFields`] order.
    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<AuditFields, S::Error> {
        self.entered.set(true);
        let fields = AuditFields::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        let stray = fields.written().find(|f| !fields_of(self.kind).contains(f));
        match stray {
            Some(f) => Err(de::Error::unknown_field(f, fields_of(self.kind))),
            None => Ok(fields),
        }
    }
}

/// A field name that must be one of `allowed`.
struct FieldName {
    allowed: &'static [&'static str],
}

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for FieldName {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", self.allowed.join(", "))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<&'static str, E> {
        self.allowed.iter().find(|a| **a == s).copied().ok_or_else(|| E::unknown_field(s, self.allowed))
    }

    fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<&'static str, E> {
        self.visit_str(core::str::from_utf8(b).map_err(|_| E::custom("field name is not UTF-8"))?)
    }
}

// ----- event patterns --------------------------------------------------------------------------

/// An event of the run, by its content (see the module docs for how names resolve). An event
/// pattern matches observations (what the kernel did) and wake-ups; `Nth(n, p)` picks the `n`-th
/// (1-based) match of `p`; every other pattern stands for its first match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum EventPattern {
    /// Step number `i` (0-based index in `steps`) completed; a blocking `Receive` completes when
    /// it resumes.
    Step(u32),
    /// A task with this name was spawned (by the scenario, a supervisor, a step or the workload).
    Spawned { task: String },
    /// A task with this name terminated (with an exit of this kind).
    Exited {
        task: String,
        #[serde(default)]
        reason: Option<ExitKind>,
    },
    /// `send_message` accepted a message (sent by `task`, on `channel`, with `action`).
    Sent {
        #[serde(default)]
        task: Option<String>,
        #[serde(default)]
        channel: Option<String>,
        #[serde(default)]
        action: Option<String>,
    },
    /// A message entered a channel's queue (at send time, or when its delay ended).
    Enqueued {
        #[serde(default)]
        channel: Option<String>,
        #[serde(default)]
        action: Option<String>,
    },
    /// A receive returned a message (to `task`, from `channel`, with `action`).
    Received {
        #[serde(default)]
        task: Option<String>,
        #[serde(default)]
        channel: Option<String>,
        #[serde(default)]
        action: Option<String>,
    },
    /// An audit record was appended.
    Audit(AuditPattern),
    /// Validation let `task` use `cap`.
    Used {
        #[serde(default)]
        task: Option<String>,
        #[serde(default)]
        cap: Option<String>,
    },
    /// `service` was registered (by `task`).
    Registered {
        service: String,
        #[serde(default)]
        task: Option<String>,
    },
    /// `service` left the registry (its provider terminated).
    Deregistered { service: String },
    /// A supervisor (named `supervisor`) moved its child `task` (the incarnation current at the
    /// transition) to state `to`.
    Lifecycle {
        task: String,
        #[serde(default)]
        to: Option<LifecycleState>,
        #[serde(default)]
        supervisor: Option<String>,
    },
    /// A parked task was woken (for this cause).
    Woken {
        task: String,
        #[serde(default)]
        cause: Option<WakeCause>,
    },
    /// A fault of this kind was injected.
    Fault(FaultKind),
    /// The `n`-th match (1-based) of a pattern.
    Nth(u32, Box<EventPattern>),
}

impl EventPattern {
    /// The pattern without `Nth`, and which match it names (1 for plain patterns).
    pub fn base(&self) -> (&EventPattern, u32) {
        match self {
            EventPattern::Nth(n, inner) => (inner, *n),
            other => (other, 1),
        }
    }

    /// The pattern as written in a scenario file (shortened).
    pub fn describe(&self) -> String {
        use alloc::format;
        let opt = |name: &str, v: &Option<String>| v.as_ref().map(|v| format!("{name}: {v:?}"));
        let join = |parts: Vec<Option<String>>| parts.into_iter().flatten().collect::<Vec<_>>().join(", ");
        match self {
            EventPattern::Step(i) => format!("Step({i})"),
            EventPattern::Spawned { task } => format!("Spawned(task: {task:?})"),
            EventPattern::Exited { task, reason } => match reason {
                Some(r) => format!("Exited(task: {task:?}, reason: {r:?})"),
                None => format!("Exited(task: {task:?})"),
            },
            EventPattern::Sent { task, channel, action } => format!("Sent({})", join(alloc::vec![opt("task", task), opt("channel", channel), opt("action", action)])),
            EventPattern::Enqueued { channel, action } => format!("Enqueued({})", join(alloc::vec![opt("channel", channel), opt("action", action)])),
            EventPattern::Received { task, channel, action } => format!("Received({})", join(alloc::vec![opt("task", task), opt("channel", channel), opt("action", action)])),
            EventPattern::Audit(p) => format!("Audit({})", p.describe()),
            EventPattern::Used { task, cap } => format!("Used({})", join(alloc::vec![opt("task", task), opt("cap", cap)])),
            EventPattern::Registered { service, task } => format!("Registered({})", join(alloc::vec![Some(format!("service: {service:?}")), opt("task", task)])),
            EventPattern::Deregistered { service } => format!("Deregistered(service: {service:?})"),
            EventPattern::Lifecycle { task, to, supervisor } => format!(
                "Lifecycle({})",
                join(alloc::vec![Some(format!("task: {task:?}")), to.map(|t| format!("to: {t:?}")), opt("supervisor", supervisor)])
            ),
            EventPattern::Woken { task, cause } => match cause {
                Some(c) => format!("Woken(task: {task:?}, cause: {c:?})"),
                None => format!("Woken(task: {task:?})"),
            },
            EventPattern::Fault(kind) => format!("Fault({kind:?})"),
            EventPattern::Nth(n, inner) => format!("Nth({n}, {})", inner.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_patterns_round_trip_through_postcard() {
        let pattern = AuditPattern {
            kind: AuditKind::CrossDomainDelegation,
            fields: AuditFields { from_domain: Some("core".into()), to_task: Some("u".into()), ..Default::default() },
        };
        for p in [pattern, AuditPattern::any(AuditKind::Rebound)] {
            let bytes = postcard::to_allocvec(&p).expect("encodes");
            let back: AuditPattern = postcard::from_bytes(&bytes).expect("decodes");
            assert_eq!(back, p);
        }
    }

    #[test]
    fn fields_are_described_as_written() {
        let p = AuditPattern { kind: AuditKind::InvalidUseAttempt, fields: AuditFields { task: Some("t1".into()), reason: Some(InvalidUseReason::NotOwner), ..Default::default() } };
        assert_eq!(p.describe(), "InvalidUseAttempt(task: \"t1\", reason: NotOwner)");
        assert_eq!(AuditPattern::any(AuditKind::Granted).describe(), "Granted");
    }
}
