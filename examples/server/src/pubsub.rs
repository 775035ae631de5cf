//! Change notifications: "something about job X or workspace Y changed", "a job was queued".
//! Durable before visible: publishers commit first, subscribers re-read the store, so a
//! lagging subscriber that misses events still converges.
//!
//! Within one server this is a broadcast channel. With PostgreSQL, events also travel between
//! replicas over `LISTEN`/`NOTIFY` (channel `coder_events`), so a watcher on one replica sees
//! a build that another replica runs, and an idle runner wakes when any replica queues a job.
//! Outgoing notifications are coalesced (`Outbox`): a burst about one job (a log line each)
//! leaves as one `NOTIFY` per flush window, and the queue holds at most one entry per distinct
//! event, so a slow database never grows it without bound.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

/// One change notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A job got new log lines or changed status.
    Job(Uuid),
    /// A workspace (or its latest build) changed.
    Workspace(Uuid),
    /// A job was queued (wakes idle runners).
    JobsQueued,
    /// Cancellation of a running job was requested (wakes the runner holding it).
    JobCancelRequested(Uuid),
}

/// The PostgreSQL channel replicas talk on.
pub const CHANNEL: &str = "coder_events";

impl Event {
    fn encode(self, replica: Uuid) -> String {
        match self {
            Self::Job(id) => format!("{replica} job {id}"),
            Self::Workspace(id) => format!("{replica} workspace {id}"),
            Self::JobsQueued => format!("{replica} queued -"),
            Self::JobCancelRequested(id) => format!("{replica} cancel {id}"),
        }
    }

    /// Parses a notification; `None` for our own or malformed ones.
    fn decode(payload: &str, me: Uuid) -> Option<Self> {
        let mut parts = payload.split(' ');
        let from = Uuid::parse_str(parts.next()?).ok()?;
        if from == me {
            return None;
        }
        let kind = parts.next()?;
        let id = parts.next()?;
        match kind {
            "job" => Uuid::parse_str(id).ok().map(Self::Job),
            "workspace" => Uuid::parse_str(id).ok().map(Self::Workspace),
            "queued" => Some(Self::JobsQueued),
            "cancel" => Uuid::parse_str(id).ok().map(Self::JobCancelRequested),
            _ => None,
        }
    }
}

/// The server's event bus.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
    remote: Option<Arc<Outbox>>,
    replica: Uuid,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    /// A local-only bus with room for a burst of events per subscriber.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            tx,
            remote: None,
            replica: Uuid::new_v4(),
        }
    }

    /// Also exchanges events with other replicas through PostgreSQL `LISTEN`/`NOTIFY`;
    /// remote "job queued" events wake `jobs_queued`.
    pub async fn bridge_postgres(
        &mut self,
        url: &str,
        pool: PgPool,
        jobs_queued: Arc<Notify>,
    ) -> Result<(), sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(CHANNEL).await?;
        let me = self.replica;
        let local = self.tx.clone();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if let Some(event) = Event::decode(n.payload(), me) {
                            if event == Event::JobsQueued {
                                jobs_queued.notify_one();
                            }
                            let _ = local.send(event);
                        }
                    }
                    Err(e) => {
                        // PgListener reconnects on the next recv; subscribers re-read anyway.
                        tracing::warn!(error = %e, "listening for replica events");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        let remote = Arc::new(Outbox::default());
        let outbox = Arc::clone(&remote);
        tokio::spawn(async move {
            loop {
                outbox.ready.notified().await;
                // Let a burst gather: each distinct event leaves once per window.
                tokio::time::sleep(COALESCE_WINDOW).await;
                for event in outbox.take() {
                    let sent = sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(CHANNEL)
                        .bind(event.encode(me))
                        .execute(&pool)
                        .await;
                    if let Err(e) = sent {
                        tracing::warn!(error = %e, "notifying replicas");
                    }
                }
            }
        });
        self.remote = Some(remote);
        Ok(())
    }

    /// Announces a change (no-op without subscribers).
    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(event);
        if let Some(remote) = &self.remote {
            remote.push(event);
        }
    }

    /// Receives every later event.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

/// How long outgoing notifications gather before they are sent.
const COALESCE_WINDOW: Duration = Duration::from_millis(20);

/// Notifications waiting for the next flush to other replicas, each distinct event once, in
/// the order first seen.
#[derive(Debug, Default)]
struct Outbox {
    pending: Mutex<indexmap::IndexSet<Event>>,
    ready: Notify,
}

impl Outbox {
    fn push(&self, event: Event) {
        let added = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event);
        if added {
            self.ready.notify_one();
        }
    }

    fn take(&self) -> Vec<Event> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *pending).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_round_trip_and_skip_our_own() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        let id = Uuid::new_v4();
        for e in [
            Event::Job(id),
            Event::Workspace(id),
            Event::JobsQueued,
            Event::JobCancelRequested(id),
        ] {
            assert_eq!(Event::decode(&e.encode(other), me), Some(e));
            assert_eq!(Event::decode(&e.encode(me), me), None);
        }
        assert_eq!(Event::decode("garbage", me), None);
    }

    #[test]
    fn a_burst_leaves_as_one_notification_per_distinct_event() {
        let outbox = Outbox::default();
        let (job, ws) = (Uuid::new_v4(), Uuid::new_v4());
        for _ in 0..1000 {
            outbox.push(Event::Job(job));
        }
        outbox.push(Event::Workspace(ws));
        outbox.push(Event::Job(job));
        assert_eq!(outbox.take(), vec![Event::Job(job), Event::Workspace(ws)]);
        assert_eq!(outbox.take(), vec![]);
    }
}
