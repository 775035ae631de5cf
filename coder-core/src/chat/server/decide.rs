//! The transitions: what each command does to a chat, decided from its locked state alone.

use uuid::Uuid;

use super::state::{ChatExecution, MAX_QUEUE_SIZE, Versions};
use crate::model::{ChatBusyBehavior, ChatMessagePart, ChatStatus};
use crate::{Error, Result};

/// Something a user or the chat worker asks of a chat.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatCommand {
    /// `POST /chats/{chat}/messages`.
    Send {
        /// The message.
        content: Vec<ChatMessagePart>,
        /// Queue behind the running turn (default) or interrupt it.
        busy: ChatBusyBehavior,
        /// Model configuration for the turn.
        model_config_id: Option<Uuid>,
    },
    /// The worker committed (part of) its reply as a durable assistant message.
    CommitReply {
        /// The reply's content.
        content: Vec<ChatMessagePart>,
    },
    /// The worker finished a turn successfully.
    FinishTurn,
    /// The worker failed the turn.
    FinishError {
        /// What failed, shown as the chat's `last_error`.
        message: String,
    },
    /// The worker stopped after an interrupt, with its partial output persisted.
    RunInterrupted,
    /// The worker needs client-executed tool results.
    RequireAction,
    /// The client submitted the tool results the worker waited for.
    SubmitToolResults,
    /// `POST /chats/{chat}/interrupt`.
    Interrupt,
    /// `DELETE /chats/{chat}/queue/{id}`.
    DeleteQueued {
        /// The queued message.
        id: i64,
    },
    /// `POST /chats/{chat}/queue/{id}/promote`.
    PromoteQueued {
        /// The queued message.
        id: i64,
    },
    /// `PATCH /chats/{chat}/messages/{message}`: the server has checked that the message is a
    /// user message of this chat.
    Edit {
        /// The edited message.
        message_id: i64,
        /// Its new content.
        content: Vec<ChatMessagePart>,
    },
    /// Archive the chat (only while it is idle).
    Archive,
    /// Unarchive it.
    Unarchive,
}

/// A change to the queue, applied in order.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueOp {
    /// Append a new entry at the tail (the store assigns its id).
    Push {
        /// Its content.
        content: Vec<ChatMessagePart>,
        /// Model configuration requested with the send.
        model_config_id: Option<Uuid>,
    },
    /// Remove an entry.
    Remove(i64),
    /// Move an entry to the head; ids stay stable.
    MoveToFront(i64),
    /// Remove the head and append it to history as a user message (one transaction: if the
    /// insert fails the whole decision rolls back and the entry survives).
    PromoteHead,
    /// Remove every entry.
    Clear,
}

/// A change to the history, applied in order (before the queue ops).
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryOp {
    /// Append a user message.
    AppendUser {
        /// Its content.
        content: Vec<ChatMessagePart>,
        /// Model configuration for the turn.
        model_config_id: Option<Uuid>,
    },
    /// Append an assistant message (the worker's reply, possibly partial).
    AppendAssistant {
        /// Its content.
        content: Vec<ChatMessagePart>,
    },
    /// Close the tool calls the worker waited for with synthetic error results (so the model
    /// never sees a call without a result).
    CloseToolCalls {
        /// The text of the synthetic results.
        reason: &'static str,
    },
    /// Replace a user message's content and delete every message after it.
    EditAndTruncate {
        /// The message.
        message_id: i64,
        /// Its new content.
        content: Vec<ChatMessagePart>,
    },
}

/// What to publish after commit, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// The history was replaced: `history_reset` then the whole history.
    HistoryReset,
    /// `message` events for the messages this decision appended.
    NewMessages,
    /// `queue_update` with the full queue.
    QueueUpdate,
    /// `status`.
    Status,
    /// `error` with the chat's last error.
    Error,
    /// `preview_reset`: clients drop their streaming preview.
    PreviewReset,
}

/// What a send did, for the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendReply {
    /// Appended to history (`queued: false`).
    Sent,
    /// Queued (`queued: true`).
    Queued,
}

/// Everything one command does to a chat. Persist it in one transaction, then publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The new execution state (queue ids as they will be after the ops; a pushed entry's id
    /// is unknown here and shown as `0`).
    pub next: ChatExecution,
    /// History changes, applied first (closing tool calls must precede a promoted message).
    pub history_ops: Vec<HistoryOp>,
    /// Queue changes, applied after the history changes.
    pub queue_ops: Vec<QueueOp>,
    /// The new `last_error` (`Some(None)` clears it, `None` leaves it).
    pub last_error: Option<Option<String>>,
    /// Whether the running generation must be cancelled.
    pub cancel_generation: bool,
    /// Events to publish after commit.
    pub publish: Vec<Publish>,
    /// For sends: what happened.
    pub reply: Option<SendReply>,
    /// Whether anything changes (otherwise nothing is persisted, versioned or published).
    pub changed: bool,
}

