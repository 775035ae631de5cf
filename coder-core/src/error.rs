//! The one error type of `coder-core`: what a rule refused, with enough detail to act on.

use crate::model::{WorkspaceStatus, WorkspaceTransition};

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a `coder-core` rule can refuse.
///
/// Each variant names the input at fault so the server can turn it into a `400`/`409` with a
/// precise `validations` entry, and a client can branch on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A new build was requested while another one is still pending or running.
    #[error("workspace is {status}: a {requested} build cannot start until the active build ends")]
    BuildConflict {
        /// The workspace's current status.
        status: WorkspaceStatus,
        /// The transition that was requested.
        requested: WorkspaceTransition,
    },
    /// The requested transition makes no sense from the current status.
    #[error("cannot {requested} a workspace that is {status}")]
    TransitionNotAllowed {
        /// The workspace's current status.
        status: WorkspaceStatus,
        /// The transition that was requested.
        requested: WorkspaceTransition,
    },
    /// A schedule string (cron, TTL, zone) is malformed or out of range.
    #[error("invalid schedule {input:?}: {reason}")]
    InvalidSchedule {
        /// The rejected input, as given.
        input: String,
        /// Why it was rejected, in words a user can act on.
        reason: String,
    },
    /// A deadline change (extend, TTL) violates the template's or build's limits.
    #[error("invalid deadline: {reason}")]
    InvalidDeadline {
        /// Why it was rejected.
        reason: String,
    },
    /// A chat operation is not allowed in the chat's current state.
    #[error("chat is {state}: cannot {action}")]
    ChatStateConflict {
        /// The chat's state, as a short name (`running`, `error`, `archived`, ...).
        state: String,
        /// The refused operation.
        action: &'static str,
    },
    /// The chat's queue already holds the maximum number of messages.
    #[error("Message queue is full. Maximum {limit} messages can be queued.")]
    ChatQueueFull {
        /// The queue limit (20 in Coder).
        limit: usize,
    },
    /// A queued message id is not (or no longer) in this chat's queue.
    #[error("queued message {id} not found")]
    QueuedMessageNotFound {
        /// The id that was asked for.
        id: i64,
    },
    /// A chat message id is not in this chat's history.
    #[error("message {id} not found")]
    MessageNotFound {
        /// The id that was asked for.
        id: i64,
    },
    /// Input failed validation (empty content, bad parameter value, ...).
    #[error("{field}: {reason}")]
    Invalid {
        /// The offending field, as spelled on the wire.
        field: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A provisioner failed to plan or apply.
    #[error("provisioner failed: {0}")]
    Provisioner(String),
    /// The operation was cancelled before it finished.
    #[error("cancelled")]
    Cancelled,
}
