//! Node keys: x25519 secrets (WireGuard static keys and probe keys) and their public halves.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use boringtun::x25519::{PublicKey, StaticSecret};
use rand_core::OsRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// An x25519 secret key. Used as a node's WireGuard static key and as its probe key.
/// The secret is zeroed on drop (x25519-dalek).
#[derive(Clone)]
pub struct NodeKey {
    secret: StaticSecret,
    public: NodePublic,
}

impl NodeKey {
    /// A fresh random key from the operating system's RNG.
    pub fn generate() -> Self {
        Self::from_secret(StaticSecret::random_from_rng(OsRng))
    }

    /// A key from its 32 secret bytes (clamped by x25519).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self::from_secret(StaticSecret::from(bytes))
    }

    fn from_secret(secret: StaticSecret) -> Self {
        let public = NodePublic(PublicKey::from(&secret).to_bytes());
        Self { secret, public }
    }

    /// The secret bytes, e.g. for `wg set ... private-key`.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> NodePublic {
        self.public
    }

    /// Static-static Diffie-Hellman with a peer's public key.
    pub fn shared_secret(&self, peer: &NodePublic) -> [u8; 32] {
        self.secret
            .diffie_hellman(&PublicKey::from(peer.0))
            .to_bytes()
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeKey(public {})", self.public)
    }
}

/// A 32-byte x25519 public key. Displays and serializes as standard base64 (as `wg` does).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodePublic(pub [u8; 32]);

impl NodePublic {
    /// Decodes standard base64 (44 characters).
    pub fn from_base64(s: &str) -> Result<Self, Error> {
        let bytes = BASE64
            .decode(s.trim())
            .map_err(|e| Error::InvalidKey(e.to_string()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::InvalidKey("expected 32 bytes".into()))?;
        Ok(Self(arr))
    }

    /// Standard base64, as `wg` prints keys.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Lower-case hex, as the WireGuard UAPI wants keys.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn x25519(&self) -> PublicKey {
        PublicKey::from(self.0)
    }
}

impl fmt::Display for NodePublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for NodePublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodePublic({})", &self.to_base64()[..8])
    }
}

impl Serialize for NodePublic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for NodePublic {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_base64(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_hex_round_trip() {
        let key = NodeKey::from_bytes([7; 32]);
        let public = key.public();
        assert_eq!(
            NodePublic::from_base64(&public.to_base64()).unwrap(),
            public
        );
        assert_eq!(public.to_hex().len(), 64);
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(json, format!("\"{}\"", public.to_base64()));
        assert!(NodePublic::from_base64("AAAA").is_err());
    }

    #[test]
    fn shared_secret_is_symmetric() {
        let a = NodeKey::from_bytes([1; 32]);
        let b = NodeKey::from_bytes([2; 32]);
        assert_eq!(a.shared_secret(&b.public()), b.shared_secret(&a.public()));
    }
}
