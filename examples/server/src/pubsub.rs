//! In-process events: "something about job X or workspace Y changed". Durable before visible:
//! publishers commit first, subscribers re-read the store, so a lagging subscriber that misses
//! events still converges.

use tokio::sync::broadcast;
use uuid::Uuid;

/// One change notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A job got new log lines or changed status.
    Job(Uuid),
    /// A workspace (or its latest build) changed.
    Workspace(Uuid),
}

/// The server's event bus.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    /// A bus with room for a burst of events per subscriber.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }

    /// Announces a change (no-op without subscribers).
    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    /// Receives every later event.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
