//! Coder's cron schedules, `CRON_TZ=<IANA zone> <min> <hour> * * <dow>`: parsing, validation,
//! next occurrence (via `croner`, DST-aware), a human summary and the canonical string.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::model::Timestamp;
use crate::{Error, Result};

const TZ_PREFIX: &str = "CRON_TZ=";
const FIELD_NAMES: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

/// A validated cron schedule in a time zone, as Coder stores `autostart_schedule` (weekly)
/// and users' quiet hours (daily).
///
/// ```
/// use coder_core::schedule::Schedule;
///
/// let s = Schedule::parse_weekly("CRON_TZ=Europe/London 0 9 * * 1-5").unwrap();
/// assert_eq!(s.summary(), "9:00 AM Mon-Fri Europe/London");
/// let next = s.next_after("2026-01-27T12:00:00Z".parse().unwrap()).unwrap();
/// assert_eq!(next.to_rfc3339(), "2026-01-28T09:00:00+00:00");
/// ```
#[derive(Debug, Clone)]
pub struct Schedule {
    tz: Tz,
    fields: [String; 5],
    cron: Cron,
}

impl Schedule {
    /// Parses an autostart schedule: minute, hour and day-of-week may vary; day-of-month and
    /// month must be `*`. Without a `CRON_TZ=` prefix the zone is UTC.
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] naming the problem: wrong field count, unknown zone,
    /// a non-`*` day-of-month or month, unsupported syntax, or an out-of-range value.
    pub fn parse_weekly(input: &str) -> Result<Self> {
        Self::parse(input, 2..4)
    }

    /// Parses a daily schedule (quiet hours): like [`Schedule::parse_weekly`], and the
    /// day-of-week must be `*` too.
    ///
    /// # Errors
    /// As [`Schedule::parse_weekly`].
    pub fn parse_daily(input: &str) -> Result<Self> {
        Self::parse(input, 2..5)
    }

    /// Parses `input`, requiring the fields at indices `wildcards` to be `*`.
    fn parse(input: &str, wildcards: std::ops::Range<usize>) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidSchedule {
            input: input.to_owned(),
            reason,
        };
        let mut tokens: Vec<&str> = input.split_whitespace().collect();
        let tz = match tokens.first().and_then(|t| t.strip_prefix(TZ_PREFIX)) {
            Some(name) => {
                let tz = Tz::from_str(name)
                    .map_err(|_| invalid(format!("unknown time zone {name:?} in CRON_TZ")))?;
                tokens.remove(0);
                tz
            }
            None => Tz::UTC,
        };
        let fields: [String; 5] = tokens
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|got: Vec<String>| {
                invalid(format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week) after an \
                     optional CRON_TZ=<zone> prefix, got {}",
                    got.len()
                ))
            })?;
        for i in wildcards {
            if fields[i] != "*" {
                return Err(invalid(format!(
                    "{} must be *, got {:?}",
                    FIELD_NAMES[i], fields[i]
                )));
            }
        }
        if let Some(c) = fields
            .concat()
            .chars()
            .find(|c| matches!(c, '#' | '?' | 'L' | 'l'))
        {
            return Err(invalid(format!("unsupported cron syntax {c:?}")));
        }
        let cron = parse_fields(&fields).map_err(|e| invalid(describe_error(&fields, &e)))?;
        Ok(Self { tz, fields, cron })
    }

    /// The schedule's time zone.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The first time strictly after `after` at which the schedule fires, or `None` if it
    /// never does.
    ///
    /// Daylight saving follows `croner` (Vixie cron / OCPS): a fixed time that falls in a
    /// spring-forward gap fires at the first minute after the gap on that same day, and a
    /// fixed time that occurs twice on a fall-back day fires once, at its first occurrence.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.occurrences_after(after)
            .next()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Every firing strictly after `after`, in the schedule's zone, in time order.
    pub(crate) fn occurrences_after(
        &self,
        after: Timestamp,
    ) -> impl Iterator<Item = DateTime<Tz>> + '_ {
        self.cron.iter_after(after.with_timezone(&self.tz))
    }

    /// A short human summary in Coder's style, e.g. `9:00 AM Mon-Fri Europe/London` or
    /// `11:30 PM daily UTC`. Minute or hour fields that are not single numbers are shown raw.
    pub fn summary(&self) -> String {
        let [minute, hour, _, _, dow] = &self.fields;
        let time = match (minute.parse(), hour.parse()) {
            (Ok(m), Ok(h)) => NaiveTime::from_hms_opt(h, m, 0),
            _ => None,
        }
        .map_or_else(
            || format!("cron({minute} {hour})"),
            |t| t.format("%-I:%M %p").to_string(),
        );
        let days = if dow == "*" {
            "daily".to_owned()
        } else {
            dow.chars().map(day_name_or_char).collect()
        };
        format!("{time} {days} {}", self.tz.name())
    }
}

/// Parses five cron fields with `croner`, without its seconds and year extensions.
fn parse_fields(fields: &[String; 5]) -> std::result::Result<Cron, croner::errors::CronError> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(&fields.join(" "))
}

/// Names the field `croner` rejected: the first one that fails when all others are `*`.
fn describe_error(fields: &[String; 5], error: &croner::errors::CronError) -> String {
    (0..5)
        .find(|&i| {
            let alone = std::array::from_fn(|j| {
                if j == i {
                    fields[i].clone()
                } else {
                    "*".into()
                }
            });
            parse_fields(&alone).is_err()
        })
        .map_or_else(
            || error.to_string(),
            |i| format!("invalid {} {:?}: {error}", FIELD_NAMES[i], fields[i]),
        )
}

/// Cron's day numbers (0 and 7 = Sunday) as chrono's three-letter names; other characters
/// are kept.
fn day_name_or_char(c: char) -> String {
    c.to_digit(10)
        .filter(|d| *d <= 7)
        .and_then(|d| Weekday::try_from(((d + 6) % 7) as u8).ok())
        .map_or_else(|| c.to_string(), |day| day.to_string())
}

impl fmt::Display for Schedule {
    /// The canonical form: always `CRON_TZ=<zone>` then the five fields, single-spaced.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{TZ_PREFIX}{} {}", self.tz.name(), self.fields.join(" "))
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.tz == other.tz && self.fields == other.fields
    }
}

impl Eq for Schedule {}

impl FromStr for Schedule {
    type Err = Error;

    /// Same as [`Schedule::parse_weekly`].
    fn from_str(s: &str) -> Result<Self> {
        Self::parse_weekly(s)
    }
}
