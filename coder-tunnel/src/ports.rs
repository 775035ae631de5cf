//! Well-known agent ports, mirroring Coder's `tailnet/conn.go`.

/// Built-in SSH server.
pub const SSH: u16 = 1;
/// Reconnecting PTY (2-byte little-endian length + JSON init, then JSON requests up, raw bytes down).
pub const RECONNECTING_PTY: u16 = 2;
/// Speed test.
pub const SPEEDTEST: u16 = 3;
/// The agent's HTTP API.
pub const HTTP_API: u16 = 4;
/// SSH again, for tools that insist on 22.
pub const STANDARD_SSH: u16 = 22;
/// User applications are exposed from this port upward; 1–8 are reserved.
pub const MIN_USER_PORT: u16 = 9;
