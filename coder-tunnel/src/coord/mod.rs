//! Coordination messages, mirroring the semantics of Coder's tailnet v2 `Coordinate` stream
//! (transport-agnostic; JSON via serde today), and an in-memory coordinator for tests.
//!
//! A node publishes itself with [`CoordinateRequest::UpdateSelf`]; a client asks for a tunnel
//! to an agent with [`CoordinateRequest::AddTunnel`]; each side then receives the other's
//! [`Node`] as a [`PeerUpdate`]. The destination answers with
//! [`CoordinateRequest::ReadyForHandshake`] once it has installed the source, so the source's
//! first WireGuard handshake is not dropped.

pub mod memory;
pub mod relay_map;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use ipnet::{IpNet, Ipv6Net};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use memory::{InMemoryCoordinator, Role};
pub use relay_map::{RelayMap, RelayNode, RelayRegion};

use crate::keys::NodePublic;

/// What a node says about itself (Coder's `Node`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Numeric id: the last 8 bytes of the node's UUID, forced positive ([`node_id`]).
    pub id: u64,
    /// When this record was produced, in UNIX milliseconds (newer records win).
    pub as_of: u64,
    /// WireGuard static public key.
    pub key: NodePublic,
    /// Probe public key (Coder's "disco" key).
    pub probe_key: NodePublic,
    /// Home relay region id (0 = none).
    pub home_relay: u16,
    /// Measured latency to each relay region, in seconds.
    #[serde(default)]
    pub relay_latency: BTreeMap<String, f64>,
    /// Regions where the relay is forced onto WebSockets, with the reason.
    #[serde(default)]
    pub relay_forced_websocket: BTreeMap<String, String>,
    /// The node's own `/128` addresses.
    pub addresses: Vec<Ipv6Net>,
    /// Addresses the node may send from (usually equal to `addresses`).
    pub allowed_ips: Vec<IpNet>,
    /// Direct UDP endpoints (local interfaces, STUN).
    #[serde(default)]
    pub endpoints: Vec<SocketAddr>,
}

/// A node id from a UUID: the last 8 bytes, big-endian, with the sign bit cleared.
pub fn node_id(id: Uuid) -> u64 {
    let b = id.as_bytes();
    let mut last = [0u8; 8];
    last.copy_from_slice(&b[8..]);
    u64::from_be_bytes(last) & (i64::MAX as u64)
}

/// Requests a node sends to the coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CoordinateRequest {
    /// Our node changed (sent on start and whenever keys, endpoints or relay change).
    UpdateSelf {
        /// The new record.
        node: Node,
    },
    /// A client asks for a tunnel to an agent.
    AddTunnel {
        /// The agent's UUID.
        id: Uuid,
    },
    /// A client is done with a tunnel.
    RemoveTunnel {
        /// The agent's UUID.
        id: Uuid,
    },
    /// The destination has installed these sources' nodes; they may handshake now.
    ReadyForHandshake {
        /// Source peers.
        ids: Vec<Uuid>,
    },
    /// Graceful goodbye.
    Disconnect,
}

/// What the coordinator sends a node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CoordinateResponse {
    /// Changes to peers.
    #[serde(default)]
    pub peer_updates: Vec<PeerUpdate>,
    /// A request was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One change about one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerUpdate {
    /// The peer's UUID.
    pub id: Uuid,
    /// What happened.
    pub kind: PeerUpdateKind,
    /// Human-readable reason (for `Disconnected`).
    #[serde(default)]
    pub reason: String,
}

/// Kinds of peer update (Coder's `NODE`, `DISCONNECTED`, `LOST`, `READY_FOR_HANDSHAKE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "node", rename_all = "snake_case")]
pub enum PeerUpdateKind {
    /// The peer's current node.
    Node(Box<Node>),
    /// The peer left gracefully; tear the tunnel down.
    Disconnected,
    /// The peer lost its coordinator connection and may come back; keep the tunnel.
    Lost,
    /// The peer installed our node; handshake now.
    ReadyForHandshake,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::NodeKey;

    #[test]
    fn node_id_takes_last_eight_bytes_positive() {
        let id: Uuid = "aaaaaaaa-aaaa-aaaa-ffff-123456789abc".parse().unwrap();
        assert_eq!(node_id(id), 0x7fff_1234_5678_9abc);
    }

    #[test]
    fn messages_round_trip_as_json() {
        let node = Node {
            id: 1,
            as_of: 2,
            key: NodeKey::from_bytes([1; 32]).public(),
            probe_key: NodeKey::from_bytes([2; 32]).public(),
            home_relay: 1,
            relay_latency: BTreeMap::from([("1".to_string(), 0.01)]),
            relay_forced_websocket: BTreeMap::new(),
            addresses: vec!["fdc7:2d1e:7b30::1/128".parse().unwrap()],
            allowed_ips: vec!["fdc7:2d1e:7b30::1/128".parse().unwrap()],
            endpoints: vec!["127.0.0.1:4000".parse().unwrap()],
        };
        let resp = CoordinateResponse {
            peer_updates: vec![
                PeerUpdate {
                    id: Uuid::nil(),
                    kind: PeerUpdateKind::Node(Box::new(node.clone())),
                    reason: String::new(),
                },
                PeerUpdate {
                    id: Uuid::nil(),
                    kind: PeerUpdateKind::Lost,
                    reason: String::new(),
                },
            ],
            error: None,
        };
        let json = serde_json::to_string(&resp).unwrap();
        assert!(json.contains(r#""kind":{"type":"lost"}"#), "{json}");
        assert_eq!(
            serde_json::from_str::<CoordinateResponse>(&json).unwrap(),
            resp
        );
        let req = CoordinateRequest::ReadyForHandshake {
            ids: vec![Uuid::nil()],
        };
        let json = serde_json::to_string(&req).unwrap();
        assert_eq!(
            json,
            r#"{"type":"ready_for_handshake","ids":["00000000-0000-0000-0000-000000000000"]}"#
        );
        assert_eq!(
            serde_json::from_str::<CoordinateRequest>(&json).unwrap(),
            req
        );
    }
}
