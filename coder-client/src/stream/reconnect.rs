//! The loop every stream runs: connect, forward, and on a drop wait and resume.

use std::future::Future;

use tokio::sync::mpsc;

use super::backoff::Backoff;
use crate::Error;

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
    ) -> impl Future<Output = Ended> + Send;
}

/// Runs `source` until it finishes, is refused, or the receiver is dropped.
pub(crate) async fn run_with_reconnect<S: Source>(
    mut source: S,
    tx: mpsc::Sender<Result<S::Item, Error>>,
) {
    let mut backoff = Backoff::new();
    loop {
        match source.run(&tx).await {
            Ended::Finished | Ended::Closed => return,
            Ended::Refused(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
            Ended::Dropped { delivered } => {
                if delivered > 0 {
                    backoff.reset();
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff.next_delay()) => {}
                    () = tx.closed() => return,
                }
            }
        }
    }
}
