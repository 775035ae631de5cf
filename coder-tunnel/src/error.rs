//! The crate's one error type.

use std::net::IpAddr;

/// Everything that can go wrong in `coder-tunnel`, with what a caller needs to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No peer owns the destination address.
    #[error("no peer routes to {0}")]
    NoRoute(IpAddr),
    /// A key did not decode (wrong length or encoding).
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Something did not happen in time.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The tunnel's event loop has stopped.
    #[error("tunnel closed")]
    Closed,
    /// An operating-system IO error (socket bind, send).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The relay refused us or the connection to it failed.
    #[error("relay: {0}")]
    Relay(String),
    /// A relay or probe frame did not decode.
    #[error("malformed frame: {0}")]
    Frame(&'static str),
    /// A STUN message did not decode, or was not one we answer.
    #[error("stun: {0}")]
    Stun(crate::stun::Malformed),
    /// A TCP operation failed (connection refused, reset, port in use).
    #[error("tcp: {0}")]
    Tcp(String),
    /// The coordinator rejected a request.
    #[error("coordinator: {0}")]
    Coordinator(String),
}
