//! The next autostart a template allows (`schedule.NextAllowedAutostart` in Coder).

use chrono::{Datelike, TimeDelta, Utc};

use super::{Due, Schedule, ScheduleReason, TemplateSchedule};
use crate::model::Timestamp;

/// When `schedule` next starts the workspace after `after`, skipping days the template
/// blocks (judged in the schedule's own time zone) and honouring `allow_user_autostart`.
///
/// Like Coder, it looks one week ahead: a weekly schedule that fires on no allowed day in
/// that window never will.
///
/// ```
/// use chrono::Weekday;
/// use coder_core::schedule::{Schedule, TemplateSchedule, Weekdays, next_autostart_after};
///
/// let schedule = Schedule::parse_weekly("CRON_TZ=America/New_York 30 8 * * *").unwrap();
/// let template = TemplateSchedule {
///     autostart_allowed_days: Weekdays::from_days([Weekday::Mon]),
///     ..TemplateSchedule::default()
/// };
/// // Tuesday 2026-01-27: the next allowed start is Monday 2026-02-02, 08:30 EST.
/// let due = next_autostart_after(&schedule, "2026-01-27T12:00:00Z".parse().unwrap(), &template);
/// assert_eq!(due.at().unwrap().to_rfc3339(), "2026-02-02T13:30:00+00:00");
/// ```
pub fn next_autostart_after(
    schedule: &Schedule,
    after: Timestamp,
    template: &TemplateSchedule,
) -> Due {
    if !template.allow_user_autostart {
        return Due::NotApplicable {
            reason: ScheduleReason::AutostartDisabledByTemplate,
        };
    }
    let horizon = TimeDelta::weeks(1);
    let allowed = schedule
        .occurrences_after(after)
        .take_while(|t| t.with_timezone(&Utc) - after <= horizon)
        .find(|t| template.autostart_allowed_days.contains(t.weekday()));
    match allowed {
        Some(at) => Due::At {
            at: at.with_timezone(&Utc),
            reason: ScheduleReason::AutostartSchedule {
                schedule: schedule.to_string(),
            },
        },
        None => Due::NotApplicable {
            reason: ScheduleReason::NoAllowedAutostartDay {
                schedule: schedule.to_string(),
            },
        },
    }
}
