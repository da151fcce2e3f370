//! A blocking receive made by a scenario step (interface reference, "Message Passing": "Receive
//! (blocking with timeout)").
//!
//! A `Receive` step with a positive `timeout_ns` whose queue is empty parks its task on the
//! channel until a message arrives or the deadline passes, and lends the task this behaviour
//! meanwhile. Only `Idle` tasks may block (validated at load): they have no program of their own
//! to interrupt. When the task is woken it receives; the step completes with the message, with
//! `Err(Timeout)` at the deadline, or with the error of a failed receive (an injected receive
//! fault), and the task goes back to `Idle`. A message taken by another receiver first leaves the
//! queue empty again: the task waits on for the rest of its timeout. A timeout and a message at
//! the same instant: the receive looks at the queue first, so a message already enqueued wins.

use super::{Ctx, Next};
use crate::error::KernelError;
use crate::ids::ChannelId;
use crate::kernel::{FinishedStep, WakeCause};
use crate::observation::Observation;
use crate::time::{Duration, Instant};

/// A task blocked in step `step`'s receive on `channel` until `deadline`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedReceive {
    pub step: u32,
    pub channel: ChannelId,
    pub deadline: Instant,
}

impl BlockedReceive {
    /// One wake-up: `Some(next)` while still waiting, `None` once the step has completed (the
    /// task is then `Idle` again).
    pub fn step(&self, wake: WakeCause, ctx: &mut Ctx<'_>) -> Option<Next> {
        let now = ctx.api.kernel.now();
        let finished = match ctx.api.kernel.receive_message(ctx.api.task, self.channel) {
            Ok(message) => FinishedStep { step: self.step, result: Ok(()), message: Some(message) },
            Err(KernelError::Timeout) if wake != WakeCause::Timeout && now < self.deadline => {
                return Some(Next::Wait { channel: Some(self.channel), timeout: Some(Duration(self.deadline.0 - now.0)) });
            }
            Err(e) => FinishedStep { step: self.step, result: Err(e.kind()), message: None },
        };
        ctx.api.kernel.observe_external(Observation::StepDone { step: self.step, result: finished.result });
        ctx.api.kernel.finished_steps.push(finished);
        None
    }
}
