//! The client scenarios of chat-protocol.md §6 (Coder's `ChatContext.test.tsx`), one
//! given/when/then test each, against the sans-IO [`ChatView`], plus the Era C version rules.

// Test helpers outside `#[test]` fns: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeDelta, TimeZone, Utc};
use coder_core::chat::client::{
    CHAT_PROCESSING_FAILED, CachedChat, ChatCache, ChatEffect, ChatInput, ChatView, RestSnapshot,
    STREAM_RECONNECTING, StreamId,
};
use coder_core::model::{
    Chat, ChatError, ChatMessage, ChatMessagePart, ChatMessageRole, ChatMessagesResponse,
    ChatQueuedMessage, ChatStatus, ChatStreamEvent, ChatStreamEventType, ChatStreamRetry,
    Timestamp,
};
use uuid::Uuid;

fn chat(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 8, 1, 12, 0, 0).unwrap()
}

fn msg(chat_id: Uuid, id: i64, role: ChatMessageRole, text: &str) -> ChatMessage {
    ChatMessage {
        id,
        chat_id,
        created_at: t0(),
        created_by: None,
        model_config_id: None,
        role,
        content: vec![ChatMessagePart::text(text)],
        usage: None,
    }
}

fn assistant(chat_id: Uuid, id: i64, text: &str) -> ChatMessage {
    msg(chat_id, id, ChatMessageRole::Assistant, text)
}

fn queued(chat_id: Uuid, id: i64) -> ChatQueuedMessage {
    ChatQueuedMessage {
        id,
        chat_id,
        content: vec![ChatMessagePart::text(format!("queued {id}"))],
        created_at: t0(),
        model_config_id: None,
    }
}

fn record(chat_id: Uuid, status: ChatStatus) -> Chat {
    Chat {
        id: chat_id,
        owner_id: chat(99),
        organization_id: None,
        workspace_id: None,
        build_id: None,
        agent_id: None,
        parent_chat_id: None,
        root_chat_id: None,
        last_model_config_id: Uuid::nil(),
        title: "t".into(),
        status,
        last_error: None,
        created_at: t0(),
        updated_at: t0(),
        archived: false,
        has_unread: false,
        pin_order: None,
        labels: Default::default(),
        snapshot_version: None,
        history_version: None,
        queue_version: None,
    }
}

fn page(messages: Vec<ChatMessage>, queue: &[i64], chat_id: Uuid) -> ChatMessagesResponse {
    ChatMessagesResponse {
        messages: messages.into_iter().rev().collect(),
        queued_messages: queue.iter().map(|&id| queued(chat_id, id)).collect(),
        ..Default::default()
    }
}

fn part(chat_id: Uuid, text: &str) -> ChatStreamEvent {
    ChatStreamEvent::message_part(chat_id, ChatMessagePart::text(text))
}

fn status(chat_id: Uuid, s: ChatStatus) -> ChatStreamEvent {
    ChatStreamEvent::status(chat_id, s)
}

fn queue_update(chat_id: Uuid, ids: &[i64]) -> ChatStreamEvent {
    ChatStreamEvent::queue_update(chat_id, ids.iter().map(|&id| queued(chat_id, id)).collect())
}

/// Drives a [`ChatView`] like the web client's hook: records every effect, knows the socket.
struct Harness {
    view: ChatView,
    now: Timestamp,
    effects: Vec<ChatEffect>,
}

impl Harness {
    fn new() -> Self {
        Self::with_cache(ChatCache::new())
    }

    fn with_cache(cache: ChatCache) -> Self {
        Self {
            view: ChatView::new(cache),
            now: t0(),
            effects: Vec::new(),
        }
    }

    /// Shows `chat_id` with the given REST data (status `running` by default) and an open stream.
    fn shown(chat_id: Uuid, messages: Vec<ChatMessage>, queue: &[i64]) -> Self {
        let mut h = Self::new();
        h.load(chat_id, messages, queue, ChatStatus::Running);
        h
    }

    fn load(&mut self, chat_id: Uuid, messages: Vec<ChatMessage>, queue: &[i64], s: ChatStatus) {
        self.input(ChatInput::SwitchChat(Some(chat_id)));
        self.rest(chat_id, Some(s), messages, queue);
        self.open();
    }

