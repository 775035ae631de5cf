//! Turns a provisioner job's log lines into stage events with timings, the way Coder's CLI
//! shows a build: `==> ⧗ Planning infrastructure` ... `=== ✔ Planning infrastructure [1.2s]`.
//! Timings come from the server's log timestamps, so a replayed log shows true durations.

use std::time::Duration;

use coder_core::model::{LogLevel, ProvisionerJobLog, Timestamp};

/// Something to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StageEvent {
    /// A stage began.
    Started(String),
    /// A stage ended, after `took`; `ok` is false for the last stage of a failed job.
    Done {
        /// The stage.
        stage: String,
        /// How long it ran.
        took: Duration,
        /// Whether it ended well.
        ok: bool,
    },
    /// A line of output inside the current stage.
    Line(String),
}

/// Tracks the current stage across log lines.
#[derive(Debug, Default)]
pub(crate) struct StageTracker {
    current: Option<(String, Timestamp)>,
}

impl StageTracker {
    /// The events one log line causes: closing the previous stage and opening a new one
    /// when the stage changes, then the line's output (if any). A stage whose successor
    /// opens with an error (a failure reported in `Cleaning up`, a job its server abandoned)
    /// did not end well: it closes with ✘.
    pub(crate) fn feed(&mut self, log: &ProvisionerJobLog) -> Vec<StageEvent> {
        let mut events = Vec::new();
        let changed = !log.stage.is_empty()
            && self
                .current
                .as_ref()
                .is_none_or(|(stage, _)| *stage != log.stage);
        if changed {
            let ok = log.log_level != LogLevel::Error;
            events.extend(self.close(log.created_at, ok));
            self.current = Some((log.stage.clone(), log.created_at));
            events.push(StageEvent::Started(log.stage.clone()));
        }
        if !log.output.is_empty() {
            events.push(StageEvent::Line(log.output.clone()));
        }
        events
    }

    /// Closes the last stage when the job ends at `at`.
    pub(crate) fn finish(&mut self, at: Timestamp, ok: bool) -> Option<StageEvent> {
        self.close(at, ok)
    }

    fn close(&mut self, at: Timestamp, ok: bool) -> Option<StageEvent> {
        let (stage, started) = self.current.take()?;
        let took = (at - started).to_std().unwrap_or_default();
        Some(StageEvent::Done { stage, took, ok })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(id: i64, at: &str, stage: &str, output: &str) -> ProvisionerJobLog {
        ProvisionerJobLog {
            id,
            created_at: at.parse().unwrap(),
            stage: stage.into(),
            output: output.into(),
            ..Default::default()
        }
    }

    fn done(stage: &str, ms: u64, ok: bool) -> StageEvent {
        StageEvent::Done {
            stage: stage.into(),
            took: Duration::from_millis(ms),
            ok,
        }
    }

    #[test]
    fn stages_open_close_and_time_from_log_timestamps() {
        let mut t = StageTracker::default();
        assert_eq!(
            t.feed(&log(1, "2026-01-01T00:00:00Z", "Setting up", "")),
            vec![StageEvent::Started("Setting up".into())]
        );
        assert_eq!(
            t.feed(&log(2, "2026-01-01T00:00:00.250Z", "Setting up", "cloning")),
            vec![StageEvent::Line("cloning".into())]
        );
        assert_eq!(
            t.feed(&log(
                3,
                "2026-01-01T00:00:01.500Z",
                "Starting workspace",
                "pid 42"
            )),
            vec![
                done("Setting up", 1500, true),
                StageEvent::Started("Starting workspace".into()),
                StageEvent::Line("pid 42".into()),
            ]
        );
        // A line without a stage stays in the current one.
        assert_eq!(
            t.feed(&log(4, "2026-01-01T00:00:02Z", "", "ready")),
            vec![StageEvent::Line("ready".into())]
        );
        assert_eq!(
            t.finish("2026-01-01T00:00:04Z".parse().unwrap(), false),
            Some(done("Starting workspace", 2500, false))
        );
        assert_eq!(
            t.finish("2026-01-01T00:00:05Z".parse().unwrap(), true),
            None
        );
    }

    #[test]
    fn a_stage_followed_by_an_error_did_not_end_well() {
        let mut t = StageTracker::default();
        t.feed(&log(
            1,
            "2026-01-01T00:00:00Z",
            "Stopping workspace",
            "SIGTERM",
        ));
        let mut abandoned = log(2, "2026-01-01T00:00:03Z", "Cleaning up", "server stopped");
        abandoned.log_level = LogLevel::Error;
        assert_eq!(
            t.feed(&abandoned),
            vec![
                done("Stopping workspace", 3000, false),
                StageEvent::Started("Cleaning up".into()),
                StageEvent::Line("server stopped".into()),
            ]
        );
    }
}
