//! The sans-IO engine: WireGuard sessions, path managers and coordination state for all peers
//! of one tunnel. Feed it `(now, input)`; take transmits, deliveries and events out with the
//! `poll_*` methods; call [`Core::handle_timeout`] at [`Core::poll_timeout`].
//!
//! Our own node record lists our direct endpoints: the local ones the driver reports plus the
//! public mapping STUN discovery ([`NatReport`]) finds on the same UDP socket. Changes are
//! republished to the coordinator at most once per [`ANNOUNCE_GAP`].

mod discovery;
mod peers;
mod types;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ipnet::{IpNet, Ipv6Net};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use uuid::Uuid;

pub use discovery::{NatReport, STUN_ATTEMPTS, STUN_INTERVAL, STUN_MIN_GAP, STUN_RTO};
pub use types::{Destination, Event, PeerDiagnostics, Stats, Transmit};

use crate::buf::{BufPool, MAX_PACKET, PACKET_BUF};
use crate::coord::{CoordinateRequest, Node, PeerUpdate, PeerUpdateKind, node_id};
use crate::keys::{NodeKey, NodePublic};
use crate::path::{PathEvent, PathKind, PathManager};
use crate::probe::{self, Probe, ProbeKey, ProbeKind, TxId};
use crate::stun;
use crate::wg::{
    BoringtunSession, Classified, TIMER_TICK, WgClock, WgError, WgOutput, WgRateLimiter,
    classify_datagram,
};
use discovery::Discovery;
use peers::{Peer, PeerTable, Slot};

/// How long a destination waits for its relay connection before sending ready-for-handshake
/// anyway (direct paths may still work).
pub const RELAY_WAIT: Duration = Duration::from_millis(500);

/// Our node is republished (`UpdateSelf`) at most once per this interval; changes in between
/// are coalesced into one update (tunnel.md §6.4).
pub const ANNOUNCE_GAP: Duration = Duration::from_millis(100);

/// Handshakes per second accepted before cookie replies.
const HANDSHAKE_LIMIT: u64 = 100;

/// How a [`Core`] is set up.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Our coordinator id.
    pub id: Uuid,
    /// WireGuard static key.
    pub node_key: NodeKey,
    /// Probe key.
    pub probe_key: NodeKey,
    /// Our `/128`s.
    pub addresses: Vec<Ipv6Net>,
    /// Home relay region (0 = none).
    pub home_relay: u16,
    /// Never use direct paths.
    pub block_direct: bool,
    /// Base of the 24-bit session indices and probe transaction ids (random in production,
    /// fixed in tests).
    pub seed: u32,
    /// Seed of the core's ChaCha20 random generator, which draws STUN transaction ids (96
    /// random bits each, RFC 8489 §6): from the OS in production, fixed in tests so
    /// simulations repeat exactly.
    pub rng_seed: RngSeed,
    /// WireGuard persistent keepalive in seconds.
    pub persistent_keepalive: Option<u16>,
    /// `as_of` of our first node record, in UNIX milliseconds.
    pub as_of_base: u64,
}

/// The seed of a core's random generator ([`CoreConfig::rng_seed`]). Its `Debug` shows no
/// bytes: whoever knows the seed can predict every STUN transaction id.
#[derive(Clone, PartialEq, Eq)]
pub struct RngSeed(pub [u8; 32]);

impl std::fmt::Debug for RngSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RngSeed(..)")
    }
}

/// Where a datagram came from (and where replies to it go).
#[derive(Debug, Clone, Copy)]
enum Via {
    Udp(SocketAddr),
    Relay,
}

/// The engine core. See the module docs.
pub struct Core {
    config: CoreConfig,
    limiter: WgRateLimiter,
    epoch: Instant,
    peers: PeerTable,
    by_probe: HashMap<NodePublic, NodePublic>,
    by_id: HashMap<Uuid, NodePublic>,
    dialed: Vec<Uuid>,
    /// Sources to send ready-for-handshake to once our relay is up (or at the deadline).
    pending_ready: Vec<Uuid>,
    pending_ready_deadline: Option<Instant>,
    /// What we advertise: `local_endpoints` then STUN-discovered ones.
    endpoints: Vec<SocketAddr>,
    local_endpoints: Vec<SocketAddr>,
    discovery: Discovery,
    stun_requests: Vec<discovery::Request>,
    last_announce: Option<Instant>,
    announce_at: Option<Instant>,
    relay_connected: bool,
    transmits: VecDeque<Transmit>,
    deliveries: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    pool: BufPool,
    probe_buf: Vec<u8>,
    pings: Vec<SocketAddr>,
    next_tick: Instant,
    next_limiter_reset: Instant,
    next_index: u32,
    next_tx: u64,
    /// STUN transaction ids.
    rng: ChaCha20Rng,
    last_as_of: u64,
    stats: Stats,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("peers", &self.peers.len())
            .finish()
    }
}

