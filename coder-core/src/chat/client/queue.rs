//! The queue a chat view shows: the last authoritative queue (REST or stream, admitted by the
//! hydration guard or by `queue_version`) minus the entries with an optimistic delete or
//! promote in flight (the suppression set of §5.7).

use std::collections::BTreeSet;

use crate::model::ChatQueuedMessage;

use super::version::{Source, Watermark};

/// Authoritative queue, watermark and in-flight optimistic actions of the active chat.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueState {
    authoritative: Vec<ChatQueuedMessage>,
    watermark: Watermark,
    /// Promotes in flight: hidden until an authoritative queue no longer has them.
    suppressed: BTreeSet<i64>,
    /// Deletes in flight: hidden until an authoritative queue no longer has them.
    deleting: BTreeSet<i64>,
}

impl QueueState {
    /// The queue to show: authoritative entries that no optimistic action hides.
    pub(crate) fn visible(&self) -> Vec<ChatQueuedMessage> {
        self.authoritative
            .iter()
            .filter(|entry| !self.is_hidden(entry.id))
            .cloned()
            .collect()
    }

    /// The version of the authoritative queue, when the server sends versions.
    pub(crate) fn version(&self) -> Option<u64> {
        self.watermark.version
    }

    /// Whether nothing is hidden, i.e. [`Self::visible`] is the authoritative queue.
    pub(crate) fn is_unfiltered(&self) -> bool {
        !self
            .authoritative
            .iter()
            .any(|entry| self.is_hidden(entry.id))
    }

    fn is_hidden(&self, id: i64) -> bool {
        self.suppressed.contains(&id) || self.deleting.contains(&id)
    }

    /// Offers an authoritative queue; returns whether it was applied.
    pub(crate) fn apply(
        &mut self,
        source: Source,
        queue: Vec<ChatQueuedMessage>,
        version: Option<u64>,
    ) -> bool {
        // A REST read equal (by id sequence) to what is shown changes nothing; skipping it keeps
        // a read of our own optimistic cache write from lifting suppression early (§5.2).
        if source == Source::Rest && version.is_none() && same_ids(&queue, &self.visible()) {
            self.watermark.admit(source, None, false);
            return false;
        }
        if !self.watermark.admit(source, version, false) {
            return false;
        }
        let present = |id: &i64| queue.iter().any(|entry| entry.id == *id);
        self.suppressed.retain(present);
        self.deleting.retain(present);
        self.authoritative = queue;
        true
    }

    /// The stream was reopened: events may have been missed, so REST may correct the queue
    /// again until the next `queue_update` (the server sends none for an empty queue).
    pub(crate) fn stream_reopened(&mut self) {
        self.watermark.stream_seen = false;
    }

    /// Hides `id` while a delete is in flight; false if it is not shown.
    pub(crate) fn begin_delete(&mut self, id: i64) -> bool {
        self.is_shown(id) && self.deleting.insert(id)
    }

    /// Hides `id` while a promote is in flight; false if it is not shown.
    pub(crate) fn begin_promote(&mut self, id: i64) -> bool {
        self.is_shown(id) && self.suppressed.insert(id)
    }

    /// The delete failed: show the entry again if the authoritative queue still has it.
    pub(crate) fn delete_failed(&mut self, id: i64) {
        self.deleting.remove(&id);
    }

    /// The promote failed: show the entry again if the authoritative queue still has it.
    pub(crate) fn promote_failed(&mut self, id: i64) {
        self.suppressed.remove(&id);
    }

    fn is_shown(&self, id: i64) -> bool {
        self.authoritative.iter().any(|entry| entry.id == id) && !self.is_hidden(id)
    }
}

/// Whether two queues hold the same ids in the same order.
pub(crate) fn same_ids(a: &[ChatQueuedMessage], b: &[ChatQueuedMessage]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.id == y.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(ids: &[i64]) -> Vec<ChatQueuedMessage> {
        ids.iter()
            .map(|&id| ChatQueuedMessage {
                id,
                chat_id: uuid::Uuid::nil(),
                content: vec![],
                created_at: Default::default(),
                model_config_id: None,
            })
            .collect()
    }

    fn ids(queue: &QueueState) -> Vec<i64> {
        queue.visible().iter().map(|entry| entry.id).collect()
    }

    #[test]
    fn suppression_lasts_until_an_authoritative_queue_drops_the_id() {
        let mut queue = QueueState::default();
        queue.apply(Source::Rest, entries(&[10, 11]), None);
        assert!(queue.begin_promote(10));
        assert_eq!(ids(&queue), [11]);
        queue.apply(Source::Stream, entries(&[10, 11]), None);
        assert_eq!(
            ids(&queue),
            [11],
            "pre-promotion queue_update stays filtered"
        );
        queue.apply(Source::Stream, entries(&[11]), None);
        queue.apply(Source::Stream, entries(&[10, 11]), None);
        assert_eq!(
            ids(&queue),
            [10, 11],
            "suppression was lifted once 10 disappeared"
        );
    }

    #[test]
    fn failed_promote_shows_the_latest_authoritative_entry_again() {
        let mut queue = QueueState::default();
        queue.apply(Source::Rest, entries(&[10]), None);
        queue.begin_promote(10);
        queue.apply(Source::Stream, entries(&[10, 12]), None);
        queue.promote_failed(10);
        assert_eq!(ids(&queue), [10, 12]);
    }
}
