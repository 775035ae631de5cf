//! A sans-IO userspace TCP/IP stack over the tunnel: smoltcp (medium IP, IPv6 + IPv4) on a
//! queue-backed [`device::QueueDevice`], TCP with Cubic congestion control, pooled packet
//! buffers. Push decrypted packets in with [`Netstack::receive`], call [`Netstack::poll`] when
//! packets arrived, a socket was used, or [`Netstack::poll_at`] passed, and take outgoing
//! packets with [`Netstack::poll_transmit`].

pub mod device;
pub mod recovery;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::socket::{Socket, icmp, tcp};
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint};

pub use device::QueueDevice;
use recovery::Recovery;
pub use recovery::RecoveryStats;
pub use smoltcp::iface::SocketHandle;

use crate::Error;

/// Netstack settings.
#[derive(Debug, Clone)]
pub struct NetstackConfig {
    /// Our addresses (each installed as a host address).
    pub addresses: Vec<IpAddr>,
    /// Inner IP MTU (1280 by default: safe over relay and VPN-in-VPN).
    pub mtu: usize,
    /// TCP receive buffer per connection.
    pub tcp_rx_buffer: usize,
    /// TCP send buffer per connection.
    pub tcp_tx_buffer: usize,
}

impl Default for NetstackConfig {
    fn default() -> Self {
        Self {
            addresses: Vec::new(),
            mtu: 1280,
            tcp_rx_buffer: 1 << 20,
            tcp_tx_buffer: 1 << 20,
        }
    }
}

/// The userspace stack. See the module docs.
pub struct Netstack {
    iface: Interface,
    sockets: SocketSet<'static>,
    device: QueueDevice,
    recovery: Recovery,
    /// Lost segments to send again, ahead of the stack's output.
    repairs: VecDeque<Vec<u8>>,
    epoch: Instant,
    /// The latest [`Netstack::poll`].
    now: Instant,
    config: NetstackConfig,
    next_port: u16,
}

impl std::fmt::Debug for Netstack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netstack")
            .field("addresses", &self.config.addresses)
            .finish()
    }
}

fn to_smol(addr: IpAddr) -> IpAddress {
    match addr {
        IpAddr::V4(a) => IpAddress::Ipv4(a),
        IpAddr::V6(a) => IpAddress::Ipv6(a),
    }
}

/// A smoltcp endpoint as a std socket address.
pub fn from_smol(ep: IpEndpoint) -> SocketAddr {
    let ip = match ep.addr {
        IpAddress::Ipv4(a) => IpAddr::V4(a),
        IpAddress::Ipv6(a) => IpAddr::V6(a),
    };
    SocketAddr::new(ip, ep.port)
}

