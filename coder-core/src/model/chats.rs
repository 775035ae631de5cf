//! Chat wire types (Coder's experimental chats API): chats, messages, parts, queue, stream events.

/// Placeholder until the chat wire types land.
#[derive(Debug)]
pub struct ChatPlaceholder;
