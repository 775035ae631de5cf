//! A deterministic simulated network for the sans-IO core: a fake clock, UDP links with loss,
//! duplication, reordering, an MTU and NATs that rewrite ports (one mapping per socket, or one
//! per destination: "hard NAT"), an optional bottleneck on each host's uplink (a rate and a
//! drop-tail queue), a relay that forwards by public key, STUN servers (the
//! crate's own responder logic) and the in-memory coordinator. No sleeps, no sockets.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use coder_tunnel::addr::{ServicePrefix, host_net};
use coder_tunnel::coord::{CoordinateResponse, InMemoryCoordinator, Role};
use coder_tunnel::core::{Core, CoreConfig, Destination, Event, RngSeed};
use coder_tunnel::keys::{NodeKey, NodePublic};
use coder_tunnel::netstack::{Netstack, NetstackConfig, SocketHandle};
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub struct LinkConfig {
    pub latency: Duration,
    /// Extra random delay up to this much (reorders packets).
    pub jitter: Duration,
    /// Per-datagram loss probability in 1/1000.
    pub loss_permille: u32,
    /// Per-datagram duplication probability in 1/1000.
    pub dup_permille: u32,
    /// Largest UDP payload carried.
    pub mtu: usize,
    /// Each host's uplink sends this many bits per second, one datagram after another;
    /// 0: unlimited (every datagram leaves at once).
    pub rate_bps: u64,
    /// With a rate: the bytes an uplink's queue holds; a datagram that does not fit is
    /// dropped (drop-tail).
    pub queue_bytes: u64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(1),
            jitter: Duration::ZERO,
            loss_permille: 0,
            dup_permille: 0,
            mtu: 1452,
            rate_bps: 0,
            queue_bytes: 64 << 10,
        }
    }
}

pub struct SimNode {
    pub id: Uuid,
    pub role: Role,
    pub core: Core,
    pub node_key: NodeKey,
    /// Where the node's socket is and what it advertises.
    pub local: SocketAddr,
    /// Its NAT mapping: the source others see. Unsolicited datagrams to `local` are dropped
    /// when this differs from `local`.
    pub public: SocketAddr,
    pub events: Vec<(Instant, Event)>,
    pub delivered: Vec<Vec<u8>>,
    pub up: bool,
    /// When set, deliveries feed this netstack and its output goes into the core.
    pub stack: Option<Netstack>,
    /// A hard NAT: the destinations in order of first use; the k-th is reached from `public`'s
    /// port + k, and only it may send back to that port. `None`: one mapping (`public`) for
    /// every destination, which anyone may send to.
    pub hard_nat: Option<Vec<SocketAddr>>,
}

impl SimNode {
    /// The source address others see for a datagram to `to`.
    fn nat_source(&mut self, to: SocketAddr) -> SocketAddr {
        let Some(table) = &mut self.hard_nat else {
            return self.public;
        };
        let k = table.iter().position(|d| *d == to).unwrap_or_else(|| {
            table.push(to);
            table.len() - 1
        });
        SocketAddr::new(self.public.ip(), self.public.port() + k as u16)
    }

    /// Whether a datagram from `from` to `to` reaches this node's socket.
    fn accepts(&self, from: SocketAddr, to: SocketAddr) -> bool {
        match &self.hard_nat {
            None => self.public == to || (self.local == to && self.local == self.public),
            Some(table) => {
                to.ip() == self.public.ip()
                    && to
                        .port()
                        .checked_sub(self.public.port())
                        .and_then(|k| table.get(usize::from(k)))
                        == Some(&from)
            }
        }
    }
}

#[derive(Debug)]
enum Payload {
    Udp {
        from: SocketAddr,
        to: SocketAddr,
        data: Vec<u8>,
    },
    Relay {
        from: NodePublic,
        to: NodePublic,
        data: Vec<u8>,
    },
}

