//! Dormancy (inactivity against `last_used_at`) and automatic deletion of dormant workspaces.

use chrono::TimeDelta;

use super::millis::{add, delta};
use super::{Due, ScheduleReason, TemplateSchedule};
use crate::Result;
use crate::model::Timestamp;

/// After a failed automatic delete, Coder waits this long before trying again.
const DELETE_RETRY: TimeDelta = TimeDelta::hours(24);

/// When an active workspace turns dormant: `last_used_at + time_til_dormant_ms`.
///
/// Not applicable when the template has no threshold or the workspace is already dormant.
///
/// # Errors
/// [`crate::Error::InvalidDeadline`] for a negative threshold.
///
/// ```
/// use coder_core::schedule::{TemplateSchedule, dormancy_due};
///
/// let template = TemplateSchedule { time_til_dormant_ms: 7 * 86_400_000, ..Default::default() };
/// let due = dormancy_due("2026-01-27T12:00:00Z".parse().unwrap(), None, &template).unwrap();
/// assert_eq!(due.at(), Some("2026-02-03T12:00:00Z".parse().unwrap()));
/// ```
pub fn dormancy_due(
    last_used_at: Timestamp,
    dormant_at: Option<Timestamp>,
    template: &TemplateSchedule,
) -> Result<Due> {
    let threshold = delta("time_til_dormant_ms", template.time_til_dormant_ms)?;
    let reason = match dormant_at {
        _ if threshold.is_zero() => ScheduleReason::DormancyDisabled,
        Some(dormant_at) => ScheduleReason::AlreadyDormant { dormant_at },
        None => {
            return Ok(Due::At {
                at: add(last_used_at, threshold)?,
                reason: ScheduleReason::Dormancy {
                    last_used_at,
                    time_til_dormant_ms: template.time_til_dormant_ms,
                },
            });
        }
    };
    Ok(Due::NotApplicable { reason })
}

/// When a dormant workspace is deleted: at `deleting_at = dormant_at +
/// time_til_dormant_autodelete_ms`, or 24 h after `last_failed_delete_at` when an automatic
/// delete already failed later than that.
///
/// # Errors
/// [`crate::Error::InvalidDeadline`] for a negative delay.
pub fn auto_delete_due(
    dormant_at: Option<Timestamp>,
    last_failed_delete_at: Option<Timestamp>,
    template: &TemplateSchedule,
) -> Result<Due> {
    let ms = template.time_til_dormant_autodelete_ms;
    let after = delta("time_til_dormant_autodelete_ms", ms)?;
    let Some(dormant_at) = dormant_at.filter(|_| !after.is_zero()) else {
        let reason = if after.is_zero() {
            ScheduleReason::AutoDeleteDisabled
        } else {
            ScheduleReason::NotDormant
        };
        return Ok(Due::NotApplicable { reason });
    };
    let deleting_at = add(dormant_at, after)?;
    let retry = match last_failed_delete_at {
        Some(failed_at) => Some((add(failed_at, DELETE_RETRY)?, failed_at)),
        None => None,
    }
    .filter(|(retry_at, _)| *retry_at > deleting_at);
    Ok(match retry {
        Some((at, failed_at)) => Due::At {
            at,
            reason: ScheduleReason::AutoDeleteRetry { failed_at },
        },
        None => Due::At {
            at: deleting_at,
            reason: ScheduleReason::AutoDelete {
                dormant_at,
                time_til_dormant_autodelete_ms: ms,
            },
        },
    })
}
