//! The client-side chat view: a sans-IO state machine a chat UI renders.
//!
//! Feed it [`ChatInput`]s with the current time; it updates [`ChatViewState`] and returns
//! [`ChatEffect`]s for the driver to perform (open/close the stream, fetch, write the cache,
//! arm timers). It reconciles two writers of the same facts, REST snapshots (possibly stale,
//! possibly from the cache) and the stream:
//!
//! - with versions (`snapshot_version`, `history_version`, `queue_version`) the newer snapshot
//!   wins whichever path it came by;
//! - without them (a real Coder), the §5.2 hydration guard and §5.3 status guard decide, reset
//!   on chat switch (and, for the queue, on stream reopen: an empty queue gets no
//!   `queue_update` on connect, so REST must be able to correct it).
//!
//! ```
//! use coder_core::chat::client::{ChatCache, ChatEffect, ChatInput, ChatView};
//! let chat = uuid::Uuid::from_u128(1);
//! let mut view = ChatView::new(ChatCache::new());
//! let effects = view.handle(chrono::Utc::now(), ChatInput::SwitchChat(Some(chat)));
//! assert_eq!(effects, [ChatEffect::FetchSnapshot { chat_id: chat }]);
//! ```

mod batch;
mod cache;
mod history;
mod preview;
mod queue;
mod reconnect;
mod status;
mod version;

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::model::{
    Chat, ChatErrorKind, ChatMessage, ChatMessagesResponse, ChatQueuedMessage, ChatStatus,
    ChatStreamActionRequired, ChatStreamEvent, Timestamp,
};

pub use cache::{CachedChat, ChatCache};
pub use preview::{PreviewBlock, StreamPreview};
pub use reconnect::{RECONNECT_BASE_DELAY, RECONNECT_MAX_DELAY, ReconnectState};
pub use version::Source;

use history::HistoryState;
use preview::PartBuffer;
use queue::QueueState;
use reconnect::Backoff;
use status::StatusState;

/// The stream error shown while reconnecting after a drop during active work.
pub const STREAM_RECONNECTING: &str = "Chat stream disconnected. Reconnecting…";
/// The stream error shown for an `error` event with a blank message.
pub const CHAT_PROCESSING_FAILED: &str = "Chat processing failed.";
/// The retry error shown for a `retry` event with a blank error.
pub const RETRYING_SHORTLY: &str = "Retrying request shortly.";

/// Identifies one stream connection the view asked for, so late input from a closed or
/// replaced socket is ignored (the "disposed handler").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u64);

/// A REST read of one chat: the chat record and/or page 0 of its messages with the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct RestSnapshot {
    /// The chat read.
    pub chat_id: Uuid,
    /// `GET /chats/{chat}`, if part of this read.
    pub chat: Option<Chat>,
    /// Page 0 of `GET /chats/{chat}/messages`, if part of this read.
    pub page: Option<ChatMessagesResponse>,
}

/// Everything that can happen to a chat view.
// Inputs are moved through once, never stored in bulk: boxing would only cost callers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ChatInput {
    /// The user opened another chat (or none).
    SwitchChat(Option<Uuid>),
    /// A REST read arrived (for any chat; reads of other chats only fill the cache).
    RestSnapshot(RestSnapshot),
    /// The socket of [`ChatEffect::OpenStream`] connected.
    StreamOpened(StreamId),
    /// One decoded frame of that socket.
    StreamFrame {
        /// The socket.
        stream_id: StreamId,
        /// Its events, in order.
        events: Vec<ChatStreamEvent>,
    },
    /// A frame of that socket could not be decoded.
    StreamFrameInvalid(StreamId),
    /// The socket closed or errored (duplicates for one socket are ignored).
    StreamClosed(StreamId),
    /// A timer of [`ChatEffect::ScheduleTick`] or [`ChatEffect::ScheduleReconnect`] fired.
    Tick,
    /// The user removes a queued message; the driver calls DELETE.
    DeleteQueued(i64),
    /// The DELETE of a queued message finished.
    DeleteQueuedFinished {
        /// The queued message id.
        id: i64,
        /// Whether it succeeded.
        ok: bool,
    },
    /// The user promotes ("send now") a queued message; the driver calls promote.
    PromoteQueued(i64),
    /// The promote call finished.
    PromoteQueuedFinished {
        /// The queued message id.
        id: i64,
        /// `Ok(message)` (Era A returns the promoted message) or `Err(())` on failure.
        result: Result<Option<ChatMessage>, ()>,
    },
}

