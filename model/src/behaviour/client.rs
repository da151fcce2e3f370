//! Request/response client with retries over at-most-once delivery (interface reference,
//! "Delivery Guarantees" / "Testing Guidance": at-least-once is built by the application from
//! acknowledgement and retry).
//!
//! The client sends `requests` numbered requests in turn. Each attempt looks the service up
//! afresh (the server may have restarted on a new channel), sends the request with a reply
//! channel, and waits up to `timeout` for the reply whose `seq` matches. A timeout, a failed send
//! or a failed lookup is a failed attempt; after `retries` retries the request counts as failed
//! and the client moves on. Replies to earlier attempts are recognised by `seq` and ignored. When
//! every request is done the client exits normally.

use super::{Ctx, Next};
use crate::error::KernelError;
use crate::ids::ChannelId;
use crate::kernel::{KernelApi, WakeCause};
use crate::message::{MessageEnvelope, MessagePayload, SchemaVersion, ServiceId};
use crate::names::well_known;
use crate::scenario::Behaviour;
use crate::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not started yet.
    Start,
    /// Waiting before the next attempt.
    Pause,
    /// Waiting for the reply to the current attempt until `deadline`.
    Awaiting { deadline: Instant },
}

/// The client's parameters and progress.
#[derive(Clone, Debug)]
pub struct Client {
    service: ServiceId,
    requests: u32,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    interval: Duration,
    version: SchemaVersion,
    reply: Option<ChannelId>,
    seq: u32,
    attempt: u32,
    phase: Phase,
}

enum Reply {
    Answered,
    Rejected,
    Nothing,
}

impl Client {
    pub fn from_spec(spec: &Behaviour, kernel: &mut crate::kernel::SimulatedKernel) -> Self {
        let Behaviour::Client { service, requests, timeout_ns, retries, backoff_ns, interval_ns, version } = spec else {
            unreachable!("client spec")
        };
        Client {
            service: kernel.service_id(service),
            requests: *requests,
            timeout: Duration(*timeout_ns),
            retries: *retries,
            backoff: Duration(*backoff_ns),
            interval: Duration(*interval_ns),
            version: *version,
            reply: None,
            seq: 0,
            attempt: 0,
            phase: Phase::Start,
        }
    }

    pub fn step(&mut self, wake: WakeCause, ctx: &mut Ctx<'_>) -> Next {
        match self.phase {
            Phase::Start => match ctx.api.create_channel() {
                Ok(reply) => {
                    self.reply = Some(reply);
                    self.begin_request(ctx)
                }
                Err(e) => Next::fail(&alloc::format!("no reply channel: {e}")),
            },
            Phase::Pause => self.attempt_send(ctx),
            Phase::Awaiting { deadline } => self.await_reply(wake, deadline, ctx),
        }
    }

    fn begin_request(&mut self, ctx: &mut Ctx<'_>) -> Next {
        if self.seq >= self.requests {
            return Next::Exit(crate::identity::ExitReason::Normal);
        }
        self.attempt = 0;
        self.attempt_send(ctx)
    }

    fn attempt_send(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match self.send_request(ctx) {
            Ok(()) => {
                let deadline = ctx.api.now().after(self.timeout);
                self.phase = Phase::Awaiting { deadline };
                Next::Wait { channel: self.reply, timeout: Some(self.timeout) }
            }
            Err(_) => self.failed_attempt(ctx),
        }
    }

    fn send_request(&mut self, ctx: &mut Ctx<'_>) -> Result<(), KernelError> {
        let reply_to = self.reply.expect("reply channel exists after start");
        let channel = ctx.api.lookup_service(self.service)?;
        let payload = MessagePayload::Request { reply_to, seq: self.seq };
        let request = MessageEnvelope::new(self.service, well_known::REQUEST, self.version, payload);
        ctx.api.send_message(channel, request)
    }

    fn await_reply(&mut self, wake: WakeCause, deadline: Instant, ctx: &mut Ctx<'_>) -> Next {
        match self.drain_replies(ctx) {
            Reply::Answered => {
                ctx.api.kernel.stats.requests_completed += 1;
                return self.next_request(ctx);
            }
            Reply::Rejected => {
                ctx.api.kernel.stats.requests_rejected += 1;
                return self.next_request(ctx);
            }
            Reply::Nothing => {}
        }
        let now = ctx.api.now();
        if wake == WakeCause::Timeout || now >= deadline {
            return self.failed_attempt(ctx);
        }
        Next::Wait { channel: self.reply, timeout: Some(Duration(deadline.0 - now.0)) }
    }

    fn drain_replies(&mut self, ctx: &mut Ctx<'_>) -> Reply {
        let reply = self.reply.expect("reply channel exists after start");
        while let Ok(message) = ctx.api.receive_message(reply, None) {
            match message.payload {
                MessagePayload::Response { seq } if seq == self.seq => return Reply::Answered,
                MessagePayload::Rejected { seq, .. } if seq == self.seq => return Reply::Rejected,
                _ => {} // a late reply to an earlier request: ignore it
            }
        }
        Reply::Nothing
    }

    fn failed_attempt(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.attempt += 1;
        if self.attempt > self.retries {
            ctx.api.kernel.stats.requests_failed += 1;
            return self.next_request(ctx);
        }
        self.phase = Phase::Pause;
        Next::sleep(self.backoff)
    }

    fn next_request(&mut self, ctx: &mut Ctx<'_>) -> Next {
        self.seq += 1;
        if self.seq >= self.requests {
            return Next::Exit(crate::identity::ExitReason::Normal);
        }
        self.attempt = 0;
        if self.interval.0 > 0 {
            self.phase = Phase::Pause;
            return Next::sleep(self.interval);
        }
        self.attempt_send(ctx)
    }
}
