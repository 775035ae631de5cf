//! The data path: IP packets from the netstack are encrypted for the peer that routes their
//! destination; datagrams from the UDP socket and the relay are classified (STUN, probe,
//! WireGuard) and decrypted; every session output goes out on the peer's route, back the way
//! its input came, or to the netstack.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::peers::{Peer, Slot};
use super::{Core, Destination, Event, Transmit, Via};
use crate::buf::{MAX_PACKET, PACKET_BUF};
use crate::keys::NodePublic;
use crate::path::PathKind;
use crate::probe;
use crate::stun;
use crate::wg::{Classified, WgError, WgOutput, classify_datagram};

impl Core {
    pub(super) fn push_transmit(&mut self, dst: Destination, payload: Vec<u8>) {
        match dst {
            Destination::Udp(_) => self.stats.udp_tx += 1,
            Destination::Relay(_) => self.stats.relay_tx += 1,
        }
        self.transmits.push_back(Transmit { dst, payload });
    }

    /// Handles a session call's result: `res` is `(offset, len)` written into `buf`, an error,
    /// or nothing. `via` is where the input came from (replies go back the same way).
    pub(super) fn finish_output(
        &mut self,
        slot: Slot,
        res: Out,
        mut buf: Vec<u8>,
        via: Option<Via>,
    ) {
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
}

pub(super) fn base_of(buf: &[u8]) -> usize {
    buf.as_ptr() as usize
}

fn written(base: usize, out: &[u8]) -> (usize, usize) {
    (out.as_ptr() as usize - base, out.len())
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
pub(super) enum Out {
    Done,
    Network(usize, usize),
    Tunnel(usize, usize, IpAddr),
    Error(WgError),
}

/// `base` is the address of the buffer the output borrows; only addresses are compared.
pub(super) fn written_len(base: usize, out: WgOutput<'_>) -> Out {
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