fn base_of(buf: &[u8]) -> usize {
    buf.as_ptr() as usize
}

fn written(base: usize, out: &[u8]) -> (usize, usize) {
    (out.as_ptr() as usize - base, out.len())
}

impl Core {
    /// A core with no peers, whose clock starts at `now`.
    pub fn new(config: CoreConfig, now: Instant) -> Self {
        let clock = WgClock::new(now);
        let limiter = WgRateLimiter::new(&config.node_key, HANDSHAKE_LIMIT, clock, now);
        Self {
            next_index: config.seed & 0x00ff_ffff,
            next_tx: u64::from(config.seed) << 32,
            rng: ChaCha20Rng::from_seed(config.rng_seed.0),
            last_as_of: config.as_of_base,
            config,
            limiter,
            epoch: now,
            peers: PeerTable::default(),
            by_probe: HashMap::new(),
            by_id: HashMap::new(),
            dialed: Vec::new(),
            pending_ready: Vec::new(),
            pending_ready_deadline: None,
            endpoints: Vec::new(),
            local_endpoints: Vec::new(),
            discovery: Discovery::default(),
            stun_requests: Vec::new(),
            last_announce: None,
            announce_at: None,
            relay_connected: false,
            transmits: VecDeque::new(),
            deliveries: VecDeque::new(),
            events: VecDeque::new(),
            pool: BufPool::new(PACKET_BUF, 1024),
            probe_buf: Vec::with_capacity(probe::PONG_LEN),
            pings: Vec::new(),
            next_tick: now + TIMER_TICK,
            next_limiter_reset: now + Duration::from_secs(1),
            stats: Stats::default(),
        }
    }

    /// Our WireGuard public key.
    pub fn public_key(&self) -> NodePublic {
        self.config.node_key.public()
    }

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

    fn flush_pending_ready(&mut self) {
        self.pending_ready_deadline = None;
        if !self.pending_ready.is_empty() {
            let ids = std::mem::take(&mut self.pending_ready);
            let req = CoordinateRequest::ReadyForHandshake { ids };
            self.events.push_back(Event::Coordinate(req));
        }
    }

    /// Asks the coordinator for a tunnel to an agent (client side).
    pub fn add_tunnel(&mut self, id: Uuid) {
        if !self.dialed.contains(&id) {
            self.dialed.push(id);
        }
        self.events
            .push_back(Event::Coordinate(CoordinateRequest::AddTunnel { id }));
    }

    /// Drops a tunnel we asked for.
    pub fn remove_tunnel(&mut self, id: Uuid) {
        self.dialed.retain(|d| *d != id);
        if let Some(key) = self.by_id.get(&id).copied() {
            self.remove_peer(key);
        }
        self.events
            .push_back(Event::Coordinate(CoordinateRequest::RemoveTunnel { id }));
    }

    /// Says goodbye to the coordinator.
    pub fn disconnect(&mut self) {
        self.events
            .push_back(Event::Coordinate(CoordinateRequest::Disconnect));
    }

    fn alloc_index(&mut self) -> u32 {
        loop {
            self.next_index = (self.next_index + 1) & 0x00ff_ffff;
            if !self.peers.contains_index(self.next_index) {
                return self.next_index;
            }
        }
    }

    fn new_peer(&mut self, now: Instant, key: NodePublic, path: PathManager) -> Peer {
        let index = self.alloc_index();
        let session = BoringtunSession::new(
            &self.config.node_key,
            key,
            index,
            self.config.persistent_keepalive,
            &self.limiter,
            now,
        );
        Peer::new(key, Box::new(session), index, path)
    }

