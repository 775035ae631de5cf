//! The handle that keeps a stream's task alive.

use tokio::task::JoinHandle;

/// Stops the stream's background task when cancelled or dropped.
#[derive(Debug)]
pub struct Subscription {
    task: Option<JoinHandle<()>>,
}

impl Subscription {
    pub(crate) fn new(task: JoinHandle<()>) -> Self {
        Self { task: Some(task) }
    }

    /// Stops the stream now; items already received stay readable.
    pub fn cancel(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Whether the background task is still running.
    pub fn is_active(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// A live stream of `T`: items as they arrive, ending when the server finishes the stream,
/// refuses it (the last item is then the error), or the handle is dropped.
#[derive(Debug)]
pub struct Live<T> {
    rx: tokio::sync::mpsc::Receiver<crate::Result<T>>,
    subscription: Subscription,
    connection: tokio::sync::watch::Receiver<super::Connection>,
}

impl<T: Send + 'static> Live<T> {
    /// Spawns `source` with reconnects; needs a running tokio runtime.
    pub(crate) fn spawn<S: super::reconnect::Source<Item = T>>(source: S) -> crate::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| crate::Error::InvalidInput("streams need a tokio runtime".into()))?;
        // Bounded: a slow consumer slows the reader instead of buffering without limit.
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let (link, connection) = super::reconnect::Link::new();
        let task = runtime.spawn(super::reconnect::run_with_reconnect(source, tx, link));
        Ok(Self {
            rx,
            subscription: Subscription::new(task),
            connection,
        })
    }
}

impl<T> Live<T> {
    /// The stream's connection state, updated as it connects, drops and reconnects (for a UI
    /// to say so while the server is away).
    pub fn connection(&self) -> tokio::sync::watch::Receiver<super::Connection> {
        self.connection.clone()
    }

    /// The handle that stops the stream.
    pub fn subscription(&mut self) -> &mut Subscription {
        &mut self.subscription
    }
}

impl<T> futures_util::Stream for Live<T> {
    type Item = crate::Result<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}