/// The synthetic tool result text used when a send or promote supersedes pending tool calls.
pub const TOOL_CALLS_SUPERSEDED: &str = "Tool execution interrupted by queued message promotion";

/// Decides what `command` does to a chat in state `current`.
///
/// # Errors
/// - [`Error::ChatQueueFull`] when a send would queue a 21st message;
/// - [`Error::QueuedMessageNotFound`] for an unknown queued id;
/// - [`Error::ChatStateConflict`] when the command is not allowed in this state (archived
///   chat, worker reports for a chat it no longer runs, archiving a busy chat, a queue action
///   on an empty queue, promoting past the head while the run stops).
pub fn decide(current: &ChatExecution, command: &ChatCommand) -> Result<Decision> {
    let mut d = Draft::new(current);
    if current.archived && *command != ChatCommand::Unarchive {
        return Err(d.conflict(command_name(command)));
    }
    match command {
        ChatCommand::Send {
            content,
            busy,
            model_config_id,
        } => d.send(content, busy, *model_config_id)?,
        ChatCommand::CommitReply { content } => d.commit_reply(content)?,
        ChatCommand::FinishTurn => d.finish_turn()?,
        ChatCommand::FinishError { message } => d.finish_error(message)?,
        ChatCommand::RunInterrupted => d.run_interrupted()?,
        ChatCommand::RequireAction => d.require_action()?,
        ChatCommand::SubmitToolResults => d.submit_tool_results()?,
        ChatCommand::Interrupt => d.interrupt(),
        ChatCommand::DeleteQueued { id } => d.delete_queued(*id)?,
        ChatCommand::PromoteQueued { id } => d.promote_queued(*id)?,
        ChatCommand::Edit {
            message_id,
            content,
        } => d.edit(*message_id, content),
        ChatCommand::Archive => d.archive(true)?,
        ChatCommand::Unarchive => d.archive(false)?,
    }
    Ok(d.finish())
}

fn command_name(command: &ChatCommand) -> &'static str {
    match command {
        ChatCommand::Send { .. } => "send a message",
        ChatCommand::CommitReply { .. } => "commit a reply",
        ChatCommand::FinishTurn => "finish a turn",
        ChatCommand::FinishError { .. } => "fail a turn",
        ChatCommand::RunInterrupted => "report an interrupted run",
        ChatCommand::RequireAction => "wait for tool results",
        ChatCommand::SubmitToolResults => "accept tool results",
        ChatCommand::Interrupt => "interrupt",
        ChatCommand::DeleteQueued { .. } => "delete a queued message",
        ChatCommand::PromoteQueued { .. } => "promote a queued message",
        ChatCommand::Edit { .. } => "edit a message",
        ChatCommand::Archive => "archive",
        ChatCommand::Unarchive => "unarchive",
    }
}

/// A decision being built: the ops and the state they lead to.
struct Draft<'a> {
    current: &'a ChatExecution,
    next: ChatExecution,
    queue_ops: Vec<QueueOp>,
    history_ops: Vec<HistoryOp>,
    last_error: Option<Option<String>>,
    cancel_generation: bool,
    publish: Vec<Publish>,
    reply: Option<SendReply>,
}

impl<'a> Draft<'a> {
    fn new(current: &'a ChatExecution) -> Self {
        Self {
            current,
            next: current.clone(),
            queue_ops: Vec::new(),
            history_ops: Vec::new(),
            last_error: None,
            cancel_generation: false,
            publish: Vec::new(),
            reply: None,
        }
    }

    fn conflict(&self, action: &'static str) -> Error {
        Error::ChatStateConflict {
            state: self.current.state_name(),
            action,
        }
    }

    fn status(&self) -> &ChatStatus {
        &self.next.status
    }

    fn set_status(&mut self, status: ChatStatus) {
        if status == ChatStatus::Error {
            // An error keeps whatever last_error the caller set.
        } else if self.current.status == ChatStatus::Error {
            self.last_error = Some(None);
        }
        self.next.status = status;
    }

    fn push(&mut self, content: &[ChatMessagePart], model_config_id: Option<Uuid>) -> Result<()> {
        if self.next.queue.len() >= MAX_QUEUE_SIZE {
            return Err(Error::ChatQueueFull {
                limit: MAX_QUEUE_SIZE,
            });
        }
        self.next.queue.push(0);
        self.queue_ops.push(QueueOp::Push {
            content: content.to_vec(),
            model_config_id,
        });
        Ok(())
    }

    /// Removes the head of the queue into history; the chat runs it.
    fn promote_head(&mut self) {
        if !self.next.queue.is_empty() {
            self.next.queue.remove(0);
            self.queue_ops.push(QueueOp::PromoteHead);
            self.set_status(ChatStatus::Running);
        }
    }

