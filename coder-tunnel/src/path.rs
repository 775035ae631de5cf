//! Per-peer path manager (our "magicsock"): traffic starts on the relay; the peer's direct
//! endpoints are probed; the first authenticated pong upgrades the peer to direct UDP on the
//! address the pong came from; heartbeats keep it; when pongs stop for [`TRUST`] the peer falls
//! back to the relay and discovery starts again.
//!
//! Sans-IO: the manager decides *where* to ping; the engine seals and sends the probes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::probe::TxId;

/// How often candidates are probed while the peer is on the relay.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// How often the direct path is pinged while in use.
pub const HEARTBEAT: Duration = Duration::from_secs(2);
/// A direct path is trusted this long after its last pong (three missed heartbeats).
pub const TRUST: Duration = Duration::from_millis(6_500);
/// A ping without a pong after this long is forgotten.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many candidate endpoints are kept per peer.
pub const MAX_CANDIDATES: usize = 16;

/// Which path a peer's traffic takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Direct UDP to this address.
    Direct(SocketAddr),
    /// Through the relay.
    Relay,
}

/// A change of path worth telling the user about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathEvent {
    /// A probe round-tripped: traffic now goes direct.
    Upgraded(SocketAddr),
    /// The direct path stopped answering: traffic is back on the relay.
    FellBack,
}

#[derive(Debug, Clone, Copy)]
struct Direct {
    addr: SocketAddr,
    last_pong: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    tx_id: TxId,
    sent: Instant,
}

/// Path state for one peer.
#[derive(Debug)]
pub struct PathManager {
    fixed: Option<SocketAddr>,
    block_direct: bool,
    candidates: Vec<SocketAddr>,
    direct: Option<Direct>,
    pending: Vec<Pending>,
    next_discovery: Option<Instant>,
    next_heartbeat: Option<Instant>,
    rtt: Option<Duration>,
}

impl PathManager {
    /// A relay-first manager; `block_direct` keeps the peer on the relay (`CODER_BLOCK_DIRECT`).
    pub fn new(block_direct: bool) -> Self {
        Self {
            fixed: None,
            block_direct,
            candidates: Vec::new(),
            direct: None,
            pending: Vec::new(),
            next_discovery: None,
            next_heartbeat: None,
            rtt: None,
        }
    }

    /// A statically configured endpoint (a plain WireGuard peer such as wireguard-go): always
    /// direct, never probed, updated by WireGuard roaming.
    pub fn fixed(addr: SocketAddr) -> Self {
        Self {
            fixed: Some(addr),
            ..Self::new(false)
        }
    }

    /// The peer advertised these endpoints (coordinator update): probe them now.
    pub fn set_endpoints(&mut self, now: Instant, endpoints: &[SocketAddr]) {
        if self.fixed.is_some() || self.block_direct {
            return;
        }
        self.candidates = endpoints.iter().copied().take(MAX_CANDIDATES).collect();
        self.next_discovery = Some(now);
    }

    /// A ping arrived from `addr` (perhaps a NAT mapping we did not know): probe it too.
    pub fn add_candidate(&mut self, now: Instant, addr: SocketAddr) {
        if self.fixed.is_some() || self.block_direct || self.candidates.contains(&addr) {
            return;
        }
        if self.candidates.len() >= MAX_CANDIDATES {
            self.candidates.remove(0);
        }
        self.candidates.push(addr);
        if self.direct.is_none() {
            self.next_discovery = Some(now);
        }
    }

    /// Probe all candidates now (call-me-maybe).
    pub fn trigger_discovery(&mut self, now: Instant) {
        if self.direct.is_none() && !self.candidates.is_empty() {
            self.next_discovery = Some(now);
        }
    }

    /// Records a ping the engine sent.
    pub fn record_ping(&mut self, now: Instant, tx_id: TxId) {
        self.pending.push(Pending { tx_id, sent: now });
    }

    /// An authenticated pong for `tx_id` arrived from `src`.
    pub fn on_pong(&mut self, now: Instant, tx_id: TxId, src: SocketAddr) -> Option<PathEvent> {
        let pos = self.pending.iter().position(|p| p.tx_id == tx_id)?;
        let ping = self.pending.swap_remove(pos);
        self.rtt = Some(now.saturating_duration_since(ping.sent));
        if self.fixed.is_some() || self.block_direct {
            return None;
        }
        match &mut self.direct {
            Some(d) if d.addr == src => {
                d.last_pong = now;
                None
            }
            Some(d) if now.saturating_duration_since(d.last_pong) > HEARTBEAT * 2 => {
                *d = Direct {
                    addr: src,
                    last_pong: now,
                };
                Some(PathEvent::Upgraded(src))
            }
            Some(_) => None,
            None => {
                self.direct = Some(Direct {
                    addr: src,
                    last_pong: now,
                });
                self.next_heartbeat = Some(now + HEARTBEAT);
                self.next_discovery = None;
                Some(PathEvent::Upgraded(src))
            }
        }
    }

