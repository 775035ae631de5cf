//! Failure TTL, dormancy and auto-delete: "due at T (reason)" or "not applicable (reason)".

mod schedule_support;

use coder_core::model::WorkspaceTransition;
use coder_core::schedule::{
    BuildJob, Due, LatestBuild, ScheduleReason, TemplateSchedule, auto_delete_due, dormancy_due,
    failure_stop_due,
};
use schedule_support::{hours_ms, minutes_ms, running, ts};

fn failed(transition: WorkspaceTransition) -> LatestBuild {
    LatestBuild {
        transition,
        job: BuildJob::Failed {
            completed_at: ts("2026-01-27T12:00:00Z"),
        },
        deadline: None,
        max_deadline: None,
    }
}

fn template() -> TemplateSchedule {
    TemplateSchedule {
        failure_ttl_ms: minutes_ms(10),
        time_til_dormant_ms: hours_ms(24 * 7),
        time_til_dormant_autodelete_ms: hours_ms(24 * 30),
        ..TemplateSchedule::default()
    }
}

#[test]
fn given_failed_start_or_stop_when_failure_ttl_set_then_stop_due_after_ttl() {
    for transition in [WorkspaceTransition::Start, WorkspaceTransition::Stop] {
        let due = failure_stop_due(&failed(transition), &template()).unwrap();
        assert_eq!(
            due,
            Due::At {
                at: ts("2026-01-27T12:10:00Z"),
                reason: ScheduleReason::FailureTtl {
                    failed_at: ts("2026-01-27T12:00:00Z"),
                    failure_ttl_ms: minutes_ms(10),
                },
            }
        );
        assert!(!due.is_due(ts("2026-01-27T12:09:59Z")));
        assert!(due.is_due(ts("2026-01-27T12:10:00Z")));
    }
}

#[test]
fn given_no_failure_ttl_or_no_failed_start_stop_when_checked_then_not_applicable() {
    let off = TemplateSchedule::default();
    assert_eq!(
        failure_stop_due(&failed(WorkspaceTransition::Start), &off).unwrap(),
        Due::NotApplicable {
            reason: ScheduleReason::FailureTtlDisabled
        }
    );
    for build in [failed(WorkspaceTransition::Delete), running(None, None)] {
        assert_eq!(
            *failure_stop_due(&build, &template()).unwrap().reason(),
            ScheduleReason::BuildNotFailed
        );
    }
}

#[test]
fn given_time_til_dormant_when_workspace_idle_then_dormant_at_last_used_plus_threshold() {
    let due = dormancy_due(ts("2026-01-27T12:00:00Z"), None, &template()).unwrap();
    assert_eq!(due.at(), Some(ts("2026-02-03T12:00:00Z")));
    assert_eq!(
        due.to_string(),
        "due at 2026-02-03T12:00:00Z: last used at 2026-01-27T12:00:00Z; dormant after 168h of inactivity"
    );
}

#[test]
fn given_already_dormant_or_disabled_when_dormancy_checked_then_not_applicable() {
    let dormant_at = ts("2026-02-03T12:00:00Z");
    assert_eq!(
        *dormancy_due(ts("2026-01-27T12:00:00Z"), Some(dormant_at), &template())
            .unwrap()
            .reason(),
        ScheduleReason::AlreadyDormant { dormant_at }
    );
    assert_eq!(
        *dormancy_due(
            ts("2026-01-27T12:00:00Z"),
            None,
            &TemplateSchedule::default()
        )
        .unwrap()
        .reason(),
        ScheduleReason::DormancyDisabled
    );
}

#[test]
fn given_dormant_workspace_when_autodelete_set_then_deleted_at_dormant_plus_delay() {
    let due = auto_delete_due(Some(ts("2026-02-03T12:00:00Z")), None, &template()).unwrap();
    assert_eq!(
        due,
        Due::At {
            at: ts("2026-03-05T12:00:00Z"),
            reason: ScheduleReason::AutoDelete {
                dormant_at: ts("2026-02-03T12:00:00Z"),
                time_til_dormant_autodelete_ms: hours_ms(24 * 30),
            },
        }
    );
}

#[test]
fn given_failed_automatic_delete_when_autodelete_checked_then_retry_24h_later() {
    let due = auto_delete_due(
        Some(ts("2026-02-03T12:00:00Z")),
        Some(ts("2026-03-05T12:01:00Z")),
        &template(),
    )
    .unwrap();
    assert_eq!(due.at(), Some(ts("2026-03-06T12:01:00Z")));
    assert_eq!(
        *due.reason(),
        ScheduleReason::AutoDeleteRetry {
            failed_at: ts("2026-03-05T12:01:00Z")
        }
    );
}

#[test]
fn given_not_dormant_or_autodelete_disabled_when_checked_then_not_applicable() {
    assert_eq!(
        *auto_delete_due(None, None, &template()).unwrap().reason(),
        ScheduleReason::NotDormant
    );
    assert_eq!(
        *auto_delete_due(
            Some(ts("2026-02-03T12:00:00Z")),
            None,
            &TemplateSchedule::default()
        )
        .unwrap()
        .reason(),
        ScheduleReason::AutoDeleteDisabled
    );
}
