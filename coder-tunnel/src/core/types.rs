//! What the engine core emits: transmits, events, counters and per-peer diagnostics.

use std::net::SocketAddr;
use std::time::Duration;

use uuid::Uuid;

use crate::coord::CoordinateRequest;
use crate::keys::NodePublic;
use crate::path::PathKind;

/// Where a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Direct UDP.
    Udp(SocketAddr),
    /// Through the relay, addressed by the peer's WireGuard public key.
    Relay(NodePublic),
}

/// A datagram to send. Hand `payload` back with [`crate::core::Core::recycle`] when sent.
#[derive(Debug)]
pub struct Transmit {
    /// Where to.
    pub dst: Destination,
    /// WireGuard ciphertext or a probe.
    pub payload: Vec<u8>,
}

/// Something the driver or the user should know.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Send this to the coordinator.
    Coordinate(CoordinateRequest),
    /// A WireGuard session with the peer completed a handshake (first time or rekey).
    SessionEstablished {
        /// The peer.
        peer: NodePublic,
    },
    /// The peer's traffic moved to another path.
    PathChanged {
        /// The peer.
        peer: NodePublic,
        /// The new path.
        path: PathKind,
    },
    /// The peer left (coordinator `Disconnected`) and was removed.
    PeerRemoved {
        /// The peer.
        peer: NodePublic,
    },
}

/// Engine-wide counters. Hostile or broken input is dropped and counted here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams received on UDP.
    pub udp_rx: u64,
    /// Datagrams sent on UDP.
    pub udp_tx: u64,
    /// Send system calls the driver made for those datagrams: fewer than `udp_tx` when UDP
    /// GSO or `sendmmsg` batches them. Always 0 from the sans-IO core itself.
    pub udp_send_calls: u64,
    /// Receive system calls the driver made for `udp_rx`: fewer when UDP GRO coalesces or
    /// `recvmmsg` batches datagrams. Always 0 from the sans-IO core itself.
    pub udp_recv_calls: u64,
    /// Datagrams received through the relay.
    pub relay_rx: u64,
    /// Datagrams sent through the relay.
    pub relay_tx: u64,
    /// IP packets delivered to the netstack.
    pub delivered: u64,
    /// Handshakes completed (all peers).
    pub handshakes: u64,
    /// Probes sent.
    pub probes_tx: u64,
    /// Authenticated probes received.
    pub probes_rx: u64,
    /// STUN Binding requests sent (retransmits included).
    pub stun_tx: u64,
    /// STUN responses that answered one of our requests.
    pub stun_rx: u64,
    /// Our NAT maps by destination (STUN servers saw different mappings of our one socket),
    /// so no STUN endpoint is advertised and peers stay on the relay (Coder flags the same
    /// in its diagnostics). Details: [`crate::core::Core::nat_report`].
    pub hard_nat: bool,
    /// Dropped: not WireGuard, not a valid probe or STUN answer, or not meant for us.
    pub dropped_malformed: u64,
    /// Dropped: larger than any packet we handle.
    pub dropped_oversized: u64,
    /// Dropped by the driver: datagrams of a coalesced (UDP GRO) receive that did not fit its
    /// receive buffer. Always 0 from the sans-IO core itself.
    pub dropped_truncated: u64,
    /// Dropped: a peer we do not know.
    pub dropped_unknown_peer: u64,
    /// Dropped: failed authentication or replay.
    pub dropped_auth: u64,
    /// Dropped: decrypted packet from a source address the peer does not own.
    pub dropped_spoofed: u64,
    /// Dropped: an outgoing packet to an address no peer owns, or a peer with no path.
    pub dropped_no_route: u64,
}

/// A diagnostics snapshot of one peer (like `coder ping`).
#[derive(Debug, Clone, PartialEq)]
pub struct PeerDiagnostics {
    /// WireGuard key.
    pub key: NodePublic,
    /// Coordinator id, if known.
    pub id: Option<Uuid>,
    /// Current path.
    pub path: PathKind,
    /// Last probe round-trip (direct path) or handshake RTT.
    pub rtt: Option<Duration>,
    /// Age of the current WireGuard session.
    pub handshake_age: Option<Duration>,
    /// Whether a session is established.
    pub session_up: bool,
    /// Handshakes completed with this peer.
    pub handshakes: u32,
    /// Plaintext bytes sent.
    pub tx_bytes: u64,
    /// Plaintext bytes received.
    pub rx_bytes: u64,
    /// The coordinator reported the peer lost.
    pub lost: bool,
    /// The last error seen with this peer.
    pub last_error: Option<String>,
}
