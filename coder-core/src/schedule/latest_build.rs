//! The facts about a workspace's latest build that the deadline rules look at.

use crate::model::{Timestamp, WorkspaceTransition};

/// Where the latest build's provisioner job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildJob {
    /// Pending or running: no `completed_at` yet.
    InProgress,
    /// Completed successfully.
    Succeeded {
        /// When the job completed.
        completed_at: Timestamp,
    },
    /// Completed with an error (a cancelled job counts as failed).
    Failed {
        /// When the job completed.
        completed_at: Timestamp,
    },
}

/// A workspace's latest build, reduced to what schedules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestBuild {
    /// The build's transition.
    pub transition: WorkspaceTransition,
    /// Its provisioner job.
    pub job: BuildJob,
    /// When the build will be stopped; `None` is Coder's zero deadline (manual shutdown).
    pub deadline: Option<Timestamp>,
    /// The ceiling no bump or extension may pass; `None` when there is none.
    pub max_deadline: Option<Timestamp>,
}

impl LatestBuild {
    /// Whether this is a start build whose job succeeded, i.e. the workspace is running.
    pub fn is_running_start(&self) -> bool {
        self.transition == WorkspaceTransition::Start
            && matches!(self.job, BuildJob::Succeeded { .. })
    }
}
