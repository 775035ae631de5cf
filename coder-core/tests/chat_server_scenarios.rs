//! Server-side chat queue scenarios (chat-protocol.md §4 and the Era C state machine), each a
//! given/when/then against the in-memory reference chat.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use coder_core::Error;
use coder_core::chat::server::{ChatCommand, MemoryChat, SendReply, TOOL_CALLS_SUPERSEDED};
use coder_core::model::{
    ChatBusyBehavior, ChatMessagePart, ChatMessageRole, ChatStatus, ChatStreamEvent,
    ChatStreamEventType, Timestamp,
};
use proptest::prelude::*;
use uuid::Uuid;

fn now() -> Timestamp {
    "2026-08-22T10:00:00Z".parse().unwrap()
}

fn send(text: &str) -> ChatCommand {
    ChatCommand::Send {
        content: vec![ChatMessagePart::text(text)],
        busy: ChatBusyBehavior::Queue,
        model_config_id: None,
    }
}

fn send_interrupt(text: &str) -> ChatCommand {
    ChatCommand::Send {
        content: vec![ChatMessagePart::text(text)],
        busy: ChatBusyBehavior::Interrupt,
        model_config_id: None,
    }
}

fn reply(text: &str) -> ChatCommand {
    ChatCommand::CommitReply {
        content: vec![ChatMessagePart::text(text)],
    }
}

fn chat() -> MemoryChat {
    MemoryChat::new(Uuid::from_u128(0xC4A7), now())
}

/// A chat that is running its first turn.
fn running_chat() -> MemoryChat {
    let mut c = chat();
    c.apply(send("hello"), now()).unwrap();
    c
}

fn texts_of(c: &MemoryChat) -> Vec<(ChatMessageRole, String)> {
    c.history()
        .iter()
        .map(|m| {
            let text = m
                .content
                .iter()
                .filter_map(|p| p.text.clone())
                .collect::<String>();
            (m.role.clone(), text)
        })
        .collect()
}

fn queue_texts(c: &MemoryChat) -> Vec<String> {
    c.queue()
        .iter()
        .map(|q| q.content[0].text.clone().unwrap_or_default())
        .collect()
}

fn types(events: &[ChatStreamEvent]) -> Vec<ChatStreamEventType> {
    events.iter().map(|e| e.event_type.clone()).collect()
}

#[test]
fn given_an_idle_chat_when_a_message_is_sent_then_it_enters_history_and_runs() {
    let mut c = chat();
    let out = c.apply(send("hello"), now()).unwrap();
    assert_eq!(out.reply, Some(SendReply::Sent));
    assert_eq!(out.message.as_ref().map(|m| m.id), Some(1));
    assert_eq!(out.queued_message, None);
    assert_eq!(c.execution().status, ChatStatus::Running);
    assert_eq!(c.execution().state_name(), "R0");
    assert_eq!(
        types(&out.events),
        [ChatStreamEventType::Message, ChatStreamEventType::Status]
    );
}

#[test]
fn given_a_running_chat_when_a_message_is_sent_then_it_is_queued_and_status_is_unchanged() {
    let mut c = running_chat();
    let before = c.history().to_vec();
    let out = c.apply(send("next"), now()).unwrap();
    assert_eq!(out.reply, Some(SendReply::Queued));
    assert_eq!(out.queued_message.as_ref().map(|q| q.id), Some(1));
    assert_eq!(c.execution().status, ChatStatus::Running);
    assert_eq!(queue_texts(&c), ["next"]);
    assert_eq!(c.history(), before.as_slice());
    assert!(!out.cancel_generation);
    assert_eq!(types(&out.events), [ChatStreamEventType::QueueUpdate]);
    assert_eq!(out.events[0].queued_messages.len(), 1);
}

#[test]
fn given_a_queue_when_the_turn_finishes_then_the_head_is_promoted_and_the_chat_keeps_running() {
    let mut c = running_chat();
    c.apply(send("second"), now()).unwrap();
    c.apply(send("third"), now()).unwrap();
    c.apply(reply("answer one"), now()).unwrap();
    let out = c.apply(ChatCommand::FinishTurn, now()).unwrap();
    assert_eq!(c.execution().status, ChatStatus::Running);
    assert_eq!(queue_texts(&c), ["third"]);
    assert_eq!(
        texts_of(&c),
        [
            (ChatMessageRole::User, "hello".to_owned()),
            (ChatMessageRole::Assistant, "answer one".to_owned()),
            (ChatMessageRole::User, "second".to_owned()),
        ]
    );
    // Coder's order: the promoted message, then the remaining queue; the status is unchanged.
    assert_eq!(
        types(&out.events),
        [
            ChatStreamEventType::Message,
            ChatStreamEventType::QueueUpdate,
            ChatStreamEventType::PreviewReset
        ]
    );
}

