//! Autostart cron schedules: validation, canonical form, summary, next occurrence and DST.

mod schedule_support;

use chrono::Weekday;
use coder_core::Error;
use coder_core::schedule::{
    Schedule, ScheduleReason, TemplateSchedule, Weekdays, next_autostart_after,
};
use schedule_support::ts;

fn reason_of(input: &str) -> String {
    match Schedule::parse_weekly(input) {
        Err(Error::InvalidSchedule { input: got, reason }) => {
            assert_eq!(got, input);
            reason
        }
        other => panic!("{input:?} should be rejected, got {other:?}"),
    }
}

#[test]
fn given_a_zoned_weekday_schedule_when_parsed_then_canonical_form_and_summary_match_coder() {
    let s = Schedule::parse_weekly("CRON_TZ=Europe/London   0 9 * *   1-5").unwrap();
    assert_eq!(s.to_string(), "CRON_TZ=Europe/London 0 9 * * 1-5");
    assert_eq!(s.summary(), "9:00 AM Mon-Fri Europe/London");
    assert_eq!(s.time_zone(), chrono_tz::Europe::London);
}

#[test]
fn given_no_cron_tz_when_parsed_then_zone_is_utc_and_canonical_form_names_it() {
    let s: Schedule = "30 23 * * *".parse().unwrap();
    assert_eq!(s.to_string(), "CRON_TZ=UTC 30 23 * * *");
    assert_eq!(s.summary(), "11:30 PM daily UTC");
    assert_eq!(
        s.next_after(ts("2026-01-27T23:30:00Z")),
        Some(ts("2026-01-28T23:30:00Z"))
    );
}

#[test]
fn given_sunday_as_0_and_7_and_a_list_when_summarised_then_days_are_named() {
    let s = Schedule::parse_weekly("CRON_TZ=US/Central 5 14 * * 0,6,7").unwrap();
    assert_eq!(s.summary(), "2:05 PM Sun,Sat,Sun US/Central");
    let stepped = Schedule::parse_weekly("*/15 9 * * 1").unwrap();
    assert_eq!(stepped.summary(), "cron(*/15 9) Mon UTC");
}

#[test]
fn given_invalid_strings_when_parsed_then_each_error_names_its_problem() {
    let field_count = "expected 5 fields (minute hour day-of-month month day-of-week) after an \
                       optional CRON_TZ=<zone> prefix";
    assert_eq!(reason_of(""), format!("{field_count}, got 0"));
    assert_eq!(reason_of("0 9 * *"), format!("{field_count}, got 4"));
    assert_eq!(reason_of("0 0 9 * * 1-5"), format!("{field_count}, got 6"));
    assert_eq!(
        reason_of("CRON_TZ=Europe/London"),
        format!("{field_count}, got 0")
    );
    assert_eq!(
        reason_of("CRON_TZ=Mars/Olympus 0 9 * * 1-5"),
        "unknown time zone \"Mars/Olympus\" in CRON_TZ"
    );
    assert_eq!(
        reason_of("0 9 1 * 1-5"),
        "day-of-month must be *, got \"1\""
    );
    assert_eq!(reason_of("0 9 * JAN 1-5"), "month must be *, got \"JAN\"");
    assert_eq!(reason_of("0 9 * * 5#3"), "unsupported cron syntax '#'");
    assert_eq!(reason_of("0 9 * * 5L"), "unsupported cron syntax 'L'");
    assert_eq!(reason_of("@daily"), format!("{field_count}, got 1"));
    let out_of_bounds = "Component error: Number out of bounds.";
    assert_eq!(
        reason_of("60 9 * * 1-5"),
        format!("invalid minute \"60\": {out_of_bounds}")
    );
    assert_eq!(
        reason_of("0 24 * * *"),
        format!("invalid hour \"24\": {out_of_bounds}")
    );
    assert_eq!(
        reason_of("0 9 * * 8"),
        format!("invalid day-of-week \"8\": {out_of_bounds}")
    );
    assert!(
        reason_of("x 9 * * *").starts_with("invalid minute \"x\": "),
        "{}",
        reason_of("x 9 * * *")
    );
}

#[test]
fn given_a_daily_schedule_with_a_weekday_when_parsed_as_quiet_hours_then_rejected() {
    match Schedule::parse_daily("CRON_TZ=UTC 0 0 * * 1") {
        Err(Error::InvalidSchedule { reason, .. }) => {
            assert_eq!(reason, "day-of-week must be *, got \"1\"")
        }
        other => panic!("{other:?}"),
    }
    assert!(Schedule::parse_daily("CRON_TZ=UTC 0 0 * * *").is_ok());
}

