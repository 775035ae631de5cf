//! Chat wire types (Coder's experimental chats API): chats, messages, parts, queue, stream events.
//!
//! Spelled as `codersdk` spells them in the August 2026 swagger (Era C), decoded tolerantly so
//! Era A/B servers still work: legacy statuses, `null` arrays, a missing `queued_messages`
//! (Coder's `omitempty` on an empty queue) and the `{"type":"data","data":[...]}` frame envelope.
//! Our additions (version watermarks, legacy statuses) are declared in
//! [`contract::ADDITIONS`](crate::model::contract::ADDITIONS).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::model::Timestamp;
use crate::wire::null_as_empty;
use crate::wire_enum;

wire_enum! {
    /// A chat's execution status.
    ///
    /// Era C values come first; `pending`, `paused` and `completed` are Era A/B values that a
    /// client must still decode (Coder removed them in PR #27064).
    pub enum ChatStatus {
        /// Idle: nothing runs, the queue is empty.
        Waiting = "waiting",
        /// A worker is running the agent loop.
        Running = "running",
        /// The last run failed; the queue is kept.
        Error = "error",
        /// The agent waits for client-executed tool results.
        RequiresAction = "requires_action",
        /// An interrupt was requested and the run is winding down.
        Interrupting = "interrupting",
        /// Era A/B: waiting for a worker to acquire the chat.
        Pending = "pending",
        /// Era A/B: paused.
        Paused = "paused",
        /// Era A/B: finished.
        Completed = "completed",
    }
}

impl ChatStatus {
    /// Whether work is in progress (`pending`, `running` or `interrupting`): a client shows
    /// activity and a send would be queued.
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Pending | Self::Running | Self::Interrupting)
    }
}

wire_enum! {
    /// Who authored a chat message.
    pub enum ChatMessageRole {
        /// Model-only system prompt; never shown.
        System = "system",
        /// The user.
        User = "user",
        /// The model.
        Assistant = "assistant",
        /// A tool result.
        Tool = "tool",
    }
}

wire_enum! {
    /// The kind of a [`ChatMessagePart`].
    pub enum ChatMessagePartType {
        /// Plain text.
        Text = "text",
        /// Model reasoning.
        Reasoning = "reasoning",
        /// A tool invocation.
        ToolCall = "tool-call",
        /// A tool's result.
        ToolResult = "tool-result",
        /// A cited source.
        Source = "source",
        /// An attached file.
        File = "file",
        /// A reference to a range of a file.
        FileReference = "file-reference",
        /// A file loaded into the model context.
        ContextFile = "context-file",
        /// A discovered skill.
        Skill = "skill",
        /// Context injected by a lifecycle hook.
        HookContext = "hook-context",
        /// A notice from a lifecycle hook.
        HookNotice = "hook-notice",
    }
}

wire_enum! {
    /// The kind of a [`ChatInputPart`].
    pub enum ChatInputPartType {
        /// Plain text.
        Text = "text",
        /// An uploaded file, by id.
        File = "file",
        /// A reference to a range of a file.
        FileReference = "file-reference",
    }
}

wire_enum! {
    /// What `POST /chats/{chat}/messages` does when the chat is busy.
    pub enum ChatBusyBehavior {
        /// Append to the queue (the default).
        Queue = "queue",
        /// Queue, then interrupt the running turn.
        Interrupt = "interrupt",
    }
}

wire_enum! {
    /// Classification of a [`ChatError`] for consistent rendering.
    pub enum ChatErrorKind {
        /// Anything else.
        Generic = "generic",
        /// The provider is overloaded.
        Overloaded = "overloaded",
        /// The provider rate-limited the request.
        RateLimit = "rate_limit",
        /// The request timed out.
        Timeout = "timeout",
        /// The stream went silent for too long.
        StreamSilenceTimeout = "stream_silence_timeout",
        /// Authentication with the provider failed.
        Auth = "auth",
        /// The model configuration is invalid.
        Config = "config",
        /// A usage limit was reached.
        UsageLimit = "usage_limit",
        /// No API key is configured.
        MissingKey = "missing_key",
        /// The provider is disabled.
        ProviderDisabled = "provider_disabled",
        /// The provider's content filter refused.
        ContentFilter = "content_filter",
        /// A lifecycle hook could not be dispatched.
        HookDispatchFailed = "hook_dispatch_failed",
        /// A lifecycle hook denied the action.
        HookDenied = "hook_denied",
    }
}