    fn input(&mut self, input: ChatInput) -> Vec<ChatEffect> {
        let effects = self.view.handle(self.now, input);
        self.effects.extend(effects.iter().cloned());
        effects
    }

    fn rest(
        &mut self,
        chat_id: Uuid,
        s: Option<ChatStatus>,
        messages: Vec<ChatMessage>,
        queue: &[i64],
    ) {
        self.input(ChatInput::RestSnapshot(RestSnapshot {
            chat_id,
            chat: s.map(|s| record(chat_id, s)),
            page: Some(page(messages, queue, chat_id)),
        }));
    }

    fn stream(&self) -> StreamId {
        self.view
            .stream_id()
            .expect("a stream is connecting or open")
    }

    fn open(&mut self) {
        let id = self.stream();
        self.input(ChatInput::StreamOpened(id));
    }

    fn frame(&mut self, events: Vec<ChatStreamEvent>) -> Vec<ChatEffect> {
        let stream_id = self.stream();
        self.input(ChatInput::StreamFrame { stream_id, events })
    }

    fn tick(&mut self) {
        self.input(ChatInput::Tick);
    }

    fn advance(&mut self, millis: i64) {
        self.now += TimeDelta::milliseconds(millis);
        self.tick();
    }

    fn drop_stream(&mut self) -> Vec<ChatEffect> {
        let id = self.stream();
        self.input(ChatInput::StreamClosed(id))
    }

    /// `(chat, after_id)` of every `OpenStream` so far.
    fn watch_calls(&self) -> Vec<(Uuid, Option<i64>)> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                ChatEffect::OpenStream {
                    chat_id, after_id, ..
                } => Some((*chat_id, *after_id)),
                _ => None,
            })
            .collect()
    }

    fn preview(&self) -> Option<String> {
        self.view.state().preview_text()
    }

    fn queue(&self) -> Vec<i64> {
        self.view.state().queued_ids()
    }

    fn cached(&self, chat_id: Uuid) -> &CachedChat {
        self.view.cache().get(chat_id).expect("cached")
    }
}

// ---- Stream and preview (§6 #1–#13) ----

#[test]
fn s01_duplicate_snapshot_message_keeps_preview() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![assistant(c, 1, "hi")], &[]);
    h.frame(vec![part(c, "reconnect-part-one")]);
    h.tick();
    h.frame(vec![ChatStreamEvent::message(assistant(c, 1, "hi"))]);
    assert_eq!(h.preview().as_deref(), Some("reconnect-part-one"));
}

#[test]
fn s02_new_durable_assistant_message_clears_preview() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![part(c, "working")]);
    h.tick();
    h.frame(vec![ChatStreamEvent::message(assistant(
        c,
        2,
        "working done",
    ))]);
    assert_eq!(h.preview(), None);
    assert_eq!(h.view.state().message_ids(), [2]);
}

#[test]
fn s03_same_id_with_new_content_clears_preview() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![assistant(c, 1, "old")], &[]);
    h.frame(vec![part(c, "partial")]);
    h.tick();
    h.frame(vec![ChatStreamEvent::message(assistant(c, 1, "updated"))]);
    assert_eq!(h.preview(), None);
    assert_eq!(
        h.view.state().messages[&1].content[0].text.as_deref(),
        Some("updated")
    );
}

#[test]
fn s04_message_part_changes_only_the_stream_selector() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[10]);
    h.frame(vec![part(c, "x")]);
    h.tick();
    let changes = h.view.changes();
    assert!(changes.preview);
    assert!(!changes.queue && !changes.messages && !changes.status);
}

#[test]
fn s05_batched_parts_form_one_response_block() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![part(c, "hello "), part(c, "world")]);
    h.tick();
    let preview = h.view.state().preview.clone().unwrap();
    assert_eq!(preview.blocks.len(), 1);
    assert_eq!(preview.text(), "hello world");
}

#[test]
fn s06_parts_ignored_while_waiting_and_preview_kept() {
    // Era B variant; Era A also cleared the preview on `pending` (not modelled: superseded).
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![part(c, "first")]);
    h.tick();
    h.frame(vec![
        status(c, ChatStatus::Waiting).with_snapshot_version(2),
    ]);
    h.frame(vec![part(c, "late")]);
    h.tick();
    assert_eq!(h.preview().as_deref(), Some("first"));
}

