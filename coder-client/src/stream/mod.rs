//! Live streams (build and import logs, workspace watch) as [`futures_util::Stream`]s that
//! survive a flaky network: each runs in a task that reconnects with backoff (1 s doubling to
//! 10 s) and resumes where it left off, and stops when its handle is dropped or cancelled.

mod backoff;
mod logs;
mod reconnect;
mod subscription;
mod watch;
mod websocket;

pub use logs::LogStream;
pub use reconnect::Connection;
pub use subscription::Subscription;
pub use watch::WorkspaceStream;

pub(crate) use logs::{follow_logs, logs_query};
pub(crate) use watch::watch_workspace;
