//! A realistic 256-event chat stream frame and a chat view ready to receive it.

use chrono::{DateTime, Utc};
use coder_core::chat::client::{ChatCache, ChatInput, ChatView, RestSnapshot, StreamId};
use coder_core::chat::server::{ChatCommand, MemoryChat};
use coder_core::model::{ChatBusyBehavior, ChatMessagePart, ChatStreamEvent, decode_stream_frame};
use uuid::Uuid;

/// Events per frame: Coder's `chatStreamBatchSize`.
pub const BATCH: usize = 256;

/// The chat the workload streams.
pub const CHAT: Uuid = Uuid::from_u128(0x0C4A_7000_0000_0000_0000_0000_0000_0001);

/// The fixed instant the workload runs at.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_787_400_000, 0).unwrap_or_default()
}

/// One frame of a busy turn, as the reference server produces it: streamed text parts with a
/// committed reply and a queued message every 32 events, a queue update, and status changes.
pub fn frame_events() -> Vec<ChatStreamEvent> {
    let mut server = MemoryChat::new(CHAT, now());
    let mut events = Vec::with_capacity(BATCH);
    let send = |text: String| ChatCommand::Send {
        content: vec![ChatMessagePart::text(text)],
        busy: ChatBusyBehavior::Queue,
        model_config_id: None,
    };
    let apply = |server: &mut MemoryChat, command, events: &mut Vec<ChatStreamEvent>| {
        if let Ok(applied) = server.apply(command, now()) {
            events.extend(applied.events);
        }
    };
    apply(&mut server, send("start".into()), &mut events);
    let mut i = 0;
    while events.len() < BATCH {
        i += 1;
        if i % 32 == 0 {
            let reply = ChatCommand::CommitReply {
                content: vec![ChatMessagePart::text(format!("reply {i}"))],
            };
            apply(&mut server, reply, &mut events);
            apply(&mut server, send(format!("follow-up {i}")), &mut events);
            apply(&mut server, ChatCommand::FinishTurn, &mut events);
        } else {
            let word = format!("token{i} ");
            events.push(ChatStreamEvent::message_part(
                CHAT,
                ChatMessagePart::text(word),
            ));
        }
    }
    events.truncate(BATCH);
    events
}

/// The frame as it travels: one JSON array, newline-terminated (Era C framing).
pub fn frame_json(events: &[ChatStreamEvent]) -> String {
    let mut text = serde_json::to_string(events).unwrap_or_default();
    text.push('\n');
    text
}

/// Decodes a frame the way a client does.
pub fn decode(frame: &str) -> Vec<ChatStreamEvent> {
    decode_stream_frame(frame, CHAT).unwrap_or_default()
}

/// A view showing [`CHAT`] with its REST snapshot loaded and its stream open.
pub fn ready_view() -> (ChatView, StreamId) {
    let server = MemoryChat::new(CHAT, now());
    let mut view = ChatView::new(ChatCache::new());
    view.handle(now(), ChatInput::SwitchChat(Some(CHAT)));
    view.handle(
        now(),
        ChatInput::RestSnapshot(RestSnapshot {
            chat_id: CHAT,
            chat: Some(server.chat_record(Uuid::nil())),
            page: Some(server.messages_page(50)),
        }),
    );
    let stream = view.stream_id().unwrap_or(StreamId(0));
    view.handle(now(), ChatInput::StreamOpened(stream));
    (view, stream)
}

/// Applies one decoded frame to a view.
pub fn apply(view: &mut ChatView, stream: StreamId, events: Vec<ChatStreamEvent>) -> usize {
    view.handle(
        now(),
        ChatInput::StreamFrame {
            stream_id: stream,
            events,
        },
    )
    .len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bench measures real work: the frame decodes to what was sent, and applying it
    /// fills the history, the queue and the streaming preview.
    #[test]
    fn the_workload_frame_round_trips_and_renders() {
        let events = frame_events();
        assert_eq!(events.len(), BATCH);
        let decoded = decode(&frame_json(&events));
        assert_eq!(decoded, events);

        let (mut view, stream) = ready_view();
        apply(&mut view, stream, decoded);
        let state = view.state();
        assert_eq!(state.messages.len(), 15);
        let preview = state.preview.as_ref().map(|p| p.text()).unwrap_or_default();
        assert!(preview.starts_with("token225 "), "{preview:?}");
    }
}