#[test]
fn s07_message_for_another_chat_is_filtered() {
    let (c, other) = (chat(1), chat(2));
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![part(c, "streaming")]);
    h.tick();
    h.frame(vec![ChatStreamEvent::message(assistant(
        other,
        5,
        "elsewhere",
    ))]);
    assert_eq!(h.preview().as_deref(), Some("streaming"));
    assert!(h.view.state().messages.is_empty());
    h.frame(vec![ChatStreamEvent::message(assistant(c, 5, "here"))]);
    assert_eq!(h.preview(), None);
}

#[test]
fn s08_part_after_message_in_same_frame_starts_next_turn() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![
        ChatStreamEvent::message(assistant(c, 2, "done")),
        part(c, " more"),
    ]);
    assert_eq!(h.preview().as_deref(), Some(" more"));
}

#[test]
fn s09_switching_chat_discards_parts_and_opens_with_after_id() {
    let (c1, c2) = (chat(1), chat(2));
    let mut h = Harness::shown(c1, vec![], &[]);
    h.frame(vec![part(c1, "stale-part")]);
    h.input(ChatInput::SwitchChat(Some(c2)));
    h.rest(
        c2,
        Some(ChatStatus::Running),
        vec![assistant(c2, 10, "x")],
        &[],
    );
    h.tick();
    assert_eq!(h.watch_calls().last(), Some(&(c2, Some(10))));
    assert_eq!(h.preview(), None);
}

#[test]
fn s10_parts_then_waiting_in_one_frame_leave_no_preview() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![part(c, "p"), status(c, ChatStatus::Waiting)]);
    assert_eq!(h.preview(), None);
    h.tick();
    assert_eq!(
        h.preview(),
        None,
        "the deferred flush does not re-populate it"
    );
}

#[test]
fn s11_promoted_user_message_keeps_stream() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[10]);
    h.frame(vec![
        part(c, "I am helping you"),
        ChatStreamEvent::message(msg(c, 3, ChatMessageRole::User, "queued 10")),
    ]);
    assert_eq!(h.view.state().message_ids(), [3]);
    assert_eq!(h.preview().as_deref(), Some("I am helping you"));
}

#[test]
fn s12_thinking_indicator_until_the_first_tick_in_either_order() {
    let c = chat(1);
    for events in [
        vec![part(c, "chunk"), status(c, ChatStatus::Running)],
        vec![status(c, ChatStatus::Running), part(c, "chunk")],
    ] {
        let mut h = Harness::shown(c, vec![], &[]);
        h.frame(vec![status(c, ChatStatus::Waiting)]);
        let effects = h.frame(events);
        assert!(effects.contains(&ChatEffect::ScheduleTick { at: h.now }));
        assert_eq!(h.view.state().status, Some(ChatStatus::Running));
        assert_eq!(h.preview(), None);
        assert!(h.view.state().is_awaiting_first_chunk());
        h.tick();
        assert_eq!(h.preview().as_deref(), Some("chunk"));
        assert!(!h.view.state().is_awaiting_first_chunk());
    }
}

#[test]
fn s13_buffered_parts_discarded_on_pending() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![part(c, "p"), status(c, ChatStatus::Pending)]);
    assert_eq!(h.view.state().status, Some(ChatStatus::Pending));
    assert_eq!(h.preview(), None);
    h.tick();
    assert_eq!(h.preview(), None);
}

// ---- Queue (§6 #14–#19) ----

#[test]
fn s14_no_stale_rest_restore_after_queue_update() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[10]);
    assert_eq!(h.queue(), [10]);
    h.frame(vec![queue_update(c, &[])]);
    h.rest(c, None, vec![], &[10]);
    assert_eq!(h.queue(), Vec::<i64>::new());
}

#[test]
fn s15_switch_back_with_stale_cached_queue_is_corrected_by_rest() {
    let (c1, c2) = (chat(1), chat(2));
    let mut h = Harness::shown(c1, vec![], &[10]);
    h.load(c2, vec![], &[], ChatStatus::Waiting);
    // Back to chat 1: the cache still holds [10]; no queue_update has been received.
    h.input(ChatInput::SwitchChat(Some(c1)));
    assert_eq!(h.queue(), [10], "cached queue shown while refetching");
    h.open();
    h.rest(c1, None, vec![], &[]);
    assert_eq!(h.queue(), Vec::<i64>::new());
    assert_eq!(h.cached(c1).queued_ids(), Vec::<i64>::new());
}

