//! Property: whatever the interleaving of chat switches, stale REST reads (fresh, delayed or
//! cached), duplicated/reordered/lost stream events and reconnects, once the stream is up, its
//! last events are delivered and one REST refetch has happened, the view's queue and status
//! equal the server's, with versions (Era C) and without (a real Coder, Era A/B framing).
//!
//! Also: a model of the OLD one-shot hydration guard fails that on the original scenario.

// Test helpers outside `#[test]` fns: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{TimeDelta, TimeZone, Utc};
use coder_core::chat::client::{
    ChatCache, ChatEffect, ChatInput, ChatView, RestSnapshot, StreamId,
};
use coder_core::model::{
    Chat, ChatMessage, ChatMessagePart, ChatMessageRole, ChatMessagesResponse, ChatQueuedMessage,
    ChatStatus, ChatStreamEvent, Timestamp,
};
use proptest::prelude::*;
use uuid::Uuid;

const CHATS: u128 = 3;

fn chat_id(k: usize) -> Uuid {
    Uuid::from_u128(k as u128 + 1)
}

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 8, 1, 0, 0, 0).unwrap()
}

/// One chat on the server.
#[derive(Debug, Clone)]
struct ServerChat {
    id: Uuid,
    status: ChatStatus,
    queue: Vec<i64>,
    messages: Vec<(i64, ChatMessageRole)>,
    version: u64,
    queue_version: u64,
    history_version: u64,
}

/// A simple chatd: sends queue while busy, finishes turns (popping the queue head), promote,
/// delete; publishes events to the one subscribed stream.
#[derive(Debug)]
struct Server {
    versioned: bool,
    chats: Vec<ServerChat>,
    next_id: i64,
}

impl Server {
    fn new(versioned: bool) -> Self {
        let chats = (0..CHATS as usize)
            .map(|k| ServerChat {
                id: chat_id(k),
                status: ChatStatus::Waiting,
                queue: vec![],
                messages: vec![],
                version: 1,
                queue_version: 1,
                history_version: 1,
            })
            .collect();
        Self {
            versioned,
            chats,
            next_id: 1,
        }
    }

    fn busy_status(&self) -> ChatStatus {
        if self.versioned {
            ChatStatus::Running
        } else {
            ChatStatus::Pending
        }
    }

    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn queued(c: &ServerChat, id: i64) -> ChatQueuedMessage {
        ChatQueuedMessage {
            id,
            chat_id: c.id,
            content: vec![],
            created_at: t0(),
            model_config_id: None,
        }
    }

    fn message(c: &ServerChat, id: i64, role: ChatMessageRole) -> ChatMessage {
        ChatMessage {
            id,
            chat_id: c.id,
            created_at: t0(),
            created_by: None,
            model_config_id: None,
            role,
            content: vec![ChatMessagePart::text(format!("m{id}"))],
            usage: None,
        }
    }

    fn stamp(&self, c: &ServerChat, event: ChatStreamEvent) -> ChatStreamEvent {
        if !self.versioned {
            return event;
        }
        event
            .with_snapshot_version(c.version)
            .with_queue_version(c.queue_version)
            .with_history_version(c.history_version)
    }

    fn queue_event(&self, k: usize) -> ChatStreamEvent {
        let c = &self.chats[k];
        let queue = c.queue.iter().map(|&id| Self::queued(c, id)).collect();
        self.stamp(c, ChatStreamEvent::queue_update(c.id, queue))
    }

    fn status_event(&self, k: usize) -> ChatStreamEvent {
        let c = &self.chats[k];
        self.stamp(c, ChatStreamEvent::status(c.id, c.status.clone()))
    }

    fn message_event(&self, k: usize, id: i64, role: ChatMessageRole) -> ChatStreamEvent {
        let c = &self.chats[k];
        self.stamp(c, ChatStreamEvent::message(Self::message(c, id, role)))
    }

    /// Bumps versions of chat `k` after a transition that touched the queue/history.
    fn bump(&mut self, k: usize, queue: bool, history: bool) {
        let c = &mut self.chats[k];
        c.version += 1;
        if queue {
            c.queue_version = c.version;
        }
        if history {
            c.history_version = c.version;
        }
    }