#[test]
fn given_a_weekday_schedule_when_asked_on_friday_evening_then_next_is_monday_in_local_time() {
    // 2026-01-30 is a Friday; Berlin is UTC+1 in winter.
    let s = Schedule::parse_weekly("CRON_TZ=Europe/Berlin 0 8 * * 1-5").unwrap();
    assert_eq!(
        s.next_after(ts("2026-01-30T18:00:00Z")),
        Some(ts("2026-02-02T07:00:00Z"))
    );
    // Exactly at a firing, the next one is strictly later.
    assert_eq!(
        s.next_after(ts("2026-02-02T07:00:00Z")),
        Some(ts("2026-02-03T07:00:00Z"))
    );
}

#[test]
fn given_new_york_spring_forward_when_schedule_is_0230_then_it_fires_once_right_after_the_gap() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist.
    let s = Schedule::parse_weekly("CRON_TZ=America/New_York 30 2 * * *").unwrap();
    let before = ts("2026-03-08T05:00:00Z"); // 00:00 EST
    let first = s.next_after(before).unwrap();
    assert_eq!(first, ts("2026-03-08T07:00:00Z")); // 03:00 EDT, first minute after the gap
    assert_eq!(s.next_after(first), Some(ts("2026-03-09T06:30:00Z"))); // 02:30 EDT
    // The day before, still EST.
    assert_eq!(
        s.next_after(ts("2026-03-07T05:00:00Z")),
        Some(ts("2026-03-07T07:30:00Z"))
    );
}

#[test]
fn given_new_york_fall_back_when_schedule_is_0130_then_it_fires_exactly_once() {
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice.
    let s = Schedule::parse_weekly("CRON_TZ=America/New_York 30 1 * * *").unwrap();
    let fires: Vec<_> = std::iter::successors(s.next_after(ts("2026-11-01T04:00:00Z")), |t| {
        s.next_after(*t)
    })
    .take(2)
    .collect();
    assert_eq!(
        fires,
        [ts("2026-11-01T05:30:00Z"), ts("2026-11-02T06:30:00Z")],
        "01:30 EDT once, then the next day's 01:30 EST"
    );
    // Asking from inside the repeated hour (01:10 EST, second pass) still skips to tomorrow.
    assert_eq!(
        s.next_after(ts("2026-11-01T06:10:00Z")),
        Some(ts("2026-11-02T06:30:00Z"))
    );
}

#[test]
fn given_london_dst_changes_when_schedule_is_0130_then_gap_and_overlap_are_handled() {
    let s = Schedule::parse_weekly("CRON_TZ=Europe/London 30 1 * * *").unwrap();
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST.
    assert_eq!(
        s.next_after(ts("2026-03-29T00:00:00Z")),
        Some(ts("2026-03-29T01:00:00Z"))
    );
    // 2026-10-25: 02:00 BST falls back to 01:00 GMT; 01:30 BST = 00:30Z fires, 01:30 GMT does not.
    let first = s.next_after(ts("2026-10-24T23:00:00Z")).unwrap();
    assert_eq!(first, ts("2026-10-25T00:30:00Z"));
    assert_eq!(s.next_after(first), Some(ts("2026-10-26T01:30:00Z")));
}

#[test]
fn given_blocked_days_when_next_autostart_then_it_skips_to_an_allowed_local_day() {
    // Sydney 07:00 Mon-Fri; only Fridays allowed. Wednesday 2026-01-28 12:00Z = Wed 23:00 AEDT.
    let s = Schedule::parse_weekly("CRON_TZ=Australia/Sydney 0 7 * * 1-5").unwrap();
    let template = TemplateSchedule {
        autostart_allowed_days: Weekdays::from_days([Weekday::Fri]),
        ..TemplateSchedule::default()
    };
    let due = next_autostart_after(&s, ts("2026-01-28T12:00:00Z"), &template);
    // Friday 2026-01-30 07:00 AEDT (UTC+11) = Thursday 20:00Z: the weekday is judged locally.
    assert_eq!(due.at(), Some(ts("2026-01-29T20:00:00Z")));
    assert_eq!(
        *due.reason(),
        ScheduleReason::AutostartSchedule {
            schedule: "CRON_TZ=Australia/Sydney 0 7 * * 1-5".into()
        }
    );
}

#[test]
fn given_no_allowed_day_or_autostart_disabled_when_next_autostart_then_not_applicable() {
    let s = Schedule::parse_weekly("0 9 * * 1-5").unwrap();
    let weekend_only = TemplateSchedule {
        autostart_allowed_days: Weekdays::from_days([Weekday::Sat, Weekday::Sun]),
        ..TemplateSchedule::default()
    };
    let due = next_autostart_after(&s, ts("2026-01-27T12:00:00Z"), &weekend_only);
    assert_eq!(due.at(), None);
    assert_eq!(
        due.to_string(),
        "not applicable: autostart schedule CRON_TZ=UTC 0 9 * * 1-5 never fires on a day the template allows"
    );
    let disabled = TemplateSchedule {
        allow_user_autostart: false,
        ..TemplateSchedule::default()
    };
    assert_eq!(
        *next_autostart_after(&s, ts("2026-01-27T12:00:00Z"), &disabled).reason(),
        ScheduleReason::AutostartDisabledByTemplate
    );
}
