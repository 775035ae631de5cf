//! Message history of the active chat: upserts by id, REST pages, `history_reset`
//! replacements, ordered by `history_version` when the server sends it.

use std::collections::BTreeMap;

use crate::model::ChatMessage;

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// Stale (older `history_version`), dropped.
    Ignored,
    /// Same id, same value: nothing changed.
    Unchanged,
    /// New id, or same id with new content.
    Changed,
}

/// History watermark plus a replacement being collected after `history_reset`.
#[derive(Debug, Clone, Default)]
pub(crate) struct HistoryState {
    version: Option<u64>,
    replacement: Option<(BTreeMap<i64, ChatMessage>, Option<u64>)>,
}

impl HistoryState {
    /// The history version of what is shown, when the server sends versions.
    pub(crate) fn version(&self) -> Option<u64> {
        self.version
    }

    /// Whether a `history_reset` is collecting messages.
    pub(crate) fn is_replacing(&self) -> bool {
        self.replacement.is_some()
    }

    /// Starts collecting the replacement announced by `history_reset`.
    pub(crate) fn begin_reset(&mut self, version: Option<u64>) {
        self.replacement = Some((BTreeMap::new(), version));
    }

    /// Drops a half-collected replacement (stream reopened).
    pub(crate) fn abandon_reset(&mut self) {
        self.replacement = None;
    }

    /// Upserts one stream message (into the replacement while one is collected).
    pub(crate) fn upsert(
        &mut self,
        messages: &mut BTreeMap<i64, ChatMessage>,
        message: ChatMessage,
        version: Option<u64>,
    ) -> Upsert {
        if let Some((replacement, _)) = &mut self.replacement {
            replacement.insert(message.id, message);
            return Upsert::Changed;
        }
        if version.is_some_and(|v| self.version.is_some_and(|current| v < current)) {
            return Upsert::Ignored;
        }
        self.version = version.max(self.version);
        if messages.get(&message.id) == Some(&message) {
            return Upsert::Unchanged;
        }
        messages.insert(message.id, message);
        Upsert::Changed
    }

    /// Ends a `history_reset`: the collected messages become the history. Returns whether one
    /// was in progress.
    pub(crate) fn finish_reset(&mut self, messages: &mut BTreeMap<i64, ChatMessage>) -> bool {
        match self.replacement.take() {
            Some((replacement, version)) => {
                *messages = replacement;
                self.version = version.max(self.version);
                true
            }
            None => false,
        }
    }

    /// Applies page 0 of a REST read (any order). Versioned and newer: the page replaces the
    /// id range it covers. Unversioned: upserts, unless versions were seen (then ignored).
    /// Returns whether anything changed.
    pub(crate) fn apply_page(
        &mut self,
        messages: &mut BTreeMap<i64, ChatMessage>,
        page: Vec<ChatMessage>,
        version: Option<u64>,
    ) -> bool {
        let before = messages.clone();
        match (version, self.version) {
            (Some(new), Some(current)) if new <= current => return false,
            (None, Some(_)) => return false,
            (Some(_), _) => {
                let oldest = page.iter().map(|m| m.id).min();
                if let Some(oldest) = oldest {
                    messages.retain(|id, _| *id < oldest);
                } else {
                    messages.clear();
                }
                self.version = version;
            }
            (None, None) => {}
        }
        messages.extend(page.into_iter().map(|m| (m.id, m)));
        *messages != before
    }
}
