//! A complete chat persisted in memory: the reference for what the server stores and sends.
//!
//! The database-backed server does exactly this with SQL in one transaction per command; tests
//! (including the client's convergence property) use [`MemoryChat`] as the server.

use uuid::Uuid;

use super::decide::{ChatCommand, HistoryOp, Publish, QueueOp, SendReply, decide};
use super::state::ChatExecution;
use crate::Result;
use crate::model::{
    Chat, ChatError, ChatMessage, ChatMessagePart, ChatMessagePartType, ChatMessageRole,
    ChatMessagesResponse, ChatQueuedMessage, ChatStatus, ChatStreamEvent, ChatStreamEventType,
    Timestamp,
};

/// The result of one command on a [`MemoryChat`].
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// For sends: whether the message was sent or queued.
    pub reply: Option<SendReply>,
    /// For a send that went to history: the message.
    pub message: Option<ChatMessage>,
    /// For a send that was queued: the queue entry.
    pub queued_message: Option<ChatQueuedMessage>,
    /// Whether the running generation must stop.
    pub cancel_generation: bool,
    /// The events to publish, in order (all stamped with versions).
    pub events: Vec<ChatStreamEvent>,
}

/// One chat with its history and queue, changed only through [`decide`].
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryChat {
    id: Uuid,
    created_at: Timestamp,
    updated_at: Timestamp,
    execution: ChatExecution,
    history: Vec<ChatMessage>,
    queue: Vec<ChatQueuedMessage>,
    last_error: Option<String>,
    next_message_id: i64,
    next_queue_id: i64,
}

impl MemoryChat {
    /// A new idle chat.
    pub fn new(id: Uuid, now: Timestamp) -> Self {
        Self {
            id,
            created_at: now,
            updated_at: now,
            execution: ChatExecution::new(),
            history: Vec::new(),
            queue: Vec::new(),
            last_error: None,
            next_message_id: 1,
            next_queue_id: 1,
        }
    }

    /// The chat id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Status, archived flag, versions and queue ids.
    pub fn execution(&self) -> &ChatExecution {
        &self.execution
    }

    /// Durable messages, ascending id.
    pub fn history(&self) -> &[ChatMessage] {
        &self.history
    }

    /// The queue, FIFO.
    pub fn queue(&self) -> &[ChatQueuedMessage] {
        &self.queue
    }

    /// The last error, when the chat failed.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Applies `command` at `now`: decides, persists, and returns the events to publish.
    /// On error nothing changes.
    pub fn apply(&mut self, command: ChatCommand, now: Timestamp) -> Result<Applied> {
        let decision = decide(&self.execution, &command)?;
        let mut appended = Vec::new();
        let mut direct_message = None;
        for op in decision.history_ops {
            match op {
                HistoryOp::AppendUser {
                    content,
                    model_config_id,
                } => {
                    let message =
                        self.push_message(ChatMessageRole::User, content, model_config_id, now);
                    direct_message = Some(message.clone());
                    appended.push(message);
                }
                HistoryOp::AppendAssistant { content } => {
                    appended.push(self.push_message(
                        ChatMessageRole::Assistant,
                        content,
                        None,
                        now,
                    ));
                }
                HistoryOp::CloseToolCalls { reason } => {
                    let mut part = ChatMessagePart::new(ChatMessagePartType::ToolResult);
                    part.is_error = true;
                    part.text = Some(reason.to_owned());
                    appended.push(self.push_message(ChatMessageRole::Tool, vec![part], None, now));
                }
                HistoryOp::EditAndTruncate {
                    message_id,
                    content,
                } => {
                    self.history.retain(|m| m.id <= message_id);
                    if let Some(message) = self.history.iter_mut().find(|m| m.id == message_id) {
                        message.content = content;
                    }
                }
            }
        }
        let mut queued_message = None;
        for op in decision.queue_ops {
            match op {
                QueueOp::Push {
                    content,
                    model_config_id,
                } => {
                    let entry = ChatQueuedMessage {
                        id: self.next_queue_id,
                        chat_id: self.id,
                        content,
                        created_at: now,
                        model_config_id,
                    };
                    self.next_queue_id += 1;
                    queued_message = Some(entry.clone());
                    self.queue.push(entry);
                }
                QueueOp::Remove(id) => self.queue.retain(|q| q.id != id),
                QueueOp::MoveToFront(id) => {
                    if let Some(index) = self.queue.iter().position(|q| q.id == id) {
                        let entry = self.queue.remove(index);
                        self.queue.insert(0, entry);
                    }
                }
                QueueOp::PromoteHead => {
                    if !self.queue.is_empty() {
                        let head = self.queue.remove(0);
                        let message = self.push_message(
                            ChatMessageRole::User,
                            head.content,
                            head.model_config_id,
                            now,
                        );
                        appended.push(message);
                    }
                }
                QueueOp::Clear => self.queue.clear(),
            }
        }
        if let Some(last_error) = decision.last_error {
            self.last_error = last_error;
        }
        if decision.changed {
            self.updated_at = now;
        }
        self.execution = decision.next;
        self.execution.queue = self.queue.iter().map(|q| q.id).collect();

        let events = decision
            .publish
            .iter()
            .flat_map(|publish| self.events_for(*publish, &appended))
            .collect();
        let queued = decision.reply == Some(SendReply::Queued);
        Ok(Applied {
            reply: decision.reply,
            message: if queued { None } else { direct_message },
            queued_message: if queued { queued_message } else { None },
            cancel_generation: decision.cancel_generation,
            events,
        })
    }