#[test]
fn given_an_empty_queue_when_the_turn_finishes_then_the_chat_waits() {
    let mut c = running_chat();
    let out = c.apply(ChatCommand::FinishTurn, now()).unwrap();
    assert_eq!(c.execution().state_name(), "W");
    assert_eq!(
        types(&out.events),
        [
            ChatStreamEventType::Status,
            ChatStreamEventType::PreviewReset
        ]
    );
}

#[test]
fn given_a_queue_when_the_turn_fails_then_the_queue_is_kept_and_the_error_published() {
    let mut c = running_chat();
    c.apply(send("queued"), now()).unwrap();
    let out = c
        .apply(
            ChatCommand::FinishError {
                message: "  model overloaded ".into(),
            },
            now(),
        )
        .unwrap();
    assert_eq!(c.execution().state_name(), "E1");
    assert_eq!(c.last_error(), Some("model overloaded"));
    assert_eq!(queue_texts(&c), ["queued"]);
    assert_eq!(
        types(&out.events),
        [
            ChatStreamEventType::Status,
            ChatStreamEventType::Error,
            ChatStreamEventType::PreviewReset
        ]
    );
    assert_eq!(
        out.events[1].error.as_ref().map(|e| e.message.as_str()),
        Some("model overloaded")
    );
}

#[test]
fn given_an_errored_chat_with_a_queue_when_a_message_is_sent_then_it_queues_at_the_tail_and_the_head_runs()
 {
    let mut c = running_chat();
    c.apply(send("first queued"), now()).unwrap();
    c.apply(
        ChatCommand::FinishError {
            message: "boom".into(),
        },
        now(),
    )
    .unwrap();
    let out = c.apply(send("new"), now()).unwrap();
    assert_eq!(out.reply, Some(SendReply::Queued));
    assert_eq!(c.execution().state_name(), "R1");
    assert_eq!(c.last_error(), None);
    assert_eq!(queue_texts(&c), ["new"]);
    assert_eq!(
        texts_of(&c).last().map(|(_, t)| t.as_str()),
        Some("first queued")
    );
}

