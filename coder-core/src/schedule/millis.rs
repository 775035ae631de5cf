//! Coder's durations are `i64` milliseconds (`ttl_ms`, `activity_bump_ms`, ...): conversion to
//! [`TimeDelta`], checked timestamp arithmetic, and a short human rendering.

use std::fmt;

use chrono::TimeDelta;

use crate::model::Timestamp;
use crate::{Error, Result};

/// Converts a non-negative `*_ms` input into a [`TimeDelta`]; `field` names it in the error.
pub(crate) fn delta(field: &str, ms: i64) -> Result<TimeDelta> {
    if ms < 0 {
        return Err(Error::InvalidDeadline {
            reason: format!("{field} must not be negative, got {ms}"),
        });
    }
    TimeDelta::try_milliseconds(ms).ok_or_else(|| Error::InvalidDeadline {
        reason: format!("{field} is out of range: {ms}"),
    })
}

/// `t + d`, or an error when the result leaves chrono's range.
pub(crate) fn add(t: Timestamp, d: TimeDelta) -> Result<Timestamp> {
    t.checked_add_signed(d)
        .ok_or_else(|| Error::InvalidDeadline {
            reason: format!("{t} + {d} is out of range"),
        })
}

/// Renders milliseconds as `8h`, `1h30m`, `45m`, `90s` or `250ms`.
pub(crate) struct Human(pub(crate) i64);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms % 1000 != 0 {
            return write!(f, "{ms}ms");
        }
        let (h, m, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
        let mut wrote = false;
        for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
            if value != 0 {
                write!(f, "{value}{unit}")?;
                wrote = true;
            }
        }
        if !wrote {
            f.write_str("0s")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Human;

    #[test]
    fn human_durations_use_the_largest_units() {
        assert_eq!(Human(28_800_000).to_string(), "8h");
        assert_eq!(Human(5_400_000).to_string(), "1h30m");
        assert_eq!(Human(90_000).to_string(), "1m30s");
        assert_eq!(Human(250).to_string(), "250ms");
        assert_eq!(Human(0).to_string(), "0s");
    }
}