#[test]
fn s16_queue_update_is_written_to_cache() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[10]);
    assert_eq!(h.cached(c).queued_ids(), [10]);
    let effects = h.frame(vec![queue_update(c, &[])]);
    assert_eq!(h.queue(), Vec::<i64>::new());
    assert_eq!(h.cached(c).queued_ids(), Vec::<i64>::new());
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, ChatEffect::WriteCache { chat_id, .. } if *chat_id == c))
    );
}

#[test]
fn s17_filtered_queue_is_cached() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[10]);
    h.input(ChatInput::PromoteQueued(10));
    h.frame(vec![queue_update(c, &[10])]);
    assert_eq!(h.queue(), Vec::<i64>::new());
    assert_eq!(h.cached(c).queued_ids(), Vec::<i64>::new());
}

#[test]
fn s18_other_chats_queue_update_is_ignored() {
    let (c1, c2) = (chat(1), chat(2));
    let mut h = Harness::shown(c1, vec![], &[10]);
    h.frame(vec![queue_update(c2, &[])]);
    assert_eq!(h.queue(), [10]);
}

#[test]
fn s19_queue_cleared_immediately_on_switch() {
    let (c1, c2) = (chat(1), chat(2));
    let mut h = Harness::shown(c1, vec![], &[10]);
    h.input(ChatInput::SwitchChat(Some(c2)));
    assert_eq!(h.queue(), Vec::<i64>::new());
    h.rest(c2, Some(ChatStatus::Waiting), vec![], &[]);
    assert_eq!(h.watch_calls().last(), Some(&(c2, None)));
    assert_eq!(h.queue(), Vec::<i64>::new());
}

// ---- Lifecycle (§6 #20–#32) ----

#[test]
fn s20_switch_closes_the_old_socket() {
    let (c1, c2) = (chat(1), chat(2));
    let mut h = Harness::shown(c1, vec![], &[]);
    let old = h.stream();
    h.frame(vec![part(c1, "x")]);
    let effects = h.input(ChatInput::SwitchChat(Some(c2)));
    assert!(effects.contains(&ChatEffect::CloseStream { stream_id: old }));
    h.rest(
        c2,
        Some(ChatStatus::Running),
        vec![assistant(c2, 10, "a")],
        &[],
    );
    assert_eq!(h.watch_calls().last(), Some(&(c2, Some(10))));
    assert_eq!(h.preview(), None);
    // Late input from the old socket is ignored.
    h.input(ChatInput::StreamFrame {
        stream_id: old,
        events: vec![part(c1, "late")],
    });
    h.tick();
    assert_eq!(h.preview(), None);
}

#[test]
fn s21_error_event_sets_error_status_stream_error_and_reason() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![ChatStreamEvent::retry(
        c,
        ChatStreamRetry {
            attempt: 1,
            ..Default::default()
        },
    )]);
    let effects = h.frame(vec![ChatStreamEvent::error(
        c,
        ChatError::new("Rate limit exceeded"),
    )]);
    let state = h.view.state();
    assert_eq!(state.status, Some(ChatStatus::Error));
    assert_eq!(state.stream_error.as_deref(), Some("Rate limit exceeded"));
    assert_eq!(state.retry, None);
    assert!(effects.contains(&ChatEffect::SetErrorReason {
        chat_id: c,
        reason: "Rate limit exceeded".into()
    }));
}

#[test]
fn s22_blank_error_message_uses_the_default_text() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![ChatStreamEvent::error(c, ChatError::new("  "))]);
    assert_eq!(
        h.view.state().stream_error.as_deref(),
        Some(CHAT_PROCESSING_FAILED)
    );
}

#[test]
fn s23_retry_event_sets_retry_state() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![part(c, "partial")]);
    h.tick();
    let at = t0() + TimeDelta::seconds(5);
    h.frame(vec![ChatStreamEvent::retry(
        c,
        ChatStreamRetry {
            attempt: 2,
            delay_ms: 5000,
            error: " upstream timeout ".into(),
            retrying_at: Some(at),
            ..Default::default()
        },
    )]);
    let retry = h.view.state().retry.clone().unwrap();
    assert_eq!(
        (retry.attempt, retry.error.as_str()),
        (2, "upstream timeout")
    );
    assert_eq!((retry.delay_ms, retry.retrying_at), (5000, Some(at)));
    assert_eq!(h.preview(), None, "retry drops the partial preview");
}