#[test]
fn given_a_running_turn_when_a_message_is_sent_with_interrupt_then_the_partial_reply_stays_before_it()
 {
    let mut c = running_chat();
    let out = c.apply(send_interrupt("stop and do this"), now()).unwrap();
    assert!(out.cancel_generation);
    assert_eq!(c.execution().state_name(), "I1");
    // The worker persists its partial output, then reports the interruption.
    c.apply(reply("partial answ"), now()).unwrap();
    c.apply(ChatCommand::RunInterrupted, now()).unwrap();
    assert_eq!(c.execution().state_name(), "R0");
    let history = texts_of(&c);
    assert_eq!(
        history,
        [
            (ChatMessageRole::User, "hello".to_owned()),
            (ChatMessageRole::Assistant, "partial answ".to_owned()),
            (ChatMessageRole::User, "stop and do this".to_owned()),
        ]
    );
    let ids: Vec<i64> = c.history().iter().map(|m| m.id).collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn given_a_running_chat_when_a_later_entry_is_promoted_then_it_moves_to_the_front_and_runs_after_the_partial_reply()
 {
    let mut c = running_chat();
    for text in ["a", "b", "c"] {
        c.apply(send(text), now()).unwrap();
    }
    let c_id = c.queue()[2].id;
    let out = c
        .apply(ChatCommand::PromoteQueued { id: c_id }, now())
        .unwrap();
    assert!(out.cancel_generation);
    assert_eq!(c.execution().state_name(), "I1");
    assert_eq!(queue_texts(&c), ["c", "a", "b"]);
    let ids: Vec<i64> = c.queue().iter().map(|q| q.id).collect();
    assert_eq!(ids, [3, 1, 2], "ids stay stable while reordered");

    c.apply(reply("partial"), now()).unwrap();
    c.apply(ChatCommand::RunInterrupted, now()).unwrap();
    assert_eq!(queue_texts(&c), ["a", "b"]);
    let partial = c
        .history()
        .iter()
        .find(|m| m.role == ChatMessageRole::Assistant)
        .unwrap()
        .id;
    let promoted = c.history().last().unwrap();
    assert_eq!(promoted.content[0].text.as_deref(), Some("c"));
    assert!(partial < promoted.id);
}

#[test]
fn given_a_promote_waiting_for_the_run_to_stop_when_another_entry_is_promoted_then_it_is_refused() {
    let mut c = running_chat();
    for text in ["a", "b"] {
        c.apply(send(text), now()).unwrap();
    }
    let (a, b) = (c.queue()[0].id, c.queue()[1].id);
    c.apply(ChatCommand::PromoteQueued { id: a }, now())
        .unwrap();
    assert_eq!(c.execution().state_name(), "I1");
    // Accepting it would move `b` in front of `a`: `a`'s accepted promote would never happen
    // and nothing would tell the client, which hides `a` until it leaves the queue.
    let before = c.clone();
    assert_eq!(
        c.apply(ChatCommand::PromoteQueued { id: b }, now())
            .unwrap_err()
            .to_string(),
        "chat is I1: cannot promote a queued message"
    );
    assert_eq!(c, before);
    let again = c
        .apply(ChatCommand::PromoteQueued { id: a }, now())
        .unwrap();
    assert!(again.events.is_empty(), "the head is already next");

    c.apply(ChatCommand::RunInterrupted, now()).unwrap();
    assert_eq!(texts_of(&c).last().map(|(_, t)| t.as_str()), Some("a"));
    assert_eq!(queue_texts(&c), ["b"]);
}

#[test]
fn given_a_promote_waiting_for_the_run_to_stop_when_the_run_fails_then_it_settles_as_interrupted() {
    let mut c = running_chat();
    c.apply(send("a"), now()).unwrap();
    let a = c.queue()[0].id;
    c.apply(ChatCommand::PromoteQueued { id: a }, now())
        .unwrap();
    // A cancelled run typically ends in an error; the promoted head must still run.
    c.apply(
        ChatCommand::FinishError {
            message: "context canceled".into(),
        },
        now(),
    )
    .unwrap();
    assert_eq!(c.execution().state_name(), "R0");
    assert_eq!(c.last_error(), None);
    assert_eq!(texts_of(&c).last().map(|(_, t)| t.as_str()), Some("a"));
}

#[test]
fn given_a_chat_waiting_for_tool_results_when_an_entry_is_promoted_then_the_calls_are_closed_first()
{
    let mut c = running_chat();
    c.apply(send("queued"), now()).unwrap();
    c.apply(ChatCommand::RequireAction, now()).unwrap();
    assert_eq!(c.execution().state_name(), "A1");
    let id = c.queue()[0].id;
    c.apply(ChatCommand::PromoteQueued { id }, now()).unwrap();
    assert_eq!(c.execution().state_name(), "R0");
    let roles: Vec<ChatMessageRole> = c.history().iter().map(|m| m.role.clone()).collect();
    assert_eq!(
        roles,
        [
            ChatMessageRole::User,
            ChatMessageRole::Tool,
            ChatMessageRole::User
        ]
    );
    let tool = &c.history()[1].content[0];
    assert!(tool.is_error);
    assert_eq!(tool.text.as_deref(), Some(TOOL_CALLS_SUPERSEDED));
}

#[test]
fn given_an_errored_chat_when_an_entry_is_promoted_then_it_runs_now() {
    let mut c = running_chat();
    c.apply(send("x"), now()).unwrap();
    c.apply(send("y"), now()).unwrap();
    c.apply(
        ChatCommand::FinishError {
            message: "e".into(),
        },
        now(),
    )
    .unwrap();
    let y = c.queue()[1].id;
    c.apply(ChatCommand::PromoteQueued { id: y }, now())
        .unwrap();
    assert_eq!(c.execution().state_name(), "R1");
    assert_eq!(queue_texts(&c), ["x"]);
    assert_eq!(texts_of(&c).last().map(|(_, t)| t.as_str()), Some("y"));
}

#[test]
fn given_queued_entries_when_they_are_deleted_then_the_queue_shrinks_and_unknown_ids_are_404() {
    let mut c = running_chat();
    c.apply(send("only"), now()).unwrap();
    let id = c.queue()[0].id;
    assert_eq!(
        c.apply(ChatCommand::DeleteQueued { id: 99 }, now()),
        Err(Error::QueuedMessageNotFound { id: 99 })
    );
    let out = c.apply(ChatCommand::DeleteQueued { id }, now()).unwrap();
    assert_eq!(c.execution().state_name(), "R0");
    // An empty queue still gets a queue_update: the field is omitted on the wire, meaning [].
    assert_eq!(types(&out.events), [ChatStreamEventType::QueueUpdate]);
    assert!(out.events[0].queued_messages.is_empty());
    let err = c
        .apply(ChatCommand::DeleteQueued { id }, now())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "chat is R0: cannot delete a queued message"
    );
}

