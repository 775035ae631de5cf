//! Activity bump: how session activity pushes a running build's deadline (Coder's
//! `ActivityBumpWorkspace` SQL).

use serde::{Deserialize, Serialize};

use super::millis::{add, delta};
use super::{LatestBuild, ScheduleReason, SessionKind, TemplateSchedule};
use crate::Result;
use crate::model::Timestamp;

/// Everything the bump rule looks at, besides `now`.
#[derive(Debug, Clone)]
pub struct BumpInput<'a> {
    /// The workspace's latest build.
    pub build: &'a LatestBuild,
    /// The template's schedule options (`activity_bump_ms`, TTL settings).
    pub template: &'a TemplateSchedule,
    /// The workspace's own `ttl_ms`.
    pub workspace_ttl_ms: Option<i64>,
    /// The next allowed autostart, when the workspace has a schedule.
    pub next_autostart: Option<Timestamp>,
    /// The session whose activity is being reported.
    pub session: SessionKind,
    /// Prebuilt workspaces are never bumped.
    pub is_prebuild: bool,
}

/// The deadline after an activity report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BumpOutcome {
    /// The build's deadline after the report (`None`: manual shutdown).
    pub deadline: Option<Timestamp>,
    /// Whether the deadline moved.
    pub bumped: bool,
    /// Why it moved, or why not.
    pub reason: ScheduleReason,
}

/// Applies activity seen at `now` to the latest build's deadline.
///
/// - Only a running start build with a deadline and a non-zero `activity_bump_ms` is bumped.
/// - The interval is normally `activity_bump_ms`. If `now + activity_bump` would pass a
///   future `next_autostart`, the interval instead reaches `next_autostart + TTL`, as if the
///   workspace had just autostarted.
/// - Rate limit: nothing happens unless `deadline - 95 % of the interval < now`.
/// - The new deadline is `max(deadline, now + interval)`, capped at `max_deadline`: it never
///   decreases because of activity.
///
/// # Errors
/// [`crate::Error::InvalidDeadline`] for a negative duration or an out-of-range time.
///
/// ```
/// use coder_core::model::WorkspaceTransition;
/// use coder_core::schedule::*;
///
/// let now = "2026-01-27T12:00:00Z".parse().unwrap();
/// let build = LatestBuild {
///     transition: WorkspaceTransition::Start,
///     job: BuildJob::Succeeded { completed_at: "2026-01-27T08:00:00Z".parse().unwrap() },
///     deadline: Some("2026-01-27T12:30:00Z".parse().unwrap()),
///     max_deadline: None,
/// };
/// let out = bump_deadline(&BumpInput {
///     build: &build,
///     template: &TemplateSchedule::default(),
///     workspace_ttl_ms: Some(4 * 3_600_000),
///     next_autostart: None,
///     session: SessionKind::Ssh,
///     is_prebuild: false,
/// }, now).unwrap();
/// assert_eq!(out.deadline, Some("2026-01-27T13:00:00Z".parse().unwrap()));
/// assert_eq!(out.reason.to_string(), "bumped 1h at 2026-01-27T12:00:00Z by an SSH session");
/// ```
pub fn bump_deadline(input: &BumpInput<'_>, now: Timestamp) -> Result<BumpOutcome> {
    let build = input.build;
    let unchanged = |reason| BumpOutcome {
        deadline: build.deadline,
        bumped: false,
        reason,
    };
    if input.is_prebuild {
        return Ok(unchanged(ScheduleReason::Prebuild));
    }
    if !build.is_running_start() {
        return Ok(unchanged(ScheduleReason::NotRunningStartBuild));
    }
    let Some(deadline) = build.deadline else {
        return Ok(unchanged(ScheduleReason::ManualShutdown));
    };
    let bump = delta("activity_bump_ms", input.template.activity_bump_ms)?;
    if bump.is_zero() {
        return Ok(unchanged(ScheduleReason::ActivityBumpDisabled));
    }

    let bumped_to = add(now, bump)?;
    let (target, reason) = match input.next_autostart {
        Some(autostart) if bumped_to > autostart && autostart > now => {
            let (ttl, _) = input.template.effective_ttl(input.workspace_ttl_ms)?;
            let ttl = ttl.unwrap_or_default();
            let reason = ScheduleReason::AutostartAlignment {
                at: now,
                session: input.session,
                next_autostart: autostart,
                ttl_ms: ttl.num_milliseconds(),
            };
            (add(autostart, ttl)?, reason)
        }
        _ => {
            let reason = ScheduleReason::ActivityBump {
                at: now,
                session: input.session,
                bump_ms: input.template.activity_bump_ms,
            };
            (bumped_to, reason)
        }
    };

    let interval = target - now;
    if deadline - interval * 95 / 100 >= now {
        return Ok(unchanged(ScheduleReason::BumpNotDue {
            at: now,
            deadline,
            interval_ms: interval.num_milliseconds(),
        }));
    }

    let wanted = deadline.max(target);
    let (new_deadline, reason) = match build.max_deadline {
        Some(max) if wanted > max => (
            max,
            ScheduleReason::MaxDeadlineClamp {
                max_deadline: max,
                requested: Some(wanted),
            },
        ),
        _ => (wanted, reason),
    };
    Ok(BumpOutcome {
        deadline: Some(new_deadline),
        bumped: new_deadline != deadline,
        reason,
    })
}