    fn append_user(&mut self, content: &[ChatMessagePart], model_config_id: Option<Uuid>) {
        self.history_ops.push(HistoryOp::AppendUser {
            content: content.to_vec(),
            model_config_id,
        });
    }

    fn send(
        &mut self,
        content: &[ChatMessagePart],
        busy: &ChatBusyBehavior,
        model_config_id: Option<Uuid>,
    ) -> Result<()> {
        if content.is_empty() {
            return Err(Error::Invalid {
                field: "content".to_owned(),
                reason: "a message needs at least one part".to_owned(),
            });
        }
        let queued = !self.current.queue.is_empty();
        match (self.status().clone(), busy) {
            // Idle with an empty queue: straight into history.
            (ChatStatus::Waiting, _) | (ChatStatus::Error, _) if !queued => {
                self.append_user(content, model_config_id);
                self.set_status(ChatStatus::Running);
                self.reply = Some(SendReply::Sent);
            }
            // E1: append to the tail and run the head, so FIFO order holds.
            (ChatStatus::Error | ChatStatus::Waiting, _) => {
                self.push(content, model_config_id)?;
                self.promote_head();
                self.reply = Some(SendReply::Queued);
            }
            // Interrupt-send: queue first, the worker's cleanup promotes after persisting the
            // partial reply, so the reply keeps a lower id than the new message.
            (
                ChatStatus::Running | ChatStatus::Pending | ChatStatus::Interrupting,
                ChatBusyBehavior::Interrupt,
            ) => {
                self.push(content, model_config_id)?;
                self.set_status(ChatStatus::Interrupting);
                self.cancel_generation = true;
                self.reply = Some(SendReply::Queued);
            }
            // Waiting for tool results and told to interrupt: close the calls, run the head.
            (ChatStatus::RequiresAction, ChatBusyBehavior::Interrupt) => {
                self.push(content, model_config_id)?;
                self.history_ops.push(HistoryOp::CloseToolCalls {
                    reason: TOOL_CALLS_SUPERSEDED,
                });
                self.promote_head();
                self.reply = Some(SendReply::Queued);
            }
            // Busy: queue behind the running turn; the status does not change.
            _ => {
                self.push(content, model_config_id)?;
                self.reply = Some(SendReply::Queued);
            }
        }
        Ok(())
    }

    fn require_running(&self, action: &'static str) -> Result<()> {
        match self.status() {
            ChatStatus::Running | ChatStatus::Pending | ChatStatus::Interrupting => Ok(()),
            _ => Err(self.conflict(action)),
        }
    }

    fn commit_reply(&mut self, content: &[ChatMessagePart]) -> Result<()> {
        self.require_running("commit a reply")?;
        self.history_ops.push(HistoryOp::AppendAssistant {
            content: content.to_vec(),
        });
        Ok(())
    }

    fn finish_turn(&mut self) -> Result<()> {
        self.require_running("finish a turn")?;
        if *self.status() == ChatStatus::Interrupting {
            // The turn ended before the worker saw the interrupt: same as an interrupted run.
            return self.run_interrupted();
        }
        self.settle();
        Ok(())
    }

    /// The run is over: drop the preview, then run the queue head or wait for the user.
    fn settle(&mut self) {
        self.publish.push(Publish::PreviewReset);
        if self.next.queue.is_empty() {
            self.set_status(ChatStatus::Waiting);
        } else {
            self.promote_head();
        }
    }

    fn finish_error(&mut self, message: &str) -> Result<()> {
        self.require_running("fail a turn")?;
        if *self.status() == ChatStatus::Interrupting {
            // A cancelled run usually ends in an error: it counts as interrupted, so the head
            // an accepted promote (or interrupt-send) waits for still runs.
            return self.run_interrupted();
        }
        let message = message.trim();
        let message = if message.is_empty() {
            "Chat processing failed."
        } else {
            message
        };
        self.last_error = Some(Some(message.to_owned()));
        self.set_status(ChatStatus::Error);
        self.publish.push(Publish::Error);
        self.publish.push(Publish::PreviewReset);
        Ok(())
    }

    fn run_interrupted(&mut self) -> Result<()> {
        self.require_running("report an interrupted run")?;
        self.settle();
        Ok(())
    }

    fn require_action(&mut self) -> Result<()> {
        if *self.status() != ChatStatus::Running {
            return Err(self.conflict("wait for tool results"));
        }
        self.set_status(ChatStatus::RequiresAction);
        Ok(())
    }

    fn submit_tool_results(&mut self) -> Result<()> {
        if *self.status() != ChatStatus::RequiresAction {
            return Err(self.conflict("accept tool results"));
        }
        self.set_status(ChatStatus::Running);
        Ok(())
    }