    /// A user (another tab) sends a message.
    fn send(&mut self, k: usize) -> Vec<ChatStreamEvent> {
        let id = self.id();
        let busy = self.chats[k].status.is_active() || !self.chats[k].queue.is_empty();
        if busy {
            self.chats[k].queue.push(id);
            self.bump(k, true, false);
            vec![self.queue_event(k)]
        } else {
            self.chats[k].messages.push((id, ChatMessageRole::User));
            self.chats[k].status = self.busy_status();
            self.bump(k, false, true);
            vec![
                self.message_event(k, id, ChatMessageRole::User),
                self.status_event(k),
            ]
        }
    }

    /// The worker finishes the running turn: assistant message, then pop the queue head.
    fn finish(&mut self, k: usize) -> Vec<ChatStreamEvent> {
        if !self.chats[k].status.is_active() {
            return vec![];
        }
        let reply = self.id();
        self.chats[k]
            .messages
            .push((reply, ChatMessageRole::Assistant));
        self.bump(k, false, true);
        let mut events = vec![self.message_event(k, reply, ChatMessageRole::Assistant)];
        if self.chats[k].queue.is_empty() {
            self.chats[k].status = ChatStatus::Waiting;
            self.bump(k, false, false);
        } else {
            let head = self.chats[k].queue.remove(0);
            let promoted = self.id();
            self.chats[k]
                .messages
                .push((promoted, ChatMessageRole::User));
            self.chats[k].status = self.busy_status();
            self.bump(k, true, true);
            events.push(self.message_event(k, promoted, ChatMessageRole::User));
            events.push(self.queue_event(k));
            let _ = head;
        }
        events.push(self.status_event(k));
        events
    }

    /// DELETE or promote of queue entry `id`; `None` when it is not queued (404).
    fn remove_queued(&mut self, k: usize, id: i64, promote: bool) -> Option<Vec<ChatStreamEvent>> {
        let pos = self.chats[k].queue.iter().position(|&q| q == id)?;
        self.chats[k].queue.remove(pos);
        if !promote {
            self.bump(k, true, false);
            return Some(vec![self.queue_event(k)]);
        }
        let promoted = self.id();
        self.chats[k]
            .messages
            .push((promoted, ChatMessageRole::User));
        self.chats[k].status = self.busy_status();
        self.bump(k, true, true);
        Some(vec![
            self.queue_event(k),
            self.message_event(k, promoted, ChatMessageRole::User),
            self.status_event(k),
        ])
    }

    fn rest(&self, k: usize) -> RestSnapshot {
        let c = &self.chats[k];
        let v = |x: u64| self.versioned.then_some(x);
        let chat = Chat {
            id: c.id,
            owner_id: Uuid::nil(),
            organization_id: None,
            workspace_id: None,
            build_id: None,
            agent_id: None,
            parent_chat_id: None,
            root_chat_id: None,
            last_model_config_id: Uuid::nil(),
            title: String::new(),
            status: c.status.clone(),
            last_error: None,
            created_at: t0(),
            updated_at: t0(),
            archived: false,
            has_unread: false,
            pin_order: None,
            labels: BTreeMap::new(),
            snapshot_version: v(c.version),
            history_version: v(c.history_version),
            queue_version: v(c.queue_version),
        };
        let page = ChatMessagesResponse {
            messages: c
                .messages
                .iter()
                .rev()
                .map(|(id, role)| Self::message(c, *id, role.clone()))
                .collect(),
            queued_messages: c.queue.iter().map(|&id| Self::queued(c, id)).collect(),
            has_more: false,
            snapshot_version: v(c.version),
            history_version: v(c.history_version),
            queue_version: v(c.queue_version),
        };
        RestSnapshot {
            chat_id: c.id,
            chat: Some(chat),
            page: Some(page),
        }
    }

    /// The snapshot a new subscriber gets: status first, messages after `after_id`, then the
    /// queue (Era A/B: only if non-empty; ours: always).
    fn subscribe(&self, k: usize, after_id: Option<i64>) -> Vec<ChatStreamEvent> {
        let c = &self.chats[k];
        let mut events = vec![self.status_event(k)];
        for (id, role) in c.messages.iter().cloned() {
            if id > after_id.unwrap_or(0) {
                events.push(self.message_event(k, id, role));
            }
        }
        if self.versioned || !c.queue.is_empty() {
            events.push(self.queue_event(k));
        }
        events
    }
}

