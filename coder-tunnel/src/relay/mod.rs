//! The relay: framing ([`frame`]), a client the driver uses ([`client`]) and a server that
//! forwards ciphertext between peers by public key ([`server`]), and the STUN responder that
//! runs next to it ([`stun_server`]). Both ends batch their writes (`batch`).

mod batch;
pub mod client;
pub mod frame;
pub mod server;
pub mod stun_server;

pub use client::{RelayEvent, RelayLink, spawn_relay_client};
pub use frame::Frame;
pub use server::{RelayServer, RelayStats};
pub use stun_server::{StunServer, StunStats};
