//! Job leases: the runner holding a job renews its lease every third of
//! [`Config::job_lease`](crate::Config::job_lease); a job whose lease lapsed belongs to a
//! runner that is gone, and is failed with a log line saying so. A renewal also tells the
//! holder when cancellation was requested or the job was taken from it.

use chrono::Utc;
use coder_core::model::ProvisionerJobStatus;
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::Result;
use crate::pubsub::Event;
use crate::state::AppState;
use crate::store::Backend;

/// The log line written to a job whose runner stopped before it finished.
pub const ORPHANED_LOG: &str = "The server running this job stopped before the job finished; marking it failed. Start a new build to retry.";

/// Fails the jobs whose runner is gone. On SQLite, at start-up, that is every running job
/// (one server process owns the database file); otherwise, jobs whose lease lapsed.
pub async fn recover_lapsed_jobs(state: &AppState, at_start: bool) -> Result<usize> {
    let now = Utc::now();
    let expired_before = if at_start && state.store.backend() == Backend::Sqlite {
        now
    } else {
        now - chrono::Duration::from_std(state.config.job_lease).unwrap_or_default()
    };
    let mut recovered = 0;
    for job in state.store.lapsed_jobs(expired_before).await? {
        let Some(job) = state
            .store
            .abandon_job(job.id, expired_before, ORPHANED_LOG, now)
            .await?
        else {
            continue;
        };
        recovered += 1;
        tracing::warn!(job = %job.id, "failed a job whose runner stopped before it finished");
        super::job::publish(state, &job).await;
    }
    Ok(recovered)
}

/// Recovers lapsed jobs every half lease until the server stops.
pub(super) async fn recovery_loop(state: AppState, mut stopped: watch::Receiver<bool>) {
    let every = state.config.job_lease / 2;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        if let Err(e) = recover_lapsed_jobs(&state, false).await {
            tracing::error!(error = %e, "recovering jobs whose runner is gone");
        }
    }
}

/// Why a held job must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// Cancellation was requested.
    Cancel,
    /// Another process recovered the job: this runner no longer holds it.
    Lost,
}

/// Holds `job_id` for `worker_id` until dropped: renews the lease, and flips `stop` when
/// cancellation is requested (its event, or the status a renewal reads) or the lease is lost.
pub(super) fn hold(state: &AppState, job_id: Uuid, worker_id: Uuid) -> Holder {
    let (tx, rx) = watch::channel(None);
    let state = state.clone();
    let mut events = state.events.subscribe();
    let every = state.config.job_lease / 3;
    let task = tokio::spawn(async move {
        let mut renew_at = tokio::time::Instant::now() + every;
        loop {
            let renew = tokio::select! {
                event = events.recv() => match event {
                    Ok(Event::JobCancelRequested(id)) if id == job_id => {
                        let _ = tx.send(Some(Stop::Cancel));
                        false
                    }
                    // Missed events may have held our cancellation: look now.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep_until(renew_at).await;
                        true
                    }
                    Ok(_) => false,
                },
                () = tokio::time::sleep_until(renew_at) => true,
            };
            if !renew {
                continue;
            }
            renew_at = tokio::time::Instant::now() + every;
            match state
                .store
                .renew_job_lease(job_id, worker_id, Utc::now())
                .await
            {
                Ok(Some(ProvisionerJobStatus::Canceling)) => {
                    let _ = tx.send(Some(Stop::Cancel));
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    tracing::error!(job = %job_id, "this server no longer holds the job; stopping it");
                    let _ = tx.send(Some(Stop::Lost));
                    return;
                }
                Err(e) => tracing::warn!(job = %job_id, error = %e, "renewing a job lease"),
            }
        }
    });
    Holder { stop: rx, task }
}

/// A held job's lease; dropping it stops renewing.
pub(super) struct Holder {
    /// Becomes `Some` when the job must stop.
    pub(super) stop: watch::Receiver<Option<Stop>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
