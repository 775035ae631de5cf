//! Workspace schedule inputs (TTL, autostart, extend) checked with `coder_core::schedule`'s
//! rules and Coder's messages; the TTL range check is the API's own.

use coder_core::Error as CoreError;
use coder_core::model::Timestamp;
use coder_core::schedule::{
    LatestBuild, MaxDeadlinePolicy, Schedule, TemplateSchedule, Weekdays, deadlines_on_start,
    extend_deadline,
};

use crate::error::{Error, Result};
use crate::store::TemplateSettings;

const MINUTE_MS: i64 = 60_000;
const THIRTY_DAYS_MS: i64 = 30 * 24 * 60 * MINUTE_MS;

/// Validates a TTL as `PUT /workspaces/{id}/ttl` and workspace creation do: `None`/0 clear
/// it; otherwise truncated to whole minutes, at least one minute, less than 30 days.
pub fn validate_ttl(ttl_ms: Option<i64>) -> Result<Option<i64>> {
    match ttl_ms {
        None | Some(0) => Ok(None),
        Some(ms) => {
            let ms = ms - ms.rem_euclid(MINUTE_MS);
            if ms < MINUTE_MS {
                Err(Error::validation(
                    "ttl_ms",
                    "time until shutdown must be at least one minute",
                ))
            } else if ms > THIRTY_DAYS_MS {
                Err(Error::validation(
                    "ttl_ms",
                    "time until shutdown must be less than 30 days",
                ))
            } else {
                Ok(Some(ms))
            }
        }
    }
}

/// Validates an autostart schedule (`CRON_TZ=<zone> <min> <hour> * * <dow>`) with
/// `coder_core::schedule`; empty or `None` disables autostart. The string is stored as given.
pub fn validate_autostart(schedule: Option<&str>) -> Result<Option<String>> {
    let Some(s) = schedule.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match Schedule::parse_weekly(s) {
        Ok(_) => Ok(Some(s.to_owned())),
        Err(e) => Err(Error::BadRequest {
            message: "Invalid autostart schedule.".to_owned(),
            detail: String::new(),
            validations: vec![coder_core::model::ValidationError {
                field: "schedule".to_owned(),
                detail: match e {
                    CoreError::InvalidSchedule { reason, .. } => reason,
                    other => other.to_string(),
                },
            }],
        }),
    }
}

/// The template's schedule options as `coder_core::schedule` reads them.
pub fn template_schedule(settings: &TemplateSettings) -> TemplateSchedule {
    let days = settings
        .autostart_requirement
        .days_of_week
        .iter()
        .filter_map(|d| d.parse::<chrono::Weekday>().ok());
    let allowed = Weekdays::from_days(days);
    TemplateSchedule {
        default_ttl_ms: settings.default_ttl_ms,
        allow_user_autostop: settings.allow_user_autostop,
        activity_bump_ms: settings.activity_bump_ms,
        max_deadline: MaxDeadlinePolicy::None,
        allow_user_autostart: settings.allow_user_autostart,
        autostart_allowed_days: if allowed.is_empty() {
            Weekdays::ALL
        } else {
            allowed
        },
        failure_ttl_ms: settings.failure_ttl_ms,
        time_til_dormant_ms: settings.time_til_dormant_ms,
        time_til_dormant_autodelete_ms: settings.time_til_dormant_autodelete_ms,
    }
}

/// The deadline of a start build that completed at `now` (`coder_core::schedule`'s
/// `deadlines_on_start`): the workspace TTL when users may set it, else the template default;
/// none when both are unset (manual shutdown).
pub fn initial_deadline(
    ttl_ms: Option<i64>,
    template: &TemplateSettings,
    now: Timestamp,
) -> Option<Timestamp> {
    deadlines_on_start(&template_schedule(template), ttl_ms, None, now)
        .ok()
        .and_then(|d| d.deadline)
}

/// Checks a new deadline for `PUT /workspaces/{id}/extend` with `coder_core::schedule`'s
/// `extend_deadline`: 409 for a workspace that is not running a finished start build or has
/// no deadline, 400 for a deadline too soon or past `max_deadline`.
pub fn validate_extend(build: &LatestBuild, new: Timestamp, now: Timestamp) -> Result<()> {
    match extend_deadline(build, new, now) {
        Ok(_) => Ok(()),
        Err(refusal) if refusal.is_conflict() => Err(Error::conflict(refusal.to_string())),
        Err(refusal) => {
            let message = refusal.to_string();
            Err(Error::validation("deadline", message.clone()).with_message(message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rules() {
        assert_eq!(validate_ttl(None).unwrap(), None);
        assert_eq!(validate_ttl(Some(0)).unwrap(), None);
        assert_eq!(validate_ttl(Some(90_500)).unwrap(), Some(60_000));
        assert_eq!(
            validate_ttl(Some(59_999))
                .unwrap_err()
                .to_response()
                .validations[0]
                .detail,
            "time until shutdown must be at least one minute"
        );
        assert!(validate_ttl(Some(THIRTY_DAYS_MS + MINUTE_MS)).is_err());
    }

    #[test]
    fn autostart_rules() {
        assert_eq!(
            validate_autostart(Some("CRON_TZ=US/Central 30 9 * * 1-5"))
                .unwrap()
                .as_deref(),
            Some("CRON_TZ=US/Central 30 9 * * 1-5")
        );
        assert_eq!(validate_autostart(Some("")).unwrap(), None);
        assert!(validate_autostart(Some("30 9 1 * *")).is_err());
        assert!(validate_autostart(Some("61 9 * * *")).is_err());
        assert!(validate_autostart(Some("nonsense")).is_err());
    }

    #[test]
    fn extend_needs_thirty_minutes_and_respects_max_deadline() {
        use chrono::Duration;
        use coder_core::model::WorkspaceTransition;
        use coder_core::schedule::BuildJob;
        let now: Timestamp = "2026-08-22T10:00:00Z".parse().unwrap();
        let build = LatestBuild {
            transition: WorkspaceTransition::Start,
            job: BuildJob::Succeeded {
                completed_at: now - Duration::hours(1),
            },
            deadline: Some(now + Duration::hours(1)),
            max_deadline: Some(now + Duration::hours(2)),
        };
        assert!(validate_extend(&build, now + Duration::minutes(31), now).is_ok());
        let e = validate_extend(&build, now + Duration::minutes(10), now).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot extend workspace: new deadline must be at least 30 minutes in the future"
        );
        let e = validate_extend(&build, now + Duration::hours(3), now).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot extend workspace beyond max deadline 2026-08-22T12:00:00Z."
        );
        let manual = LatestBuild {
            deadline: None,
            ..build
        };
        let e = validate_extend(&manual, now + Duration::hours(1), now).unwrap_err();
        assert_eq!(e.to_string(), "Workspace shutdown is manual.");
    }

    #[test]
    fn day_names_are_accepted_as_coder_accepts_them() {
        assert_eq!(
            validate_autostart(Some("CRON_TZ=Europe/London 30 8 * * Mon-Fri"))
                .unwrap()
                .as_deref(),
            Some("CRON_TZ=Europe/London 30 8 * * Mon-Fri")
        );
        assert!(validate_autostart(Some("CRON_TZ=Nowhere/Atlantis 30 8 * * 1")).is_err());
    }
}
