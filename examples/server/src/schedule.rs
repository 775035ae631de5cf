//! Workspace schedule inputs (TTL, autostart, extend), stored and minimally validated with
//! Coder's messages. One place to delegate to `coder_core::schedule` once its rules land.

use chrono::Duration;
use coder_core::model::Timestamp;

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

fn field_ok(field: &str, min: u32, max: u32) -> bool {
    field.split(',').all(|part| {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0).map(|_| ())),
            None => (part, Some(())),
        };
        if step.is_none() {
            return false;
        }
        if range == "*" {
            return true;
        }
        let num = |s: &str| s.parse::<u32>().ok().filter(|n| (min..=max).contains(n));
        match range.split_once('-') {
            Some((a, b)) => matches!((num(a), num(b)), (Some(a), Some(b)) if a <= b),
            None => num(range).is_some(),
        }
    })
}

/// Validates an autostart schedule (`CRON_TZ=<zone> <min> <hour> * * <dow>`); empty or `None`
/// disables autostart.
pub fn validate_autostart(schedule: Option<&str>) -> Result<Option<String>> {
    let Some(s) = schedule.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let invalid = |detail: String| Error::BadRequest {
        message: "Invalid autostart schedule.".to_owned(),
        detail: String::new(),
        validations: vec![coder_core::model::ValidationError {
            field: "schedule".to_owned(),
            detail,
        }],
    };
    let mut rest = s;
    if let Some(tz) = s.strip_prefix("CRON_TZ=") {
        let (zone, after) = tz
            .split_once(' ')
            .ok_or_else(|| invalid("missing cron fields after CRON_TZ".into()))?;
        if zone.is_empty()
            || !zone
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
        {
            return Err(invalid(format!("invalid time zone {zone:?}")));
        }
        rest = after;
    }
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(invalid(format!(
            "expected 5 cron fields (min hour * * dow), got {}",
            fields.len()
        )));
    }
    if fields[2] != "*" || fields[3] != "*" {
        return Err(invalid(
            "validate weekly schedule: expected day-of-month and month to be *".into(),
        ));
    }
    if !field_ok(fields[0], 0, 59) || !field_ok(fields[1], 0, 23) || !field_ok(fields[4], 0, 7) {
        return Err(invalid(format!(
            "parse schedule: invalid cron expression {rest:?}"
        )));
    }
    Ok(Some(s.to_owned()))
}

/// The deadline of a start build that completed at `now`: the workspace TTL, else the
/// template default; none when both are unset (manual shutdown).
pub fn initial_deadline(
    ttl_ms: Option<i64>,
    template: &TemplateSettings,
    now: Timestamp,
) -> Option<Timestamp> {
    let ttl = if template.allow_user_autostop {
        ttl_ms.filter(|t| *t > 0)
    } else {
        None
    }
    .or(Some(template.default_ttl_ms).filter(|t| *t > 0))?;
    Some(now + Duration::milliseconds(ttl))
}

/// Checks a new deadline for `PUT /workspaces/{id}/extend`.
pub fn validate_extend(
    new: Timestamp,
    now: Timestamp,
    max_deadline: Option<Timestamp>,
) -> Result<()> {
    if new < now + Duration::minutes(29) {
        return Err(Error::validation(
            "deadline",
            "Cannot extend workspace: new deadline must be at least 30 minutes in the future",
        )
        .with_message(
            "Cannot extend workspace: new deadline must be at least 30 minutes in the future",
        ));
    }
    if let Some(max) = max_deadline
        && new > max
    {
        return Err(Error::validation(
            "deadline",
            format!(
                "Cannot extend workspace beyond max deadline {}",
                max.to_rfc3339()
            ),
        )
        .with_message(
            "Cannot extend workspace: deadline is beyond max deadline imposed by template",
        ));
    }
    Ok(())
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
    fn extend_needs_thirty_minutes() {
        let now = chrono::Utc::now();
        assert!(validate_extend(now + Duration::minutes(31), now, None).is_ok());
        let e = validate_extend(now + Duration::minutes(10), now, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot extend workspace: new deadline must be at least 30 minutes in the future"
        );
        assert!(
            validate_extend(
                now + Duration::hours(3),
                now,
                Some(now + Duration::hours(2))
            )
            .is_err()
        );
    }
}