    fn interrupt(&mut self) {
        match self.status() {
            ChatStatus::Running | ChatStatus::Pending => {
                self.set_status(ChatStatus::Interrupting);
                self.cancel_generation = true;
            }
            ChatStatus::RequiresAction => {
                self.history_ops.push(HistoryOp::CloseToolCalls {
                    reason: TOOL_CALLS_SUPERSEDED,
                });
                self.settle();
            }
            // Idle or already interrupting: nothing to do.
            _ => {}
        }
    }

    fn find_queued(&self, id: i64, action: &'static str) -> Result<usize> {
        if self.current.queue.is_empty() {
            return Err(self.conflict(action));
        }
        self.current
            .queue
            .iter()
            .position(|&q| q == id)
            .ok_or(Error::QueuedMessageNotFound { id })
    }

    fn delete_queued(&mut self, id: i64) -> Result<()> {
        let index = self.find_queued(id, "delete a queued message")?;
        self.next.queue.remove(index);
        self.queue_ops.push(QueueOp::Remove(id));
        Ok(())
    }

    fn promote_queued(&mut self, id: i64) -> Result<()> {
        let index = self.find_queued(id, "promote a queued message")?;
        if index != 0 && *self.status() == ChatStatus::Interrupting {
            // The head runs once the run stops (an earlier promote may have put it there):
            // moving another entry in front would silently revoke that accepted promote.
            return Err(self.conflict("promote a queued message"));
        }
        if index != 0 {
            self.next.queue.remove(index);
            self.next.queue.insert(0, id);
            self.queue_ops.push(QueueOp::MoveToFront(id));
        }
        match self.status().clone() {
            // Running: the entry waits at the head while the run stops; the worker's cleanup
            // promotes it after persisting the partial reply (ordering holds).
            ChatStatus::Running | ChatStatus::Pending | ChatStatus::Interrupting => {
                self.set_status(ChatStatus::Interrupting);
                self.cancel_generation = true;
            }
            ChatStatus::RequiresAction => {
                self.history_ops.push(HistoryOp::CloseToolCalls {
                    reason: TOOL_CALLS_SUPERSEDED,
                });
                self.promote_head();
            }
            _ => self.promote_head(),
        }
        Ok(())
    }

    fn edit(&mut self, message_id: i64, content: &[ChatMessagePart]) {
        if !self.next.queue.is_empty() {
            self.next.queue.clear();
            self.queue_ops.push(QueueOp::Clear);
        }
        self.history_ops.push(HistoryOp::EditAndTruncate {
            message_id,
            content: content.to_vec(),
        });
        self.cancel_generation = matches!(
            self.status(),
            ChatStatus::Running | ChatStatus::Pending | ChatStatus::Interrupting
        );
        self.set_status(ChatStatus::Running);
    }

    fn archive(&mut self, archived: bool) -> Result<()> {
        if archived && !matches!(self.status(), ChatStatus::Waiting | ChatStatus::Error) {
            return Err(self.conflict("archive"));
        }
        // Archiving is a state change too: it gets a version; the queue is kept.
        self.next.archived = archived;
        Ok(())
    }

    fn finish(mut self) -> Decision {
        let status_changed = self.next.status != self.current.status;
        let archive_changed = self.next.archived != self.current.archived;
        let queue_changed = !self.queue_ops.is_empty();
        let history_changed = !self.history_ops.is_empty()
            || self
                .queue_ops
                .iter()
                .any(|op| matches!(op, QueueOp::PromoteHead));
        let changed = status_changed
            || archive_changed
            || queue_changed
            || history_changed
            || self.last_error.is_some();

        let mut publish = Vec::new();
        if changed {
            let v = self.current.versions.snapshot + 1;
            self.next.versions = Versions {
                snapshot: v,
                history: if history_changed {
                    v
                } else {
                    self.current.versions.history
                },
                queue: if queue_changed {
                    v
                } else {
                    self.current.versions.queue
                },
            };
            let edited = self
                .history_ops
                .iter()
                .any(|op| matches!(op, HistoryOp::EditAndTruncate { .. }));
            if edited {
                publish.push(Publish::HistoryReset);
            } else if history_changed {
                publish.push(Publish::NewMessages);
            }
            if queue_changed {
                publish.push(Publish::QueueUpdate);
            }
            if status_changed || archive_changed {
                publish.push(Publish::Status);
            }
            for extra in [Publish::Error, Publish::PreviewReset] {
                if self.publish.contains(&extra) || (extra == Publish::PreviewReset && edited) {
                    publish.push(extra);
                }
            }
        }
        Decision {
            next: self.next,
            queue_ops: self.queue_ops,
            history_ops: self.history_ops,
            last_error: self.last_error,
            cancel_generation: self.cancel_generation,
            publish,
            reply: self.reply,
            changed,
        }
    }
}
