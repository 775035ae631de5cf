//! `coder-tunnel`: a WireGuard tunnel engine for reaching workspace agents through NAT.
//!
//! The crate is split the sans-IO way:
//!
//! - [`core`] is a synchronous state machine that takes `(now, input)` and returns transmits,
//!   deliveries, events and the next wake-up. It owns WireGuard sessions ([`wg`], boringtun 0.7
//!   behind the [`wg::WgSession`] trait), the per-peer path manager ([`path`]: relay first, direct
//!   UDP after an authenticated [`probe`] round-trips) and the coordination state ([`coord`]).
//! - [`netstack`] is a sans-IO userspace TCP/IP stack (smoltcp with Cubic) over the core.
//! - [`driver`] is the tokio layer: one UDP socket, a [`relay`] client, timers from the core's
//!   wake-ups, and the async [`driver::TcpStream`] / [`driver::TcpListener`].
//! - [`relay::RelayServer`] forwards ciphertext between peers addressed by public key;
//!   [`relay::StunServer`] answers [`stun`] Binding requests so tunnels learn their public
//!   UDP mapping.
//!
//! # A client dialing an agent
//!
//! ```no_run
//! use coder_tunnel::{addr::ServicePrefix, driver::{MemoryCoordinatorHub, Tunnel, TunnelConfig}};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! # async fn run(hub: MemoryCoordinatorHub, agent_id: uuid::Uuid) -> Result<(), coder_tunnel::Error> {
//! let client_id = uuid::Uuid::new_v4();
//! let config = TunnelConfig::client(ServicePrefix::CODER_COMPAT);
//! let tunnel = Tunnel::start(config, hub.connect_client(client_id)).await?;
//! tunnel.add_tunnel(agent_id).await?; // asks the coordinator for the agent's node
//! let agent_ip = ServicePrefix::CODER_COMPAT.addr_from_uuid(agent_id);
//! // Waits for the WireGuard session before sending the first SYN.
//! let mut stream = tunnel.dial_tcp((agent_ip, 22).into()).await?;
//! stream.write_all(b"hello").await?;
//! let mut reply = [0u8; 5];
//! stream.read_exact(&mut reply).await?;
//! # Ok(()) }
//! ```
//!
//! # An agent listening
//!
//! ```no_run
//! use coder_tunnel::{addr::ServicePrefix, driver::{MemoryCoordinatorHub, Tunnel, TunnelConfig}};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! # async fn run(hub: MemoryCoordinatorHub) -> Result<(), coder_tunnel::Error> {
//! let agent_id = uuid::Uuid::new_v4();
//! let config = TunnelConfig::agent(ServicePrefix::CODER_COMPAT, agent_id);
//! let tunnel = Tunnel::start(config, hub.connect_agent(agent_id)).await?;
//! let mut listener = tunnel.listen_tcp(22).await?;
//! loop {
//!     let (mut stream, peer) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut buf = [0u8; 5];
//!         if stream.read_exact(&mut buf).await.is_ok() {
//!             let _ = stream.write_all(&buf).await;
//!         }
//!         let _ = peer;
//!     });
//! }
//! # }
//! ```

pub mod addr;
pub mod buf;
pub mod coord;
pub mod core;
pub mod driver;
pub mod error;
pub mod keys;
pub mod netstack;
pub mod path;
pub mod ports;
pub mod probe;
pub mod relay;
pub mod stun;
pub mod wg;

pub use error::Error;
