//! Schedule rules: autostop deadlines, activity bump, autostart, extend, failure TTL, dormancy.
//!
//! Every rule is a pure function of its inputs and an explicit `now`; nothing here reads a
//! clock. Each answer carries a [`ScheduleReason`] so a server can tell a user *why* a
//! workspace is still running, or why it stopped.
//!
//! | Rule | Entry point |
//! |---|---|
//! | Deadlines when a start build completes | [`deadlines_on_start`] |
//! | Activity bump | [`bump_deadline`] |
//! | Autostart cron (`CRON_TZ=<zone> <min> <hour> * * <dow>`) | [`Schedule`], [`next_autostart_after`] |
//! | `PUT /workspaces/{id}/extend` | [`extend_deadline`] |
//! | Failed-build cleanup | [`failure_stop_due`] |
//! | Dormancy and auto-delete | [`dormancy_due`], [`auto_delete_due`] |
//!
//! Time zones come from `chrono-tz` and cron matching from `croner`, which resolves
//! daylight-saving gaps and overlaps for us (see [`Schedule::next_after`]).

mod autostart;
mod bump;
mod cron;
mod deadline;
mod dormancy;
mod due;
mod extend;
mod failure;
mod latest_build;
mod millis;
mod reason;
mod requirement;
mod session;
mod template;
mod weekdays;

pub use autostart::next_autostart_after;
pub use bump::{BumpInput, BumpOutcome, bump_deadline};
pub use cron::Schedule;
pub use deadline::{Deadlines, deadlines_on_start};
pub use dormancy::{auto_delete_due, dormancy_due};
pub use due::Due;
pub use extend::{ExtendRefusal, Extended, extend_deadline};
pub use failure::failure_stop_due;
pub use latest_build::{BuildJob, LatestBuild};
pub use reason::ScheduleReason;
pub use session::SessionKind;
pub use template::{MaxDeadlinePolicy, TemplateSchedule};
pub use weekdays::Weekdays;
