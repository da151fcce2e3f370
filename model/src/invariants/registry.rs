//! `registry.consistent`: no lookup returns a channel of a dead or unregistered service, and a
//! terminated task's services leave the registry with it.
//!
//! Shadow state: the registry rebuilt from register/deregister observations (indexed by service
//! symbol), with the services each task provides (indexed by task).

use super::{Checker, Invariant, Liveness};
use crate::ids::{ChannelId, TaskId};
use crate::message::ServiceId;
use crate::observation::Observation;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

#[derive(Default)]
pub struct RegistryMonitor {
    services: Vec<Option<(ChannelId, TaskId)>>,
    provided: Vec<Vec<ServiceId>>,
    exited: Vec<TaskId>,
}

impl RegistryMonitor {
    fn slot(&mut self, service: ServiceId) -> &mut Option<(ChannelId, TaskId)> {
        let i = service.0.index();
        if self.services.len() <= i {
            self.services.resize(i + 1, None);
        }
        &mut self.services[i]
    }

    fn provided_by(&mut self, task: TaskId) -> &mut Vec<ServiceId> {
        if self.provided.len() <= task.index() {
            self.provided.resize_with(task.index() + 1, Vec::new);
        }
        &mut self.provided[task.index()]
    }

    pub fn observe(&mut self, obs: &Observation, live: &Liveness, c: &mut Checker<'_>) {
        match obs {
            Observation::ServiceRegistered { service, channel, task } => {
                let previous = self.slot(*service).replace((*channel, *task));
                let names = c.names;
                c.check(Invariant::RegistryConsistent, previous.is_none(), || {
                    let name = alloc::string::String::from(service.name(names));
                    (format!("{name} registered by {task} while still registered to {previous:?}"), vec![name, format!("{task}")])
                });
                self.provided_by(*task).push(*service);
            }
            Observation::ServiceDeregistered { service, task } => {
                *self.slot(*service) = None;
                self.provided_by(*task).retain(|s| s != service);
            }
            Observation::ServiceLookedUp { service, channel, by } => {
                let entry = self.services.get(service.0.index()).copied().flatten();
                let ok = entry.is_some_and(|(ch, provider)| ch == *channel && live.alive(provider));
                let names = c.names;
                c.check(Invariant::RegistryConsistent, ok, || {
                    let name = alloc::string::String::from(service.name(names));
                    let why = match entry {
                        None => format!("{name} is not registered"),
                        Some((ch, _)) if ch != *channel => format!("{name} is registered on {ch}"),
                        Some((_, provider)) => format!("its provider {provider} has terminated"),
                    };
                    (format!("lookup of {name} by {by} returned {channel}, but {why}"), vec![name, format!("{channel}")])
                });
            }
            Observation::TaskExited { task, .. } => self.exited.push(*task),
            _ => {}
        }
    }

    #[inline]
    pub fn end_event(&mut self, c: &mut Checker<'_>) {
        if self.exited.is_empty() {
            return;
        }
        for task in core::mem::take(&mut self.exited) {
            let left = self.provided.get(task.index()).map_or(0, Vec::len);
            c.check(Invariant::RegistryConsistent, left == 0, || {
                (format!("{task} terminated but {left} of its services stay registered"), vec![format!("{task}")])
            });
        }
    }
}