    /// Adds a plain WireGuard peer with a fixed endpoint (no coordinator, no probes), e.g.
    /// wireguard-go. `allowed` are the inner addresses it may send from and we route to it.
    pub fn add_static_peer(
        &mut self,
        now: Instant,
        key: NodePublic,
        endpoint: SocketAddr,
        allowed: Vec<IpNet>,
    ) {
        self.remove_peer(key);
        let mut peer = self.new_peer(now, key, PathManager::fixed(endpoint));
        peer.allowed = allowed;
        self.peers.insert(peer);
    }

    fn remove_peer(&mut self, key: NodePublic) -> bool {
        let Some(peer) = self.peers.remove(&key) else {
            return false;
        };
        if let Some(node) = &peer.node {
            self.by_probe.remove(&node.probe_key);
        }
        if let Some(id) = peer.id {
            self.by_id.remove(&id);
        }
        true
    }

    /// Applies one coordinator update.
    pub fn apply_peer_update(&mut self, now: Instant, update: PeerUpdate) {
        match update.kind {
            PeerUpdateKind::Node(node) => self.install_node(now, update.id, *node),
            PeerUpdateKind::ReadyForHandshake => {
                // The peer has just installed our node, perhaps after losing its state: start
                // a fresh handshake now rather than after a 5 s retry or a 15 s dead session.
                if let Some(key) = self.by_id.get(&update.id).copied() {
                    self.initiate(now, key, true);
                }
            }
            PeerUpdateKind::Lost => {
                if let Some(peer) = self
                    .by_id
                    .get(&update.id)
                    .and_then(|k| self.peers.get_mut(k))
                {
                    peer.lost = true;
                }
            }
            PeerUpdateKind::Disconnected => {
                if let Some(key) = self.by_id.get(&update.id).copied()
                    && self.remove_peer(key)
                {
                    self.events.push_back(Event::PeerRemoved { peer: key });
                }
            }
        }
    }

    /// Marks every peer lost (our coordinator connection dropped); tunnels stay up.
    pub fn set_all_peers_lost(&mut self) {
        for peer in self.peers.iter_mut() {
            peer.lost = true;
        }
    }

    fn install_node(&mut self, now: Instant, id: Uuid, node: Node) {
        // A new key for a known id replaces the peer (it restarted with a new identity).
        if let Some(old) = self.by_id.get(&id).copied()
            && old != node.key
        {
            self.remove_peer(old);
        }
        let key = node.key;
        let is_new = !self.peers.contains_key(&key);
        // An update keeps the peer's slot (the tie-break among equal prefixes).
        let (slot, mut peer) = match self.peers.take(&key) {
            Some((slot, p)) => (Some(slot), p),
            None => (
                None,
                self.new_peer(now, key, PathManager::new(self.config.block_direct)),
            ),
        };
        if let Some(old) = &peer.node {
            if old.as_of > node.as_of {
                self.peers.insert_at(slot, peer);
                return;
            }
            self.by_probe.remove(&old.probe_key);
        }
        peer.id = Some(id);
        peer.lost = false;
        peer.allowed = node.allowed_ips.clone();
        for a in &node.addresses {
            if !peer.allowed.contains(&IpNet::V6(*a)) {
                peer.allowed.push(IpNet::V6(*a));
            }
        }
        peer.relay = node.home_relay != 0;
        peer.probe = Some(ProbeKey::new(&self.config.probe_key, &node.probe_key));
        let endpoints_changed = peer
            .node
            .as_ref()
            .is_none_or(|o| o.endpoints != node.endpoints);
        if endpoints_changed {
            peer.path.set_endpoints(now, &node.endpoints);
        }
        self.by_probe.insert(node.probe_key, key);
        self.by_id.insert(id, key);
        peer.node = Some(node);
        self.peers.insert_at(slot, peer);
        if is_new && !self.dialed.contains(&id) {
            // We are the destination: tell the source it may handshake now, or once our relay
            // connection is up (an initiation relayed before we are logged in would be lost
            // and retried only after 5 s).
            if self.config.home_relay != 0 && !self.relay_connected {
                self.pending_ready.push(id);
                self.pending_ready_deadline.get_or_insert(now + RELAY_WAIT);
            } else {
                let req = CoordinateRequest::ReadyForHandshake { ids: vec![id] };
                self.events.push_back(Event::Coordinate(req));
            }
        }
    }