/// What the driver must do.
// Effects are moved through once, never stored in bulk: boxing would only cost callers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEffect {
    /// Connect `GET /chats/{chat_id}/stream[?after_id]` and report it as `stream_id`.
    OpenStream {
        /// Tag for the inputs of this socket.
        stream_id: StreamId,
        /// The chat.
        chat_id: Uuid,
        /// Catch-up cursor: the last message id shown.
        after_id: Option<i64>,
    },
    /// Close that socket; its later input is ignored anyway.
    CloseStream {
        /// The socket.
        stream_id: StreamId,
    },
    /// Read the chat record and page 0 of messages, and report a [`ChatInput::RestSnapshot`].
    FetchSnapshot {
        /// The chat.
        chat_id: Uuid,
    },
    /// The cache entry of `chat_id` changed (already applied to [`ChatView::cache`]); persist
    /// it if the driver keeps a cache of its own.
    WriteCache {
        /// The chat.
        chat_id: Uuid,
        /// The new entry.
        entry: CachedChat,
    },
    /// Feed [`ChatInput::Tick`] at `at` (flushes buffered parts).
    ScheduleTick {
        /// When.
        at: Timestamp,
    },
    /// Feed [`ChatInput::Tick`] at `at` to reconnect.
    ScheduleReconnect {
        /// When.
        at: Timestamp,
    },
    /// Record why the chat failed (shown beside it).
    SetErrorReason {
        /// The chat.
        chat_id: Uuid,
        /// The reason.
        reason: String,
    },
    /// Forget the chat's error reason.
    ClearErrorReason {
        /// The chat.
        chat_id: Uuid,
    },
}

/// The retry the server announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryState {
    /// 1-based attempt.
    pub attempt: i64,
    /// The trimmed error, or [`RETRYING_SHORTLY`].
    pub error: String,
    /// Classification.
    pub kind: Option<ChatErrorKind>,
    /// The upstream provider.
    pub provider: Option<String>,
    /// The backoff in milliseconds.
    pub delay_ms: i64,
    /// When the retry happens.
    pub retrying_at: Option<Timestamp>,
}

/// What a chat UI renders.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatViewState {
    /// The chat shown.
    pub chat_id: Option<Uuid>,
    /// Its messages, ordered by id.
    pub messages: BTreeMap<i64, ChatMessage>,
    /// Its queue, FIFO.
    pub queued_messages: Vec<ChatQueuedMessage>,
    /// Its status, once known.
    pub status: Option<ChatStatus>,
    /// The streaming preview of the current assistant turn.
    pub preview: Option<StreamPreview>,
    /// The pending server retry.
    pub retry: Option<RetryState>,
    /// The stream error text.
    pub stream_error: Option<String>,
    /// The scheduled reconnect.
    pub reconnect: Option<ReconnectState>,
    /// Statuses of sub-agent chats, from `status` events that name them.
    pub subagent_status_overrides: BTreeMap<Uuid, ChatStatus>,
    /// The tool calls the agent waits for.
    pub action_required: Option<ChatStreamActionRequired>,
}

impl ChatViewState {
    /// Message ids in order.
    pub fn message_ids(&self) -> Vec<i64> {
        self.messages.keys().copied().collect()
    }

    /// Queued message ids in order.
    pub fn queued_ids(&self) -> Vec<i64> {
        self.queued_messages.iter().map(|q| q.id).collect()
    }

    /// The preview's text, if a preview exists.
    pub fn preview_text(&self) -> Option<String> {
        self.preview.as_ref().map(StreamPreview::text)
    }

    /// Work is active but nothing has streamed yet (the "thinking" indicator).
    pub fn is_awaiting_first_chunk(&self) -> bool {
        self.status.as_ref().is_some_and(ChatStatus::is_active) && self.preview.is_none()
    }
}

