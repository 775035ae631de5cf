//! `max_deadline` when a start build completes: legacy `max_ttl`, or the autostop requirement
//! (the owner's quiet hours on required days, every N weeks), as in Coder's
//! `schedule.CalculateAutostop`.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::millis::{add, delta};
use super::{MaxDeadlinePolicy, Schedule, ScheduleReason, Weekdays};
use crate::model::Timestamp;
use crate::{Error, Result};

/// Builds started within this long of a stop time move to the next stop window.
const LEEWAY: TimeDelta = TimeDelta::hours(1);
/// The stop is searched from this long before the chosen day's midnight, so a stop at
/// midnight is not skipped when an autostart lines up exactly with it.
const BUFFER: TimeDelta = TimeDelta::minutes(15);

/// The ceiling for a build that completes at `now`, with its reason; `None` when the
/// policy imposes none (or the autostop requirement has no quiet hours to work from).
pub(crate) fn max_deadline(
    policy: MaxDeadlinePolicy,
    quiet_hours: Option<&Schedule>,
    now: Timestamp,
) -> Result<Option<(Timestamp, ScheduleReason)>> {
    match (policy, quiet_hours) {
        (MaxDeadlinePolicy::MaxTtl { max_ttl_ms }, _) if max_ttl_ms != 0 => {
            let at = add(now, delta("max_ttl_ms", max_ttl_ms)?)?;
            Ok(Some((at, ScheduleReason::TemplateMaxTtl { max_ttl_ms })))
        }
        (MaxDeadlinePolicy::AutostopRequirement { days, weeks }, Some(quiet))
            if !days.is_empty() =>
        {
            let at = requirement_stop(days, weeks, quiet, now)?;
            let reason = ScheduleReason::AutostopRequirement {
                quiet_hours_schedule: quiet.to_string(),
            };
            Ok(Some((at, reason)))
        }
        _ => Ok(None),
    }
}

/// The first quiet-hours time on a required day of a required week, at least an hour away.
fn requirement_stop(
    days: Weekdays,
    weeks: i64,
    quiet: &Schedule,
    now: Timestamp,
) -> Result<Timestamp> {
    let fail = |reason: &str| Error::InvalidSchedule {
        input: quiet.to_string(),
        reason: reason.to_owned(),
    };
    if weeks < 1 {
        return Err(fail("autostop requirement weeks must be at least 1"));
    }
    let tz = quiet.time_zone();
    let mut day = (now + LEEWAY).with_timezone(&tz).date_naive();

    if weeks > 1 {
        // Weeks are counted from Monday 2023-01-02, Coder's fixed epoch.
        let epoch = NaiveDate::from_ymd_opt(2023, 1, 2).ok_or_else(|| fail("bad epoch"))?;
        let since = (day - epoch).num_days();
        if since < 0 {
            return Err(fail("the clock is before the autostop requirement epoch"));
        }
        let remainder = (since / 7) % weeks;
        if remainder != 0 {
            let ahead = Days::new(((weeks - remainder) * 7).unsigned_abs());
            day = (day + ahead).week(Weekday::Mon).first_day();
        }
    }

    // Skip the first day when its stop time is less than an hour away, or already passed.
    let first_stop = quiet.next_after(midnight(tz, day)? - BUFFER);
    if first_stop.is_none_or(|stop| stop < now + LEEWAY) {
        day = day.succ_opt().ok_or_else(|| fail("date out of range"))?;
    }

    let day = day
        .iter_days()
        .take(7)
        .find(|d| days.contains(d.weekday()))
        .ok_or_else(|| fail("no stop day in the autostop requirement"))?;

    let start = midnight(tz, day)?;
    let search_from = if start < now + LEEWAY {
        now + LEEWAY
    } else {
        start - BUFFER
    };
    quiet
        .next_after(search_from)
        .ok_or_else(|| fail("the quiet-hours schedule never fires"))
}

/// The first instant of `day` in `tz` (01:00 where midnight falls in a DST gap).
fn midnight(tz: Tz, day: NaiveDate) -> Result<DateTime<Utc>> {
    let local = day.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(local + LEEWAY)).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| Error::InvalidDeadline {
            reason: format!("no midnight on {day} in {}", tz.name()),
        })
}
