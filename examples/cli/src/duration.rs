//! Durations as Coder's CLI takes them (`8h`, `30m`, `1h30m`, `90s`, `30d`; a bare number
//! means minutes, as in `coder schedule stop`) and shows them (`8h`, `1h30m`).

use std::time::Duration;

use crate::error::{CliError, Result};

/// Parses a duration; a bare number is minutes.
pub(crate) fn parse_duration(input: &str) -> Result<Duration> {
    let input = input.trim();
    if !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit()) {
        let minutes: u64 = input
            .parse()
            .map_err(|_| CliError::Usage(format!("duration {input:?} is too large")))?;
        return Ok(Duration::from_secs(minutes.saturating_mul(60)));
    }
    humantime::parse_duration(input).map_err(|e| {
        CliError::Usage(format!(
            "invalid duration {input:?} ({e}); use e.g. 8h, 30m or 1h30m"
        ))
    })
}

/// Parses a workspace stop duration: at least one minute, returned in milliseconds.
pub(crate) fn parse_ttl_ms(input: &str) -> Result<i64> {
    let d = parse_duration(input)?;
    if d < Duration::from_secs(60) {
        return Err(CliError::Usage(format!(
            "duration {input:?} is too short: the minimum is 1 minute"
        )));
    }
    i64::try_from(d.as_millis())
        .map_err(|_| CliError::Usage(format!("duration {input:?} is too large")))
}

/// Renders milliseconds the way Coder's tables do: `8h`, `1h30m`, `45m`, `30s`.
pub(crate) fn format_ms(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if value != 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Renders an elapsed time for progress lines: `850ms`, `4.2s`, `1m05s`.
pub(crate) fn format_elapsed(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_coder_style_durations() {
        assert_eq!(parse_duration("8h").unwrap(), Duration::from_secs(8 * 3600));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(30 * 60));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(
            parse_duration("3h2m").unwrap(),
            Duration::from_secs(3 * 3600 + 120)
        );
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
    }

    #[test]
    fn a_bare_number_is_minutes() {
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_ttl_ms("90").unwrap(), 5_400_000);
    }

    #[test]
    fn rejects_garbage_and_too_short_stops() {
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(
            parse_ttl_ms("30s").unwrap_err().to_string(),
            "duration \"30s\" is too short: the minimum is 1 minute"
        );
        assert_eq!(parse_ttl_ms("8h").unwrap(), 28_800_000);
    }

    #[test]
    fn formats_like_coder() {
        assert_eq!(format_ms(28_800_000), "8h");
        assert_eq!(format_ms(5_400_000), "1h30m");
        assert_eq!(format_ms(2_700_000), "45m");
        assert_eq!(format_ms(0), "0s");
        assert_eq!(format_elapsed(Duration::from_millis(850)), "850ms");
        assert_eq!(format_elapsed(Duration::from_millis(4_230)), "4.2s");
        assert_eq!(format_elapsed(Duration::from_millis(65_000)), "1m05s");
    }
}
