//! The state every request handler and worker shares.

use std::sync::Arc;

use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::Config;
use crate::passwords::PasswordChecks;
use crate::provisioners::Provisioners;
use crate::pubsub::Events;
use crate::store::Store;

impl AppState {
    /// Wakes this server's runner and, through the event bus, every replica's.
    pub fn job_queued(&self) {
        self.jobs_queued.notify_one();
        self.events.publish(crate::pubsub::Event::JobsQueued);
    }
}

/// Shared handles; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// Configuration.
    pub config: Arc<Config>,
    /// The URL agents and clients use.
    pub access_url: String,
    /// This deployment's stable id.
    pub deployment_id: String,
    /// The default organization's id.
    pub default_org_id: Uuid,
    /// Change notifications.
    pub events: Events,
    /// Wakes the job runner when a job is queued.
    pub jobs_queued: Arc<Notify>,
    /// Password hashing and verification, bounded.
    pub password_checks: Arc<PasswordChecks>,
    /// Becomes `true` when the server starts shutting down; long-lived streams end then.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The OpenAPI document (`/api/v2/openapi.json`).
    pub openapi: Arc<serde_json::Value>,
    /// The provisioners jobs run with, by type.
    pub provisioners: Provisioners,
    /// Upgraded websocket streams still open: shutdown waits for their close frames.
    pub streams: Arc<OpenStreams>,
}

/// Counts upgraded websocket streams, which graceful HTTP shutdown does not track, so the
/// server can wait for each to send its close frame before the process exits.
#[derive(Debug, Default)]
pub struct OpenStreams {
    count: std::sync::atomic::AtomicUsize,
    idle: Notify,
}

/// Held by one open stream; dropping it marks the stream closed.
#[derive(Debug)]
pub struct StreamGuard(Arc<OpenStreams>);

impl OpenStreams {
    /// Marks a stream open until the guard is dropped.
    pub fn enter(self: &Arc<Self>) -> StreamGuard {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        StreamGuard(self.clone())
    }

    /// Resolves once no stream is open.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0
            .count
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.idle.notify_waiters();
    }
}