wire_enum! {
    /// The type of a [`ChatStreamEvent`].
    pub enum ChatStreamEventType {
        /// An ephemeral delta of the in-progress assistant turn.
        MessagePart = "message_part",
        /// A durable message, new or revised in place.
        Message = "message",
        /// The chat status changed.
        Status = "status",
        /// Processing failed.
        Error = "error",
        /// The full current queue (never a delta).
        QueueUpdate = "queue_update",
        /// The server is retrying a failed model call.
        Retry = "retry",
        /// The agent needs client-executed tool results.
        ActionRequired = "action_required",
        /// Drop the streaming preview.
        PreviewReset = "preview_reset",
        /// The following `message` events replace the whole history.
        HistoryReset = "history_reset",
    }
}

/// A chat error as Coder reports it (`codersdk.ChatError`).
///
/// Era A sent `last_error` as a bare string; [`Chat`] decodes that as `{message}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatError {
    /// The normalized, user-facing message.
    #[serde(default, deserialize_with = "crate::wire::null_as_default")]
    pub message: String,
    /// Error classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ChatErrorKind>,
    /// The upstream provider, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Whether the underlying error is transient.
    #[serde(default)]
    pub retryable: bool,
    /// The upstream HTTP status code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<i64>,
    /// Provider-specific context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ChatError {
    /// An error carrying only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }
}

/// Decodes `last_error` as Coder's object, Era A's bare string, or `null`.
fn chat_error_or_string<'de, D>(deserializer: D) -> Result<Option<ChatError>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Object(ChatError),
        Text(String),
    }
    Ok(match Option::<Either>::deserialize(deserializer)? {
        None => None,
        Some(Either::Text(text)) if text.is_empty() => None,
        Some(Either::Text(text)) => Some(ChatError::new(text)),
        Some(Either::Object(err)) => Some(err),
    })
}

/// A chat (`codersdk.Chat`): the fields the queue feature and a chat list need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    /// The chat id.
    pub id: Uuid,
    /// The owning user.
    pub owner_id: Uuid,
    /// The organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    /// The workspace the agent works in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<Uuid>,
    /// The workspace build, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<Uuid>,
    /// The workspace agent, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
    /// The parent chat of a sub-agent chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_chat_id: Option<Uuid>,
    /// The root of a sub-agent tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_chat_id: Option<Uuid>,
    /// The model configuration of the last turn.
    #[serde(default)]
    pub last_model_config_id: Uuid,
    /// The title.
    #[serde(default, deserialize_with = "crate::wire::null_as_default")]
    pub title: String,
    /// The execution status.
    pub status: ChatStatus,
    /// The last error, if the chat failed.
    #[serde(
        default,
        deserialize_with = "chat_error_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_error: Option<ChatError>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time (written by the chats watcher only).
    pub updated_at: Timestamp,
    /// Whether the chat is archived.
    #[serde(default)]
    pub archived: bool,
    /// Whether assistant messages exist beyond the owner's read cursor.
    #[serde(default)]
    pub has_unread: bool,
    /// Sidebar pin position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_order: Option<i64>,
    /// User labels.
    #[serde(default, deserialize_with = "crate::wire::null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// Our addition: the version of the chat's execution state this record reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_version: Option<u64>,
    /// Our addition: the version of the history when this record was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_version: Option<u64>,
    /// Our addition: the version of the queue when this record was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_version: Option<u64>,
}

/// Token usage of one message (`codersdk.ChatMessageUsage`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatMessageUsage {
    /// Prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<i64>,
    /// Completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<i64>,
    /// Total tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<i64>,
    /// Reasoning tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<i64>,
    /// Tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_tokens: Option<i64>,
    /// Tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_tokens: Option<i64>,
    /// The model's context window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_limit: Option<i64>,
}

