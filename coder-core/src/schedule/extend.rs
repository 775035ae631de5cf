//! `PUT /workspaces/{id}/extend`: which new deadlines a user may set.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::reason::Rfc3339;
use super::{BuildJob, LatestBuild, ScheduleReason};
use crate::Error;
use crate::model::{Timestamp, WorkspaceTransition};

/// Coder checks `now + 29 min` so that a client asking for "30 minutes from now" is not
/// refused because of request latency.
const MIN_AHEAD: TimeDelta = TimeDelta::minutes(29);

/// An accepted extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extended {
    /// The build's new deadline.
    pub deadline: Timestamp,
    /// Always [`ScheduleReason::ExtendedByUser`].
    pub reason: ScheduleReason,
}

/// Why an extension was refused. `Display` gives Coder's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExtendRefusal {
    /// The latest build is not a start (`409`).
    #[error("Workspace must be started, current status: {transition}")]
    NotStarted {
        /// The latest build's transition.
        transition: WorkspaceTransition,
    },
    /// The start build's job has not completed (`409`).
    #[error("Workspace is still building!")]
    StillBuilding,
    /// The start build failed (`409`).
    #[error("Workspace build failed; start it again before extending.")]
    BuildFailed,
    /// The build has no deadline (`409`).
    #[error("Workspace shutdown is manual.")]
    ManualShutdown,
    /// The new deadline is before the build completed (`400`).
    #[error("Cannot extend workspace: new deadline must not be before the build completed at {}", Rfc3339(*completed_at))]
    BeforeStart {
        /// When the start build completed.
        completed_at: Timestamp,
    },
    /// The new deadline is less than 30 minutes away (`400`).
    #[error("Cannot extend workspace: new deadline must be at least 30 minutes in the future")]
    TooSoon {
        /// The earliest deadline that would be accepted (`now + 29 min`).
        earliest: Timestamp,
    },
    /// The new deadline is past the build's `max_deadline` (`400`).
    #[error("Cannot extend workspace beyond max deadline {}.", Rfc3339(*max_deadline))]
    BeyondMaxDeadline {
        /// The ceiling.
        max_deadline: Timestamp,
    },
}

impl ExtendRefusal {
    /// Whether Coder answers `409 Conflict` (the workspace's state) rather than
    /// `400 Bad Request` (the requested value).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Self::NotStarted { .. }
                | Self::StillBuilding
                | Self::BuildFailed
                | Self::ManualShutdown
        )
    }
}

impl From<ExtendRefusal> for Error {
    fn from(refusal: ExtendRefusal) -> Self {
        Error::InvalidDeadline {
            reason: refusal.to_string(),
        }
    }
}

/// Checks a user's request, made at `now`, to move the running build's deadline to
/// `requested`.
///
/// Accepted when the latest build is a successful start with a deadline, and `requested` is
/// at least 30 minutes ahead (Coder compares with `now + 29 min`), not before the build
/// completed, and not after `max_deadline`. Shortening the deadline is allowed, as in Coder.
///
/// # Errors
/// An [`ExtendRefusal`] naming the violated rule; it converts into
/// [`Error::InvalidDeadline`] with `?`.
///
/// ```
/// use coder_core::model::WorkspaceTransition;
/// use coder_core::schedule::{BuildJob, ExtendRefusal, LatestBuild, extend_deadline};
///
/// let now = "2026-01-27T12:00:00Z".parse().unwrap();
/// let build = LatestBuild {
///     transition: WorkspaceTransition::Start,
///     job: BuildJob::Succeeded { completed_at: "2026-01-27T08:00:00Z".parse().unwrap() },
///     deadline: Some("2026-01-27T13:00:00Z".parse().unwrap()),
///     max_deadline: Some("2026-01-27T18:00:00Z".parse().unwrap()),
/// };
/// let ok = extend_deadline(&build, "2026-01-27T17:00:00Z".parse().unwrap(), now).unwrap();
/// assert_eq!(ok.deadline.to_rfc3339(), "2026-01-27T17:00:00+00:00");
/// let err = extend_deadline(&build, "2026-01-27T19:00:00Z".parse().unwrap(), now).unwrap_err();
/// assert!(matches!(err, ExtendRefusal::BeyondMaxDeadline { .. }));
/// ```
pub fn extend_deadline(
    build: &LatestBuild,
    requested: Timestamp,
    now: Timestamp,
) -> Result<Extended, ExtendRefusal> {
    if build.transition != WorkspaceTransition::Start {
        return Err(ExtendRefusal::NotStarted {
            transition: build.transition.clone(),
        });
    }
    let completed_at = match build.job {
        BuildJob::InProgress => return Err(ExtendRefusal::StillBuilding),
        BuildJob::Failed { .. } => return Err(ExtendRefusal::BuildFailed),
        BuildJob::Succeeded { completed_at } => completed_at,
    };
    if build.deadline.is_none() {
        return Err(ExtendRefusal::ManualShutdown);
    }
    if requested < completed_at {
        return Err(ExtendRefusal::BeforeStart { completed_at });
    }
    let earliest = now + MIN_AHEAD;
    if requested < earliest {
        return Err(ExtendRefusal::TooSoon { earliest });
    }
    if let Some(max_deadline) = build.max_deadline.filter(|max| requested > *max) {
        return Err(ExtendRefusal::BeyondMaxDeadline { max_deadline });
    }
    Ok(Extended {
        deadline: requested,
        reason: ScheduleReason::ExtendedByUser { at: now },
    })
}
