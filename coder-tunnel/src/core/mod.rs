//! The sans-IO engine: WireGuard sessions, path managers and coordination state for all peers
//! of one tunnel. Feed it `(now, input)`; take transmits, deliveries and events out with the
//! `poll_*` methods; call [`Core::handle_timeout`] at [`Core::poll_timeout`].
//!
//! Our own node record lists our direct endpoints: the local ones the driver reports plus the
//! public mapping STUN discovery ([`NatReport`]) finds on the same UDP socket. Changes are
//! republished to the coordinator at most once per [`ANNOUNCE_GAP`].

// `impl Core` is spread over one file per concept: `node` (our own node record, its endpoints
// and STUN discovery), `coordination` (which peers we have), `datapath` (encrypting, decrypting
// and routing packets) and `probing` (path probes). This file holds the configuration, the
// state, sessions, timers and the outputs.

mod coordination;
mod datapath;
mod discovery;
mod node;
mod peers;
mod probing;
mod types;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use ipnet::Ipv6Net;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use uuid::Uuid;

pub use coordination::RELAY_WAIT;
pub use datapath::ip_destination;
pub use discovery::{NatReport, STUN_ATTEMPTS, STUN_INTERVAL, STUN_MIN_GAP, STUN_RTO};
pub use node::ANNOUNCE_GAP;
pub use types::{Destination, Event, PeerDiagnostics, Stats, Transmit};

use crate::buf::{BufPool, PACKET_BUF};
use crate::keys::{NodeKey, NodePublic};
use crate::probe::{self, Probe, ProbeKind};
use crate::wg::{TIMER_TICK, WgClock, WgRateLimiter};
use datapath::{base_of, written_len};
use discovery::Discovery;
use peers::PeerTable;

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
