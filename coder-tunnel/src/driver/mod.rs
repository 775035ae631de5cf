//! The tokio driver: one event-loop task per [`Tunnel`] owning the [`Core`], one UDP socket
//! (WireGuard, probes and STUN, told apart by the core), the relay client, the coordinator link and the netstack; timers come
//! from the core's and the netstack's wake-ups. Queues between tasks are bounded and awaited
//! (back-pressure); only the real network drops.

mod event_loop;
#[cfg(target_os = "linux")]
mod gro;
mod gso;
mod link;
#[cfg(target_os = "linux")]
mod mmsg;
#[cfg(not(target_os = "linux"))]
mod portable;
mod tcp;
mod udp;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use rand_core::{OsRng, RngCore};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, mpsc, oneshot};
use uuid::Uuid;

pub use link::{CoordinatorLink, MemoryCoordinatorHub};
pub use tcp::{TcpListener, TcpStream};

use crate::Error;
use crate::addr::{ServicePrefix, host_net};
use crate::coord::relay_map::StunTarget;
use crate::coord::{Node, PeerUpdate, RelayMap};
use crate::core::{Core, CoreConfig, PeerDiagnostics, RngSeed, Stats};
use crate::keys::{NodeKey, NodePublic};
use crate::netstack::{Netstack, NetstackConfig, RecoveryStats, is_echo_reply};
use crate::path::PathKind;
use crate::relay::spawn_relay_client;
use tcp::Shared;

/// How a [`Tunnel`] is set up.
#[derive(Debug, Clone)]
pub struct TunnelConfig {
    /// Coordinator id (the agent's UUID for agents; random for clients).
    pub id: Uuid,
    /// WireGuard static key.
    pub node_key: NodeKey,
    /// Probe key.
    pub probe_key: NodeKey,
    /// Our tunnel addresses.
    pub addresses: Vec<Ipv6Addr>,
    /// UDP socket address. A specific IP is advertised as an endpoint as it is; with an
    /// unspecified IP (the default `0.0.0.0:0`) only what [`TunnelConfig::stun_servers`]
    /// discover is advertised, and without STUN servers peers reach us through the relay until
    /// they probe us.
    pub listen: SocketAddr,
    /// STUN servers (UDP) to learn our public mapping from, through the same socket: normally
    /// the relay servers' hosts at their `RelayNode::stun_port` (the `relay` example answers
    /// STUN on its own port); [`resolve_stun_servers`] derives them from a
    /// [`RelayMap`], or [`RelayMap::stun_servers`] without DNS. Asked at start, every [`crate::core::STUN_INTERVAL`] and after a direct
    /// path fails. A round is judged once every server has answered or given up (after
    /// [`crate::core::STUN_ATTEMPTS`] unanswered requests); servers that gave up are left
    /// out, so one answering server is enough. Per address family, the mapping is advertised
    /// when all servers that answered report the same one; if they report different ones the
    /// NAT maps by destination ([`Stats::hard_nat`], needs two or more answering servers) and
    /// that family's mapping is not advertised. Empty by default.
    pub stun_servers: Vec<SocketAddr>,
    /// Relay WebSocket URL (`ws://host:port/relay`) and region id.
    pub relay: Option<(String, u16)>,
    /// Never use direct UDP (Coder's `CODER_BLOCK_DIRECT`).
    pub block_direct: bool,
    /// Inner MTU (default 1280).
    pub mtu: usize,
    /// TCP buffer per direction per connection.
    pub tcp_buffer: usize,
    /// WireGuard persistent keepalive, seconds.
    pub persistent_keepalive: Option<u16>,
    /// UDP segmentation offload both ways (Linux; on by default). Sends: runs of same-size
    /// datagrams to one address leave as one `sendmsg` with `UDP_SEGMENT` (GSO). Receives: the
    /// socket sets `UDP_GRO`, so a peer's GSO batch (on loopback) or a NIC-coalesced run arrives
    /// in one `recvmsg` and is split by its segment size. Where the kernel refuses either, that
    /// side falls back to `sendmmsg`/`recvmmsg`, up to 64 separate datagrams per system call,
    /// which is also what turning it off gives.
    ///
    /// It was opt-in while a smoltcp 0.14 receive bug made GSO's burstier timing lose the tail
    /// of downloads from wireguard-go (the last 8-20 bytes of 1 MiB in about 1 run of 6;
    /// reproduced by `sim_netstack`'s
    /// `fin_on_segment_filling_the_advertised_window_keeps_every_byte`): smoltcp trims a
    /// segment at the right edge it last advertised but still accepts the segment's FIN, and
    /// its window-scale rounding can move that edge left by up to `2^shift - 1` bytes. The
    /// netstack works around it (`netstack::device`, one window unit less advertised); with
    /// that, the interop test passed 40 of 40 runs with GSO on before it became the default.
    pub udp_gso: bool,
}