    fn push_message(
        &mut self,
        role: ChatMessageRole,
        content: Vec<ChatMessagePart>,
        model_config_id: Option<Uuid>,
        now: Timestamp,
    ) -> ChatMessage {
        let message = ChatMessage {
            id: self.next_message_id,
            chat_id: self.id,
            created_at: now,
            created_by: None,
            model_config_id,
            role,
            content,
            usage: None,
        };
        self.next_message_id += 1;
        self.history.push(message.clone());
        message
    }

    fn events_for(&self, publish: Publish, appended: &[ChatMessage]) -> Vec<ChatStreamEvent> {
        let v = self.execution.versions;
        match publish {
            Publish::HistoryReset => {
                let reset = ChatStreamEvent::new(ChatStreamEventType::HistoryReset, self.id)
                    .with_history_version(v.history)
                    .with_snapshot_version(v.snapshot);
                std::iter::once(reset)
                    .chain(self.message_events(&self.history))
                    .collect()
            }
            Publish::NewMessages => self.message_events(appended),
            Publish::QueueUpdate => vec![self.queue_event()],
            Publish::Status => vec![self.status_event()],
            Publish::Error => self.error_event().into_iter().collect(),
            Publish::PreviewReset => vec![
                ChatStreamEvent::new(ChatStreamEventType::PreviewReset, self.id)
                    .with_snapshot_version(v.snapshot),
            ],
        }
    }

    fn message_events(&self, messages: &[ChatMessage]) -> Vec<ChatStreamEvent> {
        let v = self.execution.versions;
        messages
            .iter()
            .map(|m| ChatStreamEvent::message(m.clone()).with_history_version(v.history))
            .collect()
    }

    fn queue_event(&self) -> ChatStreamEvent {
        let v = self.execution.versions;
        ChatStreamEvent::queue_update(self.id, self.queue.clone())
            .with_queue_version(v.queue)
            .with_snapshot_version(v.snapshot)
    }

    fn status_event(&self) -> ChatStreamEvent {
        ChatStreamEvent::status(self.id, self.execution.status.clone())
            .with_snapshot_version(self.execution.versions.snapshot)
    }

    fn error_event(&self) -> Option<ChatStreamEvent> {
        let message = self.last_error.as_ref()?;
        Some(
            ChatStreamEvent::error(self.id, ChatError::new(message.clone()))
                .with_snapshot_version(self.execution.versions.snapshot),
        )
    }

    /// The events a new stream subscriber receives first: the status, every message after
    /// `after_id` (all when `None`), and **always** a `queue_update` — also for an empty
    /// queue, so a client holding a stale cached queue is corrected on connect.
    pub fn snapshot_events(&self, after_id: Option<i64>) -> Vec<ChatStreamEvent> {
        let after = after_id.unwrap_or(0);
        let newer: Vec<ChatMessage> = self
            .history
            .iter()
            .filter(|m| m.id > after)
            .cloned()
            .collect();
        let mut events = vec![self.status_event()];
        events.extend(self.message_events(&newer));
        events.push(self.queue_event());
        if self.execution.status == ChatStatus::Error {
            events.extend(self.error_event());
        }
        events
    }

    /// `GET /chats/{chat}`: the record, with our version fields.
    pub fn chat_record(&self, owner_id: Uuid) -> Chat {
        let v = self.execution.versions;
        Chat {
            id: self.id,
            owner_id,
            organization_id: None,
            workspace_id: None,
            build_id: None,
            agent_id: None,
            parent_chat_id: None,
            root_chat_id: None,
            last_model_config_id: Uuid::nil(),
            title: String::new(),
            status: self.execution.status.clone(),
            last_error: self.last_error.as_ref().map(|m| ChatError::new(m.clone())),
            created_at: self.created_at,
            updated_at: self.updated_at,
            archived: self.execution.archived,
            has_unread: false,
            pin_order: None,
            labels: Default::default(),
            snapshot_version: Some(v.snapshot),
            history_version: Some(v.history),
            queue_version: Some(v.queue),
        }
    }

    /// `GET /chats/{chat}/messages` page 0 (newest first) with the queue and versions.
    pub fn messages_page(&self, limit: usize) -> ChatMessagesResponse {
        let v = self.execution.versions;
        let messages: Vec<ChatMessage> = self.history.iter().rev().take(limit).cloned().collect();
        ChatMessagesResponse {
            has_more: self.history.len() > limit,
            messages,
            queued_messages: self.queue.clone(),
            snapshot_version: Some(v.snapshot),
            history_version: Some(v.history),
            queue_version: Some(v.queue),
        }
    }
}
