//! The relay: framing ([`frame`]), a client the driver uses ([`client`]) and a server that
//! forwards ciphertext between peers by public key ([`server`]).

pub mod client;
pub mod frame;
pub mod server;

pub use client::{RelayEvent, RelayLink, spawn_relay_client};
pub use frame::Frame;
pub use server::{RelayServer, RelayStats};
