//! `deadline` and `max_deadline` when a start build completes (Coder's
//! `schedule.CalculateAutostop`).

use serde::{Deserialize, Serialize};

use super::millis::add;
use super::reason::Rfc3339;
use super::requirement::max_deadline;
use super::{Schedule, ScheduleReason, TemplateSchedule};
use crate::model::Timestamp;
use crate::{Error, Result};

/// A build's autostop values and why they are what they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// When the build is stopped; `None` means manual shutdown.
    pub deadline: Option<Timestamp>,
    /// The ceiling no bump or extension may pass; `None` when there is none.
    pub max_deadline: Option<Timestamp>,
    /// Why `deadline` is what it is.
    pub reason: ScheduleReason,
    /// Why `max_deadline` is what it is (`None` when there is none).
    pub max_deadline_reason: Option<ScheduleReason>,
}

/// The deadlines of a start build that completes at `now`.
///
/// - `deadline = now + TTL`, where the TTL is the workspace's `ttl_ms` when the template
///   allows user autostop and the template's `default_ttl_ms` otherwise; a zero or absent
///   TTL means no deadline.
/// - `max_deadline` follows the template's [`MaxDeadlinePolicy`](super::MaxDeadlinePolicy);
///   the autostop requirement needs the owner's daily `quiet_hours` schedule.
/// - When `max_deadline` is earlier than the deadline, or there is no deadline, the
///   deadline becomes `max_deadline`.
///
/// # Errors
/// [`Error::InvalidDeadline`] for a negative duration or a result in the past;
/// [`Error::InvalidSchedule`] when the autostop requirement cannot be satisfied.
///
/// ```
/// use coder_core::schedule::{ScheduleReason, TemplateSchedule, deadlines_on_start};
///
/// let now = "2026-01-27T12:00:00Z".parse().unwrap();
/// let d = deadlines_on_start(&TemplateSchedule::default(), Some(8 * 3_600_000), None, now).unwrap();
/// assert_eq!(d.deadline, Some("2026-01-27T20:00:00Z".parse().unwrap()));
/// assert_eq!(d.reason, ScheduleReason::UserTtl { ttl_ms: 28_800_000 });
/// assert_eq!(d.reason.to_string(), "workspace TTL of 8h");
/// ```
pub fn deadlines_on_start(
    template: &TemplateSchedule,
    workspace_ttl_ms: Option<i64>,
    quiet_hours: Option<&Schedule>,
    now: Timestamp,
) -> Result<Deadlines> {
    let (ttl, ttl_reason) = template.effective_ttl(workspace_ttl_ms)?;
    let requested = ttl.map(|ttl| add(now, ttl)).transpose()?;
    let (max, max_reason) = max_deadline(template.max_deadline, quiet_hours, now)?.unzip();

    let (deadline, reason) = match (requested, max) {
        (_, Some(max)) if requested.is_none_or(|d| max < d) => (
            Some(max),
            ScheduleReason::MaxDeadlineClamp {
                max_deadline: max,
                requested,
            },
        ),
        _ => (requested, ttl_reason),
    };
    if let Some(past) = deadline.into_iter().chain(max).find(|t| *t < now) {
        return Err(Error::InvalidDeadline {
            reason: format!(
                "computed deadline {} is before now ({})",
                Rfc3339(past),
                Rfc3339(now)
            ),
        });
    }
    Ok(Deadlines {
        deadline,
        max_deadline: max,
        reason,
        max_deadline_reason: max_reason,
    })
}
