//! The peers of one core, stored in slots so the data path finds a peer with one vector index
//! instead of hashing its 32-byte key several times per packet.
//!
//! Lookups by WireGuard key and by our session index go through hash maps; the two lookups
//! every packet makes (session index on receive, inner destination on send) are remembered in
//! one-entry caches that are checked against the peer before use, so a cache can only ever
//! save a lookup, never return a peer the slow path would not.
//!
//! Inner addresses route as WireGuard's cryptokey routing does: the peer with the longest
//! allowed prefix containing the address wins (the lowest slot among equals), and a peer may
//! only send from addresses that route to it.

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

    /// Whether one of the peer's allowed networks contains `ip` (another peer's longer prefix
    /// may still route it: see [`PeerTable::routes`]).
    pub(super) fn owns(&self, ip: IpAddr) -> bool {
        self.allowed.iter().any(|n| n.contains(&ip))
    }

    /// The longest of the peer's allowed prefixes that contains `ip`.
    fn prefix_for(&self, ip: IpAddr) -> Option<u8> {
        self.allowed
            .iter()
            .filter(|n| n.contains(&ip))
            .map(IpNet::prefix_len)
            .max()
    }
}

/// Whether two peers' allowed networks share an address.
fn overlap(a: &Peer, b: &Peer) -> bool {
    a.allowed.iter().any(|x| {
        b.allowed
            .iter()
            .any(|y| x.contains(&y.network()) || y.contains(&x.network()))
    })
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
    /// Some peers' allowed networks overlap, so owning an address is not routing it.
    overlapping: bool,
}

impl PeerTable {
    pub(super) fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Adds a peer in the first free slot (replacing none: remove an old one with the same key
    /// first).
    pub(super) fn insert(&mut self, peer: Peer) -> Slot {
        self.insert_at(None, peer)
    }

    /// Adds a peer in slot `preferred` if that is free, else in the first free one: an
    /// updated peer goes back where [`Self::take`] found it, keeping its place among others.
    pub(super) fn insert_at(&mut self, preferred: Option<Slot>, peer: Peer) -> Slot {
        let free = preferred
            .filter(|&s| self.slots.get(s).is_some_and(Option::is_none))
            .or_else(|| self.slots.iter().position(Option::is_none));
        let slot = match free {
            Some(free) => free,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        let overlaps = self.iter().any(|p| overlap(p, &peer));
        self.overlapping |= overlaps;
        self.by_key.insert(peer.key, slot);
        self.by_index.insert(peer.index, slot);
        self.slots[slot] = Some(peer);
        // A new peer may route the cached destination by a longer prefix.
        self.last_ip = None;
        slot
    }

    pub(super) fn remove(&mut self, key: &NodePublic) -> Option<Peer> {
        Some(self.take(key)?.1)
    }

    /// Removes a peer, to update it and [`Self::insert_at`] the same slot.
    pub(super) fn take(&mut self, key: &NodePublic) -> Option<(Slot, Peer)> {
        let slot = self.by_key.remove(key)?;
        let peer = self.slots.get_mut(slot)?.take()?;
        self.by_index.remove(&peer.index);
        self.last_index = None;
        self.last_ip = None;
        let peers: Vec<&Peer> = self.iter().collect();
        self.overlapping = peers
            .iter()
            .enumerate()
            .any(|(i, a)| peers[i + 1..].iter().any(|b| overlap(a, b)));
        Some((slot, peer))
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

    /// The peer that routes `ip` (cached; see [`Self::find_ip`]). The cache is cleared
    /// whenever a peer is added or removed, the only ways allowed networks change.
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

    /// The peer with the longest allowed prefix containing `ip`; the lowest slot among equals.
    pub(super) fn find_ip(&self, ip: IpAddr) -> Option<Slot> {
        let mut best: Option<(u8, Slot)> = None;
        for (slot, peer) in self.slots.iter().enumerate() {
            let Some(len) = peer.as_ref().and_then(|p| p.prefix_for(ip)) else {
                continue;
            };
            if best.is_none_or(|(b, _)| len > b) {
                best = Some((len, slot));
            }
        }
        best.map(|(_, slot)| slot)
    }

    /// Whether `ip` routes to the peer in `slot`: the source check for what it sends. Without
    /// overlapping networks (the usual case) that is a look at the peer's own list.
    pub(super) fn routes(&self, slot: Slot, ip: IpAddr) -> bool {
        if self.overlapping {
            self.find_ip(ip) == Some(slot)
        } else {
            self.at(slot).is_some_and(|p| p.owns(ip))
        }
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
        peer_with(seed, index, &[allowed])
    }

    fn peer_with(seed: u8, index: u32, allowed: &[&str]) -> Peer {
        let now = Instant::now();
        let own = NodeKey::from_bytes([1; 32]);
        let key = NodeKey::from_bytes([seed; 32]).public();
        let limiter = WgRateLimiter::new(&own, 10, WgClock::new(now), now);
        let session = BoringtunSession::new(&own, key, index, None, &limiter, now);
        let path = PathManager::fixed("127.0.0.1:1".parse().unwrap());
        let mut peer = Peer::new(key, Box::new(session), index, path);
        peer.allowed = allowed.iter().map(|a| a.parse().unwrap()).collect();
        peer
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// With overlapping allowed networks the longest prefix routes, whichever slot holds it,
    /// and a peer may not send from an address a longer prefix gives to another peer.
    #[test]
    fn overlapping_networks_route_by_longest_prefix() {
        let mut table = PeerTable::default();
        let wide = peer_with(2, 1, &["10.0.0.0/8", "fd00::/64"]);
        let narrow = peer_with(3, 2, &["10.1.0.0/16", "fd00::5/128"]);
        let (wide_key, narrow_key) = (wide.key, narrow.key);
        assert_eq!(table.insert(wide), 0);
        assert_eq!(table.insert(narrow), 1);
        for (addr, slot) in [
            ("10.1.2.3", 1),
            ("10.2.0.1", 0),
            ("fd00::5", 1),
            ("fd00::6", 0),
        ] {
            assert_eq!(table.find_ip(ip(addr)), Some(slot), "{addr}");
            assert_eq!(table.slot_for_ip(ip(addr)), Some(slot), "{addr}");
            assert!(table.routes(slot, ip(addr)), "{addr}");
            assert!(!table.routes(1 - slot, ip(addr)), "{addr}");
        }
        assert_eq!(table.find_ip(ip("192.0.2.1")), None);
        // Updating the wide peer keeps its slot; the narrow one still wins its addresses.
        let (slot, wide) = table.take(&wide_key).unwrap();
        assert_eq!(table.slot_for_ip(ip("10.2.0.1")), None);
        assert_eq!(table.insert_at(Some(slot), wide), 0);
        assert_eq!(table.slot_for_ip(ip("10.1.2.3")), Some(1));
        assert_eq!(table.slot_for_ip(ip("10.2.0.1")), Some(0));
        // Without the narrow peer the wide one routes (and may send from) everything it owns.
        table.remove(&narrow_key).unwrap();
        assert_eq!(table.slot_for_ip(ip("10.1.2.3")), Some(0));
        assert!(table.routes(0, ip("10.1.2.3")));
        assert!(!table.overlapping);
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
