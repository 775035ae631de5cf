//! Activity bump: the 95 % rate limit, max_deadline clamp, never decreasing, autostart alignment.
// Helpers outside #[test] functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used)]

mod schedule_support;

use coder_core::model::WorkspaceTransition;
use coder_core::schedule::{
    BuildJob, BumpInput, BumpOutcome, LatestBuild, ScheduleReason, SessionKind, TemplateSchedule,
    bump_deadline,
};
use schedule_support::{hours_ms, running, ts};

const NOW: &str = "2026-01-27T12:00:00Z";

fn bump(
    build: &LatestBuild,
    template: &TemplateSchedule,
    next_autostart: Option<&str>,
) -> BumpOutcome {
    bump_with(build, template, next_autostart, ts(NOW))
}

fn bump_with(
    build: &LatestBuild,
    template: &TemplateSchedule,
    next_autostart: Option<&str>,
    now: coder_core::model::Timestamp,
) -> BumpOutcome {
    let input = BumpInput {
        build,
        template,
        workspace_ttl_ms: Some(hours_ms(8)),
        next_autostart: next_autostart.map(ts),
        session: SessionKind::Ssh,
        is_prebuild: false,
    };
    bump_deadline(&input, now).unwrap()
}

fn bumped_by_ssh() -> ScheduleReason {
    ScheduleReason::ActivityBump {
        at: ts(NOW),
        session: SessionKind::Ssh,
        bump_ms: hours_ms(1),
    }
}

#[test]
fn given_deadline_just_inside_95_percent_when_active_then_deadline_is_now_plus_bump() {
    let out = bump(
        &running(Some("2026-01-27T12:56:59.999Z"), None),
        &TemplateSchedule::default(),
        None,
    );
    assert_eq!(
        out,
        BumpOutcome {
            deadline: Some(ts("2026-01-27T13:00:00Z")),
            bumped: true,
            reason: bumped_by_ssh(),
        }
    );
    assert_eq!(
        out.reason.to_string(),
        "bumped 1h at 2026-01-27T12:00:00Z by an SSH session"
    );
}

#[test]
fn given_deadline_exactly_at_95_percent_when_active_then_not_bumped() {
    // 95 % of 1 h is 57 min: Coder bumps only when deadline - 57 min < now.
    let out = bump(
        &running(Some("2026-01-27T12:57:00Z"), None),
        &TemplateSchedule::default(),
        None,
    );
    assert_eq!(out.deadline, Some(ts("2026-01-27T12:57:00Z")));
    assert!(!out.bumped);
    assert_eq!(
        out.reason,
        ScheduleReason::BumpNotDue {
            at: ts(NOW),
            deadline: ts("2026-01-27T12:57:00Z"),
            interval_ms: hours_ms(1),
        }
    );
}

#[test]
fn given_deadline_later_than_now_plus_bump_when_active_then_deadline_never_decreases() {
    let out = bump(
        &running(Some("2026-01-27T18:00:00Z"), None),
        &TemplateSchedule::default(),
        None,
    );
    assert_eq!(out.deadline, Some(ts("2026-01-27T18:00:00Z")));
    assert!(!out.bumped);
}

#[test]
fn given_max_deadline_before_now_plus_bump_when_active_then_clamped_to_max_deadline() {
    let build = running(Some("2026-01-27T12:30:00Z"), Some("2026-01-27T12:45:00Z"));
    let out = bump(&build, &TemplateSchedule::default(), None);
    assert_eq!(
        out,
        BumpOutcome {
            deadline: Some(ts("2026-01-27T12:45:00Z")),
            bumped: true,
            reason: ScheduleReason::MaxDeadlineClamp {
                max_deadline: ts("2026-01-27T12:45:00Z"),
                requested: Some(ts("2026-01-27T13:00:00Z")),
            },
        }
    );
    // Already at the ceiling: nothing moves, and the reason says why.
    let at_max = running(Some("2026-01-27T12:45:00Z"), Some("2026-01-27T12:45:00Z"));
    let again = bump(&at_max, &TemplateSchedule::default(), None);
    assert_eq!(again.deadline, Some(ts("2026-01-27T12:45:00Z")));
    assert!(!again.bumped);
    assert_eq!(
        again.reason.to_string(),
        "capped at max deadline 2026-01-27T12:45:00Z (would have been 2026-01-27T13:00:00Z)"
    );
}

