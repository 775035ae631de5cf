//! Applying one stream frame (§5.5): per-event rules for parts, messages, queue, status,
//! errors, retries and the Era C resets, with every mutation of a frame applied together.

use crate::model::{
    ChatError, ChatMessageRole, ChatStatus, ChatStreamEvent, ChatStreamEventType, ChatStreamRetry,
    Timestamp,
};

use super::history::Upsert;
use super::{CHAT_PROCESSING_FAILED, ChatEffect, ChatView, RETRYING_SHORTLY, RetryState, Source};

impl ChatView {
    /// Applies the events of one frame of the open stream, in order.
    pub(super) fn apply_frame(&mut self, now: Timestamp, events: Vec<ChatStreamEvent>) {
        // Parts after an assistant `message` in the same frame belong to the next turn and
        // are shown at the end of the frame rather than on the next tick.
        let mut flush_at_end = false;
        for event in events {
            if self.history.is_replacing() && event.event_type != ChatStreamEventType::Message {
                self.finish_history_reset();
            }
            let for_shown = event.chat_id.is_nil() || Some(event.chat_id) == self.state.chat_id;
            if !for_shown {
                self.apply_foreign(event);
                continue;
            }
            flush_at_end |= self.apply_event(event);
        }
        if self.history.is_replacing() {
            self.finish_history_reset();
        }
        if flush_at_end {
            self.flush_parts();
        }
        if !self.parts.is_empty() && !self.tick_scheduled {
            self.tick_scheduled = true;
            self.effects.push(ChatEffect::ScheduleTick { at: now });
        }
    }

    /// An event naming another chat: only a sub-agent's `status` is kept.
    fn apply_foreign(&mut self, event: ChatStreamEvent) {
        if let (ChatStreamEventType::Status, Some(status)) = (&event.event_type, event.status) {
            let previous = self
                .state
                .subagent_status_overrides
                .insert(event.chat_id, status.status.clone());
            if previous.as_ref() != Some(&status.status) {
                self.changes.other = true;
            }
        }
    }

    /// Applies one event of the shown chat; returns whether it started a new assistant turn.
    fn apply_event(&mut self, event: ChatStreamEvent) -> bool {
        match event.event_type {
            ChatStreamEventType::MessagePart => {
                self.set_retry(None);
                // Gated when flushed, not here: a `running` later in this frame admits it.
                if let Some(part) = event.message_part {
                    self.parts.push(part.part);
                }
            }
            ChatStreamEventType::Message => {
                if let Some(message) = event.message {
                    return self.apply_message(message, event.history_version);
                }
            }
            ChatStreamEventType::QueueUpdate => {
                if self
                    .queue
                    .apply(Source::Stream, event.queued_messages, event.queue_version)
                {
                    self.refresh_queue();
                }
            }
            ChatStreamEventType::Status => {
                if let Some(status) = event.status {
                    self.apply_status(status.status, event.snapshot_version);
                }
            }
            ChatStreamEventType::Error => {
                self.apply_error(event.error.unwrap_or_default(), event.snapshot_version);
            }
            ChatStreamEventType::Retry => self.apply_retry(event.retry.unwrap_or_default()),
            ChatStreamEventType::PreviewReset => self.drop_preview(),
            ChatStreamEventType::HistoryReset => {
                self.drop_preview();
                self.history.begin_reset(event.history_version);
            }
            ChatStreamEventType::ActionRequired => {
                if event.action_required != self.state.action_required {
                    self.state.action_required = event.action_required;
                    self.changes.other = true;
                }
            }
            ChatStreamEventType::Unknown(_) => {}
        }
        false
    }

    fn apply_message(&mut self, message: crate::model::ChatMessage, version: Option<u64>) -> bool {
        self.flush_parts();
        let is_assistant = message.role == ChatMessageRole::Assistant;
        let replacing = self.history.is_replacing();
        if self
            .history
            .upsert(&mut self.state.messages, message, version)
            != Upsert::Changed
        {
            return false;
        }
        if replacing {
            return false;
        }
        self.changes.messages = true;
        // A promoted user message must not wipe the live preview; a new or revised assistant
        // message finalizes it.
        if is_assistant {
            self.set_preview(None);
        }
        is_assistant
    }

    fn apply_status(&mut self, status: ChatStatus, version: Option<u64>) {
        if !self.status.apply(Source::Stream, status.clone(), version) {
            return;
        }
        self.refresh_status();
        self.set_retry(None);
        if matches!(status, ChatStatus::Pending | ChatStatus::Waiting) {
            self.parts.discard();
        }
        if status != ChatStatus::RequiresAction && self.state.action_required.is_some() {
            self.state.action_required = None;
            self.changes.other = true;
        }
        if let (false, Some(chat_id)) = (status == ChatStatus::Error, self.state.chat_id) {
            self.effects.push(ChatEffect::ClearErrorReason { chat_id });
        }
    }

    fn apply_error(&mut self, error: ChatError, version: Option<u64>) {
        if version.is_some_and(|v| self.status.version().is_some_and(|current| v < current)) {
            return;
        }
        // Flush, so partial output stays visible.
        self.flush_parts();
        if self
            .status
            .apply(Source::Stream, ChatStatus::Error, version)
        {
            self.refresh_status();
        }
        let trimmed = error.message.trim();
        let reason = if trimmed.is_empty() {
            CHAT_PROCESSING_FAILED
        } else {
            trimmed
        }
        .to_owned();
        self.set_stream_error(Some(reason.clone()));
        self.set_retry(None);
        if let Some(chat_id) = self.state.chat_id {
            self.effects
                .push(ChatEffect::SetErrorReason { chat_id, reason });
        }
    }

    fn apply_retry(&mut self, retry: ChatStreamRetry) {
        self.drop_preview();
        let trimmed = retry.error.trim();
        self.set_retry(Some(RetryState {
            attempt: retry.attempt.max(1),
            error: if trimmed.is_empty() {
                RETRYING_SHORTLY
            } else {
                trimmed
            }
            .to_owned(),
            kind: retry.kind,
            provider: retry.provider,
            delay_ms: retry.delay_ms,
            retrying_at: retry.retrying_at,
        }));
    }

    fn drop_preview(&mut self) {
        self.parts.discard();
        self.set_preview(None);
    }

    fn finish_history_reset(&mut self) {
        if self.history.finish_reset(&mut self.state.messages) {
            self.changes.messages = true;
        }
    }
}