/// Which parts of [`ChatViewState`] the last input changed, so renderers of other parts can
/// skip work (selector isolation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changes {
    /// `chat_id` or `messages`.
    pub messages: bool,
    /// `queued_messages`.
    pub queue: bool,
    /// `status`.
    pub status: bool,
    /// `preview`.
    pub preview: bool,
    /// `retry`.
    pub retry: bool,
    /// `stream_error`.
    pub stream_error: bool,
    /// `reconnect`.
    pub reconnect: bool,
    /// `subagent_status_overrides` or `action_required`.
    pub other: bool,
}

/// Where the stream of the shown chat is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Connection {
    Closed,
    Connecting(StreamId),
    Open(StreamId),
    Waiting(ReconnectState),
}

/// The chat view driver: owns the view state, the cache and the reconciliation rules.
#[derive(Debug, Clone)]
pub struct ChatView {
    state: ChatViewState,
    cache: ChatCache,
    changes: Changes,
    effects: Vec<ChatEffect>,
    queue: QueueState,
    status: StatusState,
    history: HistoryState,
    parts: PartBuffer,
    tick_scheduled: bool,
    backoff: Backoff,
    connection: Connection,
    next_stream_id: u64,
    /// Whether a stream of the shown chat opened before (a reopen triggers a refetch).
    opened_before: bool,
    /// Page 0 was applied for the shown chat, so `after_id` is known.
    loaded: bool,
    record: Option<Chat>,
    has_more: bool,
}

impl ChatView {
    /// A view showing no chat, over `cache`.
    pub fn new(cache: ChatCache) -> Self {
        Self {
            state: ChatViewState::default(),
            cache,
            changes: Changes::default(),
            effects: Vec::new(),
            queue: QueueState::default(),
            status: StatusState::default(),
            history: HistoryState::default(),
            parts: PartBuffer::default(),
            tick_scheduled: false,
            backoff: Backoff::default(),
            connection: Connection::Closed,
            next_stream_id: 0,
            opened_before: false,
            loaded: false,
            record: None,
            has_more: false,
        }
    }

    /// What to render.
    pub fn state(&self) -> &ChatViewState {
        &self.state
    }

    /// The per-chat cache.
    pub fn cache(&self) -> &ChatCache {
        &self.cache
    }

    /// Which parts of the state the last [`ChatView::handle`] changed.
    pub fn changes(&self) -> Changes {
        self.changes
    }

    /// The socket currently connecting or open, if any.
    pub fn stream_id(&self) -> Option<StreamId> {
        match self.connection {
            Connection::Connecting(id) | Connection::Open(id) => Some(id),
            Connection::Closed | Connection::Waiting(_) => None,
        }
    }

    /// Applies one input at time `now`; returns the effects to perform, in order.
    pub fn handle(&mut self, now: Timestamp, input: ChatInput) -> Vec<ChatEffect> {
        self.changes = Changes::default();
        match input {
            ChatInput::SwitchChat(chat_id) => self.switch_chat(chat_id),
            ChatInput::RestSnapshot(snapshot) => self.apply_rest(snapshot),
            ChatInput::StreamOpened(id) => self.stream_opened(id),
            ChatInput::StreamFrame { stream_id, events } => {
                if self.connection == Connection::Open(stream_id) {
                    self.apply_frame(now, events);
                }
            }
            ChatInput::StreamFrameInvalid(id) => {
                if self.connection == Connection::Open(id) {
                    self.set_stream_error(Some(crate::model::STREAM_PARSE_ERROR.to_owned()));
                }
            }
            ChatInput::StreamClosed(id) => self.stream_dropped(now, id),
            ChatInput::Tick => self.tick(now),
            ChatInput::DeleteQueued(id) => {
                if self.queue.begin_delete(id) {
                    self.refresh_queue();
                }
            }
            ChatInput::DeleteQueuedFinished { id, ok } => {
                if !ok {
                    self.queue.delete_failed(id);
                    self.refresh_queue();
                }
            }
            ChatInput::PromoteQueued(id) => self.begin_promote(id),
            ChatInput::PromoteQueuedFinished { id, result } => self.finish_promote(id, result),
        }
        if self.changes.messages || self.changes.queue || self.changes.status {
            self.sync_cache();
        }
        std::mem::take(&mut self.effects)
    }