/// What the test does next.
#[derive(Debug, Clone)]
enum Op {
    Switch(usize),
    ServerSend(usize),
    ServerFinish(usize),
    ServerDelete(usize, usize),
    ClientPromote(usize),
    ClientDelete(usize),
    Refetch(usize),
    /// Deliver the pending REST read at this index (maybe stale).
    DeliverRest(usize),
    /// Deliver the next pending frame; duplicate it; or swap it with the one after.
    DeliverFrame {
        duplicate: bool,
        swap: bool,
    },
    /// The socket breaks: undelivered frames are lost.
    Disconnect,
    /// Time passes by this many seconds (timers fire).
    Advance(u8),
    /// A frame of a closed socket arrives late.
    LateOldFrame,
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..CHATS as usize;
    prop_oneof![
        1 => k.clone().prop_map(Op::Switch),
        3 => k.clone().prop_map(Op::ServerSend),
        2 => k.clone().prop_map(Op::ServerFinish),
        1 => (k.clone(), 0..3usize).prop_map(|(k, i)| Op::ServerDelete(k, i)),
        1 => (0..3usize).prop_map(Op::ClientPromote),
        1 => (0..3usize).prop_map(Op::ClientDelete),
        2 => k.prop_map(Op::Refetch),
        2 => (0..4usize).prop_map(Op::DeliverRest),
        4 => (any::<bool>(), any::<bool>()).prop_map(|(duplicate, swap)| Op::DeliverFrame { duplicate: duplicate && swap, swap }),
        1 => Just(Op::Disconnect),
        1 => (0..12u8).prop_map(Op::Advance),
        1 => Just(Op::LateOldFrame),
    ]
}

/// The client side of the test: the view, its socket and the network in between.
struct World {
    server: Server,
    view: ChatView,
    now: Timestamp,
    /// The socket the view asked for: (id, chat index, open?).
    socket: Option<(StreamId, usize, bool)>,
    frames: Vec<Vec<ChatStreamEvent>>,
    old_frames: Vec<(StreamId, Vec<ChatStreamEvent>)>,
    rest: Vec<RestSnapshot>,
    /// Every input given to the view, for replay into other client models.
    log: Vec<ChatInput>,
}

impl World {
    fn new(versioned: bool) -> Self {
        Self {
            server: Server::new(versioned),
            view: ChatView::new(ChatCache::new()),
            now: t0(),
            socket: None,
            frames: vec![],
            old_frames: vec![],
            rest: vec![],
            log: vec![],
        }
    }

    fn shown(&self) -> Option<usize> {
        let id = self.view.state().chat_id?;
        (0..CHATS as usize).find(|&k| chat_id(k) == id)
    }

    fn input(&mut self, input: ChatInput) {
        self.log.push(input.clone());
        for effect in self.view.handle(self.now, input) {
            match effect {
                ChatEffect::OpenStream {
                    stream_id,
                    chat_id: c,
                    after_id,
                } => {
                    self.retire_socket();
                    let k = (0..CHATS as usize).find(|&k| chat_id(k) == c).unwrap();
                    self.socket = Some((stream_id, k, false));
                    // Connected right away; the snapshot is the first frame.
                    self.frames = vec![self.server.subscribe(k, after_id)];
                    self.socket = Some((stream_id, k, true));
                    self.input(ChatInput::StreamOpened(stream_id));
                }
                ChatEffect::CloseStream { stream_id }
                    if self.socket.is_some_and(|(id, ..)| id == stream_id) =>
                {
                    self.retire_socket();
                }
                ChatEffect::FetchSnapshot { chat_id: c } => {
                    let k = (0..CHATS as usize).find(|&k| chat_id(k) == c).unwrap();
                    self.rest.push(self.server.rest(k));
                }
                _ => {}
            }
        }
    }