impl Netstack {
    /// A stack whose clock starts at `now`.
    pub fn new(config: NetstackConfig, now: Instant) -> Self {
        let mut device = QueueDevice::new(config.mtu);
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ip),
            &mut device,
            SmolInstant::ZERO,
        );
        iface.update_ip_addrs(|addrs| {
            for a in &config.addresses {
                let prefix = if a.is_ipv6() { 128 } else { 32 };
                let _ = addrs.push(IpCidr::new(to_smol(*a), prefix));
            }
        });
        // Every destination is reached through the tunnel: default routes via ourselves (the
        // gateway is irrelevant on an IP medium).
        for a in &config.addresses {
            match a {
                IpAddr::V6(v6) => {
                    let _ = iface.routes_mut().add_default_ipv6_route(*v6);
                }
                IpAddr::V4(v4) => {
                    let _ = iface.routes_mut().add_default_ipv4_route(*v4);
                }
            }
        }
        Self {
            iface,
            sockets: SocketSet::new(Vec::new()),
            device,
            recovery: Recovery::default(),
            repairs: VecDeque::new(),
            epoch: now,
            now,
            config,
            next_port: 49_152,
        }
    }

    fn smol_now(&self, now: Instant) -> SmolInstant {
        let micros = now.saturating_duration_since(self.epoch).as_micros();
        SmolInstant::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
    }

    /// Queues a decrypted IP packet from the tunnel.
    pub fn receive(&mut self, packet: &[u8]) {
        if packet.len() > self.config.mtu {
            return;
        }
        self.recovery
            .on_incoming(packet, self.now, &mut self.device.pool);
        let mut buf = self.device.pool.get();
        buf.clear();
        buf.extend_from_slice(packet);
        self.device.rx.push_back(buf);
    }

    /// Runs the stack: ingress, timers, egress. Returns whether socket state changed.
    pub fn poll(&mut self, now: Instant) -> bool {
        self.now = now;
        let t = self.smol_now(now);
        let changed = self.iface.poll(t, &mut self.device, &mut self.sockets)
            == smoltcp::iface::PollResult::SocketStateChanged;
        self.device.reclaim();
        self.recovery.expire(now, &mut self.device.pool);
        self.recovery
            .on_timer(now, &mut self.device.pool, &mut self.repairs);
        changed
    }

    /// When the stack next needs [`Netstack::poll`] (None: only on input).
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let t = self.smol_now(now);
        let stack = self
            .iface
            .poll_delay(t, &self.sockets)
            .map(|d| now + Duration::from_micros(d.total_micros()));
        stack.into_iter().chain(self.recovery.poll_at()).min()
    }

    /// Next outgoing IP packet: the stack's output, then repairs of lost segments (see
    /// [`recovery`]), chosen once the stack has answered the ACKs received. Give it back with
    /// [`Netstack::recycle`].
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        // Repairs chosen before go first: each counts as sent when chosen.
        if let Some(p) = self.repairs.pop_front() {
            return Some(p);
        }
        if let Some(p) = self.device.tx.pop_front() {
            self.recovery
                .on_outgoing(&p, self.now, &mut self.device.pool);
            return Some(p);
        }
        self.recovery
            .repair(self.now, &mut self.device.pool, &mut self.repairs);
        self.repairs.pop_front()
    }

    /// Turns the repair of lost segments on (the default) or off (see [`recovery`]); off
    /// leaves loss recovery to smoltcp alone.
    pub fn set_loss_repair(&mut self, enabled: bool) {
        self.recovery.set_enabled(enabled);
    }

    /// Loss-repair counters (see [`recovery`]).
    pub fn recovery_stats(&self) -> RecoveryStats {
        self.recovery.stats()
    }

    /// Connections the loss repair holds state for (those with data unacknowledged).
    pub fn loss_repair_flows(&self) -> usize {
        self.recovery.flows()
    }

    /// Returns a packet buffer to the pool.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.device.pool.put(buf);
    }

    /// Packet buffers the stack ever allocated (pooling check).
    pub fn buffers_allocated(&self) -> u64 {
        self.device.pool.allocated()
    }

    fn new_tcp_socket(&self) -> tcp::Socket<'static> {
        let rx = tcp::SocketBuffer::new(vec![0u8; self.config.tcp_rx_buffer]);
        let tx = tcp::SocketBuffer::new(vec![0u8; self.config.tcp_tx_buffer]);
        let mut s = tcp::Socket::new(rx, tx);
        s.set_congestion_control(tcp::CongestionControl::Cubic);
        s.set_nagle_enabled(false);
        s.set_ack_delay(None);
        s
    }

    fn local_addr_for(&self, remote: IpAddr) -> Option<IpAddr> {
        self.config
            .addresses
            .iter()
            .copied()
            .find(|a| a.is_ipv6() == remote.is_ipv6())
    }

    /// Starts a TCP connection.
    pub fn tcp_connect(&mut self, remote: SocketAddr) -> Result<SocketHandle, Error> {
        let local = self
            .local_addr_for(remote.ip())
            .ok_or_else(|| Error::Tcp(format!("no local address for {remote}")))?;
        let mut socket = self.new_tcp_socket();
        self.next_port = if self.next_port >= 65_000 {
            49_152
        } else {
            self.next_port + 1
        };
        let local = IpEndpoint::new(to_smol(local), self.next_port);
        let remote_ep = IpEndpoint::new(to_smol(remote.ip()), remote.port());
        socket
            .connect(self.iface.context(), remote_ep, local)
            .map_err(|e| Error::Tcp(format!("connect {remote}: {e}")))?;
        Ok(self.sockets.add(socket))
    }

    /// A socket listening on `port` (one connection per socket; call again for a backlog).
    pub fn tcp_listen(&mut self, port: u16) -> Result<SocketHandle, Error> {
        let mut socket = self.new_tcp_socket();
        socket
            .listen(IpListenEndpoint { addr: None, port })
            .map_err(|e| Error::Tcp(format!("listen {port}: {e}")))?;
        Ok(self.sockets.add(socket))
    }

    /// A TCP socket.
    pub fn tcp(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(handle)
    }

    /// An ICMP socket bound to echo identifier `ident`.
    pub fn icmp_bind(&mut self, ident: u16) -> Result<SocketHandle, Error> {
        let rx = icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 8], vec![0; 4096]);
        let tx = icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 8], vec![0; 4096]);
        let mut s = icmp::Socket::new(rx, tx);
        s.bind(icmp::Endpoint::Ident(ident))
            .map_err(|e| Error::Tcp(format!("icmp bind: {e}")))?;
        Ok(self.sockets.add(s))
    }

    /// An ICMP socket.
    pub fn icmp(&mut self, handle: SocketHandle) -> &mut icmp::Socket<'static> {
        self.sockets.get_mut::<icmp::Socket<'static>>(handle)
    }

    /// Sends an ICMP echo request (v4 or v6) with `ident`, `seq` and `payload`.
    pub fn send_echo(
        &mut self,
        handle: SocketHandle,
        dst: IpAddr,
        ident: u16,
        seq: u16,
        payload: &[u8],
    ) -> Result<(), Error> {
        use smoltcp::phy::ChecksumCapabilities;
        use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr};
        let src = self.local_addr_for(dst).ok_or(Error::NoRoute(dst))?;
        let caps = ChecksumCapabilities::default();
        let socket = self.sockets.get_mut::<icmp::Socket<'static>>(handle);
        let err = |e: icmp::SendError| Error::Tcp(format!("icmp send: {e}"));
        match (src, dst) {
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let repr = Icmpv6Repr::EchoRequest {
                    ident,
                    seq_no: seq,
                    data: payload,
                };
                let buf = socket
                    .send(repr.buffer_len(), IpAddress::Ipv6(d))
                    .map_err(err)?;
                repr.emit(&s, &d, &mut Icmpv6Packet::new_unchecked(buf), &caps);
            }
            (IpAddr::V4(_), IpAddr::V4(d)) => {
                let repr = Icmpv4Repr::EchoRequest {
                    ident,
                    seq_no: seq,
                    data: payload,
                };
                let buf = socket
                    .send(repr.buffer_len(), IpAddress::Ipv4(d))
                    .map_err(err)?;
                repr.emit(&mut Icmpv4Packet::new_unchecked(buf), &caps);
            }
            _ => return Err(Error::NoRoute(dst)),
        }
        Ok(())
    }

    /// Removes a socket, and the loss repair's state for its connection.
    pub fn remove(&mut self, handle: SocketHandle) {
        if let Socket::Tcp(s) = self.sockets.remove(handle)
            && let (Some(local), Some(remote)) = (s.local_endpoint(), s.remote_endpoint())
        {
            self.recovery.forget(local, remote, &mut self.device.pool);
        }
    }
}

/// Whether an ICMP message is an echo reply with this identifier and sequence number.
pub fn is_echo_reply(message: &[u8], ident: u16, seq: u16) -> bool {
    // Echo reply: type 0 (v4) or 129 (v6), then code, checksum, ident, seq.
    message.len() >= 8
        && (message[0] == 0 || message[0] == 129)
        && u16::from_be_bytes([message[4], message[5]]) == ident
        && u16::from_be_bytes([message[6], message[7]]) == seq
}
