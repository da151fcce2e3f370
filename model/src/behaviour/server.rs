//! Echo server and forwarder behaviours (interface reference, "Service Discovery", "Schema
//! Versioning", "Correlation IDs").
//!
//! The server registers its service on a fresh channel and answers every request on the
//! request's reply channel, with the request's id as correlation id; a request whose schema
//! version is outside the server's [`VersionPolicy`] window gets an explicit `Rejected` reply.
//! The forwarder registers its own service and passes each request on to another service,
//! looked up anew each time so it follows restarts; the reply goes straight to the client.

use super::{Ctx, Next};
use crate::error::KernelError;
use crate::ids::ChannelId;
use crate::kernel::KernelApi;
use crate::kernel::SimulatedKernel;
use crate::message::{MessageEnvelope, MessagePayload, ServiceId, VersionPolicy};
use crate::names::well_known;
use crate::scenario::Behaviour;
use crate::time::Duration;

/// The channel `service` is registered on, opened (created and registered) on first use; a task
/// that cannot register its service fails.
fn service_channel(slot: &mut Option<ChannelId>, ctx: &mut Ctx<'_>, service: &ServiceId) -> Result<ChannelId, Next> {
    if let Some(c) = *slot {
        return Ok(c);
    }
    let opened: Result<ChannelId, KernelError> = ctx.api.create_channel().and_then(|c| ctx.api.register_service(*service, c).map(|()| c));
    match opened {
        Ok(c) => Ok(*slot.insert(c)),
        Err(e) => Err(Next::fail(&alloc::format!("cannot register {}: {e}", service.name(ctx.api.kernel.names())))),
    }
}

/// An echo server with a schema-version window.
#[derive(Clone, Debug)]
pub struct Server {
    service: ServiceId,
    policy: VersionPolicy,
    work: Duration,
    channel: Option<ChannelId>,
}

impl Server {
    pub fn from_spec(spec: &Behaviour, kernel: &mut SimulatedKernel) -> Self {
        let Behaviour::Server { service, version, min_major, work_ns } = spec else { unreachable!("server spec") };
        let mut policy = VersionPolicy::new(version.major, version.minor);
        if let Some(m) = min_major {
            policy = policy.with_min_major(*m);
        }
        Server { service: kernel.service_id(service), policy, work: Duration(*work_ns), channel: None }
    }

    pub fn step(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let channel = match service_channel(&mut self.channel, ctx, &self.service) {
            Ok(c) => c,
            Err(next) => return next,
        };
        loop {
            match ctx.api.receive_message(channel, None) {
                Ok(request) => {
                    self.answer(ctx, request);
                    if self.work.0 > 0 {
                        return Next::sleep(self.work);
                    }
                }
                Err(_) => return Next::on(channel),
            }
        }
    }

    fn answer(&self, ctx: &mut Ctx<'_>, request: MessageEnvelope) {
        let MessagePayload::Request { reply_to, seq } = request.payload else { return };
        let payload = match self.policy.mismatch(&self.service, request.schema_version) {
            None => MessagePayload::Response { seq },
            Some(error) => MessagePayload::Rejected { seq, error },
        };
        let reply = MessageEnvelope::new(self.service, well_known::REPLY, self.policy.current, payload).with_correlation(request.id);
        // At-most-once: a lost reply is the client's to retry.
        let _ = ctx.api.send_message(reply_to, reply);
    }
}

/// Forwards requests for `service` to service `to`.
#[derive(Clone, Debug)]
pub struct Forwarder {
    service: ServiceId,
    to: ServiceId,
    channel: Option<ChannelId>,
}

impl Forwarder {
    pub fn from_spec(spec: &Behaviour, kernel: &mut SimulatedKernel) -> Self {
        let Behaviour::Forwarder { service, to } = spec else { unreachable!("forwarder spec") };
        Forwarder { service: kernel.service_id(service), to: kernel.service_id(to), channel: None }
    }

    pub fn step(&mut self, ctx: &mut Ctx<'_>) -> Next {
        let channel = match service_channel(&mut self.channel, ctx, &self.service) {
            Ok(c) => c,
            Err(next) => return next,
        };
        while let Ok(request) = ctx.api.receive_message(channel, None) {
            self.forward(ctx, request);
        }
        Next::on(channel)
    }

    fn forward(&self, ctx: &mut Ctx<'_>, request: MessageEnvelope) {
        let Ok(target) = ctx.api.lookup_service(self.to) else { return };
        let mut onward = MessageEnvelope::new(self.to, request.action, request.schema_version, request.payload);
        onward.correlation_id = Some(request.id);
        let _ = ctx.api.send_message(target, onward);
    }
}