#[derive(Debug, Default, Clone, Copy)]
pub struct NetStats {
    pub udp_sent: u64,
    pub udp_lost: u64,
    pub udp_mtu_dropped: u64,
    pub udp_blackholed: u64,
    pub relay_sent: u64,
    /// WireGuard data datagrams carrying a packet (not keepalives) lost on the way.
    pub data_lost: u64,
    /// WireGuard data datagrams (including keepalives) and handshake initiations duplicated:
    /// the receiver must reject every second copy as a replay.
    pub wg_duplicated: u64,
    /// Binding requests the STUN servers answered.
    pub stun_answered: u64,
    /// Datagrams dropped at a full uplink queue ([`LinkConfig::queue_bytes`]).
    pub queue_dropped: u64,
}

pub struct Sim {
    pub start: Instant,
    pub now: Instant,
    pub nodes: Vec<SimNode>,
    pub coord: InMemoryCoordinator,
    pub link: LinkConfig,
    pub relay_latency: Duration,
    /// While false, all direct UDP is dropped (the relay keeps working).
    pub direct_works: bool,
    /// Addresses where a STUN server answers Binding requests.
    pub stun_servers: Vec<SocketAddr>,
    /// Datagrams on their way, by arrival time and then order of sending.
    inflight: BTreeMap<(Instant, u64), Payload>,
    /// When each host's uplink (by source IP) has sent everything queued so far.
    uplinks: HashMap<IpAddr, Instant>,
    seq: u64,
    rng: u64,
    pub net: NetStats,
    pub steps: u64,
}

pub const PREFIX: ServicePrefix = ServicePrefix::DEFAULT;

