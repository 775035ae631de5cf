//! A single-process coordinator (Coder's in-memory coordinator semantics), sans-IO: feed it
//! requests and connection events, get back the responses to deliver to each peer.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::{CoordinateRequest, CoordinateResponse, Node, PeerUpdate, PeerUpdateKind};

/// What kind of peer a connection is. Only clients add tunnels; agents receive them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A client (CLI, IDE).
    Client,
    /// A workspace agent.
    Agent,
}

#[derive(Debug)]
struct PeerState {
    role: Role,
    node: Option<Node>,
    connected: bool,
}

/// Peer directory and message broker for one replica.
#[derive(Debug, Default)]
pub struct InMemoryCoordinator {
    peers: BTreeMap<Uuid, PeerState>,
    /// (source client, destination agent)
    tunnels: BTreeSet<(Uuid, Uuid)>,
    authorized: BTreeSet<(Uuid, Uuid)>,
    allow_all: bool,
}

/// Responses to deliver: (recipient, response).
pub type Outbox = Vec<(Uuid, CoordinateResponse)>;

fn update(to: Uuid, id: Uuid, kind: PeerUpdateKind, reason: &str) -> (Uuid, CoordinateResponse) {
    let update = PeerUpdate {
        id,
        kind,
        reason: reason.to_string(),
    };
    (
        to,
        CoordinateResponse {
            peer_updates: vec![update],
            error: None,
        },
    )
}

impl InMemoryCoordinator {
    /// An empty coordinator that only allows authorized tunnels.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets any client add a tunnel to any agent (tests).
    pub fn allow_all(mut self) -> Self {
        self.allow_all = true;
        self
    }

    /// Lets `client` add a tunnel to `agent` (Coder's `TunnelAuth`).
    pub fn authorize(&mut self, client: Uuid, agent: Uuid) {
        self.authorized.insert((client, agent));
    }

    /// A peer connected (or reconnected). A reconnecting peer is sent the nodes of the peers
    /// it has tunnels with; they get its node again once it sends `UpdateSelf`.
    pub fn connect(&mut self, id: Uuid, role: Role) -> Outbox {
        let state = self.peers.entry(id).or_insert(PeerState {
            role,
            node: None,
            connected: true,
        });
        state.role = role;
        state.connected = true;
        self.tunnel_peers(id)
            .into_iter()
            .filter_map(|o| self.node_of(o).map(|n| (o, n)))
            .map(|(o, n)| update(id, o, PeerUpdateKind::Node(Box::new(n)), ""))
            .collect()
    }

    /// The peer's connection dropped without a goodbye: its tunnel peers see it as `Lost`.
    pub fn lose(&mut self, id: Uuid) -> Outbox {
        match self.peers.get_mut(&id) {
            Some(p) if p.connected => p.connected = false,
            _ => return Vec::new(),
        }
        self.tunnel_peers(id)
            .into_iter()
            .map(|other| {
                update(
                    other,
                    id,
                    PeerUpdateKind::Lost,
                    "coordinator connection lost",
                )
            })
            .collect()
    }

    fn tunnel_peers(&self, id: Uuid) -> Vec<Uuid> {
        self.tunnels
            .iter()
            .filter_map(|&(s, d)| {
                if s == id {
                    Some(d)
                } else if d == id {
                    Some(s)
                } else {
                    None
                }
            })
            .filter(|other| self.peers.get(other).is_some_and(|p| p.connected))
            .collect()
    }

    fn node_of(&self, id: Uuid) -> Option<Node> {
        self.peers.get(&id).and_then(|p| p.node.clone())
    }

    /// Handles one request from `from`.
    pub fn handle(&mut self, from: Uuid, request: CoordinateRequest) -> Outbox {
        let Some(me) = self.peers.get(&from) else {
            return vec![error(from, "not connected")];
        };
        let role = me.role;
        match request {
            CoordinateRequest::UpdateSelf { node } => {
                if let Some(p) = self.peers.get_mut(&from) {
                    if p.node.as_ref().is_some_and(|old| old.as_of > node.as_of) {
                        return Vec::new();
                    }
                    p.node = Some(node.clone());
                }
                self.tunnel_peers(from)
                    .into_iter()
                    .map(|o| update(o, from, PeerUpdateKind::Node(Box::new(node.clone())), ""))
                    .collect()
            }
            CoordinateRequest::AddTunnel { id } => {
                if role != Role::Client {
                    return vec![error(from, "agents cannot add tunnels")];
                }
                if !self.allow_all && !self.authorized.contains(&(from, id)) {
                    return vec![error(from, &format!("unauthorized tunnel to {id}"))];
                }
                self.tunnels.insert((from, id));
                let mut out = Vec::new();
                if let Some(node) = self.node_of(id) {
                    out.push(update(from, id, PeerUpdateKind::Node(Box::new(node)), ""));
                }
                let dst_connected = self.peers.get(&id).is_some_and(|p| p.connected);
                if let (Some(node), true) = (self.node_of(from), dst_connected) {
                    out.push(update(id, from, PeerUpdateKind::Node(Box::new(node)), ""));
                }
                out
            }
            CoordinateRequest::RemoveTunnel { id } => {
                if self.tunnels.remove(&(from, id)) {
                    vec![update(
                        id,
                        from,
                        PeerUpdateKind::Disconnected,
                        "tunnel removed",
                    )]
                } else {
                    Vec::new()
                }
            }
            CoordinateRequest::ReadyForHandshake { ids } => ids
                .into_iter()
                .filter(|src| self.tunnels.contains(&(*src, from)))
                .map(|src| update(src, from, PeerUpdateKind::ReadyForHandshake, ""))
                .collect(),
            CoordinateRequest::Disconnect => {
                let out = self
                    .tunnel_peers(from)
                    .into_iter()
                    .map(|o| update(o, from, PeerUpdateKind::Disconnected, "graceful disconnect"))
                    .collect();
                self.tunnels.retain(|&(s, d)| s != from && d != from);
                self.peers.remove(&from);
                out
            }
        }
    }
}