#[test]
fn s24_running_status_clears_retry() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![ChatStreamEvent::retry(
        c,
        ChatStreamRetry {
            attempt: 1,
            ..Default::default()
        },
    )]);
    assert!(h.view.state().retry.is_some());
    h.frame(vec![status(c, ChatStatus::Running)]);
    assert_eq!(h.view.state().status, Some(ChatStatus::Running));
    assert_eq!(h.view.state().retry, None);
}

#[test]
fn s25_subagent_status_goes_to_overrides() {
    let (c, sub) = (chat(1), chat(0x5ab));
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![status(sub, ChatStatus::Completed)]);
    assert_eq!(
        h.view.state().subagent_status_overrides.get(&sub),
        Some(&ChatStatus::Completed)
    );
    assert_eq!(h.view.state().status, Some(ChatStatus::Running));
}

#[test]
fn s26_disconnect_shows_reconnecting_then_reconnects_after_one_second() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    let effects = h.drop_stream();
    assert_eq!(
        h.view.state().stream_error.as_deref(),
        Some(STREAM_RECONNECTING)
    );
    assert_eq!(
        effects,
        [ChatEffect::ScheduleReconnect {
            at: t0() + TimeDelta::seconds(1)
        }]
    );
    h.advance(999);
    assert_eq!(h.watch_calls().len(), 1);
    h.advance(1);
    assert_eq!(h.watch_calls().len(), 2);
    h.open();
    assert_eq!(h.view.state().stream_error, None);
    assert_eq!(h.view.state().reconnect, None);
}

#[test]
fn s27_disconnect_while_idle_keeps_existing_error() {
    // Era B+ rule (§5.6): the reconnect text only shows while work is active. Era A
    // overwrote the error (the §6 note); this SDK follows Era B.
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![ChatStreamEvent::error(
        c,
        ChatError::new("Rate limit exceeded"),
    )]);
    h.drop_stream();
    assert_eq!(
        h.view.state().stream_error.as_deref(),
        Some("Rate limit exceeded")
    );
    assert!(h.view.state().reconnect.is_some());
}

#[test]
fn s28_backoff_doubles_until_a_connect_succeeds() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.drop_stream();
    h.advance(1000);
    assert_eq!(h.watch_calls().len(), 2, "2nd connect after 1 s");
    let effects = h.drop_stream();
    assert_eq!(
        effects,
        [ChatEffect::ScheduleReconnect {
            at: h.now + TimeDelta::seconds(2)
        }]
    );
    h.advance(1999);
    assert_eq!(h.watch_calls().len(), 2);
    h.advance(1);
    assert_eq!(h.watch_calls().len(), 3, "3rd connect 2 s after that");
    for expected in [4, 8, 10, 10] {
        let effects = h.drop_stream();
        assert_eq!(
            effects,
            [ChatEffect::ScheduleReconnect {
                at: h.now + TimeDelta::seconds(expected)
            }]
        );
        h.advance(expected * 1000);
    }
    h.open();
    let effects = h.drop_stream();
    assert_eq!(
        effects,
        [ChatEffect::ScheduleReconnect {
            at: h.now + TimeDelta::seconds(1)
        }]
    );
}

#[test]
fn s28b_duplicate_error_and_close_schedule_one_reconnect() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    let id = h.stream();
    let first = h.input(ChatInput::StreamClosed(id));
    let second = h.input(ChatInput::StreamClosed(id));
    assert_eq!(first.len(), 1);
    assert_eq!(second, []);
}

#[test]
fn s29_first_connect_and_reconnect_use_the_last_message_id() {
    let c = chat(1);
    let mut h = Harness::shown(
        c,
        vec![
            msg(c, 41, ChatMessageRole::User, "q"),
            assistant(c, 42, "a"),
        ],
        &[],
    );
    h.drop_stream();
    h.advance(1000);
    assert_eq!(h.watch_calls(), [(c, Some(42)), (c, Some(42))]);
}

#[test]
fn s30_replayed_parts_after_reopen_are_not_doubled() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    let replay = || vec![part(c, "Hello"), part(c, " world")];
    h.frame(replay());
    h.tick();
    h.drop_stream();
    h.advance(1000);
    h.open();
    h.frame(replay());
    h.tick();
    assert_eq!(h.preview().as_deref(), Some("Hello world"));
}

