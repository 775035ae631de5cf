//! The per-chat cache the view reads on a chat switch and writes as it learns (like the web
//! client's query cache): the chat record and page 0 of messages with the *filtered* queue.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::model::{Chat, ChatMessagesResponse};

/// What the cache holds for one chat: the last chat record and page 0 of its messages (newest
/// first, with the queue), each as the view last showed it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CachedChat {
    /// The chat record (the sidebar row).
    pub chat: Option<Chat>,
    /// Page 0 of `GET /chats/{chat}/messages`.
    pub page: Option<ChatMessagesResponse>,
}

impl CachedChat {
    /// Page 0 message ids, newest first (empty when no page is cached).
    pub fn message_ids(&self) -> Vec<i64> {
        self.page
            .iter()
            .flat_map(|page| page.messages.iter().map(|m| m.id))
            .collect()
    }

    /// The cached queue ids (empty when no page is cached).
    pub fn queued_ids(&self) -> Vec<i64> {
        self.page
            .iter()
            .flat_map(|page| page.queued_messages.iter().map(|q| q.id))
            .collect()
    }
}

/// Cached data of every chat the view has seen.
#[derive(Debug, Clone, Default)]
pub struct ChatCache {
    entries: BTreeMap<Uuid, CachedChat>,
}

impl ChatCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry of `chat_id`, if any.
    pub fn get(&self, chat_id: Uuid) -> Option<&CachedChat> {
        self.entries.get(&chat_id)
    }

    /// Replaces the entry of `chat_id` (seeding, or the view mirroring what it shows).
    /// Returns whether the entry changed.
    pub fn put(&mut self, chat_id: Uuid, entry: CachedChat) -> bool {
        if self.entries.get(&chat_id) == Some(&entry) {
            return false;
        }
        self.entries.insert(chat_id, entry);
        true
    }

    /// Stores a REST read of a chat that is not shown, keeping a cached part that is newer by
    /// version.
    pub fn store_read(
        &mut self,
        chat_id: Uuid,
        chat: Option<Chat>,
        page: Option<ChatMessagesResponse>,
    ) {
        let entry = self.entries.entry(chat_id).or_default();
        if let Some(chat) = chat {
            let cached = entry.chat.as_ref().and_then(|c| c.snapshot_version);
            if not_older(chat.snapshot_version, cached) {
                entry.chat = Some(chat);
            }
        }
        if let Some(page) = page {
            let cached = entry.page.as_ref();
            if not_older(page.queue_version, cached.and_then(|p| p.queue_version))
                && not_older(page.history_version, cached.and_then(|p| p.history_version))
            {
                entry.page = Some(page);
            }
        }
    }
}

fn not_older(incoming: Option<u64>, cached: Option<u64>) -> bool {
    match (incoming, cached) {
        (Some(new), Some(old)) => new >= old,
        _ => true,
    }
}
