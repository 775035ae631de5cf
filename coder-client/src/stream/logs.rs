//! Following provisioner job logs over Coder's websocket (`?follow&after=<id>`), resuming
//! after the last delivered id so no line is lost or repeated across reconnects.

use std::sync::Arc;

use coder_core::model::ProvisionerJobLog;
use tokio::sync::mpsc;

use super::reconnect::{Ended, Link, Source};
use super::subscription::Live;
use super::websocket::{decode, relay};
use crate::http::Http;
use crate::{Client, Error, Result};

/// Provisioner job logs, in id order, each exactly once.
pub type LogStream = Live<ProvisionerJobLog>;

/// The query of a logs request.
pub(crate) fn logs_query(after: Option<i64>, follow: bool) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(after) = after {
        query.push(("after", after.to_string()));
    }
    if follow {
        query.push(("follow", "true".to_owned()));
    }
    query
}

/// Starts following the logs at `path`.
pub(crate) fn follow_logs(client: &Client, path: String, after: Option<i64>) -> Result<LogStream> {
    Live::spawn(FollowLogs {
        http: client.http.clone(),
        path,
        after,
    })
}

struct FollowLogs {
    http: Arc<Http>,
    path: String,
    /// The last id delivered: the resume point.
    after: Option<i64>,
}

impl Source for FollowLogs {
    type Item = ProvisionerJobLog;

    async fn run(
        &mut self,
        tx: &mpsc::Sender<Result<ProvisionerJobLog, Error>>,
        link: &Link,
    ) -> Ended {
        let query = logs_query(self.after, true);
        let (http, path, after) = (&self.http, &self.path, &mut self.after);
        relay(http, path, &query, tx, link, true, |text| {
            match decode::<ProvisionerJobLog>(http, path, text) {
                // Replayed by the server after a resume: already delivered.
                Ok(log) if after.is_some_and(|a| log.id <= a) => None,
                Ok(log) => {
                    *after = Some(log.id);
                    Some(Ok(log))
                }
                Err(e) => Some(Err(e)),
            }
        })
        .await
    }
}