#[test]
fn s31_non_error_status_clears_error_reason() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    let effects = h.frame(vec![status(c, ChatStatus::Running)]);
    assert!(effects.contains(&ChatEffect::ClearErrorReason { chat_id: c }));
}

#[test]
fn s32_stale_rest_status_is_ignored_after_a_stream_status() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![status(c, ChatStatus::Running)]);
    h.rest(c, Some(ChatStatus::Pending), vec![], &[]);
    assert_eq!(h.view.state().status, Some(ChatStatus::Running));
}

// ---- Sidebar (§6 #33–#37): the chat records in the cache ----

fn seeded_sidebar(c1: Uuid, c2: Uuid) -> Harness {
    let mut cache = ChatCache::new();
    for c in [c1, c2] {
        cache.put(
            c,
            CachedChat {
                chat: Some(record(c, ChatStatus::Running)),
                page: Some(page(vec![], &[], c)),
            },
        );
    }
    let mut h = Harness::with_cache(cache);
    h.input(ChatInput::SwitchChat(Some(c1)));
    h.open();
    h
}

fn sidebar(h: &Harness, c: Uuid) -> (ChatStatus, Timestamp) {
    let chat = h.cached(c).chat.clone().unwrap();
    (chat.status, chat.updated_at)
}

#[test]
fn s33_s37_status_event_sets_sidebar_status_only() {
    let (c1, c2) = (chat(1), chat(2));
    let mut h = seeded_sidebar(c1, c2);
    h.frame(vec![status(c1, ChatStatus::Completed)]);
    assert_eq!(sidebar(&h, c1), (ChatStatus::Completed, t0()));
}

#[test]
fn s34_message_event_leaves_sidebar_updated_at() {
    let (c1, c2) = (chat(1), chat(2));
    let mut h = seeded_sidebar(c1, c2);
    let mut older = assistant(c1, 1, "a");
    older.created_at = t0() - TimeDelta::hours(1);
    let mut newer = assistant(c1, 2, "b");
    newer.created_at = t0() + TimeDelta::hours(1);
    h.frame(vec![
        ChatStreamEvent::message(older),
        ChatStreamEvent::message(newer),
    ]);
    assert_eq!(sidebar(&h, c1), (ChatStatus::Running, t0()));
}

#[test]
fn s35_error_event_sets_sidebar_error_and_leaves_updated_at() {
    let (c1, c2) = (chat(1), chat(2));
    let mut h = seeded_sidebar(c1, c2);
    h.frame(vec![ChatStreamEvent::error(c1, ChatError::new("boom"))]);
    assert_eq!(sidebar(&h, c1), (ChatStatus::Error, t0()));
}

#[test]
fn s36_status_for_active_chat_leaves_other_rows() {
    let (c1, c2) = (chat(1), chat(2));
    let mut h = seeded_sidebar(c1, c2);
    h.frame(vec![status(c1, ChatStatus::Waiting)]);
    assert_eq!(sidebar(&h, c2), (ChatStatus::Running, t0()));
}

// ---- Message cache (§6 #38) ----

#[test]
fn s38_stream_messages_reach_the_cache() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![assistant(c, 1, "one")], &[]);
    h.frame(vec![ChatStreamEvent::message(assistant(c, 2, "two"))]);
    assert_eq!(h.cached(c).message_ids(), [2, 1]);
    let effects = h.frame(vec![ChatStreamEvent::message(assistant(c, 2, "two"))]);
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, ChatEffect::WriteCache { .. })),
        "identical: no write"
    );
    h.frame(vec![ChatStreamEvent::message(assistant(
        c,
        2,
        "two, revised",
    ))]);
    let cached = h.cached(c).page.clone().unwrap();
    assert_eq!(
        cached.messages[0].content[0].text.as_deref(),
        Some("two, revised")
    );
}

// ---- Optimistic queue actions (§5.7) ----

#[test]
fn failed_delete_restores_the_entry() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[10, 11]);
    h.input(ChatInput::DeleteQueued(10));
    assert_eq!(h.queue(), [11]);
    h.input(ChatInput::DeleteQueuedFinished { id: 10, ok: false });
    assert_eq!(h.queue(), [10, 11]);
}