impl Sim {
    pub fn new(seed: u64) -> Self {
        let start = Instant::now();
        Self {
            start,
            now: start,
            nodes: Vec::new(),
            coord: InMemoryCoordinator::new().allow_all(),
            link: LinkConfig::default(),
            relay_latency: Duration::from_millis(10),
            direct_works: true,
            stun_servers: Vec::new(),
            inflight: BTreeMap::new(),
            uplinks: HashMap::new(),
            seq: 0,
            rng: seed | 1,
            net: NetStats::default(),
            steps: 0,
        }
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn chance(&mut self, permille: u32) -> bool {
        permille > 0 && (self.rand() % 1000) < u64::from(permille)
    }

    fn make_core(&self, id: Uuid, node_key: &NodeKey, probe_seed: u8, seed: u32) -> Core {
        let addr = PREFIX.addr_from_uuid(id);
        Core::new(
            CoreConfig {
                id,
                node_key: node_key.clone(),
                probe_key: NodeKey::from_bytes([probe_seed; 32]),
                addresses: vec![host_net(addr)],
                home_relay: 1,
                block_direct: false,
                seed,
                rng_seed: RngSeed([probe_seed; 32]),
                persistent_keepalive: None,
                as_of_base: 1_000,
            },
            self.now,
        )
    }

    /// Adds a node with socket `local`, seen by others as `public`.
    pub fn add_node(&mut self, seed: u8, role: Role, local: &str, public: &str) -> usize {
        let id = Uuid::from_u128(u128::from(seed) << 64 | 0xabcd);
        let node_key = NodeKey::from_bytes([seed; 32]);
        let mut core = self.make_core(id, &node_key, seed.wrapping_add(100), u32::from(seed) << 16);
        let local: SocketAddr = local.parse().unwrap();
        core.set_relay_connected(self.now, true);
        core.set_endpoints(self.now, vec![local]);
        self.nodes.push(SimNode {
            id,
            role,
            core,
            node_key,
            local,
            public: public.parse().unwrap(),
            events: Vec::new(),
            delivered: Vec::new(),
            up: true,
            stack: None,
            hard_nat: None,
        });
        let out = self.coord.connect(id, role);
        self.deliver_coord(out);
        self.nodes.len() - 1
    }

    /// The node restarts: new process (same WireGuard key, new probe key), new socket address.
    pub fn restart_node(&mut self, i: usize, local: &str, public: &str) {
        let id = self.nodes[i].id;
        let role = self.nodes[i].role;
        let key = self.nodes[i].node_key.clone();
        let out = self.coord.lose(id);
        self.deliver_coord(out);
        let mut core = self.make_core(id, &key, 200, 0x7777_0000);
        let local: SocketAddr = local.parse().unwrap();
        core.set_relay_connected(self.now, true);
        core.set_endpoints(self.now, vec![local]);
        let n = &mut self.nodes[i];
        n.core = core;
        n.local = local;
        n.public = public.parse().unwrap();
        n.delivered.clear();
        let out = self.coord.connect(id, role);
        self.deliver_coord(out);
    }

    /// Node `i`'s NAT maps by destination from now on (see [`SimNode::hard_nat`]).
    pub fn set_hard_nat(&mut self, i: usize) {
        self.nodes[i].hard_nat = Some(Vec::new());
    }

    /// Node `i` asks the sim's STUN servers for its mapping.
    pub fn use_stun(&mut self, i: usize) {
        let now = self.now;
        let servers = self.stun_servers.clone();
        self.nodes[i].core.set_stun_servers(now, servers);
        self.drain(i);
    }

    pub fn addr(&self, i: usize) -> std::net::Ipv6Addr {
        PREFIX.addr_from_uuid(self.nodes[i].id)
    }

    pub fn key(&self, i: usize) -> NodePublic {
        self.nodes[i].node_key.public()
    }

    fn deliver_coord(&mut self, out: Vec<(Uuid, CoordinateResponse)>) {
        for (to, resp) in out {
            let Some(n) = self.nodes.iter_mut().find(|n| n.id == to) else {
                continue;
            };
            for u in resp.peer_updates {
                n.core.apply_peer_update(self.now, u);
            }
        }
    }

    fn schedule(&mut self, at: Instant, p: Payload) {
        self.seq += 1;
        self.inflight.insert((at, self.seq), p);
    }

    /// When a datagram of `len` bytes sent from `from` now leaves its uplink, or `None` when
    /// the uplink's queue is full.
    fn uplink_departure(&mut self, from: IpAddr, len: usize) -> Option<Instant> {
        let rate = self.link.rate_bps;
        if rate == 0 {
            return Some(self.now);
        }
        let busy_until = self.uplinks.get(&from).copied().unwrap_or(self.now);
        let backlog = busy_until.saturating_duration_since(self.now);
        let queued = backlog.as_nanos() * u128::from(rate) / 8 / 1_000_000_000;
        if queued + len as u128 > u128::from(self.link.queue_bytes) {
            return None;
        }
        let serialization = Duration::from_nanos((len as u64 * 8 * 1_000_000_000) / rate);
        let departure = busy_until.max(self.now) + serialization;
        self.uplinks.insert(from, departure);
        Some(departure)
    }

    fn send_udp(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        self.net.udp_sent += 1;
        if data.len() > self.link.mtu {
            self.net.udp_mtu_dropped += 1;
            return;
        }
        if !self.direct_works {
            self.net.udp_blackholed += 1;
            return;
        }
        let is_data = data.first() == Some(&4);
        let Some(departure) = self.uplink_departure(from.ip(), data.len()) else {
            self.net.queue_dropped += 1;
            return;
        };
        if self.chance(self.link.loss_permille) {
            self.net.udp_lost += 1;
            if is_data && data.len() > 32 {
                self.net.data_lost += 1;
            }
            return;
        }
        let copies = if self.chance(self.link.dup_permille) {
            2
        } else {
            1
        };
        if copies == 2 && (is_data || data.first() == Some(&1)) {
            self.net.wg_duplicated += 1;
        }
        for _ in 0..copies {
            let jitter = if self.link.jitter.is_zero() {
                Duration::ZERO
            } else {
                Duration::from_micros(self.rand() % self.link.jitter.as_micros() as u64)
            };
            let at = departure + self.link.latency + jitter;
            self.schedule(
                at,
                Payload::Udp {
                    from,
                    to,
                    data: data.clone(),
                },
            );
        }
    }

    /// Processes everything due at `now`. Returns whether anything happened.
    fn process_now(&mut self) -> bool {
        let mut busy = false;
        while let Some(entry) = self.inflight.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let p = entry.remove();
            busy = true;
            match p {
                Payload::Udp { from, to, data } if self.stun_servers.contains(&to) => {
                    let mut answer = Vec::new();
                    if coder_tunnel::stun::answer_binding(&data, from, &mut answer).is_ok() {
                        self.net.stun_answered += 1;
                        self.send_udp(to, from, answer);
                    }
                }
                Payload::Udp { from, to, data } => {
                    // Deliverable if the node's NAT lets it in (see `SimNode::accepts`).
                    let now = self.now;
                    if let Some(n) = self.nodes.iter_mut().find(|n| n.up && n.accepts(from, to)) {
                        n.core.handle_udp(now, from, &data);
                    } else {
                        self.net.udp_blackholed += 1;
                    }
                }
                Payload::Relay { from, to, data } => {
                    let now = self.now;
                    if let Some(n) = self
                        .nodes
                        .iter_mut()
                        .find(|n| n.up && n.node_key.public() == to)
                    {
                        n.core.handle_relay(now, from, &data);
                    }
                }
            }
        }
        for i in 0..self.nodes.len() {
            if !self.nodes[i].up {
                continue;
            }
            if self.nodes[i].core.poll_timeout() <= self.now {
                let now = self.now;
                self.nodes[i].core.handle_timeout(now);
                busy = true;
            }
            busy |= self.drain(i);
        }
        busy
    }

