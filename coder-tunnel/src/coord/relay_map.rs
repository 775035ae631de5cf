//! The relay directory (Coder's DERP map): regions of relay servers, and where those servers
//! answer STUN. Resolving host names is I/O and is left to the driver
//! ([`crate::driver::resolve_stun_servers`]); this module only reads the map.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::http::Uri;

/// The relay directory (Coder's DERP map).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RelayMap {
    /// Regions by id.
    pub regions: BTreeMap<u16, RelayRegion>,
}

/// One relay region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayRegion {
    /// Region id (as in [`super::Node::home_relay`]).
    pub region_id: u16,
    /// Short code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Relay servers in the region.
    pub nodes: Vec<RelayNode>,
}

/// One relay server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayNode {
    /// Name.
    pub name: String,
    /// WebSocket URL of the relay endpoint, e.g. `ws://127.0.0.1:8080/relay`.
    pub url: String,
    /// STUN port (0 = none).
    #[serde(default)]
    pub stun_port: u16,
    /// The server's IPv4 address, used instead of resolving the URL's host (Coder's `IPv4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Addr>,
    /// The server's IPv6 address, used instead of resolving the URL's host (Coder's `IPv6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
}

/// Where one relay server answers STUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StunTarget {
    /// Known addresses: the node's `ipv4` and `ipv6`, or its URL's host when that is an IP
    /// literal.
    Addrs(Vec<SocketAddr>),
    /// A host name to resolve, and the STUN port.
    Host(String, u16),
}

impl RelayNode {
    /// Where this server answers STUN; `None` without a STUN port or with a URL that names no
    /// host.
    pub fn stun_target(&self) -> Option<StunTarget> {
        if self.stun_port == 0 {
            return None;
        }
        let port = self.stun_port;
        let literal: Vec<SocketAddr> = [self.ipv4.map(IpAddr::V4), self.ipv6.map(IpAddr::V6)]
            .into_iter()
            .flatten()
            .map(|ip| SocketAddr::new(ip, port))
            .collect();
        if !literal.is_empty() {
            return Some(StunTarget::Addrs(literal));
        }
        let uri: Uri = self.url.parse().ok()?;
        let host = uri.host()?;
        // `Uri` keeps the brackets of an IPv6 literal.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        Some(match bare.parse::<IpAddr>() {
            Ok(ip) => StunTarget::Addrs(vec![SocketAddr::new(ip, port)]),
            Err(_) => StunTarget::Host(host.to_owned(), port),
        })
    }
}

impl RelayMap {
    /// Every server's STUN target, by region id then node order.
    pub fn stun_targets(&self) -> Vec<StunTarget> {
        self.regions
            .values()
            .flat_map(|r| &r.nodes)
            .filter_map(RelayNode::stun_target)
            .collect()
    }

    /// The STUN servers whose addresses the map gives ([`StunTarget::Addrs`]), ready for
    /// [`crate::driver::TunnelConfig::stun_servers`]. Servers known only by host name are left
    /// out; [`crate::driver::resolve_stun_servers`] resolves those too.
    pub fn stun_servers(&self) -> Vec<SocketAddr> {
        self.stun_targets()
            .into_iter()
            .flat_map(|t| match t {
                StunTarget::Addrs(a) => a,
                StunTarget::Host(..) => Vec::new(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(url: &str, stun_port: u16) -> RelayNode {
        RelayNode {
            name: url.to_owned(),
            url: url.to_owned(),
            stun_port,
            ipv4: None,
            ipv6: None,
        }
    }

    fn map() -> RelayMap {
        let region = |region_id, nodes| RelayRegion {
            region_id,
            code: format!("r{region_id}"),
            name: format!("region {region_id}"),
            nodes,
        };
        let pinned = RelayNode {
            ipv4: Some(Ipv4Addr::new(198, 51, 100, 7)),
            ipv6: Some("2001:db8::7".parse().unwrap()),
            ..node("wss://relay.example.com/relay", 3478)
        };
        RelayMap {
            regions: BTreeMap::from([
                (
                    2,
                    region(
                        2,
                        vec![
                            node("ws://[2001:db8::1]:8080/relay", 3479),
                            node("ws://relay-two.example.com:8080/relay", 3478),
                        ],
                    ),
                ),
                (
                    1,
                    region(
                        1,
                        vec![
                            node("ws://127.0.0.1:8080/relay", 8080),
                            node("ws://127.0.0.2:8080/relay", 0),
                            pinned,
                        ],
                    ),
                ),
            ]),
        }
    }

    #[test]
    fn stun_servers_take_literal_addresses_and_skip_port_zero() {
        let sa = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(
            map().stun_servers(),
            vec![
                sa("127.0.0.1:8080"),
                sa("198.51.100.7:3478"),
                sa("[2001:db8::7]:3478"),
                sa("[2001:db8::1]:3479"),
            ]
        );
        assert_eq!(
            map().stun_targets()[3],
            StunTarget::Host("relay-two.example.com".into(), 3478)
        );
        assert_eq!(map().stun_targets().len(), 4);
    }

    #[test]
    fn addresses_are_optional_in_json() {
        let json = r#"{"name":"a","url":"ws://h/relay","stun_port":3478}"#;
        let n: RelayNode = serde_json::from_str(json).unwrap();
        let expected = RelayNode {
            name: "a".into(),
            ..node("ws://h/relay", 3478)
        };
        assert_eq!(n, expected);
        assert_eq!(serde_json::to_string(&n).unwrap(), json);
    }
}