#[test]
fn promote_is_optimistic_and_rolls_back_on_failure() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[10, 11]);
    h.frame(vec![status(c, ChatStatus::Waiting)]);
    h.input(ChatInput::PromoteQueued(10));
    assert_eq!(
        (h.queue(), h.view.state().status.clone()),
        (vec![11], Some(ChatStatus::Pending))
    );
    h.input(ChatInput::PromoteQueuedFinished {
        id: 10,
        result: Err(()),
    });
    assert_eq!(
        (h.queue(), h.view.state().status.clone()),
        (vec![10, 11], Some(ChatStatus::Waiting))
    );
}

#[test]
fn promoted_id_stays_hidden_across_a_delayed_pre_promotion_queue_update() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[10, 11]);
    h.input(ChatInput::PromoteQueued(10));
    h.input(ChatInput::PromoteQueuedFinished {
        id: 10,
        result: Ok(None),
    });
    h.frame(vec![ChatStreamEvent::message(msg(
        c,
        5,
        ChatMessageRole::User,
        "queued 10",
    ))]);
    h.frame(vec![queue_update(c, &[10, 11])]);
    assert_eq!(h.queue(), [11]);
    h.frame(vec![queue_update(c, &[11])]);
    h.frame(vec![queue_update(c, &[11, 10])]);
    assert_eq!(
        h.queue(),
        [11, 10],
        "suppression lifted once 10 left the queue"
    );
}

// ---- Era C versions ----

#[test]
fn newer_rest_snapshot_beats_an_older_stream_queue_and_equal_is_ignored() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![queue_update(c, &[10]).with_queue_version(5)]);
    let mut fresh = page(vec![], &[], c);
    fresh.queue_version = Some(6);
    h.input(ChatInput::RestSnapshot(RestSnapshot {
        chat_id: c,
        chat: None,
        page: Some(fresh.clone()),
    }));
    assert_eq!(h.queue(), Vec::<i64>::new(), "REST v6 beats stream v5");
    h.frame(vec![queue_update(c, &[10]).with_queue_version(6)]);
    h.frame(vec![queue_update(c, &[10]).with_queue_version(4)]);
    assert_eq!(h.queue(), Vec::<i64>::new(), "equal or older ignored");
    h.frame(vec![queue_update(c, &[12]).with_queue_version(7)]);
    assert_eq!(h.queue(), [12]);
}

#[test]
fn unversioned_status_is_ignored_once_versions_were_seen() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    h.frame(vec![
        status(c, ChatStatus::Running).with_snapshot_version(3),
    ]);
    h.frame(vec![status(c, ChatStatus::Waiting)]);
    assert_eq!(h.view.state().status, Some(ChatStatus::Running));
    let mut newer = record(c, ChatStatus::Waiting);
    newer.snapshot_version = Some(4);
    h.input(ChatInput::RestSnapshot(RestSnapshot {
        chat_id: c,
        chat: Some(newer),
        page: None,
    }));
    assert_eq!(
        h.view.state().status,
        Some(ChatStatus::Waiting),
        "newer REST status wins"
    );
}

#[test]
fn history_reset_replaces_the_history_and_preview_reset_drops_the_preview() {
    let c = chat(1);
    let mut h = Harness::shown(
        c,
        vec![
            msg(c, 1, ChatMessageRole::User, "q"),
            assistant(c, 2, "a"),
            assistant(c, 3, "b"),
        ],
        &[],
    );
    h.frame(vec![part(c, "p")]);
    h.tick();
    h.frame(vec![ChatStreamEvent::new(
        ChatStreamEventType::PreviewReset,
        c,
    )]);
    assert_eq!(h.preview(), None);
    h.frame(vec![
        ChatStreamEvent::new(ChatStreamEventType::HistoryReset, c).with_history_version(9),
        ChatStreamEvent::message(msg(c, 1, ChatMessageRole::User, "q edited")),
        queue_update(c, &[]).with_queue_version(9),
    ]);
    assert_eq!(h.view.state().message_ids(), [1]);
    assert_eq!(h.cached(c).message_ids(), [1]);
}

#[test]
fn undecodable_frame_sets_the_parse_error() {
    let c = chat(1);
    let mut h = Harness::shown(c, vec![], &[]);
    let id = h.stream();
    h.input(ChatInput::StreamFrameInvalid(id));
    assert_eq!(
        h.view.state().stream_error.as_deref(),
        Some(coder_core::model::STREAM_PARSE_ERROR)
    );
}
