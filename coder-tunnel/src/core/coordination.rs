//! Which peers the core has: tunnels we ask the coordinator for, the node updates it sends
//! (installing, replacing, losing and removing peers), ready-for-handshake for sources that
//! dial us, and static WireGuard peers that need no coordinator.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use uuid::Uuid;

use super::peers::Peer;
use super::{Core, Event};
use crate::coord::{CoordinateRequest, Node, PeerUpdate, PeerUpdateKind};
use crate::keys::NodePublic;
use crate::path::PathManager;
use crate::probe::ProbeKey;
use crate::wg::BoringtunSession;

/// How long a destination waits for its relay connection before sending ready-for-handshake
/// anyway (direct paths may still work).
pub const RELAY_WAIT: Duration = Duration::from_millis(500);

impl Core {
    pub(super) fn flush_pending_ready(&mut self) {
        self.pending_ready_deadline = None;
        if !self.pending_ready.is_empty() {
            let ids = std::mem::take(&mut self.pending_ready);
            let req = CoordinateRequest::ReadyForHandshake { ids };
            self.events.push_back(Event::Coordinate(req));
        }
    }

    /// Asks the coordinator for a tunnel to an agent (client side).
    pub fn add_tunnel(&mut self, id: Uuid) {
        if !self.dialed.contains(&id) {
            self.dialed.push(id);
        }
        self.events
            .push_back(Event::Coordinate(CoordinateRequest::AddTunnel { id }));
    }

    /// Drops a tunnel we asked for.
    pub fn remove_tunnel(&mut self, id: Uuid) {
        self.dialed.retain(|d| *d != id);
        if let Some(key) = self.by_id.get(&id).copied() {
            self.remove_peer(key);
        }
        self.events
            .push_back(Event::Coordinate(CoordinateRequest::RemoveTunnel { id }));
    }

    /// Says goodbye to the coordinator.
    pub fn disconnect(&mut self) {
        self.events
            .push_back(Event::Coordinate(CoordinateRequest::Disconnect));
    }

    fn alloc_index(&mut self) -> u32 {
        loop {
            self.next_index = (self.next_index + 1) & 0x00ff_ffff;
            if !self.peers.contains_index(self.next_index) {
                return self.next_index;
            }
        }
    }

    fn new_peer(&mut self, now: Instant, key: NodePublic, path: PathManager) -> Peer {
        let index = self.alloc_index();
        let session = BoringtunSession::new(
            &self.config.node_key,
            key,
            index,
            self.config.persistent_keepalive,
            &self.limiter,
            now,
        );
        Peer::new(key, Box::new(session), index, path)
    }

    /// Adds a plain WireGuard peer with a fixed endpoint (no coordinator, no probes), e.g.
    /// wireguard-go. `allowed` are the inner addresses it may send from and we route to it.
    pub fn add_static_peer(
        &mut self,
        now: Instant,
        key: NodePublic,
        endpoint: SocketAddr,
        allowed: Vec<IpNet>,
    ) {
        self.remove_peer(key);
        let mut peer = self.new_peer(now, key, PathManager::fixed(endpoint));
        peer.allowed = allowed;
        self.peers.insert(peer);
    }

    fn remove_peer(&mut self, key: NodePublic) -> bool {
        let Some(peer) = self.peers.remove(&key) else {
            return false;
        };
        if let Some(node) = &peer.node {
            self.by_probe.remove(&node.probe_key);
        }
        if let Some(id) = peer.id {
            self.by_id.remove(&id);
        }
        true
    }

    /// Applies one coordinator update.
    pub fn apply_peer_update(&mut self, now: Instant, update: PeerUpdate) {
        match update.kind {
            PeerUpdateKind::Node(node) => self.install_node(now, update.id, *node),
            PeerUpdateKind::ReadyForHandshake => {
                // The peer has just installed our node, perhaps after losing its state: start
                // a fresh handshake now rather than after a 5 s retry or a 15 s dead session.
                if let Some(key) = self.by_id.get(&update.id).copied() {
                    self.initiate(now, key, true);
                }
            }
            PeerUpdateKind::Lost => {
                if let Some(peer) = self
                    .by_id
                    .get(&update.id)
                    .and_then(|k| self.peers.get_mut(k))
                {
                    peer.lost = true;
                }
            }
            PeerUpdateKind::Disconnected => {
                if let Some(key) = self.by_id.get(&update.id).copied()
                    && self.remove_peer(key)
                {
                    self.events.push_back(Event::PeerRemoved { peer: key });
                }
            }
        }
    }

    /// Marks every peer lost (our coordinator connection dropped); tunnels stay up.
    pub fn set_all_peers_lost(&mut self) {
        for peer in self.peers.iter_mut() {
            peer.lost = true;
        }
    }

    fn install_node(&mut self, now: Instant, id: Uuid, node: Node) {
        // A new key for a known id replaces the peer (it restarted with a new identity).
        if let Some(old) = self.by_id.get(&id).copied()
            && old != node.key
        {
            self.remove_peer(old);
        }
        let key = node.key;
        let is_new = !self.peers.contains_key(&key);
        // An update keeps the peer's slot (the tie-break among equal prefixes).
        let (slot, mut peer) = match self.peers.take(&key) {
            Some((slot, p)) => (Some(slot), p),
            None => (
                None,
                self.new_peer(now, key, PathManager::new(self.config.block_direct)),
            ),
        };
        if let Some(old) = &peer.node {
            if old.as_of > node.as_of {
                self.peers.insert_at(slot, peer);
                return;
            }
            self.by_probe.remove(&old.probe_key);
        }
        peer.id = Some(id);
        peer.lost = false;
        peer.allowed = node.allowed_ips.clone();
        for a in &node.addresses {
            if !peer.allowed.contains(&IpNet::V6(*a)) {
                peer.allowed.push(IpNet::V6(*a));
            }
        }
        peer.relay = node.home_relay != 0;
        peer.probe = Some(ProbeKey::new(&self.config.probe_key, &node.probe_key));
        let endpoints_changed = peer
            .node
            .as_ref()
            .is_none_or(|o| o.endpoints != node.endpoints);
        if endpoints_changed {
            peer.path.set_endpoints(now, &node.endpoints);
        }
        self.by_probe.insert(node.probe_key, key);
        self.by_id.insert(id, key);
        peer.node = Some(node);
        self.peers.insert_at(slot, peer);
        if is_new && !self.dialed.contains(&id) {
            // We are the destination: tell the source it may handshake now, or once our relay
            // connection is up (an initiation relayed before we are logged in would be lost
            // and retried only after 5 s).
            if self.config.home_relay != 0 && !self.relay_connected {
                self.pending_ready.push(id);
                self.pending_ready_deadline.get_or_insert(now + RELAY_WAIT);
            } else {
                let req = CoordinateRequest::ReadyForHandshake { ids: vec![id] };
                self.events.push_back(Event::Coordinate(req));
            }
        }
    }
}
