//! Coder's wire model: every object and request/response body the SDK, server and CLI exchange.
//!
//! Type and field names follow `codersdk` exactly (checked against Coder's OpenAPI document by
//! `tests/swagger_conformance.rs`). Decoding is tolerant (see [`crate::wire`]): unknown fields
//! are ignored, unknown enum strings become `Unknown`, `null` arrays become empty and missing
//! fields take their zero value. Our own additions to Coder's contract are declared in one
//! place, [`contract`].

mod agents;
mod chats;
mod common;
pub mod contract;
mod files;
mod jobs;
mod organizations;
mod parameters;
mod templates;
mod users;
mod workspaces;

pub use agents::*;
pub use chats::*;
pub use common::*;
pub use files::*;
pub use jobs::*;
pub use organizations::*;
pub use parameters::*;
pub use templates::*;
pub use users::*;
pub use workspaces::*;

/// A point in time, as Coder sends it (RFC 3339, UTC or with offset).
pub type Timestamp = chrono::DateTime<chrono::Utc>;
