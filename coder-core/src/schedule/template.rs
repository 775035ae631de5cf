//! The template's scheduling options, and which TTL applies to a workspace.

use chrono::TimeDelta;

use super::millis::delta;
use super::{ScheduleReason, Weekdays};
use crate::Result;

/// Where a build's `max_deadline` (the ceiling activity can never pass) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxDeadlinePolicy {
    /// No ceiling.
    #[default]
    None,
    /// Legacy `max_ttl`: `max_deadline = build completion + max_ttl_ms`.
    MaxTtl {
        /// The template's maximum lifetime of a build, in milliseconds.
        max_ttl_ms: i64,
    },
    /// Premium "autostop requirement": a forced stop at the start of the owner's quiet
    /// hours, on `days`, every `weeks` weeks (counted from Monday 2023-01-02).
    AutostopRequirement {
        /// Days on which the stop may happen. Empty means no requirement.
        days: Weekdays,
        /// Stop only every `weeks` weeks (1 = every week).
        weeks: i64,
    },
}

/// A template's scheduling options (`codersdk.Template` / `TemplateScheduleOptions`).
///
/// Durations are Coder's milliseconds; `0` disables the feature it controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSchedule {
    /// Default autostop TTL, copied to new workspaces and used when users may not set their own.
    pub default_ttl_ms: i64,
    /// Whether a workspace's own `ttl_ms` is honoured.
    pub allow_user_autostop: bool,
    /// How far activity pushes the deadline (default 1 h; 0 disables bumping).
    pub activity_bump_ms: i64,
    /// Where `max_deadline` comes from.
    pub max_deadline: MaxDeadlinePolicy,
    /// Whether users may set an autostart schedule.
    pub allow_user_autostart: bool,
    /// Days on which autostart may fire, in the schedule's own time zone (the complement of
    /// `autostart_block_days_of_week`).
    pub autostart_allowed_days: Weekdays,
    /// Delay before a failed build is cleaned up with a stop build (0 = never).
    pub failure_ttl_ms: i64,
    /// Inactivity, measured from `last_used_at`, after which the workspace turns dormant.
    pub time_til_dormant_ms: i64,
    /// Delay from `dormant_at` to automatic deletion.
    pub time_til_dormant_autodelete_ms: i64,
}

impl Default for TemplateSchedule {
    /// Coder's defaults: no default TTL, users may set autostop and autostart on any day,
    /// a 1 h activity bump, and every optional cleanup disabled.
    fn default() -> Self {
        Self {
            default_ttl_ms: 0,
            allow_user_autostop: true,
            activity_bump_ms: 3_600_000,
            max_deadline: MaxDeadlinePolicy::None,
            allow_user_autostart: true,
            autostart_allowed_days: Weekdays::ALL,
            failure_ttl_ms: 0,
            time_til_dormant_ms: 0,
            time_til_dormant_autodelete_ms: 0,
        }
    }
}

impl TemplateSchedule {
    /// The autostop TTL that applies to a workspace whose own setting is `workspace_ttl_ms`,
    /// with the reason: the workspace TTL when users may set it, else the template default.
    /// `None` (or a zero TTL) means shutdown is manual.
    pub(crate) fn effective_ttl(
        &self,
        workspace_ttl_ms: Option<i64>,
    ) -> Result<(Option<TimeDelta>, ScheduleReason)> {
        let (ttl_ms, reason) = if self.allow_user_autostop {
            let ttl_ms = workspace_ttl_ms.unwrap_or(0);
            (ttl_ms, ScheduleReason::UserTtl { ttl_ms })
        } else {
            let ttl_ms = self.default_ttl_ms;
            (ttl_ms, ScheduleReason::TemplateDefaultTtl { ttl_ms })
        };
        let ttl = delta("ttl_ms", ttl_ms)?;
        Ok(if ttl.is_zero() {
            (None, ScheduleReason::ManualShutdown)
        } else {
            (Some(ttl), reason)
        })
    }
}
