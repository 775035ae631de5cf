//! Our own node record: what we advertise to the coordinator (addresses and direct endpoints,
//! local and STUN-discovered), the core's side of STUN discovery (sending its requests, taking
//! its answers), and republishing the record when it changes, coalesced per [`ANNOUNCE_GAP`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use rand_core::RngCore;

use super::{Core, Destination, Event, NatReport};
use crate::coord::{CoordinateRequest, Node, node_id};
use crate::keys::NodePublic;
use crate::stun;

/// Our node is republished (`UpdateSelf`) at most once per this interval; changes in between
/// are coalesced into one update (tunnel.md §6.4).
pub const ANNOUNCE_GAP: Duration = Duration::from_millis(100);

impl Core {
    /// Our current node record.
    pub fn node(&mut self, now: Instant) -> Node {
        let ms = self.config.as_of_base
            + u64::try_from(now.saturating_duration_since(self.epoch).as_millis())
                .unwrap_or(u64::MAX / 2);
        self.last_as_of = ms.max(self.last_as_of + 1);
        Node {
            id: node_id(self.config.id),
            as_of: self.last_as_of,
            key: self.config.node_key.public(),
            probe_key: self.config.probe_key.public(),
            home_relay: self.config.home_relay,
            relay_latency: Default::default(),
            relay_forced_websocket: Default::default(),
            addresses: self.config.addresses.clone(),
            allowed_ips: self
                .config
                .addresses
                .iter()
                .map(|a| IpNet::V6(*a))
                .collect(),
            endpoints: self.endpoints.clone(),
        }
    }

    /// Publishes our node to the coordinator (call once at start).
    pub fn announce(&mut self, now: Instant) {
        self.announce_at = None;
        self.last_announce = Some(now);
        let node = self.node(now);
        self.events
            .push_back(Event::Coordinate(CoordinateRequest::UpdateSelf { node }));
    }

    /// Publishes our node now, or at the end of the current [`ANNOUNCE_GAP`] if one was
    /// published less than that ago (coalescing changes in between).
    fn announce_soon(&mut self, now: Instant) {
        match self.last_announce.map(|t| t + ANNOUNCE_GAP) {
            Some(at) if now < at => {
                self.announce_at.get_or_insert(at);
            }
            _ => self.announce(now),
        }
    }

    /// Our local direct endpoints changed (socket bound); republishes the node. STUN-discovered
    /// endpoints are added to these.
    pub fn set_endpoints(&mut self, now: Instant, endpoints: Vec<SocketAddr>) {
        self.local_endpoints = endpoints;
        self.refresh_endpoints(now);
    }

    /// Recomputes the advertised endpoints (local, then discovered ones not among them) and
    /// republishes the node if they changed.
    fn refresh_endpoints(&mut self, now: Instant) {
        let report = self.discovery.report();
        let mut endpoints = self.local_endpoints.clone();
        for e in report.endpoints {
            if !endpoints.contains(&e) {
                endpoints.push(e);
            }
        }
        if self.endpoints != endpoints {
            self.endpoints = endpoints;
            self.announce_soon(now);
        }
    }

    /// The STUN servers to discover our public mapping with (normally the home relay's STUN
    /// port; two or more let us detect a hard NAT). Starts a round now if the list changed
    /// (servers that stay keep their mappings; those of removed ones are withdrawn at once);
    /// discovered endpoints are advertised along with the local ones.
    pub fn set_stun_servers(&mut self, now: Instant, servers: Vec<SocketAddr>) {
        if self.discovery.set_servers(now, &servers) {
            self.refresh_endpoints(now);
        }
    }

    /// What STUN discovery found: mappings per server, the hard-NAT verdict, endpoints.
    pub fn nat_report(&self) -> NatReport {
        self.discovery.report()
    }

    /// Whether the relay connection is up (relayed sends are only emitted while it is). When
    /// it comes up, handshakes that could not be sent are retried at once instead of after
    /// WireGuard's 5 s REKEY_TIMEOUT.
    pub fn set_relay_connected(&mut self, now: Instant, connected: bool) {
        let was = std::mem::replace(&mut self.relay_connected, connected);
        if connected && !was {
            self.flush_pending_ready();
            let waiting: Vec<NodePublic> = self
                .peers
                .iter()
                .filter(|p| p.relay && p.initiated && p.established_at.is_none())
                .map(|p| p.key)
                .collect();
            for key in waiting {
                self.initiate(now, key, true);
            }
        }
    }

    /// A STUN message on our UDP socket: an answer to one of our Binding requests, or dropped.
    /// Only a message from a server we await, with that request's transaction id, is decoded
    /// (and its FINGERPRINT checked): anything else is dropped after a look at its header.
    pub(super) fn handle_stun(&mut self, now: Instant, src: SocketAddr, datagram: &[u8]) {
        let answered = stun::peek_transaction(datagram)
            .filter(|tx| self.discovery.expects(src, tx))
            .and_then(|_| stun::decode(datagram).ok())
            .and_then(|msg| self.discovery.on_message(src, &msg));
        match answered {
            Some(changed) => {
                self.stats.stun_rx += 1;
                if changed {
                    self.refresh_endpoints(now);
                }
            }
            None => self.stats.dropped_malformed += 1,
        }
    }

    /// Runs STUN discovery's timers: sends due requests, applies forgotten mappings.
    pub(super) fn discovery_timeout(&mut self, now: Instant) {
        if self.discovery.poll_timeout().is_none_or(|t| t > now) {
            return;
        }
        let mut requests = std::mem::take(&mut self.stun_requests);
        let rng = &mut self.rng;
        let changed = self.discovery.handle_timeout(
            now,
            || {
                let mut id = stun::TransactionId::default();
                rng.fill_bytes(&mut id);
                id
            },
            &mut requests,
        );
        for r in requests.drain(..) {
            let mut buf = self.pool.get();
            stun::encode_binding_request(&r.transaction, &mut buf);
            self.stats.stun_tx += 1;
            self.push_transmit(Destination::Udp(r.server), buf);
        }
        self.stun_requests = requests;
        if changed {
            self.refresh_endpoints(now);
        }
    }
}
