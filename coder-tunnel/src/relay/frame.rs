//! Relay framing (DERP-like): `[type u8][length u32 BE][payload]`, one frame per WebSocket
//! binary message. Data frames carry a 32-byte public key and a WireGuard datagram, so the
//! relay only ever sees ciphertext.
//!
//! Login: the server sends an ephemeral x25519 key; the client answers with its WireGuard
//! public key and `HMAC-SHA256(SHA-256(label || X25519(client secret, server ephemeral)),
//! label || client key || server ephemeral)`, proving it holds the key it claims.

use ring::{digest, hmac};

use crate::Error;
use crate::keys::{NodeKey, NodePublic};

/// Frame header length.
pub const HEADER: usize = 5;
/// Largest datagram a data frame carries.
pub const MAX_DATAGRAM: usize = 65_535;
/// Largest frame payload.
pub const MAX_PAYLOAD: usize = 32 + MAX_DATAGRAM;

/// Type byte of [`Frame::Send`].
const SEND: u8 = 4;
/// Type byte of [`Frame::Recv`].
const RECV: u8 = 5;

const LOGIN_LABEL: &[u8] = b"coder-tunnel relay login v1";

/// One relay frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Server → client: the login challenge (an ephemeral public key).
    ServerHello {
        /// Ephemeral x25519 public key.
        ephemeral: NodePublic,
    },
    /// Client → server: who we are, and the proof.
    ClientHello {
        /// The client's WireGuard public key.
        key: NodePublic,
        /// See the module docs.
        proof: [u8; 32],
    },
    /// Server → client: logged in.
    ServerAccept,
    /// Client → server: forward `data` to `dst`.
    Send {
        /// Destination public key.
        dst: NodePublic,
        /// WireGuard datagram.
        data: Vec<u8>,
    },
    /// Server → client: `src` sent `data`.
    Recv {
        /// Source public key.
        src: NodePublic,
        /// WireGuard datagram.
        data: Vec<u8>,
    },
    /// Either way: keeps proxies from closing an idle connection.
    KeepAlive,
    /// Server → client: the destination is not connected.
    PeerGone {
        /// The absent peer.
        key: NodePublic,
    },
}

fn key_at(b: &[u8]) -> NodePublic {
    let mut k = [0u8; 32];
    k.copy_from_slice(&b[..32]);
    NodePublic(k)
}

/// The type byte and the payload of the one frame occupying all of `buf`; a data frame
/// (`Send` or `Recv`) must carry a key and at least one datagram byte.
fn split(buf: &[u8]) -> Result<(u8, &[u8]), Error> {
    if buf.len() < HEADER {
        return Err(Error::Frame("relay: truncated header"));
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if len > MAX_PAYLOAD {
        return Err(Error::Frame("relay: oversized"));
    }
    let p = &buf[HEADER..];
    if p.len() != len {
        return Err(Error::Frame("relay: length mismatch"));
    }
    if matches!(buf[0], SEND | RECV) && len < 33 {
        return Err(Error::Frame("relay: truncated"));
    }
    Ok((buf[0], p))
}

/// Turns a client's [`Frame::Send`] into the [`Frame::Recv`] its destination gets, in place
/// (the two share one layout; only the type byte and the key differ), and returns the
/// destination. The relay forwards a datagram this way without copying it out and back.
/// Anything but a well-formed `Send` frame is refused and left as it was.
pub fn readdress(frame: &mut [u8], src: &NodePublic) -> Result<NodePublic, Error> {
    if split(frame)?.0 != SEND {
        return Err(Error::Frame("relay: not a data frame"));
    }
    let key = &mut frame[HEADER..HEADER + 32];
    let dst = key_at(key);
    key.copy_from_slice(&src.0);
    frame[0] = RECV;
    Ok(dst)
}

impl Frame {
    /// The type byte and the payload's two parts.
    fn parts(&self) -> (u8, [&[u8]; 2]) {
        match self {
            Frame::ServerHello { ephemeral } => (1, [&ephemeral.0, &[]]),
            Frame::ClientHello { key, proof } => (2, [&key.0, proof]),
            Frame::ServerAccept => (3, [&[], &[]]),
            Frame::Send { dst, data } => (SEND, [&dst.0, data]),
            Frame::Recv { src, data } => (RECV, [&src.0, data]),
            Frame::KeepAlive => (6, [&[], &[]]),
            Frame::PeerGone { key } => (7, [&key.0, &[]]),
        }
    }

    /// Appends the encoded frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let (ty, parts) = self.parts();
        let len = parts[0].len() + parts[1].len();
        out.push(ty);
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(parts[0]);
        out.extend_from_slice(parts[1]);
    }

    /// The encoded frame, in a buffer of exactly its size.
    pub fn to_vec(&self) -> Vec<u8> {
        let (_, [a, b]) = self.parts();
        let mut v = Vec::with_capacity(HEADER + a.len() + b.len());
        self.encode(&mut v);
        v
    }

    /// Decodes exactly one frame occupying all of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Frame, Error> {
        let (ty, p) = split(buf)?;
        let len = p.len();
        let exact = |n: usize| {
            if len == n {
                Ok(())
            } else {
                Err(Error::Frame("relay: bad length"))
            }
        };
        Ok(match ty {
            1 => {
                exact(32)?;
                Frame::ServerHello {
                    ephemeral: key_at(p),
                }
            }
            2 => {
                exact(64)?;
                let mut proof = [0u8; 32];
                proof.copy_from_slice(&p[32..]);
                Frame::ClientHello {
                    key: key_at(p),
                    proof,
                }
            }
            3 => {
                exact(0)?;
                Frame::ServerAccept
            }
            SEND => Frame::Send {
                dst: key_at(p),
                data: p[32..].to_vec(),
            },
            RECV => Frame::Recv {
                src: key_at(p),
                data: p[32..].to_vec(),
            },
            6 => {
                exact(0)?;
                Frame::KeepAlive
            }
            7 => {
                exact(32)?;
                Frame::PeerGone { key: key_at(p) }
            }
            _ => return Err(Error::Frame("relay: unknown type")),
        })
    }
}

