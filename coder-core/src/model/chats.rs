//! Chat wire types (Coder's experimental chats API): chats, messages, parts, queue, stream events.
