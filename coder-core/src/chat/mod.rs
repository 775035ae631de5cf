//! The chat-queue state machines: the server-side queue rules and the client-side view.