fn login_key(shared: &[u8; 32]) -> hmac::Key {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(LOGIN_LABEL);
    ctx.update(shared);
    hmac::Key::new(hmac::HMAC_SHA256, ctx.finish().as_ref())
}

fn login_message(client: &NodePublic, ephemeral: &NodePublic) -> Vec<u8> {
    [LOGIN_LABEL, &client.0, &ephemeral.0].concat()
}

/// The client's login proof for the server's ephemeral key.
pub fn login_proof(client: &NodeKey, ephemeral: &NodePublic) -> [u8; 32] {
    let key = login_key(&client.shared_secret(ephemeral));
    let tag = hmac::sign(&key, &login_message(&client.public(), ephemeral));
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Server side: checks a client's proof against our ephemeral secret.
pub fn verify_login(ephemeral: &NodeKey, client: &NodePublic, proof: &[u8; 32]) -> bool {
    let key = login_key(&ephemeral.shared_secret(client));
    hmac::verify(&key, &login_message(client, &ephemeral.public()), proof).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_reject_bad_lengths() {
        let k = NodeKey::from_bytes([5; 32]).public();
        for f in [
            Frame::ServerHello { ephemeral: k },
            Frame::ClientHello {
                key: k,
                proof: [1; 32],
            },
            Frame::ServerAccept,
            Frame::Send {
                dst: k,
                data: vec![4, 0, 0, 0, 9],
            },
            Frame::Recv {
                src: k,
                data: vec![1; 148],
            },
            Frame::KeepAlive,
            Frame::PeerGone { key: k },
        ] {
            let buf = f.to_vec();
            assert_eq!(Frame::decode(&buf).unwrap(), f);
            assert!(Frame::decode(&buf[..buf.len() - 1]).is_err());
        }
        // A data frame with no datagram is refused.
        let mut empty = vec![4, 0, 0, 0, 32];
        empty.extend_from_slice(&[0; 32]);
        assert!(matches!(
            Frame::decode(&empty),
            Err(Error::Frame("relay: truncated"))
        ));
    }

    #[test]
    fn readdress_turns_a_send_into_the_recv_the_destination_gets() {
        let (src, dst) = (
            NodeKey::from_bytes([5; 32]).public(),
            NodeKey::from_bytes([6; 32]).public(),
        );
        let data = vec![4, 0, 0, 0, 9, 9];
        let mut buf = Frame::Send {
            dst,
            data: data.clone(),
        }
        .to_vec();
        assert_eq!(readdress(&mut buf, &src).unwrap(), dst);
        assert_eq!(buf, Frame::Recv { src, data }.to_vec());
        // Not a `Send` frame (now a `Recv`), a truncated one, a keep-alive: refused, untouched.
        for mut bad in [
            buf.clone(),
            buf[..buf.len() - 1].to_vec(),
            Frame::KeepAlive.to_vec(),
        ] {
            let before = bad.clone();
            assert!(readdress(&mut bad, &dst).is_err());
            assert_eq!(bad, before);
        }
    }

    #[test]
    fn login_proof_binds_the_key() {
        let client = NodeKey::from_bytes([1; 32]);
        let eph = NodeKey::from_bytes([2; 32]);
        let proof = login_proof(&client, &eph.public());
        assert!(verify_login(&eph, &client.public(), &proof));
        let other = NodeKey::from_bytes([3; 32]).public();
        assert!(!verify_login(&eph, &other, &proof));
    }
}
