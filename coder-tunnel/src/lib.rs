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
//! # An agent listening and a client dialing it
//!
//! Both ends run in one process here, joined by a relay and the in-memory coordinator; in a
//! deployment each end runs on its own machine and the coordinator is the control plane. The
//! client reaches the agent through the relay at once and moves to direct UDP when a probe
//! round-trips.
//!
//! ```
//! use coder_tunnel::addr::ServicePrefix;
//! use coder_tunnel::driver::{MemoryCoordinatorHub, Tunnel, TunnelConfig};
//! use coder_tunnel::relay::RelayServer;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A relay (the control plane mounts one; this is the standalone form).
//! let relay_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let relay_url = format!("ws://{}/relay", relay_listener.local_addr()?);
//! tokio::spawn(RelayServer::new(1024).serve(relay_listener));
//! let hub = MemoryCoordinatorHub::new();
//! let relay = Some((relay_url, 1));
//!
//! // The agent: its tunnel address derives from its UUID; it serves port 22.
//! let agent_id = uuid::Uuid::new_v4();
//! let mut config = TunnelConfig::agent(ServicePrefix::DEFAULT, agent_id);
//! config.listen = "127.0.0.1:0".parse()?;
//! config.relay = relay.clone();
//! let agent = Tunnel::start(config, hub.connect_agent(agent_id)).await?;
//! let mut listener = agent.listen_tcp(22).await?;
//! tokio::spawn(async move {
//!     while let Ok((mut stream, _peer)) = listener.accept().await {
//!         let mut greeting = [0u8; 5];
//!         if stream.read_exact(&mut greeting).await.is_ok() {
//!             let _ = stream.write_all(b"SSH-2.0-agent\r\n").await;
//!         }
//!     }
//! });
//!
//! // The client: a random address; `add_tunnel` asks the coordinator for the agent's node.
//! let mut config = TunnelConfig::client(ServicePrefix::DEFAULT);
//! config.listen = "127.0.0.1:0".parse()?;
//! config.relay = relay;
//! let client = Tunnel::start(config.clone(), hub.connect_client(config.id)).await?;
//! client.add_tunnel(agent_id).await?;
//! let agent_ip = ServicePrefix::DEFAULT.addr_from_uuid(agent_id);
//! // Waits for the WireGuard session before sending the first SYN.
//! let mut stream = client.dial_tcp((agent_ip, 22).into()).await?;
//! stream.write_all(b"hello").await?;
//! let mut banner = [0u8; 15];
//! stream.read_exact(&mut banner).await?;
//! assert_eq!(&banner, b"SSH-2.0-agent\r\n");
//! # Ok(()) }
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
