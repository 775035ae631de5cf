//! The job runner inside the server: acquires pending jobs atomically, holds each under a
//! lease it renews (`lease`), runs it through the provisioner registered for its type
//! (`job`), and recovers jobs whose runner is gone: at start-up and periodically, but only
//! once their lease has lapsed, so a live replica's job is never touched.

mod job;
mod lease;
mod resources;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Semaphore, watch};
use uuid::Uuid;

use crate::state::AppState;

pub use lease::{ORPHANED_LOG, recover_lapsed_jobs};
pub use resources::to_resources;

/// A running job runner; [`Runner::shutdown`] stops it.
pub struct Runner {
    stop: watch::Sender<bool>,
    slots: Arc<Semaphore>,
    concurrency: usize,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Runner {
    /// Starts the runner loop and the recovery of jobs whose lease lapses.
    pub fn start(state: AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let concurrency = state.config.job_concurrency.max(1);
        let slots = Arc::new(Semaphore::new(concurrency));
        let acquiring = tokio::spawn(acquire_loop(
            state.clone(),
            Arc::clone(&slots),
            stopped.clone(),
        ));
        let recovering = tokio::spawn(lease::recovery_loop(state, stopped));
        Self {
            stop,
            slots,
            concurrency,
            tasks: vec![acquiring, recovering],
        }
    }

    /// Stops acquiring jobs and waits up to `grace` for running ones to finish. A job still
    /// running after that keeps its lease until the process exits; once the lease lapses the
    /// next server (or another replica) fails it.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = u32::try_from(self.concurrency).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(grace, self.slots.acquire_many(all)).await;
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Takes pending jobs while a slot is free; sleeps until a job is queued (here or, through
/// the event bus, on another replica) or a second has passed.
async fn acquire_loop(state: AppState, slots: Arc<Semaphore>, mut stopped: watch::Receiver<bool>) {
    let worker_id = Uuid::new_v4();
    if state.config.job_concurrency == 0 {
        return;
    }
    while !*stopped.borrow() {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        // Register interest before looking, so a job queued in between wakes us.
        let queued = state.jobs_queued.notified();
        match state.store.acquire_job(worker_id, Utc::now()).await {
            Ok(Some(acquired)) => {
                let state = state.clone();
                tokio::spawn(async move {
                    job::run(&state, acquired, worker_id).await;
                    drop(permit);
                });
            }
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    () = queued => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stopped.changed() => {}
                }
            }
            Err(e) => {
                drop(permit);
                tracing::error!(error = %e, "acquiring a job");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
