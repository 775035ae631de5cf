//! The server side of the chat queue: Era C's versioned state machine as pure code.
//!
//! The server locks a chat row, reads its [`ChatExecution`] (status, archived flag, versions,
//! queue ids), asks [`decide`] what a [`ChatCommand`] does, persists the returned
//! [`Decision`] in the same transaction, commits, and only then publishes the events the
//! decision names. [`MemoryChat`] is a complete in-memory persister: tests (and the client's
//! property test) use it as the reference server.
//!
//! States are the status plus whether the queue is empty (`0`) or not (`1`): `W`, `E0`/`E1`,
//! `R0`/`R1`, `I0`/`I1`, `A0`/`A1`, and archived variants. Every change increments
//! `snapshot_version`; a history change stamps `history_version`, a queue change stamps
//! `queue_version`, both with the new snapshot version.
//!
//! ```
//! use coder_core::chat::server::{ChatCommand, MemoryChat};
//! use coder_core::model::{ChatBusyBehavior, ChatMessagePart, ChatStatus};
//!
//! let now = chrono::Utc::now();
//! let mut chat = MemoryChat::new(uuid::Uuid::from_u128(7), now);
//! let send = |text: &str| ChatCommand::Send {
//!     content: vec![ChatMessagePart::text(text)],
//!     busy: ChatBusyBehavior::Queue,
//!     model_config_id: None,
//! };
//! chat.apply(send("first"), now).unwrap();    // idle: goes straight to history, running
//! chat.apply(send("second"), now).unwrap();   // busy: queued
//! assert_eq!(chat.execution().status, ChatStatus::Running);
//! assert_eq!(chat.queue().len(), 1);
//! chat.apply(ChatCommand::FinishTurn, now).unwrap(); // head promoted, still running
//! assert_eq!(chat.queue().len(), 0);
//! assert_eq!(chat.history().len(), 2);
//! ```

mod decide;
mod memory;
mod state;

pub use decide::{
    ChatCommand, Decision, HistoryOp, Publish, QueueOp, SendReply, TOOL_CALLS_SUPERSEDED, decide,
};
pub use memory::{Applied, MemoryChat};
pub use state::{ChatExecution, MAX_QUEUE_SIZE, Versions};
