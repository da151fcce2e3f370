//! The session handshake (seed `001_*`: TASK-0003B, RFC-0008 "DSoftBus Noise XK v1 (handshake +
//! identity binding)"; TASK-0004 "identity binding enforcement").
//!
//! The protocol states and the binding check are modelled; no cryptography is. Noise XK's shape is
//! kept: the initiator knows whom it is calling (the identity learnt at discovery for the address
//! it connects to), the responder proves its identity in the second message, the initiator its own
//! in the third. A node can only ever prove its own [`DeviceId`] (that is what the static key
//! stands for), so an impostor can announce someone else's identity but cannot present it.
//!
//! ```text
//! initiator                                    responder
//! AwaitResponse  ── Init ───────────────────▶  AwaitInit
//!                ◀── Response{nonce, device} ─ AwaitConfirm
//! check(device vs discovery)
//!   pass: AwaitAccept ── Confirm{device} ───▶  check(device vs discovery)
//!                                                pass: Established
//!         Established ◀── Accept ──────────────
//!                                                fail: Rejected
//!         RejectedByPeer ◀── Reject{reason} ───
//!   fail: Rejected ───── Reject{reason} ────▶  RejectedByPeer
//! ```
//!
//! Each end establishes only after its own check of the peer passed
//! (`net.no_session_with_unverified_peer`) and binds the session to the identity learnt at
//! discovery (`net.session_bound_to_identity`). A failed check is recorded as
//! `HandshakeRejected` (the audit) and answered with `Reject`. The messages travel in the
//! connection's reliable stream, so the handshake itself never retransmits.
//!
//! Choices where the seeds are silent:
//! - beyond XK's three messages the responder confirms with `Accept`, and the initiator's session
//!   is established only then: neither end hands its application a session the other end refused
//!   (without it, an initiator would send data into a session the responder then rejects);
//! - a responder that learnt nothing at discovery for the initiator's address rejects it
//!   (`UnknownPeer`) — the binding needs a discovered identity; the initiator may try again later
//!   (the responder will have heard its announces by then).

use super::frame::SessionMessage;
use crate::bugs::{BugSet, PlantedBug};
use crate::net::events::{DeviceId, Nonce, RejectReason, Role, SessionEvent, SessionId};
use crate::net::packet::Ipv4Address;
use alloc::vec::Vec;

/// Where a handshake is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeState {
    /// Initiator, `Init` sent.
    AwaitResponse,
    /// Responder, nothing received yet.
    AwaitInit,
    /// Responder, `Response` sent.
    AwaitConfirm,
    /// Initiator, the responder checked and `Confirm` sent; bound to `bound` once accepted.
    AwaitAccept { bound: DeviceId },
    /// Bound to `bound`.
    Established { bound: DeviceId },
    /// This end refused the peer.
    Rejected(RejectReason),
    /// The peer refused this end.
    RejectedByPeer(RejectReason),
}

/// What a message did to the handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandshakeStep {
    /// A message to send back in the stream.
    pub reply: Option<SessionMessage>,
    /// The session was established by this message.
    pub established: bool,
    /// The handshake ended in a refusal (by either end) with this message.
    pub refused: bool,
    /// The message did not fit the state (ignored).
    pub unexpected: bool,
}

/// One end's handshake on one connection.
#[derive(Clone, Debug)]
pub struct Handshake {
    role: Role,
    state: HandshakeState,
    /// The initiator's nonce (the connection's).
    conn: Nonce,
    /// The responder's nonce, once known.
    responder: Option<Nonce>,
    peer: Ipv4Address,
    me: DeviceId,
    bugs: BugSet,
}

impl Handshake {
    /// The initiator's end; send `Init` first.
    pub fn initiate(conn: Nonce, peer: Ipv4Address, me: DeviceId, bugs: BugSet) -> (Self, SessionMessage) {
        (Handshake { role: Role::Initiator, state: HandshakeState::AwaitResponse, conn, responder: None, peer, me, bugs }, SessionMessage::Init)
    }

    /// The responder's end, with its own nonce.
    pub fn respond(conn: Nonce, responder: Nonce, peer: Ipv4Address, me: DeviceId, bugs: BugSet) -> Self {
        Handshake { role: Role::Responder, state: HandshakeState::AwaitInit, conn, responder: Some(responder), peer, me, bugs }
    }

