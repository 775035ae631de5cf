//! Batched WebSocket writes: a relay connection writes every frame already queued for it and
//! then flushes once, instead of one flush (one `write` system call, one loopback TCP segment)
//! per datagram. Under load the queue holds many frames and they leave together; a lone frame
//! still leaves at once.

use futures_util::{Sink, SinkExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Frames written per flush at most, so a busy queue cannot hold the flush back indefinitely.
pub(super) const MAX_BATCH: usize = 64;

/// Writes `first` and up to [`MAX_BATCH`]` - 1` further items already waiting in `queue`, each
/// made a binary message by `frame`, then flushes.
pub(super) async fn write_batch<S, T>(
    sink: &mut S,
    queue: &mut mpsc::Receiver<T>,
    first: T,
    frame: impl Fn(T) -> Vec<u8>,
) -> Result<(), S::Error>
where
    S: Sink<Message> + Unpin,
{
    let mut next = Some(first);
    let mut written = 0;
    while let Some(item) = next {
        sink.feed(Message::Binary(frame(item).into())).await?;
        written += 1;
        next = if written < MAX_BATCH {
            queue.try_recv().ok()
        } else {
            None
        };
    }
    sink.flush().await
}