fn error(to: Uuid, message: &str) -> (Uuid, CoordinateResponse) {
    (
        to,
        CoordinateResponse {
            peer_updates: Vec::new(),
            error: Some(message.to_string()),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::NodeKey;

    fn node(seed: u8, as_of: u64) -> Node {
        Node {
            id: u64::from(seed),
            as_of,
            key: NodeKey::from_bytes([seed; 32]).public(),
            probe_key: NodeKey::from_bytes([seed + 1; 32]).public(),
            home_relay: 1,
            relay_latency: Default::default(),
            relay_forced_websocket: Default::default(),
            addresses: vec![],
            allowed_ips: vec![],
            endpoints: vec![],
        }
    }

    fn kinds(out: &Outbox) -> Vec<(Uuid, Uuid, &'static str)> {
        out.iter()
            .flat_map(|(to, r)| {
                r.peer_updates.iter().map(move |u| {
                    let k = match u.kind {
                        PeerUpdateKind::Node(_) => "node",
                        PeerUpdateKind::Disconnected => "disconnected",
                        PeerUpdateKind::Lost => "lost",
                        PeerUpdateKind::ReadyForHandshake => "ready",
                    };
                    (*to, u.id, k)
                })
            })
            .collect()
    }

    #[test]
    fn tunnel_lifecycle_mirrors_coder_v2() {
        let (client, agent, other) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let mut c = InMemoryCoordinator::new();
        c.authorize(client, agent);
        c.connect(client, Role::Client);
        c.connect(agent, Role::Agent);
        assert!(
            c.handle(agent, CoordinateRequest::UpdateSelf { node: node(2, 1) })
                .is_empty()
        );
        assert!(
            c.handle(client, CoordinateRequest::UpdateSelf { node: node(1, 1) })
                .is_empty()
        );
        // Unauthorized targets and agents adding tunnels are refused.
        let refused = c.handle(client, CoordinateRequest::AddTunnel { id: other });
        assert_eq!(
            refused[0].1.error.as_deref(),
            Some(&*format!("unauthorized tunnel to {other}"))
        );
        let refused = c.handle(agent, CoordinateRequest::AddTunnel { id: client });
        assert_eq!(
            refused[0].1.error.as_deref(),
            Some("agents cannot add tunnels")
        );

        let out = c.handle(client, CoordinateRequest::AddTunnel { id: agent });
        assert_eq!(
            kinds(&out),
            vec![(client, agent, "node"), (agent, client, "node")]
        );
        let out = c.handle(
            agent,
            CoordinateRequest::ReadyForHandshake { ids: vec![client] },
        );
        assert_eq!(kinds(&out), vec![(client, agent, "ready")]);
        // An older record is ignored; a newer one is forwarded.
        assert!(
            c.handle(agent, CoordinateRequest::UpdateSelf { node: node(2, 0) })
                .is_empty()
        );
        let out = c.handle(agent, CoordinateRequest::UpdateSelf { node: node(2, 5) });
        assert_eq!(kinds(&out), vec![(client, agent, "node")]);
        assert_eq!(kinds(&c.lose(agent)), vec![(client, agent, "lost")]);
        // The agent comes back: it is sent the client's node at once.
        assert_eq!(
            kinds(&c.connect(agent, Role::Agent)),
            vec![(agent, client, "node")]
        );
        let out = c.handle(client, CoordinateRequest::Disconnect);
        assert_eq!(kinds(&out), vec![(agent, client, "disconnected")]);
        assert!(
            c.handle(agent, CoordinateRequest::UpdateSelf { node: node(2, 6) })
                .is_empty()
        );
    }
}