/// One part of a message's content (`codersdk.ChatMessagePart`). Only `type` is required;
/// every other field is omitted when empty, as Coder does.
///
/// `args` and `result` carry raw JSON (Go's `json.RawMessage`), which is what Coder sends even
/// though its swagger describes them as byte arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessagePart {
    /// The part kind.
    #[serde(rename = "type")]
    pub part_type: ChatMessagePartType,
    /// Text (text, reasoning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Tool call id (tool-call, tool-result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Tool name (tool-call, tool-result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Complete tool arguments, raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
    /// Streaming delta of the tool arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_delta: Option<String>,
    /// Complete tool result, raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Streaming delta of the tool result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_delta: Option<String>,
    /// The streamed result restarts from empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub result_reset: bool,
    /// The tool result is an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
    /// Source id (source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// Source URL (source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Source title (source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Media type (file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Uploaded file id (file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<Uuid>,
    /// File name (file-reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// When the part was produced (meaning depends on the type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
}

impl ChatMessagePart {
    /// A part of the given type with every optional field empty.
    pub fn new(part_type: ChatMessagePartType) -> Self {
        Self {
            part_type,
            text: None,
            tool_call_id: None,
            tool_name: None,
            args: None,
            args_delta: None,
            result: None,
            result_delta: None,
            result_reset: false,
            is_error: false,
            source_id: None,
            url: None,
            title: None,
            media_type: None,
            file_id: None,
            file_name: None,
            created_at: None,
        }
    }

    /// A `text` part.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::new(ChatMessagePartType::Text)
        }
    }
}

/// A durable chat message (`codersdk.ChatMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Monotonic per database; orders history and is the `after_id`/`before_id` cursor.
    pub id: i64,
    /// The chat it belongs to.
    pub chat_id: Uuid,
    /// Creation time.
    #[serde(default)]
    pub created_at: Timestamp,
    /// The user who sent it, for user messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    /// The model configuration used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_config_id: Option<Uuid>,
    /// The author.
    pub role: ChatMessageRole,
    /// The content parts.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub content: Vec<ChatMessagePart>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ChatMessageUsage>,
}

/// A message waiting in a chat's queue (`codersdk.ChatQueuedMessage`). Its id space is separate
/// from [`ChatMessage`] ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatQueuedMessage {
    /// Queue entry id; FIFO order is ascending id.
    pub id: i64,
    /// The chat it belongs to.
    pub chat_id: Uuid,
    /// The content parts.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content: Vec<ChatMessagePart>,
    /// When it was queued.
    #[serde(default)]
    pub created_at: Timestamp,
    /// The model configuration requested with the send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_config_id: Option<Uuid>,
}

/// A part of a request body (`codersdk.ChatInputPart`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatInputPart {
    /// The part kind.
    #[serde(rename = "type")]
    pub part_type: ChatInputPartType,
    /// Text (text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Uploaded file id (file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<Uuid>,
    /// File name (file-reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// First line (file-reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_line: Option<i64>,
    /// Last line (file-reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<i64>,
    /// The referenced code (file-reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

impl ChatInputPart {
    /// A `text` input part.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            part_type: ChatInputPartType::Text,
            text: Some(text.into()),
            file_id: None,
            file_name: None,
            start_line: None,
            end_line: None,
            content: None,
        }
    }
}

/// Body of `POST /chats` (`codersdk.CreateChatRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateChatRequest {
    /// The first user message.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content: Vec<ChatInputPart>,
    /// The workspace to work in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<Uuid>,
    /// The model configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_config_id: Option<Uuid>,
    /// The organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    /// An extra system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Labels to set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Body of `POST /chats/{chat}/messages` (`codersdk.CreateChatMessageRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateChatMessageRequest {
    /// The message content.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content: Vec<ChatInputPart>,
    /// The model configuration; defaults to the chat's last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_config_id: Option<Uuid>,
    /// What to do when the chat is busy; `queue` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_behavior: Option<ChatBusyBehavior>,
}

