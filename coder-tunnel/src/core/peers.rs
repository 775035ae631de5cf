//! The peers of one core, stored in slots so the data path finds a peer with one vector index
//! instead of hashing its 32-byte key several times per packet.
//!
//! Lookups by WireGuard key and by our session index go through hash maps; the two lookups
//! every packet makes (session index on receive, inner destination on send) are remembered in
//! one-entry caches that are checked against the peer before use, so a cache can only ever
//! save a lookup, never return a peer the slow path would not.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use ipnet::IpNet;
use uuid::Uuid;

use crate::coord::Node;
use crate::keys::NodePublic;
use crate::path::PathManager;
use crate::probe::ProbeKey;
use crate::wg::WgSession;

/// Where a peer lives in a [`PeerTable`]; valid until the peer is removed.
pub(super) type Slot = usize;

pub(super) struct Peer {
    pub(super) id: Option<Uuid>,
    pub(super) key: NodePublic,
    pub(super) node: Option<Node>,
    pub(super) session: Box<dyn WgSession>,
    pub(super) index: u32,
    pub(super) path: PathManager,
    pub(super) probe: Option<ProbeKey>,
    pub(super) allowed: Vec<IpNet>,
    pub(super) relay: bool,
    pub(super) established_at: Option<Instant>,
    /// We started a handshake (we are the one waiting for a session).
    pub(super) initiated: bool,
    pub(super) handshakes: u32,
    pub(super) lost: bool,
    pub(super) last_error: Option<String>,
}

impl Peer {
    /// A peer with nothing known beyond its key, session and path manager.
    pub(super) fn new(
        key: NodePublic,
        session: Box<dyn WgSession>,
        index: u32,
        path: PathManager,
    ) -> Self {
        Self {
            id: None,
            key,
            node: None,
            session,
            index,
            path,
            probe: None,
            allowed: Vec::new(),
            relay: false,
            established_at: None,
            initiated: false,
            handshakes: 0,
            lost: false,
            last_error: None,
        }
    }

    /// Whether the peer owns (routes, may send from) `ip`.
    pub(super) fn owns(&self, ip: IpAddr) -> bool {
        self.allowed.iter().any(|n| n.contains(&ip))
    }
}

/// Slots of peers with lookups by key and session index.
#[derive(Default)]
pub(super) struct PeerTable {
    slots: Vec<Option<Peer>>,
    by_key: HashMap<NodePublic, Slot>,
    by_index: HashMap<u32, Slot>,
    /// The last session index resolved on receive.
    last_index: Option<(u32, Slot)>,
    /// The last inner destination resolved on send.
    last_ip: Option<(IpAddr, Slot)>,
}

impl PeerTable {
    pub(super) fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Adds a peer (replacing none: remove an old one with the same key first).
    pub(super) fn insert(&mut self, peer: Peer) -> Slot {
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.by_key.insert(peer.key, slot);
        self.by_index.insert(peer.index, slot);
        self.slots[slot] = Some(peer);
        // A new peer may own the cached destination first.
        self.last_ip = None;
        slot
    }

    pub(super) fn remove(&mut self, key: &NodePublic) -> Option<Peer> {
        let slot = self.by_key.remove(key)?;
        let peer = self.slots.get_mut(slot)?.take()?;
        self.by_index.remove(&peer.index);
        self.last_index = None;
        self.last_ip = None;
        Some(peer)
    }

    pub(super) fn slot(&self, key: &NodePublic) -> Option<Slot> {
        self.by_key.get(key).copied()
    }

    pub(super) fn contains_key(&self, key: &NodePublic) -> bool {
        self.by_key.contains_key(key)
    }

    pub(super) fn contains_index(&self, index: u32) -> bool {
        self.by_index.contains_key(&index)
    }

    pub(super) fn at(&self, slot: Slot) -> Option<&Peer> {
        self.slots.get(slot)?.as_ref()
    }

    pub(super) fn at_mut(&mut self, slot: Slot) -> Option<&mut Peer> {
        self.slots.get_mut(slot)?.as_mut()
    }

    pub(super) fn get(&self, key: &NodePublic) -> Option<&Peer> {
        self.at(self.slot(key)?)
    }

    pub(super) fn get_mut(&mut self, key: &NodePublic) -> Option<&mut Peer> {
        self.at_mut(self.slot(key)?)
    }

    /// The peer holding our session index `index`.
    pub(super) fn slot_for_index(&mut self, index: u32) -> Option<Slot> {
        if let Some((i, slot)) = self.last_index
            && i == index
            && self.at(slot).is_some_and(|p| p.index == index)
        {
            return Some(slot);
        }
        let slot = *self.by_index.get(&index)?;
        self.last_index = Some((index, slot));
        Some(slot)
    }

    /// The peer that routes `ip` (cached; see [`Self::find_ip`]).
    pub(super) fn slot_for_ip(&mut self, ip: IpAddr) -> Option<Slot> {
        if let Some((cached, slot)) = self.last_ip
            && cached == ip
            && self.at(slot).is_some_and(|p| p.owns(ip))
        {
            return Some(slot);
        }
        let slot = self.find_ip(ip)?;
        self.last_ip = Some((ip, slot));
        Some(slot)
    }

    /// The first peer, in slot order, whose allowed networks contain `ip`.
    pub(super) fn find_ip(&self, ip: IpAddr) -> Option<Slot> {
        self.slots
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.owns(ip)))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Peer> {
        self.slots.iter().flatten()
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Peer> {
        self.slots.iter_mut().flatten()
    }

    pub(super) fn keys(&self) -> impl Iterator<Item = NodePublic> + '_ {
        self.iter().map(|p| p.key)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::keys::NodeKey;
    use crate::wg::{BoringtunSession, WgClock, WgRateLimiter};

    fn peer(seed: u8, index: u32, allowed: &str) -> Peer {
        let now = Instant::now();
        let own = NodeKey::from_bytes([1; 32]);
        let key = NodeKey::from_bytes([seed; 32]).public();
        let limiter = WgRateLimiter::new(&own, 10, WgClock::new(now), now);
        let session = BoringtunSession::new(&own, key, index, None, &limiter, now);
        let path = PathManager::fixed("127.0.0.1:1".parse().unwrap());
        let mut peer = Peer::new(key, Box::new(session), index, path);
        peer.allowed = vec![allowed.parse().unwrap()];
        peer
    }

    /// A cached lookup never outlives its peer: a new peer in the same slot does not inherit
    /// the old one's session index or addresses.
    #[test]
    fn caches_follow_removal_and_slot_reuse() {
        let mut table = PeerTable::default();
        let a = peer(2, 7, "fd00::1/128");
        let a_key = a.key;
        assert_eq!(table.insert(a), 0);
        let ip: IpAddr = "fd00::1".parse().unwrap();
        assert_eq!(table.slot_for_index(7), Some(0));
        assert_eq!(table.slot_for_ip(ip), Some(0));
        assert!(table.remove(&a_key).is_some());
        assert_eq!(table.insert(peer(3, 8, "fd00::2/128")), 0);
        assert_eq!(table.slot_for_index(7), None);
        assert_eq!(table.slot_for_ip(ip), None);
        assert_eq!(table.slot_for_index(8), Some(0));
        assert_eq!(table.slot_for_ip("fd00::2".parse().unwrap()), Some(0));
        // A second peer goes to a new slot; the first keeps its lookups.
        assert_eq!(table.insert(peer(4, 9, "fd00::3/128")), 1);
        assert_eq!(table.slot_for_index(9), Some(1));
        assert_eq!(table.slot_for_index(8), Some(0));
        assert_eq!(table.len(), 2);
    }
}