    /// Starts a handshake with the peer unless a session is up. Returns whether it is up.
    pub fn ensure_session(&mut self, now: Instant, key: NodePublic) -> bool {
        if self.session_up(now, key) {
            return true;
        }
        self.initiate(now, key, false);
        false
    }

    fn initiate(&mut self, now: Instant, key: NodePublic, force: bool) {
        let Some(slot) = self.peers.slot(&key) else {
            return;
        };
        let Some(peer) = self.peers.at_mut(slot) else {
            return;
        };
        peer.initiated = true;
        let mut buf = self.pool.get();
        let res = written_len(base_of(&buf), peer.session.initiate(now, force, &mut buf));
        self.finish_output(slot, res, buf, None);
    }

    /// Whether a WireGuard session with the peer is established.
    pub fn session_up(&self, now: Instant, key: NodePublic) -> bool {
        self.peers.get(&key).is_some_and(|p| {
            p.established_at.is_some() && p.session.stats(now).since_handshake.is_some()
        })
    }

    /// The peer that routes `ip`.
    pub fn peer_for_ip(&self, ip: IpAddr) -> Option<NodePublic> {
        let slot = self.peers.find_ip(ip)?;
        self.peers.at(slot).map(|p| p.key)
    }

    /// The peer registered under a coordinator id.
    pub fn peer_for_id(&self, id: Uuid) -> Option<NodePublic> {
        self.by_id.get(&id).copied()
    }

    fn push_transmit(&mut self, dst: Destination, payload: Vec<u8>) {
        match dst {
            Destination::Udp(_) => self.stats.udp_tx += 1,
            Destination::Relay(_) => self.stats.relay_tx += 1,
        }
        self.transmits.push_back(Transmit { dst, payload });
    }

    /// Handles a session call's result: `res` is `(offset, len)` written into `buf`, an error,
    /// or nothing. `via` is where the input came from (replies go back the same way).
    fn finish_output(&mut self, slot: Slot, res: Out, mut buf: Vec<u8>, via: Option<Via>) {
        let Some(peer) = self.peers.at_mut(slot) else {
            self.pool.put(buf);
            return;
        };
        match res {
            Out::Network(off, len) => {
                if off != 0 {
                    buf.copy_within(off..off + len, 0);
                }
                buf.truncate(len);
                let dst = match via {
                    Some(Via::Udp(a)) => Some(Destination::Udp(a)),
                    Some(Via::Relay) => Some(Destination::Relay(peer.key)),
                    None => route(peer, self.relay_connected),
                };
                match dst {
                    Some(dst) => self.push_transmit(dst, buf),
                    None => {
                        self.stats.dropped_no_route += 1;
                        self.pool.put(buf);
                    }
                }
            }
            Out::Tunnel(off, len, src) => {
                if self.peers.routes(slot, src) {
                    if off != 0 {
                        buf.copy_within(off..off + len, 0);
                    }
                    buf.truncate(len);
                    self.stats.delivered += 1;
                    self.deliveries.push_back(buf);
                } else {
                    self.stats.dropped_spoofed += 1;
                    self.pool.put(buf);
                }
            }
            Out::Error(e) => {
                match e {
                    WgError::Auth | WgError::Replay | WgError::UnderLoad => {
                        self.stats.dropped_auth += 1
                    }
                    WgError::InvalidPacket | WgError::NoSession | WgError::BufferTooSmall => {
                        self.stats.dropped_malformed += 1
                    }
                    WgError::Expired => {}
                }
                peer.last_error = Some(format!("{e:?}"));
                self.pool.put(buf);
            }
            Out::Done => self.pool.put(buf),
        }
    }

    /// An IP packet from the netstack: encrypt it for the peer that owns its destination.
    pub fn send_ip(&mut self, now: Instant, packet: &[u8]) {
        let Some(dst) = ip_destination(packet) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        if packet.len() + crate::wg::DATA_OVERHEAD > PACKET_BUF {
            self.stats.dropped_oversized += 1;
            return;
        }
        let Some(slot) = self.peers.slot_for_ip(dst) else {
            self.stats.dropped_no_route += 1;
            return;
        };
        let Some(peer) = self.peers.at_mut(slot) else {
            return;
        };
        let mut buf = self.pool.get();
        let res = written_len(
            base_of(&buf),
            peer.session.encapsulate(now, packet, &mut buf),
        );
        self.finish_output(slot, res, buf, None);
    }

