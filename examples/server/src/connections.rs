//! Serving HTTP connections so that no client can lock the others out: a cap on open
//! connections (websocket streams included), a deadline for each request's headers that also
//! closes idle keep-alive connections, graceful shutdown, and the open-file limit raised to
//! what the process may have.
//!
//! At the cap the server stops accepting: new connections wait in the kernel's listen
//! backlog, holding no file descriptor of ours, until a connection closes, which the header
//! deadline guarantees for silent ones. Reaching the cap is logged once per episode.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::server::stopping;

/// File descriptors kept free for everything but client connections (database connections,
/// workspace logs, process pipes) when the cap is fitted under the open-file limit.
const RESERVED_FDS: u64 = 128;

/// Once the cap was reached, it is logged again only after this long without reaching it.
const EPISODE_QUIET: Duration = Duration::from_secs(60);

/// How connections are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most; more wait to be accepted.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from the connection's start or
    /// the end of the previous response (so it also closes idle keep-alive connections);
    /// zero disables it.
    pub read_header_timeout: Duration,
}

/// Raises the soft open-file limit to the hard one, as Coder does at start; returns the new
/// soft limit. A listener that runs out of descriptors cannot accept anyone.
#[cfg(unix)]
pub fn raise_open_file_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            tracing::warn!(soft, hard, error = %e, "could not raise the open-file limit");
            return Some(soft);
        }
        tracing::info!(from = soft, to = hard, "raised the open-file limit");
    }
    Some(hard.max(soft))
}

/// Raises the open-file limit (nothing to do on this platform).
#[cfg(not(unix))]
pub fn raise_open_file_limit() -> Option<u64> {
    None
}

/// The configured cap, lowered to fit under the current open-file limit.
fn fitted_cap(max_connections: usize) -> usize {
    #[cfg(unix)]
    if let Ok((soft, _)) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
    {
        let fits = usize::try_from(soft.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX);
        if fits < max_connections {
            tracing::warn!(
                max_connections,
                open_file_limit = soft,
                lowered_to = fits,
                "the connection cap does not fit under the open-file limit; lowering it"
            );
            return fits.clamp(1, u32::MAX as usize);
        }
    }
    max_connections.clamp(1, u32::MAX as usize)
}

/// Serves `app` on `listener` within `limits` until `stop` turns true, then stops accepting,
/// lets each connection finish its in-flight request, and returns once every connection
/// (and upgraded stream) has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stop: watch::Receiver<bool>,
) {
    let cap = fitted_cap(limits.max_connections);
    let slots = Arc::new(Semaphore::new(cap));
    let mut http = hyper::server::conn::http1::Builder::new();
    let header_timeout = Some(limits.read_header_timeout).filter(|t| !t.is_zero());
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let mut episode = CapEpisode::default();
    let mut stopped = stop.clone();
    loop {
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                let _ = episode.reached(Instant::now(), cap);
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = stopping(&mut stopped) => break,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = stopping(&mut stopped) => break,
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(CappedStream {
            stream,
            _slot: slot,
        });
        let conn = http
            .serve_connection(io, TowerToHyperService::new(app.clone()))
            .with_upgrades();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let served = tokio::select! {
                served = conn.as_mut() => served,
                () = stopping(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    // Every slot back: every connection, upgraded streams included, has closed.
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// Accept errors: a client that gave up is nothing; anything else (out of descriptors) is
/// logged and retried after a second, when some connection may have closed.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Logs reaching the cap once per episode: an episode ends after [`EPISODE_QUIET`] without
/// reaching it.
#[derive(Debug, Default)]
struct CapEpisode {
    last_reached: Option<Instant>,
}

impl CapEpisode {
    /// Notes that the cap was reached at `now`; whether this began an episode (and logged).
    fn reached(&mut self, now: Instant, max_connections: usize) -> bool {
        let begins = self
            .last_reached
            .is_none_or(|at| now.duration_since(at) >= EPISODE_QUIET);
        if begins {
            tracing::warn!(
                max_connections,
                "connection limit reached: new connections wait until one closes \
                 (--http-max-connections)"
            );
        }
        self.last_reached = Some(now);
        begins
    }
}

/// A client connection holding its slot under the cap until it is dropped, which for an
/// upgraded websocket is when the stream ends.
#[derive(Debug)]
struct CappedStream {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for CappedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reaching the cap again and again is one episode, logged once; a minute without
    /// reaching it ends the episode.
    #[test]
    fn the_cap_is_logged_once_per_episode() {
        let t0 = Instant::now();
        let mut episode = CapEpisode::default();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let logged: Vec<bool> = [0, 1, 30, 89, 150, 151]
            .into_iter()
            .map(|s| episode.reached(at(s), 16))
            .collect();
        assert_eq!(logged, [true, false, false, false, true, false]);
    }
}