/// Response of `POST /chats/{chat}/messages` (`codersdk.CreateChatMessageResponse`): exactly
/// one of `message` and `queued_message` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateChatMessageResponse {
    /// The inserted message, when not queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<ChatMessage>,
    /// Every user-visible message the send inserted, in order.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub messages: Vec<ChatMessage>,
    /// The queue entry, when queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_message: Option<ChatQueuedMessage>,
    /// Whether the message was queued.
    #[serde(default)]
    pub queued: bool,
}

/// Body of `PATCH /chats/{chat}/messages/{message}` (`codersdk.EditChatMessageRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EditChatMessageRequest {
    /// The replacement content.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub content: Vec<ChatInputPart>,
    /// Overrides the model for the replacement and the following turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_config_id: Option<Uuid>,
}

/// Response of `PATCH /chats/{chat}/messages/{message}` (`codersdk.EditChatMessageResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditChatMessageResponse {
    /// The edited message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<ChatMessage>,
    /// Every user-visible message the edit inserted, in order.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub messages: Vec<ChatMessage>,
    /// Ids of previously visible messages the edit removed.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub deleted_message_ids: Vec<i64>,
}

/// Response of `GET /chats/{chat}/messages` (`codersdk.ChatMessagesResponse`): one page of
/// history, newest first, plus the current queue.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatMessagesResponse {
    /// The page, newest first.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub messages: Vec<ChatMessage>,
    /// The current queue in FIFO order; a missing field means empty.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub queued_messages: Vec<ChatQueuedMessage>,
    /// Whether older messages exist.
    #[serde(default)]
    pub has_more: bool,
    /// Our addition: the chat's snapshot version when the page was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_version: Option<u64>,
    /// Our addition: the history version when the page was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_version: Option<u64>,
    /// Our addition: the queue version of `queued_messages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_version: Option<u64>,
}

/// The payload of a `message_part` event (`codersdk.ChatStreamMessagePart`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatStreamMessagePart {
    /// The role of the turn the part belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ChatMessageRole>,
    /// The delta.
    pub part: ChatMessagePart,
    /// Era C: the history version the part was generated against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_version: Option<u64>,
    /// Era C: the generation attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_attempt: Option<u64>,
    /// Era C: the part sequence number within the attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// The payload of a `status` event (`codersdk.ChatStreamStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatStreamStatus {
    /// The new status.
    pub status: ChatStatus,
}

/// The payload of a `retry` event (`codersdk.ChatStreamRetry`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatStreamRetry {
    /// The 1-based retry attempt.
    #[serde(default)]
    pub attempt: i64,
    /// The backoff before the retry, in milliseconds.
    #[serde(default)]
    pub delay_ms: i64,
    /// The normalized error of the failed attempt.
    #[serde(default, deserialize_with = "crate::wire::null_as_default")]
    pub error: String,
    /// Retry classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ChatErrorKind>,
    /// The upstream provider, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The upstream HTTP status code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<i64>,
    /// When the retry happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrying_at: Option<Timestamp>,
}

/// One client-executed tool call the agent waits for (`codersdk.ChatStreamToolCall`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatStreamToolCall {
    /// The tool call id.
    #[serde(default)]
    pub tool_call_id: String,
    /// The tool name.
    #[serde(default)]
    pub tool_name: String,
    /// The arguments, as JSON text.
    #[serde(default)]
    pub args: String,
}

/// The payload of an `action_required` event (`codersdk.ChatStreamActionRequired`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatStreamActionRequired {
    /// The pending tool calls.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tool_calls: Vec<ChatStreamToolCall>,
}