    /// An authenticated WireGuard datagram arrived directly from `src` (WireGuard roaming).
    pub fn on_authenticated_direct(&mut self, src: SocketAddr) {
        if let Some(fixed) = &mut self.fixed {
            *fixed = src;
        }
    }

    /// Where traffic goes now.
    pub fn current(&self) -> PathKind {
        if let Some(addr) = self.fixed {
            return PathKind::Direct(addr);
        }
        match self.direct {
            Some(d) => PathKind::Direct(d.addr),
            None => PathKind::Relay,
        }
    }

    /// A candidate to try when there is no relay at all.
    pub fn first_candidate(&self) -> Option<SocketAddr> {
        self.candidates.first().copied()
    }

    /// Last probe round-trip time.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// When [`PathManager::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let trust = self.direct.map(|d| d.last_pong + TRUST);
        let expiry = self.pending.iter().map(|p| p.sent + PING_TIMEOUT).min();
        [self.next_discovery, self.next_heartbeat, trust, expiry]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs timers: pushes the addresses to ping into `pings`, returns a fallback if the
    /// direct path expired.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        pings: &mut Vec<SocketAddr>,
    ) -> Option<PathEvent> {
        self.pending.retain(|p| now < p.sent + PING_TIMEOUT);
        let mut event = None;
        if let Some(d) = self.direct
            && now >= d.last_pong + TRUST
        {
            self.direct = None;
            self.next_heartbeat = None;
            self.next_discovery = Some(now);
            event = Some(PathEvent::FellBack);
        }
        if let (Some(d), Some(t)) = (self.direct, self.next_heartbeat)
            && now >= t
        {
            pings.push(d.addr);
            self.next_heartbeat = Some(now + HEARTBEAT);
        }
        if self.direct.is_none()
            && let Some(t) = self.next_discovery
            && now >= t
        {
            if self.candidates.is_empty() {
                self.next_discovery = None;
            } else {
                pings.extend(self.candidates.iter().copied());
                self.next_discovery = Some(now + DISCOVERY_INTERVAL);
            }
        }
        if self.direct.is_some() {
            // Discovery only runs while on the relay; heartbeats cover the direct path.
            self.next_discovery = None;
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_on_pong_and_falls_back_without_heartbeats() {
        let t0 = Instant::now();
        let ep: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let mapped: SocketAddr = "10.0.0.2:6000".parse().unwrap();
        let mut pm = PathManager::new(false);
        assert_eq!(pm.current(), PathKind::Relay);
        pm.set_endpoints(t0, &[ep]);
        let mut pings = Vec::new();
        assert_eq!(pm.handle_timeout(t0, &mut pings), None);
        assert_eq!(pings, vec![ep]);
        pm.record_ping(t0, [1; 12]);
        // An unknown transaction changes nothing.
        assert_eq!(pm.on_pong(t0, [2; 12], mapped), None);
        let t1 = t0 + Duration::from_millis(3);
        assert_eq!(
            pm.on_pong(t1, [1; 12], mapped),
            Some(PathEvent::Upgraded(mapped))
        );
        assert_eq!(pm.current(), PathKind::Direct(mapped));
        assert_eq!(pm.rtt(), Some(Duration::from_millis(3)));
        assert_eq!(pm.poll_timeout(), Some(t1 + HEARTBEAT));
        pings.clear();
        assert_eq!(pm.handle_timeout(t1 + HEARTBEAT, &mut pings), None);
        assert_eq!(pings, vec![mapped]);
        assert_eq!(
            pm.handle_timeout(t1 + TRUST, &mut pings),
            Some(PathEvent::FellBack)
        );
        assert_eq!(pm.current(), PathKind::Relay);
    }

    #[test]
    fn blocked_direct_stays_on_relay() {
        let t0 = Instant::now();
        let mut pm = PathManager::new(true);
        pm.set_endpoints(t0, &["10.0.0.2:5000".parse().unwrap()]);
        let mut pings = Vec::new();
        pm.handle_timeout(t0, &mut pings);
        assert!(pings.is_empty());
        assert_eq!(pm.poll_timeout(), None);
    }
}
