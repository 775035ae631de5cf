//! Tunnel addresses: a 6-byte service prefix followed by 10 bytes of node identity, one `/128`
//! per node. Agents derive theirs from their UUID; clients take a random one.

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use rand_core::{OsRng, RngCore};
use uuid::Uuid;

/// The first 6 bytes (a `/48`) of every tunnel address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServicePrefix(pub [u8; 6]);

impl ServicePrefix {
    /// Our own ULA `/48` (`fdc7:2d1e:7b30::/48`), chosen at random once so that we never clash
    /// with a Tailscale or Coder TUN on the same host. The default.
    pub const DEFAULT: Self = Self([0xfd, 0xc7, 0x2d, 0x1e, 0x7b, 0x30]);
    /// Coder's (and Tailscale's) `fd7a:115c:a1e0::/48`: the compatibility option, which is what
    /// Coder clients dial today.
    pub const CODER_COMPAT: Self = Self([0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0]);
    /// Coder's newer `fd60:627a:a42b::/48`.
    pub const CODER_SERVICE: Self = Self([0xfd, 0x60, 0x62, 0x7a, 0xa4, 0x2b]);

    /// The agent address: the prefix followed by the last 10 bytes of the UUID.
    ///
    /// ```
    /// use coder_tunnel::addr::ServicePrefix;
    /// let id: uuid::Uuid = "aaaaaaaa-aaaa-aaaa-aaaa-123456789abc".parse().unwrap();
    /// assert_eq!(
    ///     ServicePrefix::CODER_COMPAT.addr_from_uuid(id).to_string(),
    ///     "fd7a:115c:a1e0:aaaa:aaaa:1234:5678:9abc"
    /// );
    /// ```
    pub fn addr_from_uuid(&self, id: Uuid) -> Ipv6Addr {
        let mut octets = [0u8; 16];
        octets[..6].copy_from_slice(&self.0);
        octets[6..].copy_from_slice(&id.as_bytes()[6..]);
        Ipv6Addr::from(octets)
    }

    /// A random address under the prefix (clients).
    pub fn random_addr(&self) -> Ipv6Addr {
        let mut tail = [0u8; 16];
        OsRng.fill_bytes(&mut tail);
        self.addr_from_uuid(Uuid::from_bytes(tail))
    }

    /// The prefix as a `/48` network.
    pub fn net(&self) -> Ipv6Net {
        let mut octets = [0u8; 16];
        octets[..6].copy_from_slice(&self.0);
        Ipv6Net::new_assert(Ipv6Addr::from(octets), 48)
    }

    /// Whether `addr` lies under this prefix.
    pub fn contains(&self, addr: Ipv6Addr) -> bool {
        addr.octets()[..6] == self.0
    }
}

/// `addr/128`.
pub fn host_net(addr: Ipv6Addr) -> Ipv6Net {
    Ipv6Net::new_assert(addr, 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prefix_is_ula_and_distinct() {
        assert_eq!(
            ServicePrefix::DEFAULT.net().to_string(),
            "fdc7:2d1e:7b30::/48"
        );
        assert_eq!(
            ServicePrefix::CODER_COMPAT.net().to_string(),
            "fd7a:115c:a1e0::/48"
        );
        assert_eq!(
            ServicePrefix::CODER_SERVICE.net().to_string(),
            "fd60:627a:a42b::/48"
        );
        let a = ServicePrefix::DEFAULT.random_addr();
        assert!(ServicePrefix::DEFAULT.contains(a));
        assert!(!ServicePrefix::CODER_COMPAT.contains(a));
        assert_ne!(a, ServicePrefix::DEFAULT.random_addr());
    }
}
