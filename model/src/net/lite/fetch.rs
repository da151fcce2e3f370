//! `fetchd` (seed `001_*`: "HTTP-like client for smoke tests") and the static responder it
//! fetches from.
//!
//! A fetch of `http://A.B.C.D[:PORT]/PATH` sends `GET <id> /PATH` to that endpoint and waits
//! `timeout_ns` for `<id> <status> <body>`; it asks again up to `max_attempts` times, then ends
//! timed out (status 0). Late or duplicate answers are ignored.
//!
//! Choices where the seed is silent (it names the client only): requests and answers are single
//! datagrams with the request id in them; the default port is 80; [`StaticResponder`] stands for
//! the server (a bring-up smoke test fetches from something local): it answers `200` with the
//! content of a known path, `404` otherwise, `400` to what is not a request.

use crate::net::events::LiteEvent;
use crate::net::packet::{Endpoint, Ipv4Address};
use crate::net::sockets::{Datagram, SocketId, SocketRequest};
use crate::time::{Duration, Instant};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// A fetch, numbered by the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FetchId(pub u64);

/// How a fetch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchResult {
    Response { status: u16, body: Vec<u8> },
    TimedOut,
}

/// What the client asks of its surroundings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchOutput {
    Send(SocketRequest),
    /// Call [`FetchClient::on_timer`] with `id` and `attempt` at `at`.
    SetTimer { at: Instant, id: FetchId, attempt: u32 },
    Done { id: FetchId, result: FetchResult },
}

/// Why a URL was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadUrl(pub String);

/// `http://A.B.C.D[:PORT]/PATH` → the endpoint and the path (`/` if none).
pub fn parse_url(url: &str) -> Result<(Endpoint, String), BadUrl> {
    let bad = || BadUrl(url.into());
    let rest = url.strip_prefix("http://").ok_or_else(bad)?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (authority, 80),
    };
    let address: Ipv4Address = host.parse().map_err(|_| bad())?;
    if path.contains(' ') {
        return Err(bad());
    }
    Ok((Endpoint::new(address, port), path))
}

#[derive(Clone, Debug)]
struct Pending {
    to: Endpoint,
    path: String,
    attempt: u32,
}

/// The client's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchConfig {
    pub timeout_ns: u64,
    pub max_attempts: u32,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig { timeout_ns: Duration::from_millis(500).0, max_attempts: 3 }
    }
}

/// `fetchd`.
#[derive(Clone, Debug)]
pub struct FetchClient {
    socket: SocketId,
    config: FetchConfig,
    next: u64,
    pending: BTreeMap<FetchId, Pending>,
    events: Vec<LiteEvent>,
}

impl FetchClient {
    pub fn new(socket: SocketId, config: FetchConfig) -> Self {
        FetchClient { socket, config, next: 0, pending: BTreeMap::new(), events: Vec::new() }
    }

    pub fn socket(&self) -> SocketId {
        self.socket
    }

    /// Starts fetching `url`.
    pub fn fetch(&mut self, url: &str, now: Instant, out: &mut Vec<FetchOutput>) -> Result<FetchId, BadUrl> {
        let (to, path) = parse_url(url)?;
        let id = FetchId(self.next);
        self.next += 1;
        self.pending.insert(id, Pending { to, path, attempt: 1 });
        self.ask(id, now, out);
        Ok(id)
    }

    /// An answer arrived.
    pub fn on_datagram(&mut self, datagram: &Datagram, out: &mut Vec<FetchOutput>) {
        let Some((id, status, body)) = parse_answer(&datagram.payload) else { return };
        let Some(p) = self.pending.remove(&id) else { return };
        self.events.push(LiteEvent::Fetched { id: id.0, status, attempts: p.attempt });
        out.push(FetchOutput::Done { id, result: FetchResult::Response { status, body } });
    }

    /// The wait of `attempt` of `id` ended.
    pub fn on_timer(&mut self, id: FetchId, attempt: u32, now: Instant, out: &mut Vec<FetchOutput>) {
        let Some(p) = self.pending.get_mut(&id).filter(|p| p.attempt == attempt) else { return };
        if attempt >= self.config.max_attempts {
            self.pending.remove(&id);
            self.events.push(LiteEvent::Fetched { id: id.0, status: 0, attempts: attempt });
            out.push(FetchOutput::Done { id, result: FetchResult::TimedOut });
            return;
        }
        p.attempt += 1;
        self.ask(id, now, out);
    }

    pub fn take_events(&mut self) -> Vec<LiteEvent> {
        core::mem::take(&mut self.events)
    }

    fn ask(&mut self, id: FetchId, now: Instant, out: &mut Vec<FetchOutput>) {
        let p = &self.pending[&id];
        let payload = format!("GET {} {}", id.0, p.path).into_bytes();
        out.push(FetchOutput::Send(SocketRequest::SendTo { socket: self.socket, to: p.to, payload }));
        out.push(FetchOutput::SetTimer { at: now.after(Duration(self.config.timeout_ns)), id, attempt: p.attempt });
    }
}

fn parse_answer(bytes: &[u8]) -> Option<(FetchId, u16, Vec<u8>)> {
    let text = core::str::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, ' ');
    let id = parts.next()?.parse().ok()?;
    let status = parts.next()?.parse().ok()?;
    Some((FetchId(id), status, parts.next().unwrap_or("").as_bytes().to_vec()))
}

/// A static responder: path → content.
#[derive(Clone, Debug, Default)]
pub struct StaticResponder {
    socket: Option<SocketId>,
    pages: BTreeMap<String, Vec<u8>>,
}

impl StaticResponder {
    pub fn new(socket: SocketId) -> Self {
        StaticResponder { socket: Some(socket), pages: BTreeMap::new() }
    }

    pub fn with_page(mut self, path: &str, content: &[u8]) -> Self {
        self.pages.insert(path.into(), content.to_vec());
        self
    }

    /// The answer to a request.
    pub fn on_datagram(&self, datagram: Datagram) -> Option<SocketRequest> {
        let socket = self.socket?;
        let text = core::str::from_utf8(&datagram.payload).unwrap_or("");
        let mut parts = text.splitn(3, ' ');
        let answer = match (parts.next(), parts.next().and_then(|i| i.parse::<u64>().ok()), parts.next()) {
            (Some("GET"), Some(id), Some(path)) => match self.pages.get(path) {
                Some(body) => [format!("{id} 200 ").as_bytes(), body].concat(),
                None => format!("{id} 404 not found").into_bytes(),
            },
            (_, Some(id), _) => format!("{id} 400 bad request").into_bytes(),
            _ => return None,
        };
        Some(SocketRequest::SendTo { socket, to: datagram.from, payload: answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_an_endpoint_and_a_path() {
        assert_eq!(parse_url("http://127.0.0.1:8080/hello").unwrap(), (Endpoint::new(Ipv4Address::LOOPBACK, 8080), "/hello".to_string()));
        assert_eq!(parse_url("http://10.0.2.15").unwrap(), (Endpoint::new(Ipv4Address::new(10, 0, 2, 15), 80), "/".to_string()));
        for bad in ["ftp://1.2.3.4/", "http://example.com/", "http://1.2.3.4:99999/", "http://1.2.3.4/a b"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
