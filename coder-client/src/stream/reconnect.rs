//! The loop every stream runs: connect, forward, and on a drop wait and resume.

use std::future::Future;

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::backoff::Backoff;
use crate::Error;

/// Whether a live stream is connected, as its background task sees it: what a UI shows
/// while the server is away ("lost connection, retrying in 4 s").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Connecting for the first time.
    Connecting,
    /// Connected: items flow as they come.
    Connected,
    /// The connection dropped or could not be made; the next attempt is in `retry_in`.
    Reconnecting {
        /// Failed attempts in a row, from 1.
        attempt: u32,
        /// The wait before the next attempt.
        retry_in: Duration,
    },
}

/// The stream task's side of [`Connection`]: a source marks the link up once connected.
pub(crate) struct Link(watch::Sender<Connection>);

impl Link {
    pub(crate) fn new() -> (Self, watch::Receiver<Connection>) {
        let (tx, rx) = watch::channel(Connection::Connecting);
        (Self(tx), rx)
    }

    /// The source is connected.
    pub(crate) fn up(&self) {
        self.0.send_replace(Connection::Connected);
    }
}

/// How one connection of a stream ended.
pub(crate) enum Ended {
    /// The server finished the stream (a job reached a terminal state): stop.
    Finished,
    /// The consumer went away: stop.
    Closed,
    /// The connection dropped after delivering `delivered` items: reconnect.
    Dropped {
        /// Items delivered on this connection.
        delivered: usize,
    },
    /// The server refused (401, 404, ...): report and stop.
    Refused(Error),
}

/// One resumable source of items (a websocket or an SSE response).
pub(crate) trait Source: Send + 'static {
    /// The items.
    type Item: Send + 'static;

    /// Connects (resuming from what was already delivered) and forwards items until the
    /// connection ends.
    fn run(
        &mut self,
        tx: &mpsc::Sender<Result<Self::Item, Error>>,
        link: &Link,
    ) -> impl Future<Output = Ended> + Send;
}

/// Runs `source` until it finishes, is refused, or the receiver is dropped.
pub(crate) async fn run_with_reconnect<S: Source>(
    mut source: S,
    tx: mpsc::Sender<Result<S::Item, Error>>,
    link: Link,
) {
    let mut backoff = Backoff::new();
    loop {
        match source.run(&tx, &link).await {
            Ended::Finished | Ended::Closed => return,
            Ended::Refused(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
            Ended::Dropped { delivered } => {
                if delivered > 0 {
                    backoff.reset();
                }
                let retry_in = backoff.next_delay();
                link.0.send_replace(Connection::Reconnecting {
                    attempt: backoff.failures(),
                    retry_in,
                });
                tokio::select! {
                    () = tokio::time::sleep(retry_in) => {}
                    () = tx.closed() => return,
                }
            }
        }
    }
}
