//! Coder's wire model: every object and request/response body the SDK, server and CLI exchange.
//!
//! Type and field names follow `codersdk` exactly (checked against Coder's OpenAPI document by
//! `tests/swagger_conformance.rs`). Decoding is tolerant (see [`crate::wire`]); our own
//! additions to Coder's contract are listed in one place, [`contract`].

mod chats;
pub mod contract;
mod workspaces;

pub use chats::*;
pub use workspaces::*;

/// A point in time, as Coder sends it (RFC 3339, UTC or with offset).
pub type Timestamp = chrono::DateTime<chrono::Utc>;
