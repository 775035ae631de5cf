//! [`ScheduleReason`]: the machine-readable "why" attached to every schedule answer.

use std::fmt;

use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};

use super::SessionKind;
use super::millis::Human;
use crate::model::Timestamp;

/// Why a deadline, due time or refusal to act is what it is.
///
/// Serialized with a snake_case `kind` tag next to the data, e.g.
/// `{"kind":"activity_bump","at":"2026-01-27T12:00:00Z","session":"ssh","bump_ms":3600000}`.
/// `Display` gives one English sentence for humans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScheduleReason {
    // --- where a deadline came from -------------------------------------------------------
    /// The workspace's own TTL set the deadline.
    UserTtl {
        /// The TTL applied.
        ttl_ms: i64,
    },
    /// The template's default TTL set the deadline, because users may not set autostop.
    TemplateDefaultTtl {
        /// The TTL applied.
        ttl_ms: i64,
    },
    /// There is no deadline: shutdown is manual.
    ManualShutdown,
    /// `max_deadline` is build completion plus the template's legacy `max_ttl`.
    TemplateMaxTtl {
        /// The template's max TTL.
        max_ttl_ms: i64,
    },
    /// `max_deadline` is the start of the owner's quiet hours on a day the template's
    /// autostop requirement names.
    AutostopRequirement {
        /// The owner's quiet-hours schedule, canonical form.
        quiet_hours_schedule: String,
    },
    /// The deadline was capped at `max_deadline`.
    MaxDeadlineClamp {
        /// The ceiling that applied.
        max_deadline: Timestamp,
        /// The deadline the rule wanted before the cap (`None`: it wanted no deadline).
        requested: Option<Timestamp>,
    },
    /// Activity pushed the deadline to `at + bump_ms`.
    ActivityBump {
        /// When the activity was seen.
        at: Timestamp,
        /// Which session was active.
        session: SessionKind,
        /// The template's activity bump.
        bump_ms: i64,
    },
    /// Activity would have crossed the next autostart, so the deadline became
    /// `next_autostart + ttl_ms`, as if the workspace had just autostarted.
    AutostartAlignment {
        /// When the activity was seen.
        at: Timestamp,
        /// Which session was active.
        session: SessionKind,
        /// The autostart the deadline was aligned to.
        next_autostart: Timestamp,
        /// The TTL added after it (0 when shutdown is manual).
        ttl_ms: i64,
    },
    /// The user moved the deadline with `PUT /workspaces/{id}/extend`.
    ExtendedByUser {
        /// When the request was made.
        at: Timestamp,
    },
    // --- why activity did not bump ----------------------------------------------------------
    /// The deadline is still further away than 95 % of the bump interval (Coder's rate limit).
    BumpNotDue {
        /// When the activity was seen.
        at: Timestamp,
        /// The unchanged deadline.
        deadline: Timestamp,
        /// The bump interval that was compared against.
        interval_ms: i64,
    },
    /// The template's `activity_bump` is 0.
    ActivityBumpDisabled,
    /// The latest build is not a successfully completed start build.
    NotRunningStartBuild,
    /// Prebuilt workspaces are never bumped.
    Prebuild,
    // --- autostart ---------------------------------------------------------------------------
    /// The autostart schedule fires then.
    AutostartSchedule {
        /// The schedule, canonical form.
        schedule: String,
    },
    /// The template does not allow user autostart.
    AutostartDisabledByTemplate,
    /// Within a week the schedule never fires on a day the template allows.
    NoAllowedAutostartDay {
        /// The schedule, canonical form.
        schedule: String,
    },
    // --- cleanup, dormancy, deletion --------------------------------------------------------
    /// A failed build is stopped `failure_ttl_ms` after it failed.
    FailureTtl {
        /// When the failed job completed.
        failed_at: Timestamp,
        /// The template's failure TTL.
        failure_ttl_ms: i64,
    },
    /// The template has no failure TTL.
    FailureTtlDisabled,
    /// The latest build is not a failed start or stop build.
    BuildNotFailed,
    /// The workspace turns dormant `time_til_dormant_ms` after it was last used.
    Dormancy {
        /// When the workspace was last used.
        last_used_at: Timestamp,
        /// The template's inactivity threshold.
        time_til_dormant_ms: i64,
    },
    /// The template has no dormancy threshold.
    DormancyDisabled,
    /// The workspace is already dormant.
    AlreadyDormant {
        /// Since when.
        dormant_at: Timestamp,
    },
    /// A dormant workspace is deleted `time_til_dormant_autodelete_ms` after `dormant_at`.
    AutoDelete {
        /// When it became dormant.
        dormant_at: Timestamp,
        /// The template's auto-delete delay.
        time_til_dormant_autodelete_ms: i64,
    },
    /// The last automatic delete failed; it is retried 24 h later.
    AutoDeleteRetry {
        /// When the delete failed.
        failed_at: Timestamp,
    },
    /// The template has no auto-delete delay.
    AutoDeleteDisabled,
    /// The workspace is not dormant, so it is not deleted.
    NotDormant,
}

