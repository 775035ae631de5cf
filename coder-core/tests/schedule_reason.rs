//! The reason enum on the wire: snake_case tags with data, and session kinds.

mod schedule_support;

use coder_core::schedule::{Due, ScheduleReason, SessionKind};
use schedule_support::ts;

#[test]
fn given_reasons_when_serialized_then_snake_case_kind_tag_carries_the_data() {
    let bump = ScheduleReason::ActivityBump {
        at: ts("2026-01-27T12:00:00Z"),
        session: SessionKind::ReconnectingPty,
        bump_ms: 3_600_000,
    };
    let json = serde_json::to_string(&bump).unwrap();
    assert_eq!(
        json,
        r#"{"kind":"activity_bump","at":"2026-01-27T12:00:00Z","session":"reconnecting_pty","bump_ms":3600000}"#
    );
    assert_eq!(serde_json::from_str::<ScheduleReason>(&json).unwrap(), bump);
    assert_eq!(
        serde_json::to_string(&ScheduleReason::ManualShutdown).unwrap(),
        r#"{"kind":"manual_shutdown"}"#
    );
    let due = Due::NotApplicable {
        reason: ScheduleReason::NotDormant,
    };
    assert_eq!(
        serde_json::to_string(&due).unwrap(),
        r#"{"status":"not_applicable","reason":{"kind":"not_dormant"}}"#
    );
}

#[test]
fn given_usage_app_names_when_decoded_then_session_kinds_match() {
    let decode = |s: &str| serde_json::from_str::<SessionKind>(s).unwrap();
    assert_eq!(
        decode(r#""reconnecting-pty""#),
        SessionKind::ReconnectingPty
    );
    assert_eq!(decode(r#""jetbrains""#), SessionKind::Jetbrains);
    assert_eq!(
        SessionKind::from_ssh_session_type(Some("")),
        SessionKind::Ssh
    );
    assert_eq!(
        SessionKind::from_ssh_session_type(Some("jetbrains")),
        SessionKind::Jetbrains
    );
}
