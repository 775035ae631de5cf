//! Path probes: small authenticated ping / pong / call-me-maybe datagrams sent on the same UDP
//! socket as WireGuard (our equivalent of Tailscale's disco messages).
//!
//! Layout (all lengths fixed per kind, so truncation is always detected):
//!
//! ```text
//! 0..4    magic  C7 43 54 50 ("\xC7CTP"; WireGuard starts with 01..04 00 00 00)
//! 4       version (1)
//! 5       kind: 1 ping, 2 pong, 3 call-me-maybe
//! 6..38   sender's probe public key
//! 38..50  transaction id
//! 50..68  pong only: the ping's observed source (IPv6 or v4-mapped, 16 bytes) + port (BE)
//! last 16 HMAC-SHA256 over everything before it, truncated; keyed by
//!         SHA-256(label || X25519(own probe secret, peer probe public))
//! ```

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ring::{digest, hmac};

use crate::Error;
use crate::keys::{NodeKey, NodePublic};

/// First four bytes of every probe.
pub const MAGIC: [u8; 4] = [0xC7, b'C', b'T', b'P'];
const VERSION: u8 = 1;
const HEADER: usize = 50;
const MAC: usize = 16;
const ADDR: usize = 18;
/// Length of a ping or call-me-maybe.
pub const PING_LEN: usize = HEADER + MAC;
/// Length of a pong.
pub const PONG_LEN: usize = HEADER + ADDR + MAC;

/// A transaction id matching a pong to its ping.
pub type TxId = [u8; 12];

/// What a probe says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// "Are you there on this path?"
    Ping,
    /// "Yes; your ping came from `observed`."
    Pong {
        /// The ping's source address as the receiver saw it (the sender's NAT mapping).
        observed: SocketAddr,
    },
    /// "Probe my endpoints now" (sent over the relay to start simultaneous opens).
    CallMeMaybe,
}

/// A decoded probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// What it says.
    pub kind: ProbeKind,
    /// Transaction id (a pong echoes its ping's).
    pub tx_id: TxId,
}

/// Whether a datagram claims to be a probe (magic only; [`ProbeKey::open`] authenticates).
pub fn is_probe(datagram: &[u8]) -> bool {
    datagram.len() >= 4 && datagram[..4] == MAGIC
}

/// The sender's probe key, after checking magic, version, kind and exact length.
pub fn peek_sender(datagram: &[u8]) -> Result<NodePublic, Error> {
    if !is_probe(datagram) {
        return Err(Error::Frame("probe: bad magic"));
    }
    if datagram.len() < HEADER + MAC {
        return Err(Error::Frame("probe: truncated"));
    }
    if datagram[4] != VERSION {
        return Err(Error::Frame("probe: unknown version"));
    }
    let expected = match datagram[5] {
        1 | 3 => PING_LEN,
        2 => PONG_LEN,
        _ => return Err(Error::Frame("probe: unknown kind")),
    };
    if datagram.len() != expected {
        return Err(Error::Frame("probe: wrong length"));
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&datagram[6..38]);
    Ok(NodePublic(key))
}

/// The symmetric key authenticating probes between two nodes (either direction).
pub struct ProbeKey {
    key: hmac::Key,
    own: NodePublic,
}

impl std::fmt::Debug for ProbeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProbeKey")
    }
}

impl ProbeKey {
    /// The key between our probe secret and a peer's probe public key.
    pub fn new(own: &NodeKey, peer: &NodePublic) -> Self {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"coder-tunnel probe v1");
        ctx.update(&own.shared_secret(peer));
        let derived = ctx.finish();
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            own: own.public(),
        }
    }

    /// Encodes and authenticates a probe from us into `out` (cleared first).
    pub fn seal(&self, probe: &Probe, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(match probe.kind {
            ProbeKind::Ping => 1,
            ProbeKind::Pong { .. } => 2,
            ProbeKind::CallMeMaybe => 3,
        });
        out.extend_from_slice(&self.own.0);
        out.extend_from_slice(&probe.tx_id);
        if let ProbeKind::Pong { observed } = probe.kind {
            let ip = match observed.ip() {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            out.extend_from_slice(&ip.octets());
            out.extend_from_slice(&observed.port().to_be_bytes());
        }
        let tag = hmac::sign(&self.key, out);
        out.extend_from_slice(&tag.as_ref()[..MAC]);
    }

    /// Checks and decodes a probe from the peer.
    pub fn open(&self, datagram: &[u8]) -> Result<Probe, Error> {
        let sender = peek_sender(datagram)?;
        if sender == self.own {
            return Err(Error::Frame("probe: reflected"));
        }
        let (body, tag) = datagram.split_at(datagram.len() - MAC);
        let expected = hmac::sign(&self.key, body);
        if !constant_time_eq(&expected.as_ref()[..MAC], tag) {
            return Err(Error::Frame("probe: bad mac"));
        }
        let mut tx_id = [0u8; 12];
        tx_id.copy_from_slice(&body[38..50]);
        let kind = match body[5] {
            1 => ProbeKind::Ping,
            3 => ProbeKind::CallMeMaybe,
            _ => {
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&body[50..66]);
                let ip = Ipv6Addr::from(ip);
                let ip = ip
                    .to_ipv4_mapped()
                    .map(IpAddr::V4)
                    .unwrap_or(IpAddr::V6(ip));
                let port = u16::from_be_bytes([body[66], body[67]]);
                ProbeKind::Pong {
                    observed: SocketAddr::new(ip, port),
                }
            }
        };
        Ok(Probe { kind, tx_id })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (NodeKey, NodeKey) {
        (NodeKey::from_bytes([3; 32]), NodeKey::from_bytes([4; 32]))
    }

    #[test]
    fn pong_round_trips_and_tamper_fails() {
        let (a, b) = keys();
        let ab = ProbeKey::new(&a, &b.public());
        let ba = ProbeKey::new(&b, &a.public());
        let observed: SocketAddr = "192.0.2.7:41641".parse().unwrap();
        let probe = Probe {
            kind: ProbeKind::Pong { observed },
            tx_id: [9; 12],
        };
        let mut buf = Vec::new();
        ab.seal(&probe, &mut buf);
        assert_eq!(buf.len(), PONG_LEN);
        assert_eq!(peek_sender(&buf).unwrap(), a.public());
        assert_eq!(ba.open(&buf).unwrap(), probe);
        // Our own probe reflected back is refused.
        assert!(ab.open(&buf).is_err());
        buf[60] ^= 1;
        assert!(matches!(ba.open(&buf), Err(Error::Frame("probe: bad mac"))));
    }

    #[test]
    fn never_parses_as_wireguard() {
        let (a, b) = keys();
        let mut buf = Vec::new();
        ProbeKey::new(&a, &b.public()).seal(
            &Probe {
                kind: ProbeKind::Ping,
                tx_id: [0; 12],
            },
            &mut buf,
        );
        let ty = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        assert!(!(1..=4).contains(&ty));
        assert_eq!(buf.len(), PING_LEN);
    }
}