    fn drain(&mut self, i: usize) -> bool {
        let mut busy = false;
        while let Some(t) = self.nodes[i].core.poll_transmit() {
            busy = true;
            self.route_transmit(i, t);
        }
        while let Some(ev) = self.nodes[i].core.poll_event() {
            busy = true;
            if let Event::Coordinate(req) = &ev {
                let id = self.nodes[i].id;
                let out = self.coord.handle(id, req.clone());
                self.deliver_coord(out);
            }
            let now = self.now;
            self.nodes[i].events.push((now, ev));
        }
        while let Some(p) = self.nodes[i].core.poll_delivery() {
            busy = true;
            let n = &mut self.nodes[i];
            match &mut n.stack {
                Some(stack) => {
                    stack.receive(&p);
                    n.core.recycle(p);
                }
                None => n.delivered.push(p),
            }
        }
        let now = self.now;
        let n = &mut self.nodes[i];
        if let Some(stack) = &mut n.stack {
            stack.poll(now);
            while let Some(p) = stack.poll_transmit() {
                busy = true;
                n.core.send_ip(now, &p);
                stack.recycle(p);
            }
            while let Some(t) = self.nodes[i].core.poll_transmit() {
                self.route_transmit(i, t);
            }
        }
        busy
    }

    fn route_transmit(&mut self, i: usize, t: coder_tunnel::core::Transmit) {
        let from_key = self.nodes[i].node_key.public();
        match t.dst {
            Destination::Udp(to) => {
                let from = self.nodes[i].nat_source(to);
                self.send_udp(from, to, t.payload.clone());
            }
            Destination::Relay(to) => {
                self.net.relay_sent += 1;
                let at = self.now + self.relay_latency;
                let data = t.payload.clone();
                self.schedule(
                    at,
                    Payload::Relay {
                        from: from_key,
                        to,
                        data,
                    },
                );
            }
        }
        self.nodes[i].core.recycle(t.payload);
    }

    /// Gives node `i` a netstack on its tunnel address.
    pub fn attach_netstack(&mut self, i: usize) {
        let addr = self.addr(i);
        let config = NetstackConfig {
            addresses: vec![addr.into()],
            ..NetstackConfig::default()
        };
        self.nodes[i].stack = Some(Netstack::new(config, self.now));
    }

