//! Helpers shared by the `schedule_*` integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use coder_core::model::{Timestamp, WorkspaceTransition};
use coder_core::schedule::{BuildJob, LatestBuild};

/// Parses an RFC 3339 timestamp.
pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Milliseconds in `h` hours.
pub const fn hours_ms(h: i64) -> i64 {
    h * 3_600_000
}

/// Milliseconds in `m` minutes.
pub const fn minutes_ms(m: i64) -> i64 {
    m * 60_000
}

/// A running start build, completed at 08:00 on 2026-01-27.
pub fn running(deadline: Option<&str>, max_deadline: Option<&str>) -> LatestBuild {
    LatestBuild {
        transition: WorkspaceTransition::Start,
        job: BuildJob::Succeeded {
            completed_at: ts("2026-01-27T08:00:00Z"),
        },
        deadline: deadline.map(ts),
        max_deadline: max_deadline.map(ts),
    }
}