#[test]
fn given_a_queue_when_a_message_is_edited_then_the_queue_is_cleared_and_history_reset() {
    let mut c = running_chat();
    c.apply(reply("old answer"), now()).unwrap();
    c.apply(send("queued"), now()).unwrap();
    let out = c
        .apply(
            ChatCommand::Edit {
                message_id: 1,
                content: vec![ChatMessagePart::text("hello again")],
            },
            now(),
        )
        .unwrap();
    assert!(c.queue().is_empty());
    assert_eq!(
        texts_of(&c),
        [(ChatMessageRole::User, "hello again".to_owned())]
    );
    assert_eq!(c.execution().state_name(), "R0");
    assert!(out.cancel_generation);
    assert_eq!(
        types(&out.events),
        [
            ChatStreamEventType::HistoryReset,
            ChatStreamEventType::Message,
            ChatStreamEventType::QueueUpdate,
            ChatStreamEventType::PreviewReset
        ]
    );
}

#[test]
fn given_a_busy_chat_when_archived_then_refused_and_an_idle_one_is_archived_with_its_queue() {
    let mut c = running_chat();
    c.apply(send("keep me"), now()).unwrap();
    assert_eq!(
        c.apply(ChatCommand::Archive, now())
            .unwrap_err()
            .to_string(),
        "chat is R1: cannot archive"
    );
    c.apply(
        ChatCommand::FinishError {
            message: "e".into(),
        },
        now(),
    )
    .unwrap();
    c.apply(ChatCommand::Archive, now()).unwrap();
    assert_eq!(c.execution().state_name(), "XE1");
    assert_eq!(
        c.apply(send("x"), now()).unwrap_err().to_string(),
        "chat is XE1: cannot send a message"
    );
    c.apply(ChatCommand::Unarchive, now()).unwrap();
    assert_eq!(queue_texts(&c), ["keep me"]);
}

#[test]
fn given_twenty_queued_messages_when_one_more_is_sent_then_429_and_nothing_changes() {
    let mut c = running_chat();
    for i in 0..20 {
        c.apply(send(&format!("m{i}")), now()).unwrap();
    }
    let before = c.clone();
    let err = c.apply(send("one too many"), now()).unwrap_err();
    assert_eq!(err, Error::ChatQueueFull { limit: 20 });
    assert_eq!(
        err.to_string(),
        "Message queue is full. Maximum 20 messages can be queued."
    );
    assert_eq!(c, before);
}

#[test]
fn every_change_bumps_the_snapshot_version_and_stamps_what_changed() {
    let mut c = chat();
    c.apply(send("hello"), now()).unwrap(); // history + status
    assert_eq!(
        (
            c.execution().versions.snapshot,
            c.execution().versions.history,
            c.execution().versions.queue
        ),
        (1, 1, 0)
    );
    c.apply(send("q"), now()).unwrap(); // queue only
    assert_eq!(
        (
            c.execution().versions.snapshot,
            c.execution().versions.history,
            c.execution().versions.queue
        ),
        (2, 1, 2)
    );
    let out = c.apply(ChatCommand::FinishTurn, now()).unwrap(); // promote: both
    assert_eq!(
        (
            c.execution().versions.snapshot,
            c.execution().versions.history,
            c.execution().versions.queue
        ),
        (3, 3, 3)
    );
    assert_eq!(out.events[0].history_version, Some(3));
    assert_eq!(out.events[1].queue_version, Some(3));
    c.apply(ChatCommand::FinishTurn, now()).unwrap();
    let idle = c.clone();
    // Interrupting an idle chat changes nothing: no version, no event.
    let out = c.apply(ChatCommand::Interrupt, now()).unwrap();
    assert!(out.events.is_empty());
    assert_eq!(c, idle);
}