    /// A datagram from the UDP socket.
    pub fn handle_udp(&mut self, now: Instant, src: SocketAddr, datagram: &[u8]) {
        self.stats.udp_rx += 1;
        if datagram.len() > MAX_PACKET || datagram.len() > PACKET_BUF {
            self.stats.dropped_oversized += 1;
            return;
        }
        if stun::is_stun(datagram) {
            self.handle_stun(now, src, datagram);
            return;
        }
        if probe::is_probe(datagram) {
            self.handle_probe(now, Via::Udp(src), datagram);
            return;
        }
        let slot = match classify_datagram(&self.config.node_key, datagram) {
            Classified::Initiation(key) => self.peers.slot(&key),
            Classified::Index(index) => self.peers.slot_for_index(index),
            Classified::Invalid => {
                self.stats.dropped_malformed += 1;
                return;
            }
        };
        let Some(slot) = slot else {
            self.stats.dropped_unknown_peer += 1;
            return;
        };
        self.decapsulate(now, slot, Via::Udp(src), datagram);
    }

    /// A STUN message on our UDP socket: an answer to one of our Binding requests, or dropped.
    /// Only a message from a server we await, with that request's transaction id, is decoded
    /// (and its FINGERPRINT checked): anything else is dropped after a look at its header.
    fn handle_stun(&mut self, now: Instant, src: SocketAddr, datagram: &[u8]) {
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
    fn discovery_timeout(&mut self, now: Instant) {
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

    /// The relay delivered a frame that did not decode.
    pub fn handle_relay_malformed(&mut self) {
        self.stats.relay_rx += 1;
        self.stats.dropped_malformed += 1;
    }

    /// A datagram the relay delivered from the peer with WireGuard key `src`.
    pub fn handle_relay(&mut self, now: Instant, src: NodePublic, datagram: &[u8]) {
        self.stats.relay_rx += 1;
        if datagram.len() > PACKET_BUF {
            self.stats.dropped_oversized += 1;
            return;
        }
        if probe::is_probe(datagram) {
            self.handle_probe(now, Via::Relay, datagram);
            return;
        }
        let Some(slot) = self.peers.slot(&src) else {
            self.stats.dropped_unknown_peer += 1;
            return;
        };
        self.decapsulate(now, slot, Via::Relay, datagram);
    }

    fn decapsulate(&mut self, now: Instant, slot: Slot, via: Via, datagram: &[u8]) {
        let src_ip = match via {
            Via::Udp(a) => Some(a.ip()),
            Via::Relay => None,
        };
        let Some(peer) = self.peers.at_mut(slot) else {
            return;
        };
        let mut buf = self.pool.get();
        let res = written_len(
            base_of(&buf),
            peer.session.decapsulate(now, src_ip, datagram, &mut buf),
        );
        let ok = !matches!(res, Out::Error(_));
        let reply = matches!(res, Out::Network(..));
        self.finish_output(slot, res, buf, Some(via));
        if reply {
            // Flush what the handshake released (queued packets) on the peer's route.
            for _ in 0..512 {
                let Some(peer) = self.peers.at_mut(slot) else {
                    break;
                };
                let mut buf = self.pool.get();
                let res = written_len(base_of(&buf), peer.session.flush(now, &mut buf));
                let done = matches!(res, Out::Done | Out::Error(_));
                self.finish_output(slot, res, buf, None);
                if done {
                    break;
                }
            }
        }
        let Some(peer) = self.peers.at_mut(slot) else {
            return;
        };
        if ok {
            if let Via::Udp(src) = via {
                peer.path.on_authenticated_direct(src);
            }
            if datagram[0] != 4 || peer.established_at.is_none() {
                self.check_established(now, slot);
            }
        }
    }

    fn check_established(&mut self, now: Instant, slot: Slot) {
        let Some(peer) = self.peers.at_mut(slot) else {
            return;
        };
        let key = peer.key;
        let Some(age) = peer.session.stats(now).since_handshake else {
            return;
        };
        let at = now.checked_sub(age).unwrap_or(now);
        let changed = peer
            .established_at
            .is_none_or(|prev| at.saturating_duration_since(prev) > Duration::from_millis(1));
        if changed {
            peer.established_at = Some(at);
            peer.handshakes += 1;
            peer.last_error = None;
            self.stats.handshakes += 1;
            self.events
                .push_back(Event::SessionEstablished { peer: key });
        }
    }

    fn handle_probe(&mut self, now: Instant, via: Via, datagram: &[u8]) {
        let sender = match probe::peek_sender(datagram) {
            Ok(s) => s,
            Err(_) => {
                self.stats.dropped_malformed += 1;
                return;
            }
        };
        let Some(key) = self.by_probe.get(&sender).copied() else {
            self.stats.dropped_unknown_peer += 1;
            return;
        };
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let Some(pk) = &peer.probe else { return };
        let msg = match pk.open(datagram) {
            Ok(m) => m,
            Err(_) => {
                self.stats.dropped_auth += 1;
                return;
            }
        };
        self.stats.probes_rx += 1;
        match (msg.kind, via) {
            (ProbeKind::Ping, Via::Udp(src)) => {
                peer.path.add_candidate(now, src);
                let pong = Probe {
                    kind: ProbeKind::Pong { observed: src },
                    tx_id: msg.tx_id,
                };
                self.send_probe(key, pong, Destination::Udp(src));
            }
            (ProbeKind::Pong { .. }, Via::Udp(src)) => {
                if let Some(ev) = peer.path.on_pong(now, msg.tx_id, src) {
                    self.path_event(now, key, ev);
                }
            }
            (ProbeKind::CallMeMaybe, _) => peer.path.trigger_discovery(now),
            // Pings and pongs only make sense on direct paths.
            (_, Via::Relay) => {}
        }
    }

    fn path_event(&mut self, now: Instant, key: NodePublic, ev: PathEvent) {
        let path = match ev {
            PathEvent::Upgraded(a) => PathKind::Direct(a),
            PathEvent::FellBack => {
                // Our NAT mapping may have changed: rediscover it.
                self.discovery.trigger(now);
                PathKind::Relay
            }
        };
        self.events
            .push_back(Event::PathChanged { peer: key, path });
    }

    fn send_probe(&mut self, key: NodePublic, probe: Probe, dst: Destination) {
        let Some(pk) = self.peers.get(&key).and_then(|p| p.probe.as_ref()) else {
            return;
        };
        pk.seal(&probe, &mut self.probe_buf);
        let mut buf = self.pool.get();
        buf.truncate(0);
        buf.extend_from_slice(&self.probe_buf);
        self.stats.probes_tx += 1;
        self.push_transmit(dst, buf);
    }

    /// A probe transaction id: a counter, then the core's seed. Probes are sealed, so a
    /// predictable id gives an attacker nothing (STUN ids, which are not, are random).
    fn next_tx_id(&mut self) -> TxId {
        self.next_tx = self.next_tx.wrapping_add(1);
        let mut id = [0u8; 12];
        id[..8].copy_from_slice(&self.next_tx.to_be_bytes());
        id[8..].copy_from_slice(&self.config.seed.to_be_bytes());
        id
    }

    /// When to call [`Core::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Instant {
        let paths = self
            .peers
            .iter()
            .filter_map(|p| p.path.poll_timeout())
            .min();
        let mut t = self.next_tick.min(self.next_limiter_reset);
        for d in [
            self.pending_ready_deadline,
            self.announce_at,
            self.discovery.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        {
            t = t.min(d);
        }
        paths.map_or(t, |p| p.min(t))
    }

    /// Runs timers: WireGuard (every 250 ms), path probes, STUN discovery, coalesced node
    /// updates, the rate limiter reset.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.pending_ready_deadline.is_some_and(|d| now >= d) {
            self.flush_pending_ready();
        }
        self.discovery_timeout(now);
        if self.announce_at.is_some_and(|t| now >= t) {
            self.announce(now);
        }
        if now >= self.next_limiter_reset {
            self.limiter.reset(now);
            self.next_limiter_reset = now + Duration::from_secs(1);
        }
        let keys: Vec<NodePublic> = self.peers.keys().collect();
        let tick = now >= self.next_tick;
        if tick {
            self.next_tick = now + TIMER_TICK;
        }
        for key in keys {
            if tick {
                let Some(slot) = self.peers.slot(&key) else {
                    continue;
                };
                let Some(peer) = self.peers.at_mut(slot) else {
                    continue;
                };
                let mut buf = self.pool.get();
                let res = written_len(base_of(&buf), peer.session.update_timers(now, &mut buf));
                self.finish_output(slot, res, buf, None);
            }
            let mut pings = std::mem::take(&mut self.pings);
            pings.clear();
            let ev = match self.peers.get_mut(&key) {
                Some(peer) if peer.path.poll_timeout().is_some_and(|t| t <= now) => {
                    peer.path.handle_timeout(now, &mut pings)
                }
                _ => None,
            };
            if let Some(ev) = ev {
                self.path_event(now, key, ev);
            }
            for addr in pings.drain(..) {
                let tx_id = self.next_tx_id();
                if let Some(peer) = self.peers.get_mut(&key) {
                    peer.path.record_ping(now, tx_id);
                }
                self.send_probe(
                    key,
                    Probe {
                        kind: ProbeKind::Ping,
                        tx_id,
                    },
                    Destination::Udp(addr),
                );
            }
            self.pings = pings;
        }
    }