/// One event of a chat stream (`codersdk.ChatStreamEvent`): a `type` plus the payload field
/// that type uses.
///
/// `queued_messages` is `omitempty` in Coder, so a `queue_update` for an empty queue arrives
/// without it; it decodes as `[]` and is skipped when empty on encode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatStreamEvent {
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: ChatStreamEventType,
    /// The chat the event is about (may be a sub-agent chat). The nil UUID means "not sent";
    /// [`decode_stream_frame`] fills it with the subscribed chat id.
    #[serde(default)]
    pub chat_id: Uuid,
    /// `message`: the durable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<ChatMessage>,
    /// `message_part`: the delta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_part: Option<ChatStreamMessagePart>,
    /// `status`: the new status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ChatStreamStatus>,
    /// `error`: what failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ChatError>,
    /// `retry`: the retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<ChatStreamRetry>,
    /// `queue_update`: the full queue, FIFO.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub queued_messages: Vec<ChatQueuedMessage>,
    /// `action_required`: the pending tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_required: Option<ChatStreamActionRequired>,
    /// Our addition: the snapshot version this event reflects (status, error, snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_version: Option<u64>,
    /// Our addition: the history version (`message`, `history_reset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_version: Option<u64>,
    /// Our addition: the queue version (`queue_update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_version: Option<u64>,
}

impl ChatStreamEvent {
    /// An event of the given type with no payload and no versions.
    pub fn new(event_type: ChatStreamEventType, chat_id: Uuid) -> Self {
        Self {
            event_type,
            chat_id,
            message: None,
            message_part: None,
            status: None,
            error: None,
            retry: None,
            queued_messages: Vec::new(),
            action_required: None,
            snapshot_version: None,
            history_version: None,
            queue_version: None,
        }
    }

    /// A `status` event.
    pub fn status(chat_id: Uuid, status: ChatStatus) -> Self {
        Self {
            status: Some(ChatStreamStatus { status }),
            ..Self::new(ChatStreamEventType::Status, chat_id)
        }
    }

    /// A `queue_update` event carrying the full queue.
    pub fn queue_update(chat_id: Uuid, queued_messages: Vec<ChatQueuedMessage>) -> Self {
        Self {
            queued_messages,
            ..Self::new(ChatStreamEventType::QueueUpdate, chat_id)
        }
    }

    /// A `message` event.
    pub fn message(message: ChatMessage) -> Self {
        Self {
            message: Some(message.clone()),
            ..Self::new(ChatStreamEventType::Message, message.chat_id)
        }
    }

    /// A `message_part` event for the assistant turn.
    pub fn message_part(chat_id: Uuid, part: ChatMessagePart) -> Self {
        Self {
            message_part: Some(ChatStreamMessagePart {
                role: Some(ChatMessageRole::Assistant),
                part,
                history_version: None,
                generation_attempt: None,
                seq: None,
            }),
            ..Self::new(ChatStreamEventType::MessagePart, chat_id)
        }
    }

    /// An `error` event.
    pub fn error(chat_id: Uuid, error: ChatError) -> Self {
        Self {
            error: Some(error),
            ..Self::new(ChatStreamEventType::Error, chat_id)
        }
    }

    /// A `retry` event.
    pub fn retry(chat_id: Uuid, retry: ChatStreamRetry) -> Self {
        Self {
            retry: Some(retry),
            ..Self::new(ChatStreamEventType::Retry, chat_id)
        }
    }

    /// The same event stamped with a snapshot version.
    pub fn with_snapshot_version(self, version: u64) -> Self {
        Self {
            snapshot_version: Some(version),
            ..self
        }
    }

    /// The same event stamped with a queue version.
    pub fn with_queue_version(self, version: u64) -> Self {
        Self {
            queue_version: Some(version),
            ..self
        }
    }

    /// The same event stamped with a history version.
    pub fn with_history_version(self, version: u64) -> Self {
        Self {
            history_version: Some(version),
            ..self
        }
    }
}

/// The message of a frame that cannot be decoded, as a client shows it.
pub const STREAM_PARSE_ERROR: &str = "Failed to parse chat stream update.";