impl TunnelConfig {
    fn base(id: Uuid, addr: Ipv6Addr) -> Self {
        Self {
            id,
            node_key: NodeKey::generate(),
            probe_key: NodeKey::generate(),
            addresses: vec![addr],
            listen: SocketAddr::from(([0, 0, 0, 0], 0)),
            stun_servers: Vec::new(),
            relay: None,
            block_direct: false,
            mtu: 1280,
            tcp_buffer: 1 << 20,
            persistent_keepalive: None,
            udp_gso: true,
        }
    }

    /// A client: random id and a random address under `prefix`.
    pub fn client(prefix: ServicePrefix) -> Self {
        Self::base(Uuid::new_v4(), prefix.random_addr())
    }

    /// An agent: the address derived from its UUID under `prefix`.
    pub fn agent(prefix: ServicePrefix, id: Uuid) -> Self {
        Self::base(id, prefix.addr_from_uuid(id))
    }
}

/// The STUN servers of `map`, for [`TunnelConfig::stun_servers`]: the addresses the map gives
/// ([`RelayMap::stun_servers`]) and every address a server's host name resolves to
/// (`tokio::net::lookup_host`, once, here), in map order without repeats. Servers without a
/// STUN port are skipped; a name that does not resolve is left out with a warning, since one
/// answering server is enough. Call it again to pick up DNS changes.
pub async fn resolve_stun_servers(map: &RelayMap) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for target in map.stun_targets() {
        let addrs = match target {
            StunTarget::Addrs(addrs) => addrs,
            StunTarget::Host(host, port) => {
                match tokio::net::lookup_host((host.as_str(), port)).await {
                    Ok(addrs) => addrs.collect(),
                    Err(e) => {
                        tracing::warn!(%host, error = %e, "STUN server name did not resolve");
                        Vec::new()
                    }
                }
            }
        };
        for a in addrs {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

enum Command {
    AddTunnel(Uuid),
    RemoveTunnel(Uuid),
    AddStaticPeer(NodePublic, SocketAddr, Vec<IpNet>),
    ApplyUpdates(Vec<PeerUpdate>),
    WaitSession(IpAddr, oneshot::Sender<()>),
    Stats(oneshot::Sender<Stats>),
    Diagnostics(oneshot::Sender<Vec<PeerDiagnostics>>),
    Node(oneshot::Sender<Node>),
    Close(oneshot::Sender<()>),
}

/// A running tunnel. Dropping it (and every stream) stops the event loop.
#[derive(Debug)]
pub struct Tunnel {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    local_udp: SocketAddr,
    public_key: NodePublic,
    addresses: Vec<Ipv6Addr>,
    id: Uuid,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

/// Requested UDP socket receive and send buffer size.
pub const UDP_SOCKET_BUFFER: usize = 4 << 20;

/// How long dials and pings wait for the WireGuard session and the TCP handshake.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(30);

impl Tunnel {
    /// Binds the UDP socket, connects the relay (if any), publishes our node and starts the
    /// event loop.
    pub async fn start(config: TunnelConfig, link: CoordinatorLink) -> Result<Self, Error> {
        let udp = UdpSocket::bind(config.listen).await?;
        // A full TCP window arrives as one burst of datagrams; the default 208 KiB receive
        // buffer drops part of it on loopback and smoltcp then waits for a retransmit.
        // Best effort: the kernel caps this at net.core.{r,w}mem_max.
        let sock = socket2::SockRef::from(&udp);
        let _ = sock.set_recv_buffer_size(UDP_SOCKET_BUFFER);
        let _ = sock.set_send_buffer_size(UDP_SOCKET_BUFFER);
        let local_udp = udp.local_addr()?;
        let now = Instant::now();
        let as_of_base = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut rng_seed = [0u8; 32];
        OsRng.fill_bytes(&mut rng_seed);
        let mut core = Core::new(
            CoreConfig {
                id: config.id,
                node_key: config.node_key.clone(),
                probe_key: config.probe_key.clone(),
                addresses: config.addresses.iter().map(|a| host_net(*a)).collect(),
                home_relay: config.relay.as_ref().map_or(0, |(_, r)| *r),
                block_direct: config.block_direct,
                seed: OsRng.next_u32(),
                rng_seed: RngSeed(rng_seed),
                persistent_keepalive: config.persistent_keepalive,
                as_of_base,
            },
            now,
        );
        if !local_udp.ip().is_unspecified() {
            core.set_endpoints(now, vec![local_udp]);
        } else {
            core.announce(now);
        }
        core.set_stun_servers(now, config.stun_servers.clone());
        let stack = Netstack::new(
            NetstackConfig {
                addresses: config.addresses.iter().map(|a| IpAddr::V6(*a)).collect(),
                mtu: config.mtu,
                tcp_rx_buffer: config.tcp_buffer,
                tcp_tx_buffer: config.tcp_buffer,
            },
            now,
        );
        let shared = Arc::new(Shared {
            stack: Mutex::new(stack),
            notify: Notify::new(),
            closing: Mutex::new(Vec::new()),
        });
        let relay = config
            .relay
            .as_ref()
            .map(|(url, _)| spawn_relay_client(url.clone(), config.node_key.clone()));
        let (commands, command_rx) = mpsc::channel(64);
        let public_key = config.node_key.public();
        tokio::spawn(event_loop::run(
            core,
            shared.clone(),
            udp,
            command_rx,
            relay,
            link,
            config.udp_gso,
        ));
        Ok(Self {
            commands,
            shared,
            local_udp,
            public_key,
            addresses: config.addresses,
            id: config.id,
        })
    }

    async fn command(&self, c: Command) -> Result<(), Error> {
        self.commands.send(c).await.map_err(|_| Error::Closed)
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.command(make(tx)).await?;
        rx.await.map_err(|_| Error::Closed)
    }

    /// Our coordinator id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Our WireGuard public key.
    pub fn public_key(&self) -> NodePublic {
        self.public_key
    }

    /// Our tunnel addresses.
    pub fn addresses(&self) -> &[Ipv6Addr] {
        &self.addresses
    }

    /// The local UDP socket address.
    pub fn local_udp_addr(&self) -> SocketAddr {
        self.local_udp
    }

    /// Our current node record.
    pub async fn node(&self) -> Result<Node, Error> {
        self.ask(Command::Node).await
    }

    /// Asks the coordinator for a tunnel to an agent (clients).
    pub async fn add_tunnel(&self, agent: Uuid) -> Result<(), Error> {
        self.command(Command::AddTunnel(agent)).await
    }

    /// Drops a tunnel.
    pub async fn remove_tunnel(&self, agent: Uuid) -> Result<(), Error> {
        self.command(Command::RemoveTunnel(agent)).await
    }

    /// Adds a plain WireGuard peer at a fixed endpoint (e.g. wireguard-go), routing `allowed`.
    pub async fn add_static_peer(
        &self,
        key: NodePublic,
        endpoint: SocketAddr,
        allowed: Vec<IpNet>,
    ) -> Result<(), Error> {
        self.command(Command::AddStaticPeer(key, endpoint, allowed))
            .await
    }

    /// Applies coordinator updates from a transport the caller runs itself.
    pub async fn apply_peer_updates(&self, updates: Vec<PeerUpdate>) -> Result<(), Error> {
        self.command(Command::ApplyUpdates(updates)).await
    }

    /// Waits until a WireGuard session with the peer owning `ip` is up, starting the handshake
    /// if needed. TCP waits for this so a missed first handshake never costs a 5 s retry.
    pub async fn wait_session(&self, ip: IpAddr) -> Result<(), Error> {
        let wait = self.ask(|tx| Command::WaitSession(ip, tx));
        tokio::time::timeout(DIAL_TIMEOUT, wait)
            .await
            .map_err(|_| Error::Timeout("session"))?
    }

    /// Opens a TCP connection through the tunnel (after the session is up).
    pub async fn dial_tcp(&self, addr: SocketAddr) -> Result<TcpStream, Error> {
        self.wait_session(addr.ip()).await?;
        let handle = self.shared.lock().tcp_connect(addr)?;
        self.shared.notify.notify_one();
        let stream = TcpStream::new(self.shared.clone(), handle, addr);
        tokio::time::timeout(DIAL_TIMEOUT, stream.established())
            .await
            .map_err(|_| Error::Timeout("tcp connect"))??;
        Ok(stream)
    }

    /// Listens for TCP connections on `port` of our tunnel addresses.
    pub async fn listen_tcp(&self, port: u16) -> Result<TcpListener, Error> {
        TcpListener::new(self.shared.clone(), port)
    }

    /// ICMP echo through the tunnel; returns the round-trip time.
    pub async fn ping(&self, ip: IpAddr) -> Result<Duration, Error> {
        self.wait_session(ip).await?;
        let ident = (OsRng.next_u32() & 0xffff) as u16;
        let handle = {
            let mut stack = self.shared.lock();
            let h = stack.icmp_bind(ident)?;
            stack.send_echo(h, ip, ident, 1, b"coder-tunnel ping")?;
            h
        };
        let start = Instant::now();
        self.shared.notify.notify_one();
        let shared = self.shared.clone();
        let reply = std::future::poll_fn(|cx| {
            let mut stack = shared.lock();
            let s = stack.icmp(handle);
            let mut buf = [0u8; 128];
            while s.can_recv() {
                if let Ok((n, _)) = s.recv_slice(&mut buf)
                    && is_echo_reply(&buf[..n], ident, 1)
                {
                    return std::task::Poll::Ready(());
                }
            }
            s.register_recv_waker(cx.waker());
            std::task::Poll::Pending
        });
        let result = tokio::time::timeout(Duration::from_secs(5), reply).await;
        self.shared.lock().remove(handle);
        result.map_err(|_| Error::Timeout("echo reply"))?;
        Ok(start.elapsed())
    }

    /// Engine counters (datagrams, drops by reason, handshakes, probes).
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.ask(Command::Stats).await
    }

    /// The netstack's loss-repair counters (see [`crate::netstack::recovery`]).
    pub fn recovery_stats(&self) -> RecoveryStats {
        self.shared.lock().recovery_stats()
    }

    /// A diagnostics snapshot per peer: path kind, RTT, handshake age, bytes, last error.
    pub async fn diagnostics(&self) -> Result<Vec<PeerDiagnostics>, Error> {
        self.ask(Command::Diagnostics).await
    }

    /// Waits until the peer with WireGuard key `peer` is on `path` (e.g. direct UDP to an
    /// address after STUN discovery and a probe round-trip), checking every 10 ms.
    pub async fn wait_path(
        &self,
        peer: NodePublic,
        path: PathKind,
        timeout: Duration,
    ) -> Result<(), Error> {
        let wait = async {
            loop {
                if self
                    .diagnostics()
                    .await?
                    .iter()
                    .any(|d| d.key == peer && d.path == path)
                {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout("path"))?
    }

    /// Says goodbye to the coordinator and stops the event loop.
    pub async fn close(self) -> Result<(), Error> {
        self.ask(Command::Close).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::ToSocketAddrs;

    use super::*;
    use crate::coord::{RelayNode, RelayRegion};

    #[tokio::test]
    async fn resolve_stun_servers_keeps_literals_and_resolves_names_once() {
        let node = |url: &str, stun_port| RelayNode {
            name: url.to_owned(),
            url: url.to_owned(),
            stun_port,
            ipv4: None,
            ipv6: None,
        };
        let map = RelayMap {
            regions: BTreeMap::from([(
                1,
                RelayRegion {
                    region_id: 1,
                    code: "r1".into(),
                    name: "region 1".into(),
                    nodes: vec![
                        node("ws://192.0.2.1:8080/relay", 3478),
                        node("ws://localhost:8080/relay", 3478),
                        node("ws://localhost:8081/relay", 3478),
                        node("ws://localhost:8082/relay", 0),
                    ],
                },
            )]),
        };
        let mut expected = vec!["192.0.2.1:3478".parse().unwrap()];
        expected.extend("localhost:3478".to_socket_addrs().unwrap());
        assert!(expected[1..].contains(&"127.0.0.1:3478".parse().unwrap()));
        assert_eq!(resolve_stun_servers(&map).await, expected);
    }
}
