//! The relay's STUN responder: answers Binding requests on a UDP socket with the requester's
//! source address (XOR-MAPPED-ADDRESS), so tunnels learn their public mapping. Everything else
//! is counted and dropped. The protocol work is [`crate::stun::answer_binding`]; this is the
//! socket around it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::UdpSocket;

use crate::stun;

/// Counters of a STUN responder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StunStats {
    /// Binding requests answered.
    pub answered: u64,
    /// Datagrams dropped: not STUN, malformed, or not a Binding request.
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    answered: AtomicU64,
    dropped: AtomicU64,
}

/// Answers STUN Binding requests. Cheap to clone; clones share the counters.
#[derive(Debug, Clone, Default)]
pub struct StunServer {
    counters: Arc<Counters>,
}

impl StunServer {
    /// A responder with zeroed counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters.
    pub fn stats(&self) -> StunStats {
        StunStats {
            answered: self.counters.answered.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
        }
    }

    /// Answers requests on `socket` until a receive fails for a reason other than an ICMP
    /// error from an earlier send. Send errors (an unreachable requester) are ignored: the
    /// requester retries.
    pub async fn serve(self, socket: UdpSocket) -> std::io::Result<()> {
        let mut buf = vec![0u8; stun::MAX_MESSAGE + 1];
        let mut out = Vec::with_capacity(64);
        loop {
            let (n, src) = match socket.recv_from(&mut buf).await {
                Ok(r) => r,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            match stun::answer_binding(&buf[..n], src, &mut out) {
                Ok(()) => {
                    self.counters.answered.fetch_add(1, Ordering::Relaxed);
                    let _ = socket.send_to(&out, src).await;
                }
                Err(_) => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