#[test]
fn given_bump_would_cross_next_autostart_when_active_then_deadline_is_autostart_plus_user_ttl() {
    let now = ts("2026-01-27T23:30:00Z");
    let build = running(Some("2026-01-27T23:45:00Z"), None);
    let input = BumpInput {
        build: &build,
        template: &TemplateSchedule::default(),
        workspace_ttl_ms: Some(hours_ms(8)),
        next_autostart: Some(ts("2026-01-28T00:00:00Z")),
        session: SessionKind::Vscode,
        is_prebuild: false,
    };
    let out = bump_deadline(&input, now).unwrap();
    assert_eq!(out.deadline, Some(ts("2026-01-28T08:00:00Z")));
    assert_eq!(
        out.reason,
        ScheduleReason::AutostartAlignment {
            at: now,
            session: SessionKind::Vscode,
            next_autostart: ts("2026-01-28T00:00:00Z"),
            ttl_ms: hours_ms(8),
        }
    );
    assert_eq!(
        out.reason.to_string(),
        "bumped at 2026-01-27T23:30:00Z by a VS Code session past the next autostart \
         2026-01-28T00:00:00Z: deadline is autostart + TTL 8h"
    );
}

#[test]
fn given_template_forbids_user_autostop_when_bump_crosses_autostart_then_template_ttl_is_used() {
    let template = TemplateSchedule {
        allow_user_autostop: false,
        default_ttl_ms: hours_ms(2),
        ..TemplateSchedule::default()
    };
    let build = running(Some("2026-01-27T23:45:00Z"), None);
    let out = bump_with(
        &build,
        &template,
        Some("2026-01-28T00:00:00Z"),
        ts("2026-01-27T23:30:00Z"),
    );
    assert_eq!(out.deadline, Some(ts("2026-01-28T02:00:00Z")));
}

#[test]
fn given_autostart_in_the_past_or_beyond_the_bump_when_active_then_plain_bump() {
    let build = running(Some("2026-01-27T12:30:00Z"), None);
    for autostart in [
        "2026-01-27T11:00:00Z",
        "2026-01-27T13:00:00Z",
        "2026-01-28T09:00:00Z",
    ] {
        let out = bump(&build, &TemplateSchedule::default(), Some(autostart));
        assert_eq!(
            out.deadline,
            Some(ts("2026-01-27T13:00:00Z")),
            "autostart {autostart}"
        );
        assert_eq!(out.reason, bumped_by_ssh());
    }
}

#[test]
fn given_no_deadline_zero_bump_stopped_building_or_prebuild_when_active_then_untouched() {
    let template = TemplateSchedule::default();
    let manual = bump(&running(None, None), &template, None);
    assert_eq!(
        (manual.deadline, manual.reason),
        (None, ScheduleReason::ManualShutdown)
    );

    let no_bump = TemplateSchedule {
        activity_bump_ms: 0,
        ..TemplateSchedule::default()
    };
    let build = running(Some("2026-01-27T12:10:00Z"), None);
    assert_eq!(
        bump(&build, &no_bump, None).reason,
        ScheduleReason::ActivityBumpDisabled
    );

    let stopped = LatestBuild {
        transition: WorkspaceTransition::Stop,
        ..build.clone()
    };
    let building = LatestBuild {
        job: BuildJob::InProgress,
        ..build.clone()
    };
    for not_running in [&stopped, &building] {
        let out = bump(not_running, &template, None);
        assert_eq!(out.deadline, Some(ts("2026-01-27T12:10:00Z")));
        assert!(!out.bumped);
        assert_eq!(out.reason, ScheduleReason::NotRunningStartBuild);
    }

    let input = BumpInput {
        build: &build,
        template: &template,
        workspace_ttl_ms: None,
        next_autostart: None,
        session: SessionKind::Jetbrains,
        is_prebuild: true,
    };
    assert_eq!(
        bump_deadline(&input, ts(NOW)).unwrap().reason,
        ScheduleReason::Prebuild
    );
}
