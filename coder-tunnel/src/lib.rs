//! `coder-tunnel`: a WireGuard tunnel engine for reaching workspace agents through NAT.
//!
//! The crate is split the sans-IO way:
//!
//! - [`core`] is a synchronous state machine that takes `(now, input)` and returns transmits,
//!   deliveries, events and the next wake-up. It owns WireGuard sessions ([`wg`], boringtun 0.7
//!   behind the [`wg::WgSession`] trait), the per-peer path manager ([`path`]: relay first, direct
//!   UDP after an authenticated [`probe`] round-trips) and the coordination state ([`coord`]).
//! - [`netstack`] is a sans-IO userspace TCP/IP stack (smoltcp with Cubic) over the core.
//!

pub mod addr;
pub mod buf;
pub mod coord;
pub mod core;
pub mod error;
pub mod keys;
pub mod netstack;
pub mod path;
pub mod ports;
pub mod probe;
pub mod wg;

pub use error::Error;
