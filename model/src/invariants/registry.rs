//! `registry.consistent`: no lookup returns a channel of a dead or unregistered service, and a
//! terminated task's services leave the registry with it.
//!
//! Shadow state: the registry rebuilt from register/deregister observations, with the services
//! each task provides.

use super::{Checker, Invariant, Liveness};
use crate::ids::{ChannelId, TaskId};
use crate::message::ServiceId;
use crate::observation::Observation;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

#[derive(Default)]
pub struct RegistryMonitor {
    services: BTreeMap<ServiceId, (ChannelId, TaskId)>,
    provided: BTreeMap<TaskId, Vec<ServiceId>>,
    exited: Vec<TaskId>,
}

impl RegistryMonitor {
    pub fn observe(&mut self, obs: &Observation, live: &Liveness, c: &mut Checker<'_>) {
        match obs {
            Observation::ServiceRegistered { service, channel, task } => {
                let previous = self.services.insert(service.clone(), (*channel, *task));
                c.check(Invariant::RegistryConsistent, previous.is_none(), || {
                    (format!("{service} registered by {task} while still registered to {:?}", previous), vec![format!("{service}"), format!("{task}")])
                });
                self.provided.entry(*task).or_default().push(service.clone());
            }
            Observation::ServiceDeregistered { service, task } => {
                self.services.remove(service);
                if let Some(list) = self.provided.get_mut(task) {
                    list.retain(|s| s != service);
                }
            }
            Observation::ServiceLookedUp { service, channel, by } => {
                let entry = self.services.get(service).copied();
                let ok = entry.is_some_and(|(ch, provider)| ch == *channel && live.alive(provider));
                c.check(Invariant::RegistryConsistent, ok, || {
                    let why = match entry {
                        None => format!("{service} is not registered"),
                        Some((ch, _)) if ch != *channel => format!("{service} is registered on {ch}"),
                        Some((_, provider)) => format!("its provider {provider} has terminated"),
                    };
                    (format!("lookup of {service} by {by} returned {channel}, but {why}"), vec![format!("{service}"), format!("{channel}")])
                });
            }
            Observation::TaskExited { task, .. } => self.exited.push(*task),
            _ => {}
        }
    }

    pub fn end_event(&mut self, c: &mut Checker<'_>) {
        for task in self.exited.drain(..) {
            let left = self.provided.get(&task).map_or(0, Vec::len);
            c.check(Invariant::RegistryConsistent, left == 0, || {
                (format!("{task} terminated but {left} of its services stay registered"), vec![format!("{task}")])
            });
        }
    }
}
