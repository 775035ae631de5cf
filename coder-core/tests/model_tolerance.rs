//! A long-lived client keeps working when the server is newer or older than the SDK.

use coder_core::model::*;
use serde_json::json;

#[test]
fn workspace_from_a_newer_server_decodes_with_unknowns_kept() {
    let body = json!({
        "id": "0b7f5a2e-57c4-4c4b-9a52-0c4c1a7e1d01",
        "name": "dev",
        "owner_name": "alice",
        "some_field_from_2030": {"nested": [1, 2, 3]},
        "ttl_ms": null,
        "autostart_schedule": "CRON_TZ=Europe/London 30 8 * * 1-5",
        "latest_build": {
            "build_number": 3,
            "transition": "hibernate",
            "status": "hibernating",
            "reason": "autostart",
            "resources": null,
            "deadline": "2026-08-22T18:00:00Z",
            "job": {"status": "running", "tags": null, "available_workers": null}
        },
        "health": {"healthy": false, "failing_agents": null}
    });
    let ws: Workspace = serde_json::from_value(body).unwrap();
    assert_eq!(ws.name, "dev");
    assert_eq!(ws.ttl_ms, None);
    assert_eq!(
        ws.autostart_schedule.as_deref(),
        Some("CRON_TZ=Europe/London 30 8 * * 1-5")
    );
    assert_eq!(
        ws.latest_build.transition,
        WorkspaceTransition::Unknown("hibernate".into())
    );
    assert_eq!(
        ws.latest_build.status,
        WorkspaceStatus::Unknown("hibernating".into())
    );
    assert_eq!(ws.latest_build.reason, BuildReason::Autostart);
    assert_eq!(ws.latest_build.job.status, ProvisionerJobStatus::Running);
    assert!(ws.latest_build.resources.is_empty());
    assert!(ws.health.failing_agents.is_empty());
    assert_eq!(
        ws.latest_build.deadline.unwrap().to_rfc3339(),
        "2026-08-22T18:00:00+00:00"
    );
    assert_eq!(ws.latest_build.max_deadline, None);

    // The unknown strings survive a round trip: a proxy built on this SDK forwards them intact.
    let again = serde_json::to_value(&ws).unwrap();
    assert_eq!(again["latest_build"]["transition"], "hibernate");
    assert_eq!(again["latest_build"]["status"], "hibernating");
}

#[test]
fn durations_keep_their_units() {
    let t: Template = serde_json::from_value(json!({
        "default_ttl_ms": 28_800_000_i64,
        "activity_bump_ms": 3_600_000_i64,
        "time_til_dormant_autodelete_ms": 0
    }))
    .unwrap();
    assert_eq!(t.default_ttl_ms, 8 * 3_600_000);
    assert_eq!(t.activity_bump_ms, 3_600_000);

    // A token's lifetime is a Go duration: nanoseconds.
    let req = CreateTokenRequest {
        token_name: "ci".into(),
        lifetime: 30 * 24 * 3_600 * 1_000_000_000,
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"token_name": "ci", "lifetime": 2_592_000_000_000_000_i64})
    );
}

#[test]
fn requests_omit_what_the_caller_did_not_set() {
    let req = CreateWorkspaceBuildRequest {
        transition: WorkspaceTransition::Stop,
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"transition": "stop"})
    );

    let ttl_off = UpdateWorkspaceTTLRequest { ttl_ms: None };
    assert_eq!(
        serde_json::to_string(&ttl_off).unwrap(),
        r#"{"ttl_ms":null}"#
    );
}

#[test]
fn error_bodies_decode_with_or_without_validations() {
    let bare: Response = serde_json::from_str(r#"{"message":"Not found."}"#).unwrap();
    assert_eq!(bare, Response::message("Not found."));
    let nulls: Response =
        serde_json::from_str(r#"{"message":"x","detail":"y","validations":null}"#).unwrap();
    assert!(nulls.validations.is_empty());
    assert_eq!(
        serde_json::to_string(&bare).unwrap(),
        r#"{"message":"Not found."}"#
    );
}
