//! Failed-build cleanup: a failed start or stop build is stopped once the template's
//! `failure_ttl` has passed.

use super::millis::{add, delta};
use super::{BuildJob, Due, LatestBuild, ScheduleReason, TemplateSchedule};
use crate::Result;
use crate::model::WorkspaceTransition;

/// When the lifecycle executor issues a stop build for a failed latest build:
/// `completed_at + failure_ttl_ms`, if the template sets a failure TTL and the latest build
/// is a failed `start` or `stop`.
///
/// # Errors
/// [`crate::Error::InvalidDeadline`] for a negative `failure_ttl_ms`.
///
/// ```
/// use coder_core::model::WorkspaceTransition;
/// use coder_core::schedule::*;
///
/// let build = LatestBuild {
///     transition: WorkspaceTransition::Start,
///     job: BuildJob::Failed { completed_at: "2026-01-27T12:00:00Z".parse().unwrap() },
///     deadline: None,
///     max_deadline: None,
/// };
/// let template = TemplateSchedule { failure_ttl_ms: 600_000, ..TemplateSchedule::default() };
/// let due = failure_stop_due(&build, &template).unwrap();
/// assert_eq!(due.to_string(),
///     "due at 2026-01-27T12:10:00Z: build failed at 2026-01-27T12:00:00Z; failure TTL of 10m");
/// ```
pub fn failure_stop_due(build: &LatestBuild, template: &TemplateSchedule) -> Result<Due> {
    let ttl = delta("failure_ttl_ms", template.failure_ttl_ms)?;
    if ttl.is_zero() {
        return Ok(Due::NotApplicable {
            reason: ScheduleReason::FailureTtlDisabled,
        });
    }
    let failed_at = match (&build.transition, build.job) {
        (
            WorkspaceTransition::Start | WorkspaceTransition::Stop,
            BuildJob::Failed { completed_at },
        ) => completed_at,
        _ => {
            return Ok(Due::NotApplicable {
                reason: ScheduleReason::BuildNotFailed,
            });
        }
    };
    Ok(Due::At {
        at: add(failed_at, ttl)?,
        reason: ScheduleReason::FailureTtl {
            failed_at,
            failure_ttl_ms: template.failure_ttl_ms,
        },
    })
}