    /// Sends call-me-maybe through the relay so the peer probes our endpoints now.
    pub fn call_me_maybe(&mut self, key: NodePublic) {
        let tx_id = self.next_tx_id();
        self.send_probe(
            key,
            Probe {
                kind: ProbeKind::CallMeMaybe,
                tx_id,
            },
            Destination::Relay(key),
        );
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next decrypted IP packet for the netstack. Recycle it when done.
    pub fn poll_delivery(&mut self) -> Option<Vec<u8>> {
        self.deliveries.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Returns a transmit or delivery buffer to the pool.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.pool.put(buf);
    }

    /// Engine-wide counters.
    pub fn stats(&self) -> Stats {
        Stats {
            hard_nat: self.discovery.hard_nat(),
            ..self.stats
        }
    }

    /// A snapshot of one peer.
    pub fn diagnostics(&self, now: Instant, key: NodePublic) -> Option<PeerDiagnostics> {
        let p = self.peers.get(&key)?;
        let s = p.session.stats(now);
        Some(PeerDiagnostics {
            key,
            id: p.id,
            path: p.path.current(),
            rtt: p.path.rtt().or(s.handshake_rtt),
            handshake_age: s.since_handshake,
            session_up: p.established_at.is_some() && s.since_handshake.is_some(),
            handshakes: p.handshakes,
            tx_bytes: s.tx_bytes,
            rx_bytes: s.rx_bytes,
            lost: p.lost,
            last_error: p.last_error.clone(),
        })
    }

    /// All peers' keys.
    pub fn peer_keys(&self) -> Vec<NodePublic> {
        self.peers.keys().collect()
    }
}

/// Where the peer's traffic goes now: its direct path, the relay (when the peer uses one and
/// ours is up), or its first direct candidate.
fn route(peer: &Peer, relay_connected: bool) -> Option<Destination> {
    match peer.path.current() {
        PathKind::Direct(addr) => Some(Destination::Udp(addr)),
        PathKind::Relay if peer.relay && relay_connected => Some(Destination::Relay(peer.key)),
        PathKind::Relay => peer.path.first_candidate().map(Destination::Udp),
    }
}

/// A session call's result with the borrow released: offsets into the buffer.
#[derive(Debug, Clone, Copy)]
enum Out {
    Done,
    Network(usize, usize),
    Tunnel(usize, usize, IpAddr),
    Error(WgError),
}

/// `base` is the address of the buffer the output borrows; only addresses are compared.
fn written_len(base: usize, out: WgOutput<'_>) -> Out {
    match out {
        WgOutput::Done => Out::Done,
        WgOutput::Network(b) => {
            let (o, l) = written(base, b);
            Out::Network(o, l)
        }
        WgOutput::Tunnel(b, src) => {
            let (o, l) = written(base, b);
            Out::Tunnel(o, l, src)
        }
        WgOutput::Error(e) => Out::Error(e),
    }
}

/// The destination address of an IPv4 or IPv6 packet.
pub fn ip_destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 if packet.len() >= 20 => {
            let b: [u8; 4] = packet[16..20].try_into().ok()?;
            Some(IpAddr::from(b))
        }
        6 if packet.len() >= 40 => {
            let b: [u8; 16] = packet[24..40].try_into().ok()?;
            Some(IpAddr::from(b))
        }
        _ => None,
    }
}
