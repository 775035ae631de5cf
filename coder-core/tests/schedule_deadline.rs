//! Deadlines when a start build completes: user vs template TTL, max_ttl, autostop requirement.
// Helpers outside #[test] functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used)]

mod schedule_support;

use chrono::Weekday;
use coder_core::Error;
use coder_core::schedule::{
    Deadlines, MaxDeadlinePolicy, Schedule, ScheduleReason, TemplateSchedule, Weekdays,
    deadlines_on_start,
};
use schedule_support::{hours_ms, ts};

const NOW: &str = "2026-01-27T12:00:00Z";

fn forbid_user_autostop(default_ttl_ms: i64) -> TemplateSchedule {
    TemplateSchedule {
        allow_user_autostop: false,
        default_ttl_ms,
        ..TemplateSchedule::default()
    }
}

fn with_max(max_deadline: MaxDeadlinePolicy) -> TemplateSchedule {
    TemplateSchedule {
        max_deadline,
        ..TemplateSchedule::default()
    }
}

fn requirement(days: Weekdays, weeks: i64) -> TemplateSchedule {
    with_max(MaxDeadlinePolicy::AutostopRequirement { days, weeks })
}

fn london_midnight() -> Schedule {
    Schedule::parse_daily("CRON_TZ=Europe/London 0 0 * * *").unwrap()
}

#[test]
fn given_user_ttl_when_start_completes_then_deadline_is_now_plus_ttl() {
    let d = deadlines_on_start(
        &TemplateSchedule::default(),
        Some(hours_ms(8)),
        None,
        ts(NOW),
    )
    .unwrap();
    assert_eq!(
        d,
        Deadlines {
            deadline: Some(ts("2026-01-27T20:00:00Z")),
            max_deadline: None,
            reason: ScheduleReason::UserTtl {
                ttl_ms: hours_ms(8)
            },
            max_deadline_reason: None,
        }
    );
}

#[test]
fn given_template_forbids_user_autostop_when_start_completes_then_template_default_ttl_wins() {
    let d = deadlines_on_start(
        &forbid_user_autostop(hours_ms(2)),
        Some(hours_ms(8)),
        None,
        ts(NOW),
    )
    .unwrap();
    assert_eq!(d.deadline, Some(ts("2026-01-27T14:00:00Z")));
    assert_eq!(
        d.reason,
        ScheduleReason::TemplateDefaultTtl {
            ttl_ms: hours_ms(2)
        }
    );
    assert_eq!(
        d.reason.to_string(),
        "template default TTL of 2h (the template does not allow user autostop)"
    );
}

#[test]
fn given_no_ttl_or_zero_template_default_when_start_completes_then_shutdown_is_manual() {
    for (template, ttl) in [
        (TemplateSchedule::default(), None),
        (TemplateSchedule::default(), Some(0)),
        (forbid_user_autostop(0), Some(hours_ms(8))),
    ] {
        let d = deadlines_on_start(&template, ttl, None, ts(NOW)).unwrap();
        assert_eq!(
            (d.deadline, d.reason),
            (None, ScheduleReason::ManualShutdown)
        );
    }
}

#[test]
fn given_legacy_max_ttl_shorter_than_ttl_when_start_completes_then_deadline_is_clamped() {
    let template = with_max(MaxDeadlinePolicy::MaxTtl {
        max_ttl_ms: hours_ms(4),
    });
    let d = deadlines_on_start(&template, Some(hours_ms(8)), None, ts(NOW)).unwrap();
    assert_eq!(
        d,
        Deadlines {
            deadline: Some(ts("2026-01-27T16:00:00Z")),
            max_deadline: Some(ts("2026-01-27T16:00:00Z")),
            reason: ScheduleReason::MaxDeadlineClamp {
                max_deadline: ts("2026-01-27T16:00:00Z"),
                requested: Some(ts("2026-01-27T20:00:00Z")),
            },
            max_deadline_reason: Some(ScheduleReason::TemplateMaxTtl {
                max_ttl_ms: hours_ms(4)
            }),
        }
    );
}

#[test]
fn given_max_ttl_longer_than_ttl_when_start_completes_then_ttl_deadline_stands() {
    let template = with_max(MaxDeadlinePolicy::MaxTtl {
        max_ttl_ms: hours_ms(10),
    });
    let d = deadlines_on_start(&template, Some(hours_ms(8)), None, ts(NOW)).unwrap();
    assert_eq!(d.deadline, Some(ts("2026-01-27T20:00:00Z")));
    assert_eq!(d.max_deadline, Some(ts("2026-01-27T22:00:00Z")));
    assert_eq!(
        d.reason,
        ScheduleReason::UserTtl {
            ttl_ms: hours_ms(8)
        }
    );
}

