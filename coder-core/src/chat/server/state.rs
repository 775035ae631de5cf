//! What the server reads under the chat row lock: status, archived flag, versions, queue ids.

use crate::model::ChatStatus;

/// Coder's `MaxQueueSize`: a chat holds at most this many queued messages.
pub const MAX_QUEUE_SIZE: usize = 20;

/// The three watermarks of a chat (our additions to Coder's wire contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Versions {
    /// Incremented by every change of the chat's execution state.
    pub snapshot: u64,
    /// The snapshot version of the last history change.
    pub history: u64,
    /// The snapshot version of the last queue change.
    pub queue: u64,
}

/// The execution state of one chat, as read under its row lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatExecution {
    /// Era C status: `waiting`, `running`, `interrupting`, `requires_action` or `error`.
    pub status: ChatStatus,
    /// Whether the chat is archived.
    pub archived: bool,
    /// Watermarks.
    pub versions: Versions,
    /// Queued message ids, FIFO (head first).
    pub queue: Vec<i64>,
}

impl ChatExecution {
    /// A new, idle chat with an empty queue.
    pub fn new() -> Self {
        Self {
            status: ChatStatus::Waiting,
            archived: false,
            versions: Versions::default(),
            queue: Vec::new(),
        }
    }

    /// The state's short name, as the Era C RFC writes it: `W`, `R1`, `XE0`, ...
    pub fn state_name(&self) -> String {
        let archived = if self.archived { "X" } else { "" };
        let letter = match self.status {
            ChatStatus::Waiting => return format!("{archived}W"),
            ChatStatus::Running | ChatStatus::Pending => "R",
            ChatStatus::Interrupting => "I",
            ChatStatus::RequiresAction => "A",
            ChatStatus::Error => "E",
            _ => "?",
        };
        let queued = u8::from(!self.queue.is_empty());
        format!("{archived}{letter}{queued}")
    }
}

impl Default for ChatExecution {
    fn default() -> Self {
        Self::new()
    }
}