    pub fn stack(&mut self, i: usize) -> &mut Netstack {
        self.nodes[i].stack.as_mut().unwrap()
    }

    /// Gives nodes `client` and `server` netstacks, brings the tunnel up and opens a TCP
    /// connection from `client` to `server`'s `port`. Returns (client socket, server socket).
    pub fn tcp_pair(
        &mut self,
        client: usize,
        server: usize,
        port: u16,
    ) -> (SocketHandle, SocketHandle) {
        self.attach_netstack(client);
        self.attach_netstack(server);
        self.add_tunnel(client, server);
        // TCP only starts once the WireGuard session is up.
        assert!(self.run_until(Duration::from_secs(1), |s| s.session_up(client, server)));
        let addr = self.addr(server);
        let listener = self.stack(server).tcp_listen(port).unwrap();
        let connection = self.stack(client).tcp_connect((addr, port).into()).unwrap();
        (connection, listener)
    }

    /// One step: everything due now, then the clock moves to the next due time.
    pub fn step(&mut self) {
        let mut spins = 0;
        while self.process_now() {
            spins += 1;
            assert!(spins < 100_000, "livelock at {:?}", self.elapsed());
        }
        self.steps += 1;
        let next = self.next_time();
        self.now = next.max(self.now + Duration::from_micros(1));
    }

    /// The next time anything is due.
    fn next_time(&mut self) -> Instant {
        let net = self.inflight.first_key_value().map(|((at, _), _)| *at);
        let nodes = self
            .nodes
            .iter()
            .filter(|n| n.up)
            .map(|n| n.core.poll_timeout())
            .min();
        let now = self.now;
        let stacks = self
            .nodes
            .iter_mut()
            .filter_map(|n| n.stack.as_mut()?.poll_at(now))
            .min();
        [net, nodes, stacks]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.now + Duration::from_secs(1))
    }

    /// Runs until `done` holds or `limit` of simulated time passed. Returns whether `done`.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            let mut spins = 0;
            while self.process_now() {
                spins += 1;
                assert!(spins < 100_000, "livelock at {:?}", self.elapsed());
            }
            self.steps += 1;
            if done(self) {
                return true;
            }
            let next = self.next_time();
            if next > deadline {
                self.now = deadline;
                return done(self);
            }
            self.now = next.max(self.now + Duration::from_micros(1));
        }
    }

    /// Runs for `d` of simulated time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    /// Lets node `i`'s "netstack" send an IP packet.
    pub fn send_ip(&mut self, i: usize, packet: &[u8]) {
        let now = self.now;
        self.nodes[i].core.send_ip(now, packet);
        self.drain(i);
    }

    /// The relay goes away: cores are told, so they fall back to advertised endpoints.
    pub fn disable_relay(&mut self) {
        let now = self.now;
        for n in &mut self.nodes {
            n.core.set_relay_connected(now, false);
        }
    }

    pub fn add_tunnel(&mut self, from: usize, to: usize) {
        let id = self.nodes[to].id;
        self.nodes[from].core.add_tunnel(id);
        self.drain(from);
    }

    pub fn session_up(&self, i: usize, j: usize) -> bool {
        self.nodes[i].core.session_up(self.now, self.key(j))
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }
}

/// A deterministic byte stream (xorshift32, one byte a step): what a test sends, generated
/// as it goes.
pub struct Pattern(u32);

impl Pattern {
    pub fn new(seed: u8) -> Self {
        Self(u32::from(seed) | 1)
    }

    /// Fills `buf` with the stream's next bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            *b = self.0 as u8;
        }
    }

    /// The stream's first `len` bytes.
    pub fn bytes(seed: u8, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        Self::new(seed).fill(&mut v);
        v
    }
}

/// A minimal IPv6 packet (next header 59, "no next header") from `src` to `dst`.
pub fn ipv6_packet(src: std::net::Ipv6Addr, dst: std::net::Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 40];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    p[6] = 59;
    p[7] = 64;
    p[8..24].copy_from_slice(&src.octets());
    p[24..40].copy_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}