    fn retire_socket(&mut self) {
        if let Some((id, ..)) = self.socket.take() {
            for frame in self.frames.drain(..) {
                self.old_frames.push((id, frame));
            }
        }
    }

    fn publish(&mut self, k: usize, events: Vec<ChatStreamEvent>) {
        if !events.is_empty() && self.socket.is_some_and(|(_, s, open)| s == k && open) {
            self.frames.push(events);
        }
    }

    fn deliver_next_frame(&mut self) {
        if self.frames.is_empty() {
            return;
        }
        let frame = self.frames.remove(0);
        let (stream_id, ..) = self.socket.unwrap();
        self.input(ChatInput::StreamFrame {
            stream_id,
            events: frame,
        });
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Switch(k) => self.input(ChatInput::SwitchChat(Some(chat_id(k)))),
            Op::ServerSend(k) => {
                let events = self.server.send(k);
                self.publish(k, events);
            }
            Op::ServerFinish(k) => {
                let events = self.server.finish(k);
                self.publish(k, events);
            }
            Op::ServerDelete(k, i) => {
                if let Some(&id) = self.server.chats[k].queue.get(i) {
                    let events = self.server.remove_queued(k, id, false).unwrap();
                    self.publish(k, events);
                }
            }
            Op::ClientPromote(i) | Op::ClientDelete(i) => {
                let promote = matches!(op, Op::ClientPromote(_));
                let (Some(k), Some(id)) =
                    (self.shown(), self.view.state().queued_ids().get(i).copied())
                else {
                    return;
                };
                self.input(if promote {
                    ChatInput::PromoteQueued(id)
                } else {
                    ChatInput::DeleteQueued(id)
                });
                let events = self.server.remove_queued(k, id, promote);
                let ok = events.is_some();
                self.publish(k, events.unwrap_or_default());
                self.input(if promote {
                    ChatInput::PromoteQueuedFinished {
                        id,
                        result: if ok { Ok(None) } else { Err(()) },
                    }
                } else {
                    ChatInput::DeleteQueuedFinished { id, ok }
                });
            }
            Op::Refetch(k) => self.rest.push(self.server.rest(k)),
            Op::DeliverRest(i) => {
                if i < self.rest.len() {
                    let snapshot = self.rest.remove(i);
                    self.input(ChatInput::RestSnapshot(snapshot));
                }
            }
            Op::DeliverFrame { duplicate, swap } => {
                if swap && self.frames.len() >= 2 && self.server.versioned {
                    self.frames.swap(0, 1);
                }
                if duplicate && let Some(first) = self.frames.first().cloned() {
                    self.frames.insert(1, first);
                }
                self.deliver_next_frame();
            }
            Op::Disconnect => {
                if let Some((id, _, true)) = self.socket {
                    self.frames.clear();
                    self.input(ChatInput::StreamClosed(id));
                    self.input(ChatInput::StreamClosed(id));
                }
            }
            Op::Advance(secs) => {
                self.now += TimeDelta::seconds(secs.into());
                self.input(ChatInput::Tick);
            }
            Op::LateOldFrame => {
                if !self.old_frames.is_empty() {
                    let (stream_id, events) = self.old_frames.remove(0);
                    self.input(ChatInput::StreamFrame { stream_id, events });
                }
            }
        }
    }

    /// Brings the stream up and delivers its last events, then one fresh REST read.
    fn settle(&mut self) {
        if self.shown().is_none() {
            self.input(ChatInput::SwitchChat(Some(chat_id(0))));
        }
        let k = self.shown().unwrap();
        if !self.server.versioned {
            // Without versions, lost or reordered events are only repaired by a reconnect
            // (the socket breaking is how the client learns of the loss).
            self.apply(Op::Disconnect);
        }
        // Stale reads still in flight land first, then the socket reconnects.
        while !self.rest.is_empty() {
            self.apply(Op::DeliverRest(0));
        }
        for _ in 0..3 {
            self.now += TimeDelta::seconds(10);
            self.input(ChatInput::Tick);
        }
        assert!(
            self.socket.is_some_and(|(_, s, open)| s == k && open),
            "stream is up"
        );
        while !self.frames.is_empty() {
            self.deliver_next_frame();
        }
        while !self.old_frames.is_empty() {
            self.apply(Op::LateOldFrame);
        }
        self.rest.clear();
        let fresh = self.server.rest(k);
        self.input(ChatInput::RestSnapshot(fresh));
        self.input(ChatInput::Tick);
    }

    fn assert_converged(&self) {
        let k = self.shown().unwrap();
        let server = &self.server.chats[k];
        assert_eq!(
            self.view.state().queued_ids(),
            server.queue,
            "queue of chat {k}"
        );
        assert_eq!(
            self.view.state().status.as_ref(),
            Some(&server.status),
            "status of chat {k}"
        );
    }
}