/// Decodes one WebSocket text frame of `GET /chats/{chat}/stream` into events.
///
/// Accepts every framing Coder has used:
/// - Era C: a bare JSON array of events (optionally newline-terminated);
/// - a single event object;
/// - Era A/B: the envelope `{"type":"data"|"ping"|"error","data":...}`, where `data` holds an
///   array or a single event, `ping` yields no events, and `error` (a `Response` body) yields
///   one synthetic `error` event.
///
/// Events without a `chat_id` get `subscribed`.
///
/// ```
/// use coder_core::model::{decode_stream_frame, ChatStreamEventType};
/// let chat = uuid::Uuid::from_u128(7);
/// let events = decode_stream_frame(r#"{"type":"data","data":[{"type":"queue_update"}]}"#, chat)?;
/// assert_eq!(events[0].event_type, ChatStreamEventType::QueueUpdate);
/// assert!(events[0].queued_messages.is_empty());
/// assert_eq!(events[0].chat_id, chat);
/// # Ok::<(), coder_core::Error>(())
/// ```
pub fn decode_stream_frame(frame: &str, subscribed: Uuid) -> crate::Result<Vec<ChatStreamEvent>> {
    let value: serde_json::Value = serde_json::from_str(frame.trim()).map_err(frame_error)?;
    let mut events = match value {
        serde_json::Value::Object(ref obj) if is_envelope(obj) => decode_envelope(value)?,
        other => decode_events(other)?,
    };
    for event in &mut events {
        if event.chat_id.is_nil() {
            event.chat_id = subscribed;
        }
    }
    Ok(events)
}

/// Whether an object is the Era A/B envelope rather than a bare event. `"error"` is ambiguous:
/// the envelope carries `data`, an error event carries `error`.
fn is_envelope(obj: &serde_json::Map<String, serde_json::Value>) -> bool {
    match obj.get("type").and_then(serde_json::Value::as_str) {
        Some("data" | "ping") => true,
        Some("error") => obj.contains_key("data") && !obj.contains_key("error"),
        _ => false,
    }
}

fn decode_envelope(value: serde_json::Value) -> crate::Result<Vec<ChatStreamEvent>> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        data: serde_json::Value,
    }
    #[derive(Deserialize)]
    struct Response {
        #[serde(default)]
        message: String,
        #[serde(default)]
        detail: Option<String>,
    }
    let envelope: Envelope = serde_json::from_value(value).map_err(frame_error)?;
    match envelope.kind.as_str() {
        "data" => decode_events(envelope.data),
        "error" => {
            let response: Response = serde_json::from_value(envelope.data).map_err(frame_error)?;
            let error = ChatError {
                detail: response.detail,
                ..ChatError::new(response.message)
            };
            Ok(vec![ChatStreamEvent::error(Uuid::nil(), error)])
        }
        _ => Ok(Vec::new()),
    }
}

fn decode_events(value: serde_json::Value) -> crate::Result<Vec<ChatStreamEvent>> {
    match value {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Array(_) => serde_json::from_value(value).map_err(frame_error),
        other => Ok(vec![serde_json::from_value(other).map_err(frame_error)?]),
    }
}