#[test]
fn given_max_deadline_and_no_ttl_when_start_completes_then_deadline_is_max_deadline() {
    let template = with_max(MaxDeadlinePolicy::MaxTtl {
        max_ttl_ms: hours_ms(4),
    });
    let d = deadlines_on_start(&template, None, None, ts(NOW)).unwrap();
    assert_eq!(d.deadline, Some(ts("2026-01-27T16:00:00Z")));
    assert_eq!(
        d.reason.to_string(),
        "stops at max deadline 2026-01-27T16:00:00Z"
    );
}

#[test]
fn given_daily_autostop_requirement_when_started_on_tuesday_then_stop_is_next_quiet_hours() {
    let quiet = london_midnight();
    let d = deadlines_on_start(
        &requirement(Weekdays::ALL, 1),
        Some(hours_ms(24)),
        Some(&quiet),
        ts("2026-01-27T10:00:00Z"),
    )
    .unwrap();
    assert_eq!(d.max_deadline, Some(ts("2026-01-28T00:00:00Z")));
    assert_eq!(d.deadline, Some(ts("2026-01-28T00:00:00Z")));
    assert_eq!(
        d.max_deadline_reason,
        Some(ScheduleReason::AutostopRequirement {
            quiet_hours_schedule: "CRON_TZ=Europe/London 0 0 * * *".into()
        })
    );
}

#[test]
fn given_saturday_only_requirement_when_started_on_tuesday_then_stop_is_saturday_midnight() {
    let quiet = london_midnight();
    let template = requirement(Weekdays::from_days([Weekday::Sat]), 1);
    let d = deadlines_on_start(
        &template,
        Some(hours_ms(8)),
        Some(&quiet),
        ts("2026-01-27T10:00:00Z"),
    )
    .unwrap();
    assert_eq!(d.max_deadline, Some(ts("2026-01-31T00:00:00Z")));
    assert_eq!(d.deadline, Some(ts("2026-01-27T18:00:00Z")));
}

#[test]
fn given_fortnightly_requirement_when_started_in_an_off_week_then_stop_moves_to_next_even_week() {
    // Weeks count from Monday 2023-01-02: 2026-01-27 is in week 160 (even), 2026-02-03 in 161.
    let quiet = london_midnight();
    let template = requirement(Weekdays::ALL, 2);
    let even =
        deadlines_on_start(&template, None, Some(&quiet), ts("2026-01-27T10:00:00Z")).unwrap();
    assert_eq!(even.max_deadline, Some(ts("2026-01-28T00:00:00Z")));
    let odd =
        deadlines_on_start(&template, None, Some(&quiet), ts("2026-02-03T10:00:00Z")).unwrap();
    assert_eq!(odd.max_deadline, Some(ts("2026-02-09T00:00:00Z")));
}

#[test]
fn given_quiet_hours_less_than_an_hour_away_when_started_then_stop_moves_to_the_next_day() {
    let quiet = Schedule::parse_daily("CRON_TZ=America/New_York 0 18 * * *").unwrap();
    let template = requirement(Weekdays::ALL, 1);
    let at = |now: &str| {
        deadlines_on_start(&template, None, Some(&quiet), ts(now))
            .unwrap()
            .max_deadline
    };
    // 17:30 EST: today's 18:00 EST is 30 min away, so tomorrow's.
    assert_eq!(at("2026-01-27T22:30:00Z"), Some(ts("2026-01-28T23:00:00Z")));
    // 16:00 EST: today's 18:00 EST is 2 h away.
    assert_eq!(at("2026-01-27T21:00:00Z"), Some(ts("2026-01-27T23:00:00Z")));
}

#[test]
fn given_requirement_without_quiet_hours_when_start_completes_then_no_max_deadline() {
    let d = deadlines_on_start(
        &requirement(Weekdays::ALL, 1),
        Some(hours_ms(8)),
        None,
        ts(NOW),
    )
    .unwrap();
    assert_eq!((d.max_deadline, d.max_deadline_reason), (None, None));
}

#[test]
fn given_invalid_inputs_when_start_completes_then_errors_name_the_input() {
    assert_eq!(
        deadlines_on_start(&TemplateSchedule::default(), Some(-1), None, ts(NOW)),
        Err(Error::InvalidDeadline {
            reason: "ttl_ms must not be negative, got -1".into()
        })
    );
    let quiet = london_midnight();
    assert_eq!(
        deadlines_on_start(&requirement(Weekdays::ALL, 0), None, Some(&quiet), ts(NOW)),
        Err(Error::InvalidSchedule {
            input: "CRON_TZ=Europe/London 0 0 * * *".into(),
            reason: "autostop requirement weeks must be at least 1".into()
        })
    );
}