/// Displays a timestamp as RFC 3339 in UTC with whole seconds, e.g. `2026-01-27T21:00:00Z`.
pub(crate) struct Rfc3339(pub(crate) Timestamp);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

impl fmt::Display for ScheduleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = |t: &Timestamp| Rfc3339(*t);
        match self {
            Self::UserTtl { ttl_ms } => write!(f, "workspace TTL of {}", Human(*ttl_ms)),
            Self::TemplateDefaultTtl { ttl_ms } => write!(
                f,
                "template default TTL of {} (the template does not allow user autostop)",
                Human(*ttl_ms)
            ),
            Self::ManualShutdown => f.write_str("shutdown is manual (no TTL)"),
            Self::TemplateMaxTtl { max_ttl_ms } => {
                write!(f, "template max TTL of {}", Human(*max_ttl_ms))
            }
            Self::AutostopRequirement {
                quiet_hours_schedule,
            } => write!(
                f,
                "template autostop requirement at the owner's quiet hours ({quiet_hours_schedule})"
            ),
            Self::MaxDeadlineClamp {
                max_deadline,
                requested: Some(requested),
            } => write!(
                f,
                "capped at max deadline {} (would have been {})",
                t(max_deadline),
                t(requested)
            ),
            Self::MaxDeadlineClamp {
                max_deadline,
                requested: None,
            } => write!(f, "stops at max deadline {}", t(max_deadline)),
            Self::ActivityBump {
                at,
                session,
                bump_ms,
            } => write!(f, "bumped {} at {} by {session}", Human(*bump_ms), t(at)),
            Self::AutostartAlignment {
                at,
                session,
                next_autostart,
                ttl_ms,
            } => write!(
                f,
                "bumped at {} by {session} past the next autostart {}: deadline is autostart + TTL {}",
                t(at),
                t(next_autostart),
                Human(*ttl_ms)
            ),
            Self::ExtendedByUser { at } => write!(f, "extended by the user at {}", t(at)),
            Self::BumpNotDue {
                at,
                deadline,
                interval_ms,
            } => write!(
                f,
                "not bumped at {}: deadline {} is more than 95% of {} away",
                t(at),
                t(deadline),
                Human(*interval_ms)
            ),
            Self::ActivityBumpDisabled => f.write_str("activity bump is disabled by the template"),
            Self::NotRunningStartBuild => {
                f.write_str("the latest build is not a completed start build")
            }
            Self::Prebuild => f.write_str("prebuilt workspaces are not bumped"),
            Self::AutostartSchedule { schedule } => write!(f, "autostart schedule {schedule}"),
            Self::AutostartDisabledByTemplate => {
                f.write_str("the template does not allow autostart")
            }
            Self::NoAllowedAutostartDay { schedule } => write!(
                f,
                "autostart schedule {schedule} never fires on a day the template allows"
            ),
            Self::FailureTtl {
                failed_at,
                failure_ttl_ms,
            } => write!(
                f,
                "build failed at {}; failure TTL of {}",
                t(failed_at),
                Human(*failure_ttl_ms)
            ),
            Self::FailureTtlDisabled => f.write_str("the template has no failure TTL"),
            Self::BuildNotFailed => f.write_str("the latest build is not a failed start or stop"),
            Self::Dormancy {
                last_used_at,
                time_til_dormant_ms,
            } => write!(
                f,
                "last used at {}; dormant after {} of inactivity",
                t(last_used_at),
                Human(*time_til_dormant_ms)
            ),
            Self::DormancyDisabled => f.write_str("the template has no dormancy threshold"),
            Self::AlreadyDormant { dormant_at } => {
                write!(f, "already dormant since {}", t(dormant_at))
            }
            Self::AutoDelete {
                dormant_at,
                time_til_dormant_autodelete_ms,
            } => write!(
                f,
                "dormant since {}; deleted after {}",
                t(dormant_at),
                Human(*time_til_dormant_autodelete_ms)
            ),
            Self::AutoDeleteRetry { failed_at } => write!(
                f,
                "automatic delete failed at {}; retried after 24h",
                t(failed_at)
            ),
            Self::AutoDeleteDisabled => f.write_str("the template has no auto-delete delay"),
            Self::NotDormant => f.write_str("the workspace is not dormant"),
        }
    }
}