fn frame_error(err: serde_json::Error) -> crate::Error {
    crate::Error::Invalid {
        field: "stream frame".to_owned(),
        reason: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = "6f1d2a9e-0000-4000-8000-000000000001";

    fn chat_id() -> Uuid {
        CHAT.parse().unwrap()
    }

    #[test]
    fn queue_update_without_queued_messages_decodes_as_empty() {
        let json = format!(r#"{{"type":"queue_update","chat_id":"{CHAT}"}}"#);
        let event: ChatStreamEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(event.event_type, ChatStreamEventType::QueueUpdate);
        assert!(event.queued_messages.is_empty());
    }

    #[test]
    fn null_arrays_decode_as_empty() {
        let json =
            format!(r#"{{"type":"queue_update","chat_id":"{CHAT}","queued_messages":null}}"#);
        let event: ChatStreamEvent = serde_json::from_str(&json).unwrap();
        assert!(event.queued_messages.is_empty());
        let page: ChatMessagesResponse =
            serde_json::from_str(r#"{"messages":null,"queued_messages":null,"has_more":false}"#)
                .unwrap();
        assert!(page.messages.is_empty() && page.queued_messages.is_empty());
        let msg: ChatMessage = serde_json::from_str(&format!(
            r#"{{"id":1,"chat_id":"{CHAT}","role":"user","content":null,"created_at":"2026-08-01T00:00:00Z"}}"#
        ))
        .unwrap();
        assert!(msg.content.is_empty());
    }

    #[test]
    fn unknown_event_type_status_and_fields_are_tolerated() {
        let json = format!(
            r#"[{{"type":"stream_connected","chat_id":"{CHAT}","stream_connected":{{"stream_id":"x"}}}},
               {{"type":"status","chat_id":"{CHAT}","status":{{"status":"hibernating"}},"brand_new":1}}]"#
        );
        let events = decode_stream_frame(&json, chat_id()).unwrap();
        assert_eq!(
            events[0].event_type,
            ChatStreamEventType::Unknown("stream_connected".into())
        );
        assert_eq!(
            events[1].status.as_ref().unwrap().status,
            ChatStatus::Unknown("hibernating".into())
        );
    }

    #[test]
    fn legacy_statuses_decode_and_pending_is_active() {
        for (text, active) in [
            ("pending", true),
            ("running", true),
            ("interrupting", true),
            ("paused", false),
            ("completed", false),
            ("waiting", false),
            ("requires_action", false),
            ("error", false),
        ] {
            let status: ChatStatus = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert!(!matches!(status, ChatStatus::Unknown(_)), "{text}");
            assert_eq!(status.is_active(), active, "{text}");
        }
    }

    #[test]
    fn empty_queue_update_is_encoded_without_queued_messages() {
        let value = serde_json::to_value(ChatStreamEvent::queue_update(chat_id(), vec![])).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"type":"queue_update","chat_id":CHAT})
        );
    }

    #[test]
    fn frames_of_every_era_decode() {
        let bare = "[{\"type\":\"status\",\"status\":{\"status\":\"running\"}}]\n";
        let events = decode_stream_frame(bare, chat_id()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].chat_id, chat_id(), "missing chat_id is filled in");

        let single = r#"{"type":"retry","retry":{"attempt":2,"delay_ms":5000,"error":"e"}}"#;
        assert_eq!(
            decode_stream_frame(single, chat_id()).unwrap()[0]
                .retry
                .as_ref()
                .unwrap()
                .attempt,
            2
        );

        assert!(
            decode_stream_frame(r#"{"type":"ping"}"#, chat_id())
                .unwrap()
                .is_empty()
        );

        let envelope_error =
            r#"{"type":"error","data":{"message":"failed to load initial snapshot"}}"#;
        let events = decode_stream_frame(envelope_error, chat_id()).unwrap();
        assert_eq!(events[0].event_type, ChatStreamEventType::Error);
        assert_eq!(
            events[0].error.as_ref().unwrap().message,
            "failed to load initial snapshot"
        );

        let error_event =
            r#"{"type":"error","error":{"message":"Rate limit exceeded","retryable":true}}"#;
        let events = decode_stream_frame(error_event, chat_id()).unwrap();
        assert_eq!(
            events[0].error.as_ref().unwrap().message,
            "Rate limit exceeded"
        );

        assert!(decode_stream_frame("{not json", chat_id()).is_err());
    }

    #[test]
    fn chat_last_error_accepts_object_string_and_null() {
        let base = format!(
            r#""id":"{CHAT}","owner_id":"{CHAT}","status":"running","created_at":"2026-08-01T00:00:00Z","updated_at":"2026-08-01T00:00:00Z""#
        );
        let chat: Chat =
            serde_json::from_str(&format!(r#"{{{base},"last_error":"boom"}}"#)).unwrap();
        assert_eq!(chat.last_error, Some(ChatError::new("boom")));
        let chat: Chat = serde_json::from_str(&format!(
            r#"{{{base},"last_error":{{"message":"x","kind":"timeout"}}}}"#
        ))
        .unwrap();
        assert_eq!(chat.last_error.unwrap().kind, Some(ChatErrorKind::Timeout));
        let chat: Chat =
            serde_json::from_str(&format!(r#"{{{base},"last_error":null,"labels":null}}"#))
                .unwrap();
        assert_eq!(chat.last_error, None);
        assert!(chat.labels.is_empty());
        let encoded = serde_json::to_value(&chat).unwrap();
        assert!(encoded.get("snapshot_version").is_none());
    }
}