    pub fn state(&self) -> HandshakeState {
        self.state
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The session, once both nonces are known.
    pub fn session(&self) -> Option<SessionId> {
        self.responder.map(|responder| SessionId { initiator: self.conn, responder })
    }

    pub fn is_established(&self) -> bool {
        matches!(self.state, HandshakeState::Established { .. })
    }

    /// A message of the peer; `learnt` is the identity discovery holds for the peer's address now.
    pub fn on_message(&mut self, message: &SessionMessage, learnt: Option<DeviceId>, events: &mut Vec<SessionEvent>) -> HandshakeStep {
        match (self.state, message) {
            (HandshakeState::AwaitInit, SessionMessage::Init) => {
                self.state = HandshakeState::AwaitConfirm;
                let responder = self.responder.expect("a responder has its nonce");
                HandshakeStep { reply: Some(SessionMessage::Response { responder, device: self.me }), ..HandshakeStep::default() }
            }
            (HandshakeState::AwaitResponse, SessionMessage::Response { responder, device }) => {
                self.responder = Some(*responder);
                self.check(*device, learnt, events, Some(SessionMessage::Confirm { device: self.me }))
            }
            (HandshakeState::AwaitConfirm, SessionMessage::Confirm { device }) => self.check(*device, learnt, events, Some(SessionMessage::Accept)),
            (HandshakeState::AwaitAccept { bound }, SessionMessage::Accept) => {
                self.establish(bound, events);
                HandshakeStep { established: true, ..HandshakeStep::default() }
            }
            (HandshakeState::AwaitResponse | HandshakeState::AwaitConfirm | HandshakeState::AwaitAccept { .. } | HandshakeState::Established { .. }, SessionMessage::Reject { reason }) => {
                self.state = HandshakeState::RejectedByPeer(*reason);
                HandshakeStep { refused: true, ..HandshakeStep::default() }
            }
            _ => HandshakeStep { unexpected: true, ..HandshakeStep::default() },
        }
    }

    fn establish(&mut self, bound: DeviceId, events: &mut Vec<SessionEvent>) {
        let session = self.session().expect("both nonces are known once checked");
        self.state = HandshakeState::Established { bound };
        // With the planted bug the event was recorded before the check already.
        if !self.bugs.has(PlantedBug::SessionAcceptedBeforeIdentityCheck) {
            events.push(SessionEvent::Established { session, peer: self.peer, bound, role: self.role });
        }
    }

    /// The binding check: the identity the peer proved against the one learnt at discovery.
    fn check(&mut self, presented: DeviceId, learnt: Option<DeviceId>, events: &mut Vec<SessionEvent>, reply_on_pass: Option<SessionMessage>) -> HandshakeStep {
        let session = self.session().expect("both nonces are known at the check");
        let peer = self.peer;
        if self.bugs.has(PlantedBug::SessionAcceptedBeforeIdentityCheck) {
            let bound = learnt.unwrap_or(presented);
            events.push(SessionEvent::Established { session, peer, bound, role: self.role });
        }
        let (passed, bound) = if self.bugs.has(PlantedBug::SessionBindsPresentedIdentity) { (true, presented) } else { (learnt == Some(presented), learnt.unwrap_or(presented)) };
        events.push(SessionEvent::IdentityChecked { session, peer, expected: learnt, presented, passed });
        if passed {
            if self.role == Role::Initiator {
                self.state = HandshakeState::AwaitAccept { bound };
                return HandshakeStep { reply: reply_on_pass, ..HandshakeStep::default() };
            }
            self.establish(bound, events);
            return HandshakeStep { reply: reply_on_pass, established: true, ..HandshakeStep::default() };
        }
        let reason = if learnt.is_none() { RejectReason::UnknownPeer } else { RejectReason::IdentityMismatch };
        events.push(SessionEvent::HandshakeRejected { session, peer, expected: learnt, presented, reason });
        self.state = HandshakeState::Rejected(reason);
        HandshakeStep { reply: Some(SessionMessage::Reject { reason }), refused: true, ..HandshakeStep::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonce(last: u8, serial: u32) -> Nonce {
        Nonce { origin: Ipv4Address::new(10, 0, 0, last), incarnation: 0, serial }
    }

    /// Runs a handshake between an initiator that learnt `i_learnt` for the responder and a
    /// responder that learnt `r_learnt` for the initiator; the responder proves `r_device`.
    fn run(i_learnt: Option<DeviceId>, r_learnt: Option<DeviceId>, r_device: DeviceId) -> (Handshake, Handshake, Vec<SessionEvent>) {
        let (a, b) = (Ipv4Address::new(10, 0, 0, 1), Ipv4Address::new(10, 0, 0, 2));
        let mut ev = Vec::new();
        let (mut i, init) = Handshake::initiate(nonce(1, 0), b, DeviceId(1), BugSet::default());
        let mut r = Handshake::respond(nonce(1, 0), nonce(2, 0), a, r_device, BugSet::default());
        let response = r.on_message(&init, r_learnt, &mut ev).reply.unwrap();
        let step = i.on_message(&response, i_learnt, &mut ev);
        if let Some(reply) = step.reply {
            let back = r.on_message(&reply, r_learnt, &mut ev);
            if let Some(reject) = back.reply {
                i.on_message(&reject, i_learnt, &mut ev);
            }
        }
        (i, r, ev)
    }

    #[test]
    fn matching_identities_establish_both_ends_bound_to_discovery() {
        let (i, r, ev) = run(Some(DeviceId(2)), Some(DeviceId(1)), DeviceId(2));
        assert_eq!(i.state(), HandshakeState::Established { bound: DeviceId(2) });
        assert_eq!(r.state(), HandshakeState::Established { bound: DeviceId(1) });
        assert_eq!(ev.iter().filter(|e| matches!(e, SessionEvent::IdentityChecked { passed: true, .. })).count(), 2);
    }

    #[test]
    fn a_peer_proving_another_identity_is_rejected_and_audited() {
        let (i, r, ev) = run(Some(DeviceId(2)), Some(DeviceId(1)), DeviceId(3));
        assert_eq!(i.state(), HandshakeState::Rejected(RejectReason::IdentityMismatch));
        assert_eq!(r.state(), HandshakeState::RejectedByPeer(RejectReason::IdentityMismatch));
        assert!(ev.iter().any(|e| matches!(e, SessionEvent::HandshakeRejected { expected: Some(DeviceId(2)), presented: DeviceId(3), reason: RejectReason::IdentityMismatch, .. })));
        assert!(!ev.iter().any(|e| matches!(e, SessionEvent::Established { .. })));
    }

    #[test]
    fn a_responder_that_never_heard_of_the_initiator_rejects_it() {
        let (i, r, _) = run(Some(DeviceId(2)), None, DeviceId(2));
        assert_eq!(r.state(), HandshakeState::Rejected(RejectReason::UnknownPeer));
        assert_eq!(i.state(), HandshakeState::RejectedByPeer(RejectReason::UnknownPeer));
    }
}