#[test]
fn the_connect_snapshot_always_has_status_and_queue_update_even_for_an_empty_queue() {
    let mut c = running_chat();
    c.apply(send("q"), now()).unwrap();
    c.apply(ChatCommand::FinishTurn, now()).unwrap(); // the queue drains
    let snapshot = c.snapshot_events(Some(1));
    assert_eq!(
        types(&snapshot),
        [
            ChatStreamEventType::Status,
            ChatStreamEventType::Message,
            ChatStreamEventType::QueueUpdate
        ]
    );
    assert_eq!(snapshot[1].message.as_ref().map(|m| m.id), Some(2));
    assert!(snapshot[2].queued_messages.is_empty());
    assert_eq!(snapshot[2].queue_version, Some(3));
    // On the wire the empty queue_update omits the field, which clients read as [].
    let wire = serde_json::to_value(&snapshot[2]).unwrap();
    assert!(wire.get("queued_messages").is_none());
    assert_eq!(wire["queue_version"], 3);
}

#[test]
fn stale_worker_reports_are_refused() {
    let mut c = chat();
    assert_eq!(
        c.apply(ChatCommand::FinishTurn, now())
            .unwrap_err()
            .to_string(),
        "chat is W: cannot finish a turn"
    );
    assert_eq!(
        c.apply(reply("late"), now()).unwrap_err().to_string(),
        "chat is W: cannot commit a reply"
    );
    assert!(c.history().is_empty());
}

#[test]
fn rest_reads_carry_the_versions_of_the_state_they_show() {
    let mut c = running_chat();
    c.apply(send("q"), now()).unwrap();
    let page = c.messages_page(50);
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.queued_messages.len(), 1);
    assert_eq!(
        (
            page.snapshot_version,
            page.history_version,
            page.queue_version
        ),
        (Some(2), Some(1), Some(2))
    );
    let record = c.chat_record(Uuid::nil());
    assert_eq!(record.status, ChatStatus::Running);
    assert_eq!(record.snapshot_version, Some(2));
}

fn any_command() -> impl Strategy<Value = ChatCommand> {
    prop_oneof![
        3 => Just(send("s")),
        1 => Just(send_interrupt("i")),
        2 => Just(reply("r")),
        2 => Just(ChatCommand::FinishTurn),
        1 => Just(ChatCommand::FinishError { message: "e".into() }),
        1 => Just(ChatCommand::RunInterrupted),
        1 => Just(ChatCommand::RequireAction),
        1 => Just(ChatCommand::SubmitToolResults),
        1 => Just(ChatCommand::Interrupt),
        1 => (1..30i64).prop_map(|id| ChatCommand::DeleteQueued { id }),
        1 => (1..30i64).prop_map(|id| ChatCommand::PromoteQueued { id }),
        1 => Just(ChatCommand::Edit { message_id: 1, content: vec![ChatMessagePart::text("e")] }),
        1 => Just(ChatCommand::Archive),
        1 => Just(ChatCommand::Unarchive),
    ]
}

proptest! {
    /// Whatever the commands: a refused command changes nothing; an accepted one bumps the
    /// snapshot version exactly when it changes something; no queued message is ever lost
    /// (each one is still queued, promoted into history, deleted on purpose or cleared by an
    /// edit); the queue never exceeds 20; a waiting chat has an empty queue.
    #[test]
    fn the_state_machine_keeps_its_invariants(commands in proptest::collection::vec(any_command(), 1..80)) {
        let mut c = chat();
        for command in commands {
            let before = c.clone();
            let deleting = match &command { ChatCommand::DeleteQueued { id } => Some(*id), _ => None };
            let editing = matches!(command, ChatCommand::Edit { .. });
            match c.apply(command, now()) {
                Err(_) => prop_assert_eq!(&c, &before),
                Ok(out) => {
                    let changed = c != before;
                    let v0 = before.execution().versions.snapshot;
                    prop_assert_eq!(c.execution().versions.snapshot, if changed { v0 + 1 } else { v0 });
                    prop_assert_eq!(out.events.is_empty(), !changed);
                    for q in before.queue() {
                        let still_queued = c.queue().iter().any(|x| x.id == q.id);
                        let promoted = c.history().len() > before.history().len()
                            && c.history().iter().skip(before.history().len()).any(|m| m.content == q.content);
                        prop_assert!(still_queued || promoted || deleting == Some(q.id) || editing,
                            "queued message {} vanished", q.id);
                    }
                }
            }
            prop_assert!(c.queue().len() <= 20);
            if c.execution().status == ChatStatus::Waiting {
                prop_assert!(c.queue().is_empty(), "waiting with a queue: {}", c.execution().state_name());
            }
            let ids: Vec<i64> = c.history().iter().map(|m| m.id).collect();
            prop_assert!(ids.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