    fn switch_chat(&mut self, chat_id: Option<Uuid>) {
        if self.state.chat_id == chat_id {
            return;
        }
        if let Some(stream_id) = self.stream_id() {
            self.effects.push(ChatEffect::CloseStream { stream_id });
        }
        let cache = std::mem::take(&mut self.cache);
        let effects = std::mem::take(&mut self.effects);
        let next_stream_id = self.next_stream_id;
        *self = Self::new(cache);
        self.effects = effects;
        self.next_stream_id = next_stream_id;
        self.state.chat_id = chat_id;
        self.changes = Changes {
            messages: true,
            queue: true,
            status: true,
            preview: true,
            retry: true,
            stream_error: true,
            reconnect: true,
            other: true,
        };
        if let Some(chat_id) = chat_id {
            self.effects.push(ChatEffect::FetchSnapshot { chat_id });
            if let Some(cached) = self.cache.get(chat_id).cloned() {
                self.apply_snapshot(cached.chat, cached.page);
            }
        }
    }

    fn apply_rest(&mut self, snapshot: RestSnapshot) {
        if Some(snapshot.chat_id) == self.state.chat_id {
            self.apply_snapshot(snapshot.chat, snapshot.page);
        } else {
            self.cache
                .store_read(snapshot.chat_id, snapshot.chat, snapshot.page);
        }
    }

    /// Applies a REST read (fresh or cached) of the shown chat.
    fn apply_snapshot(&mut self, chat: Option<Chat>, page: Option<ChatMessagesResponse>) {
        if let Some(chat) = chat {
            if self
                .status
                .apply(Source::Rest, chat.status.clone(), chat.snapshot_version)
            {
                self.refresh_status();
            }
            self.record = Some(chat);
        }
        let Some(page) = page else { return };
        if self.history.apply_page(
            &mut self.state.messages,
            page.messages,
            page.history_version,
        ) {
            self.changes.messages = true;
        }
        self.has_more = page.has_more;
        if self
            .queue
            .apply(Source::Rest, page.queued_messages, page.queue_version)
        {
            self.refresh_queue();
        }
        if !self.loaded {
            self.loaded = true;
            self.changes.messages = true;
            if self.connection == Connection::Closed {
                self.open_stream();
            }
        }
    }

    fn open_stream(&mut self) {
        let Some(chat_id) = self.state.chat_id else {
            return;
        };
        let stream_id = StreamId(self.next_stream_id);
        self.next_stream_id += 1;
        self.connection = Connection::Connecting(stream_id);
        let after_id = self.state.messages.keys().next_back().copied();
        self.effects.push(ChatEffect::OpenStream {
            stream_id,
            chat_id,
            after_id,
        });
    }

    fn stream_opened(&mut self, id: StreamId) {
        if self.connection != Connection::Connecting(id) {
            return;
        }
        self.connection = Connection::Open(id);
        self.backoff.reset();
        self.set_reconnect(None);
        self.set_stream_error(None);
        // The server replays buffered parts on every connect: start the preview afresh.
        self.parts.discard();
        self.set_preview(None);
        self.history.abandon_reset();
        self.queue.stream_reopened();
        if std::mem::replace(&mut self.opened_before, true)
            && let Some(chat_id) = self.state.chat_id
        {
            self.effects.push(ChatEffect::FetchSnapshot { chat_id });
        }
    }

    fn stream_dropped(&mut self, now: Timestamp, id: StreamId) {
        if self.stream_id() != Some(id) {
            return;
        }
        let work_active = self.state.preview.is_some()
            || self.state.retry.is_some()
            || self
                .state
                .status
                .as_ref()
                .is_some_and(ChatStatus::is_active);
        if work_active {
            self.set_stream_error(Some(STREAM_RECONNECTING.to_owned()));
        }
        self.parts.discard();
        let reconnect = self.backoff.fail(now);
        self.connection = Connection::Waiting(reconnect);
        self.set_reconnect(Some(reconnect));
        self.effects
            .push(ChatEffect::ScheduleReconnect { at: reconnect.at });
    }