fn run(versioned: bool, ops: Vec<Op>) {
    let mut world = World::new(versioned);
    world.input(ChatInput::SwitchChat(Some(chat_id(0))));
    for op in ops {
        world.apply(op);
    }
    world.settle();
    world.assert_converged();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn view_converges_to_the_server_with_versions(ops in proptest::collection::vec(op(), 0..60)) {
        run(true, ops);
    }

    #[test]
    fn view_converges_to_the_server_without_versions(ops in proptest::collection::vec(op(), 0..60)) {
        run(false, ops);
    }
}

/// The guard before PR #22911: once hydrated for a chat, REST never applies again.
#[derive(Default)]
struct OneShotHydrationGuard {
    chat: Option<Uuid>,
    hydrated: bool,
    queue: Vec<i64>,
    cache: BTreeMap<Uuid, Vec<i64>>,
}

impl OneShotHydrationGuard {
    fn ids(queue: &[ChatQueuedMessage]) -> Vec<i64> {
        queue.iter().map(|q| q.id).collect()
    }

    fn hydrate(&mut self, queue: Vec<i64>) {
        if !self.hydrated {
            self.hydrated = true;
            self.queue = queue;
        }
    }

    fn handle(&mut self, input: &ChatInput) {
        match input {
            ChatInput::SwitchChat(chat) => {
                self.chat = *chat;
                self.hydrated = false;
                self.queue = vec![];
                if let Some(cached) = chat.and_then(|c| self.cache.get(&c).cloned()) {
                    self.hydrate(cached);
                }
            }
            ChatInput::RestSnapshot(RestSnapshot {
                chat_id,
                page: Some(page),
                ..
            }) => {
                let queue = Self::ids(&page.queued_messages);
                self.cache.insert(*chat_id, queue.clone());
                if Some(*chat_id) == self.chat {
                    self.hydrate(queue);
                }
            }
            ChatInput::StreamFrame { events, .. } => {
                for event in events.iter().filter(|e| Some(e.chat_id) == self.chat) {
                    if event.event_type == coder_core::model::ChatStreamEventType::QueueUpdate {
                        self.queue = Self::ids(&event.queued_messages);
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn old_one_shot_guard_keeps_a_stale_queue_where_the_view_converges() {
    // Leave chat 0 with a queued message, the queue drains server-side, come back.
    let mut world = World::new(false);
    world.input(ChatInput::SwitchChat(Some(chat_id(0))));
    world.apply(Op::DeliverRest(0));
    for op in [
        Op::ServerSend(0),
        Op::ServerSend(0),
        Op::DeliverFrame {
            duplicate: false,
            swap: false,
        },
    ] {
        world.apply(op);
    }
    while !world.frames.is_empty() {
        world.deliver_next_frame();
    }
    assert_eq!(
        world.view.state().queued_ids().len(),
        1,
        "chat 0 has one queued message"
    );
    world.apply(Op::Refetch(0));
    world.apply(Op::DeliverRest(0));
    world.apply(Op::Switch(1));
    world.apply(Op::ServerFinish(0));
    world.apply(Op::ServerFinish(0));
    assert!(world.server.chats[0].queue.is_empty());
    world.apply(Op::Switch(0));
    world.settle();
    world.assert_converged();

    let mut old = OneShotHydrationGuard::default();
    for input in &world.log {
        old.handle(input);
    }
    assert_eq!(old.chat, Some(chat_id(0)));
    assert_eq!(
        old.queue.len(),
        1,
        "the old guard still shows the drained entry"
    );
    assert_ne!(old.queue, world.server.chats[0].queue);
}
