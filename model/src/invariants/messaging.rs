//! `msg.at_most_once` and `msg.fifo_per_channel`.
//!
//! Message ids grow in send order, so FIFO per channel means: the messages taken from a
//! channel's queue have increasing ids. Messages a delay fault held back, and the message a
//! reorder fault let be overtaken, are exempt (the reference allows those faults to change
//! order); every other message taken must have a larger id than every message taken before it
//! from the same channel. A message taken includes one lost with a failed receive.

use super::{BitSet, Checker, Invariant};
use crate::ids::{ChannelId, MessageId};
use crate::observation::Observation;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

#[derive(Default)]
pub struct MessageMonitor {
    enqueued: BitSet,
    received: BitSet,
    last_taken: Vec<Option<MessageId>>,
    /// Messages a delay or reorder fault moved, by id, until they are taken.
    exempt: BitSet,
}

impl MessageMonitor {
    pub fn observe(&mut self, obs: &Observation, c: &mut Checker<'_>) {
        match obs {
            Observation::MessageEnqueued { msg, channel } => {
                let fresh = self.enqueued.insert(msg.0);
                c.check(Invariant::MsgAtMostOnce, fresh, || (format!("{msg} entered the queue of {channel} a second time"), vec![format!("{msg}"), format!("{channel}")]));
            }
            Observation::MessageReceived { msg, channel, by } => {
                let fresh = self.received.insert(msg.0);
                c.check(Invariant::MsgAtMostOnce, fresh, || (format!("{msg} was received a second time (by {by})"), vec![format!("{msg}"), format!("{channel}"), format!("{by}")]));
                self.taken(*msg, *channel, c);
            }
            Observation::ReceiveFailed { channel, consumed: Some(msg), .. } => self.taken(*msg, *channel, c),
            Observation::MessageDelayed { msg, .. } => {
                self.exempt.insert(msg.0);
            }
            Observation::MessageReordered { overtaken, .. } => {
                self.exempt.insert(overtaken.0);
            }
            _ => {}
        }
    }

    fn taken(&mut self, msg: MessageId, channel: ChannelId, c: &mut Checker<'_>) {
        if self.last_taken.len() <= channel.index() {
            self.last_taken.resize(channel.index() + 1, None);
        }
        let last = self.last_taken[channel.index()];
        if !self.exempt.remove(msg.0) {
            c.check(Invariant::MsgFifoPerChannel, last.is_none_or(|l| msg > l), || {
                let l = last.expect("violation implies a previous message");
                (format!("{msg} left {channel} after the later {l}"), vec![format!("{msg}"), format!("{l}"), format!("{channel}")])
            });
        }
        self.last_taken[channel.index()] = last.max(Some(msg));
    }
}
