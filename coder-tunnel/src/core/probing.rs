//! Path probes: sealed pings and pongs on direct candidates, call-me-maybe through the relay,
//! and the path changes their answers cause.

use std::time::Instant;

use super::{Core, Destination, Event, Via};
use crate::keys::NodePublic;
use crate::path::{PathEvent, PathKind};
use crate::probe::{self, Probe, ProbeKind, TxId};

impl Core {
    pub(super) fn handle_probe(&mut self, now: Instant, via: Via, datagram: &[u8]) {
        let sender = match probe::peek_sender(datagram) {
            Ok(s) => s,
            Err(_) => {
                self.stats.dropped_malformed += 1;
                return;
            }
        };
        let Some(key) = self.by_probe.get(&sender).copied() else {
            self.stats.dropped_unknown_peer += 1;
            return;
        };
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let Some(pk) = &peer.probe else { return };
        let msg = match pk.open(datagram) {
            Ok(m) => m,
            Err(_) => {
                self.stats.dropped_auth += 1;
                return;
            }
        };
        self.stats.probes_rx += 1;
        match (msg.kind, via) {
            (ProbeKind::Ping, Via::Udp(src)) => {
                peer.path.add_candidate(now, src);
                let pong = Probe {
                    kind: ProbeKind::Pong { observed: src },
                    tx_id: msg.tx_id,
                };
                self.send_probe(key, pong, Destination::Udp(src));
            }
            (ProbeKind::Pong { .. }, Via::Udp(src)) => {
                if let Some(ev) = peer.path.on_pong(now, msg.tx_id, src) {
                    self.path_event(now, key, ev);
                }
            }
            (ProbeKind::CallMeMaybe, _) => peer.path.trigger_discovery(now),
            // Pings and pongs only make sense on direct paths.
            (_, Via::Relay) => {}
        }
    }

    pub(super) fn path_event(&mut self, now: Instant, key: NodePublic, ev: PathEvent) {
        let path = match ev {
            PathEvent::Upgraded(a) => PathKind::Direct(a),
            PathEvent::FellBack => {
                // Our NAT mapping may have changed: rediscover it.
                self.discovery.trigger(now);
                PathKind::Relay
            }
        };
        self.events
            .push_back(Event::PathChanged { peer: key, path });
    }

    pub(super) fn send_probe(&mut self, key: NodePublic, probe: Probe, dst: Destination) {
        let Some(pk) = self.peers.get(&key).and_then(|p| p.probe.as_ref()) else {
            return;
        };
        pk.seal(&probe, &mut self.probe_buf);
        let mut buf = self.pool.get();
        buf.truncate(0);
        buf.extend_from_slice(&self.probe_buf);
        self.stats.probes_tx += 1;
        self.push_transmit(dst, buf);
    }

    /// A probe transaction id: a counter, then the core's seed. Probes are sealed, so a
    /// predictable id gives an attacker nothing (STUN ids, which are not, are random).
    pub(super) fn next_tx_id(&mut self) -> TxId {
        self.next_tx = self.next_tx.wrapping_add(1);
        let mut id = [0u8; 12];
        id[..8].copy_from_slice(&self.next_tx.to_be_bytes());
        id[8..].copy_from_slice(&self.config.seed.to_be_bytes());
        id
    }

    /// Sends call-me-maybe through the relay so the peer probes our endpoints now.
    pub fn call_me_maybe(&mut self, key: NodePublic) {
        let tx_id = self.next_tx_id();
        self.send_probe(
            key,
            Probe {
                kind: ProbeKind::CallMeMaybe,
                tx_id,
            },
            Destination::Relay(key),
        );
    }
}