    fn tick(&mut self, now: Timestamp) {
        if let Connection::Waiting(reconnect) = self.connection
            && now >= reconnect.at
        {
            self.connection = Connection::Closed;
            self.open_stream();
        }
        self.tick_scheduled = false;
        self.flush_parts();
    }

    fn begin_promote(&mut self, id: i64) {
        if !self.queue.begin_promote(id) {
            return;
        }
        self.refresh_queue();
        self.parts.discard();
        self.set_preview(None);
        self.set_retry(None);
        self.set_stream_error(None);
        // Era C has no `pending`: the promoted message runs next.
        let next = if self.status.version().is_some() {
            ChatStatus::Running
        } else {
            ChatStatus::Pending
        };
        self.status.set_optimistic(next);
        self.refresh_status();
    }

    fn finish_promote(&mut self, id: i64, result: Result<Option<ChatMessage>, ()>) {
        match result {
            Ok(Some(message)) => {
                if self.history.upsert(&mut self.state.messages, message, None)
                    == history::Upsert::Changed
                {
                    self.changes.messages = true;
                }
            }
            Ok(None) => {}
            Err(()) => {
                self.queue.promote_failed(id);
                self.refresh_queue();
                if self.status.rollback_optimistic() {
                    self.refresh_status();
                }
            }
        }
    }

    /// Moves buffered parts into the preview if the part gate passes, else drops them.
    fn flush_parts(&mut self) {
        if self.parts.is_empty() {
            return;
        }
        if self.state.status == Some(ChatStatus::Waiting) {
            self.parts.discard();
        } else if self.parts.flush_into(&mut self.state.preview) {
            self.changes.preview = true;
        }
    }

    /// Mirrors what is shown into the cache (filtered queue, confirmed status).
    fn sync_cache(&mut self) {
        let Some(chat_id) = self.state.chat_id else {
            return;
        };
        if !self.loaded {
            return;
        }
        let chat = self.record.clone().map(|mut chat| {
            if let Some(status) = self.status.confirmed() {
                chat.status = status.clone();
            }
            chat.snapshot_version = self.status.version().or(chat.snapshot_version);
            chat
        });
        let page = ChatMessagesResponse {
            messages: self.state.messages.values().rev().cloned().collect(),
            queued_messages: self.state.queued_messages.clone(),
            has_more: self.has_more,
            snapshot_version: None,
            history_version: self.history.version(),
            queue_version: self.queue.version().filter(|_| self.queue.is_unfiltered()),
        };
        let entry = CachedChat {
            chat,
            page: Some(page),
        };
        if self.cache.put(chat_id, entry.clone()) {
            self.effects.push(ChatEffect::WriteCache { chat_id, entry });
        }
    }

    fn refresh_queue(&mut self) {
        let visible = self.queue.visible();
        if visible != self.state.queued_messages {
            self.state.queued_messages = visible;
            self.changes.queue = true;
        }
    }

    fn refresh_status(&mut self) {
        let status = self.status.get().cloned();
        if status != self.state.status {
            self.state.status = status;
            self.changes.status = true;
        }
    }

    fn set_preview(&mut self, preview: Option<StreamPreview>) {
        if preview != self.state.preview {
            self.state.preview = preview;
            self.changes.preview = true;
        }
    }

    fn set_retry(&mut self, retry: Option<RetryState>) {
        if retry != self.state.retry {
            self.state.retry = retry;
            self.changes.retry = true;
        }
    }

    fn set_stream_error(&mut self, error: Option<String>) {
        if error != self.state.stream_error {
            self.state.stream_error = error;
            self.changes.stream_error = true;
        }
    }

    fn set_reconnect(&mut self, reconnect: Option<ReconnectState>) {
        if reconnect != self.state.reconnect {
            self.state.reconnect = reconnect;
            self.changes.reconnect = true;
        }
    }
}
