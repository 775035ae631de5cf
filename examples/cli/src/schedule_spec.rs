//! `coder schedule start` arguments (`<start-time> [day-of-week] [location]`) to Coder's
//! autostart cron, `CRON_TZ=<zone> <min> <hour> * * <dow>`, following Coder's
//! `parseCLISchedule`: 12-hour (`9:30AM`, `9pm`) or 24-hour (`09:30`, `0930`) times, a cron
//! day-of-week (`1-5`, `Mon-Fri`, default `*`), and an IANA zone that defaults to `$TZ` or
//! the system's zone.

use coder_core::schedule::Schedule;

use crate::error::{CliError, Result};

/// Builds the canonical autostart schedule from the command's words. `local_zone` is asked
/// only when no location is given.
pub(crate) fn autostart_schedule(
    words: &[String],
    local_zone: impl FnOnce() -> Option<String>,
) -> Result<String> {
    // A quoted schedule ("9:30AM Mon-Fri") arrives as one word.
    let words: Vec<&str> = if words.len() == 1 {
        words[0].split_whitespace().collect()
    } else {
        words.iter().map(String::as_str).collect()
    };
    let (time, rest) = words.split_first().ok_or_else(|| {
        CliError::Usage("missing start time, e.g. 9:30AM Mon-Fri Europe/Dublin".into())
    })?;
    let (hour, minute) = parse_time(time)?;
    let (dow, zone) = match rest {
        [] => ("*", None),
        [one] if is_zone(one) => ("*", Some((*one).to_owned())),
        [one] => (*one, None),
        [dow, zone] => {
            if !is_zone(zone) {
                return Err(CliError::Usage(format!(
                    "invalid time zone {zone:?}: a valid IANA time zone is required, \
                     e.g. Europe/Dublin"
                )));
            }
            (*dow, Some((*zone).to_owned()))
        }
        _ => {
            return Err(CliError::Usage(
                "invalid schedule: expected <start-time> [day-of-week] [location]".into(),
            ));
        }
    };
    let zone = zone.or_else(local_zone).ok_or_else(|| {
        CliError::Usage("cannot tell your time zone: give a location, e.g. Europe/Dublin".into())
    })?;
    let dow = day_numbers(dow);
    let cron = format!("CRON_TZ={zone} {minute} {hour} * * {dow}");
    Schedule::parse_weekly(&cron)
        .map(|s| s.to_string())
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// The local IANA zone: `$TZ` when it names one, else the system's.
pub(crate) fn local_zone() -> Option<String> {
    std::env::var("TZ")
        .ok()
        .map(|tz| tz.trim_start_matches(':').to_owned())
        .filter(|tz| is_zone(tz))
        .or_else(|| iana_time_zone::get_timezone().ok())
}

/// Day names (`Mon-Fri`, `sat,sun`) as cron numbers (`1-5`, `6,0`): every cron parser reads
/// numbers, not all read names.
fn day_numbers(dow: &str) -> String {
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let lower = word.to_ascii_lowercase();
        match DAYS.iter().position(|d| *d == lower) {
            Some(n) => out.push_str(&n.to_string()),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in dow.chars() {
        if c.is_ascii_alphabetic() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn is_zone(name: &str) -> bool {
    Schedule::parse_weekly(&format!("CRON_TZ={name} 0 0 * * *")).is_ok()
}

/// Parses `9:30AM`, `9:30pm`, `9pm`, `09:30`, `0930` or `21:30` into (hour, minute).
fn parse_time(input: &str) -> Result<(u32, u32)> {
    let bad = || {
        CliError::Usage(format!(
            "invalid start time {input:?}: use hh:mm (24-hour) or hh:mm{{am|pm}}"
        ))
    };
    let lower = input.to_ascii_lowercase();
    let (clock, meridiem) = match lower.strip_suffix("am") {
        Some(c) => (c, Some(false)),
        None => match lower.strip_suffix("pm") {
            Some(c) => (c, Some(true)),
            None => (lower.as_str(), None),
        },
    };
    let (h, m) = match clock.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return Err(bad()),
        None if clock.len() == 4 && meridiem.is_none() => clock.split_at(2),
        None if meridiem.is_some() => (clock, "00"),
        None => return Err(bad()),
    };
    let all_digits =
        |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(h) || !all_digits(m) {
        return Err(bad());
    }
    let (hour, minute): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if minute > 59 {
        return Err(bad());
    }
    let hour = match meridiem {
        None if hour <= 23 => hour,
        Some(pm) if (1..=12).contains(&hour) => hour % 12 + if pm { 12 } else { 0 },
        _ => return Err(bad()),
    };
    Ok((hour, minute))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn sched(s: &str) -> String {
        autostart_schedule(&words(s), || Some("America/Chicago".into())).unwrap()
    }

    #[test]
    fn coders_documented_example() {
        assert_eq!(
            sched("9:30AM Mon-Fri Europe/Dublin"),
            "CRON_TZ=Europe/Dublin 30 9 * * 1-5"
        );
        assert_eq!(sched("9:00 sat,SUN UTC"), "CRON_TZ=UTC 0 9 * * 6,0");
        assert_eq!(sched("9:00 Mon-Wed,Fri UTC"), "CRON_TZ=UTC 0 9 * * 1-3,5");
    }

    #[test]
    fn twelve_and_twenty_four_hour_times() {
        assert_eq!(sched("9:30pm UTC"), "CRON_TZ=UTC 30 21 * * *");
        assert_eq!(sched("12am UTC"), "CRON_TZ=UTC 0 0 * * *");
        assert_eq!(sched("12:15PM UTC"), "CRON_TZ=UTC 15 12 * * *");
        assert_eq!(sched("09:05 UTC"), "CRON_TZ=UTC 5 9 * * *");
        assert_eq!(sched("2130 UTC"), "CRON_TZ=UTC 30 21 * * *");
    }

    #[test]
    fn second_word_is_a_zone_or_days() {
        assert_eq!(sched("8:00 Asia/Tokyo"), "CRON_TZ=Asia/Tokyo 0 8 * * *");
        assert_eq!(sched("8:00 1-5"), "CRON_TZ=America/Chicago 0 8 * * 1-5");
        assert_eq!(sched("8:00"), "CRON_TZ=America/Chicago 0 8 * * *");
    }

    #[test]
    fn a_quoted_schedule_is_split() {
        let one = vec!["7:45AM 1,3,5 UTC".to_owned()];
        assert_eq!(
            autostart_schedule(&one, || None).unwrap(),
            "CRON_TZ=UTC 45 7 * * 1,3,5"
        );
    }

    #[test]
    fn the_local_zone_is_asked_only_without_a_location() {
        let s = autostart_schedule(&words("9:00 UTC"), || panic!("not asked")).unwrap();
        assert_eq!(s, "CRON_TZ=UTC 0 9 * * *");
        let e = autostart_schedule(&words("9:00"), || None).unwrap_err();
        assert!(e.to_string().contains("cannot tell your time zone"), "{e}");
    }

    #[test]
    fn rejects_bad_times_zones_and_days() {
        for bad in [
            "25:00 UTC",
            "9:60 UTC",
            "13pm UTC",
            "0am UTC",
            "noon UTC",
            "9 UTC",
        ] {
            let e = autostart_schedule(&words(bad), || None).unwrap_err();
            assert!(
                e.to_string().starts_with("invalid start time"),
                "{bad}: {e}"
            );
        }
        let e = autostart_schedule(&words("9:00 1-5 Mars/Base"), || None).unwrap_err();
        assert!(
            e.to_string().starts_with("invalid time zone \"Mars/Base\""),
            "{e}"
        );
        assert!(autostart_schedule(&words("9:00 9-12 UTC"), || None).is_err());
        assert!(autostart_schedule(&words("9:00 1 UTC extra"), || None).is_err());
    }
}
