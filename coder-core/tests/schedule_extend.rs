//! `PUT /workspaces/{id}/extend`: the 30-minute floor, max_deadline, and the build's state.

mod schedule_support;

use coder_core::Error;
use coder_core::model::WorkspaceTransition;
use coder_core::schedule::{
    BuildJob, ExtendRefusal, Extended, LatestBuild, ScheduleReason, extend_deadline,
};
use schedule_support::{running, ts};

const NOW: &str = "2026-01-27T12:00:00Z";

fn build() -> LatestBuild {
    running(Some("2026-01-27T13:00:00Z"), Some("2026-01-27T18:00:00Z"))
}

#[test]
fn given_running_build_when_extended_within_limits_then_deadline_is_the_request() {
    assert_eq!(
        extend_deadline(&build(), ts("2026-01-27T17:00:00Z"), ts(NOW)),
        Ok(Extended {
            deadline: ts("2026-01-27T17:00:00Z"),
            reason: ScheduleReason::ExtendedByUser { at: ts(NOW) },
        })
    );
    // Exactly max_deadline is allowed.
    assert!(extend_deadline(&build(), ts("2026-01-27T18:00:00Z"), ts(NOW)).is_ok());
}

#[test]
fn given_request_under_30_minutes_away_when_extended_then_rejected_with_coders_message() {
    let err = extend_deadline(&build(), ts("2026-01-27T12:20:00Z"), ts(NOW)).unwrap_err();
    assert_eq!(
        err,
        ExtendRefusal::TooSoon {
            earliest: ts("2026-01-27T12:29:00Z")
        }
    );
    assert_eq!(
        err.to_string(),
        "Cannot extend workspace: new deadline must be at least 30 minutes in the future"
    );
    assert!(!err.is_conflict());
    assert_eq!(
        Error::from(err),
        Error::InvalidDeadline {
            reason:
                "Cannot extend workspace: new deadline must be at least 30 minutes in the future"
                    .into()
        }
    );
}

#[test]
fn given_request_at_the_29_minute_edge_when_extended_then_coder_leeway_applies() {
    // Coder compares with now + 29 min to absorb request latency.
    assert!(extend_deadline(&build(), ts("2026-01-27T12:29:00Z"), ts(NOW)).is_ok());
    assert!(matches!(
        extend_deadline(&build(), ts("2026-01-27T12:28:59Z"), ts(NOW)),
        Err(ExtendRefusal::TooSoon { .. })
    ));
}

#[test]
fn given_request_past_max_deadline_when_extended_then_rejected() {
    let err = extend_deadline(&build(), ts("2026-01-27T18:00:01Z"), ts(NOW)).unwrap_err();
    assert_eq!(
        err,
        ExtendRefusal::BeyondMaxDeadline {
            max_deadline: ts("2026-01-27T18:00:00Z")
        }
    );
    assert_eq!(
        err.to_string(),
        "Cannot extend workspace beyond max deadline 2026-01-27T18:00:00Z."
    );
}

#[test]
fn given_request_before_the_build_completed_when_extended_then_rejected() {
    assert_eq!(
        extend_deadline(&build(), ts("2026-01-27T07:00:00Z"), ts(NOW)),
        Err(ExtendRefusal::BeforeStart {
            completed_at: ts("2026-01-27T08:00:00Z")
        })
    );
}

#[test]
fn given_workspace_not_running_with_a_deadline_when_extended_then_conflict() {
    let later = ts("2026-01-27T15:00:00Z");
    let stopped = LatestBuild {
        transition: WorkspaceTransition::Stop,
        ..build()
    };
    let err = extend_deadline(&stopped, later, ts(NOW)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Workspace must be started, current status: stop"
    );
    assert!(err.is_conflict());

    let cases = [
        (
            LatestBuild {
                job: BuildJob::InProgress,
                ..build()
            },
            ExtendRefusal::StillBuilding,
            "Workspace is still building!",
        ),
        (
            LatestBuild {
                job: BuildJob::Failed {
                    completed_at: ts("2026-01-27T08:00:00Z"),
                },
                ..build()
            },
            ExtendRefusal::BuildFailed,
            "Workspace build failed; start it again before extending.",
        ),
        (
            LatestBuild {
                deadline: None,
                ..build()
            },
            ExtendRefusal::ManualShutdown,
            "Workspace shutdown is manual.",
        ),
    ];
    for (b, refusal, message) in cases {
        let err = extend_deadline(&b, later, ts(NOW)).unwrap_err();
        assert_eq!((&err, err.to_string().as_str()), (&refusal, message));
        assert!(err.is_conflict());
    }
}
