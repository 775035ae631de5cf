//! The chat-queue state machines: the server-side queue rules and the client-side view.
//!
//! - [`client`]: the sans-IO chat view a UI renders (REST snapshots + stream events in, view
//!   state and effects out).
//! - [`server`]: Era C's versioned queue/status transitions the server persists, and an
//!   in-memory reference chat.

pub mod client;
pub mod server;
