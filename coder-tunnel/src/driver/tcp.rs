//! Async TCP over the netstack: [`TcpStream`] (`AsyncRead + AsyncWrite`) and [`TcpListener`].
//! Both lock the shared netstack briefly, use smoltcp's socket wakers, and nudge the event
//! loop after every read or write so window updates and data go out at once.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use smoltcp::socket::tcp::State;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::Error;
use crate::netstack::{Netstack, SocketHandle, from_smol};

/// State shared between the event loop and socket handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) stack: Mutex<Netstack>,
    /// Wakes the event loop (socket used, new socket).
    pub(crate) notify: Notify,
    /// Sockets whose handles were dropped; the loop removes them once closed.
    pub(crate) closing: Mutex<Vec<SocketHandle>>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Netstack> {
        match self.stack.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A TCP connection through the tunnel.
#[derive(Debug)]
pub struct TcpStream {
    shared: Arc<Shared>,
    handle: SocketHandle,
    peer: SocketAddr,
}

impl TcpStream {
    pub(crate) fn new(shared: Arc<Shared>, handle: SocketHandle, peer: SocketAddr) -> Self {
        Self {
            shared,
            handle,
            peer,
        }
    }

    /// The remote address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Waits until a connecting socket is established.
    pub(crate) async fn established(&self) -> Result<(), Error> {
        std::future::poll_fn(|cx| {
            let mut stack = self.shared.lock();
            let s = stack.tcp(self.handle);
            match s.state() {
                State::Established | State::CloseWait => Poll::Ready(Ok(())),
                State::Closed | State::TimeWait | State::Closing | State::LastAck => Poll::Ready(
                    Err(Error::Tcp(format!("connection to {} refused", self.peer))),
                ),
                _ => {
                    s.register_send_waker(cx.waker());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut stack = self.shared.lock();
        let s = stack.tcp(self.handle);
        if s.can_recv() {
            let n = s
                .recv_slice(buf.initialize_unfilled())
                .map_err(io::Error::other)?;
            buf.advance(n);
            drop(stack);
            self.shared.notify.notify_one();
            return Poll::Ready(Ok(()));
        }
        if !s.may_recv() {
            if s.state() == State::Closed && s.remote_endpoint().is_none() {
                // Reset or never connected.
                return Poll::Ready(Ok(()));
            }
            return Poll::Ready(Ok(()));
        }
        s.register_recv_waker(cx.waker());
        Poll::Pending
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut stack = self.shared.lock();
        let s = stack.tcp(self.handle);
        if !s.may_send() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if s.can_send() {
            let n = s.send_slice(data).map_err(io::Error::other)?;
            drop(stack);
            self.shared.notify.notify_one();
            return Poll::Ready(Ok(n));
        }
        s.register_send_waker(cx.waker());
        Poll::Pending
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut stack = self.shared.lock();
        let s = stack.tcp(self.handle);
        if s.send_queue() == 0 || !s.may_send() {
            return Poll::Ready(Ok(()));
        }
        s.register_send_waker(cx.waker());
        Poll::Pending
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shared.lock().tcp(self.handle).close();
        self.shared.notify.notify_one();
        Poll::Ready(Ok(()))
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        self.shared.lock().tcp(self.handle).close();
        if let Ok(mut c) = self.shared.closing.lock() {
            c.push(self.handle);
        }
        self.shared.notify.notify_one();
    }
}

/// Accepts TCP connections on one port of the tunnel address.
#[derive(Debug)]
pub struct TcpListener {
    shared: Arc<Shared>,
    port: u16,
    backlog: Vec<SocketHandle>,
}

/// Listening sockets kept per listener (smoltcp sockets accept one connection each).
pub(crate) const BACKLOG: usize = 8;

impl TcpListener {
    pub(crate) fn new(shared: Arc<Shared>, port: u16) -> Result<Self, Error> {
        let backlog = {
            let mut stack = shared.lock();
            (0..BACKLOG)
                .map(|_| stack.tcp_listen(port))
                .collect::<Result<Vec<_>, _>>()?
        };
        shared.notify.notify_one();
        Ok(Self {
            shared,
            port,
            backlog,
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next established connection and its remote address.
    pub async fn accept(&mut self) -> Result<(TcpStream, SocketAddr), Error> {
        std::future::poll_fn(|cx| {
            let mut stack = self.shared.lock();
            for i in 0..self.backlog.len() {
                let h = self.backlog[i];
                let s = stack.tcp(h);
                match s.state() {
                    State::Listen | State::SynReceived => {
                        s.register_recv_waker(cx.waker());
                    }
                    State::Established | State::CloseWait => {
                        let peer = s.remote_endpoint().map(from_smol);
                        self.backlog[i] = stack.tcp_listen(self.port)?;
                        let Some(peer) = peer else { continue };
                        drop(stack);
                        self.shared.notify.notify_one();
                        return Poll::Ready(Ok((
                            TcpStream::new(self.shared.clone(), h, peer),
                            peer,
                        )));
                    }
                    _ => {
                        // Failed handshake: recycle the slot.
                        stack.remove(h);
                        self.backlog[i] = stack.tcp_listen(self.port)?;
                        stack.tcp(self.backlog[i]).register_recv_waker(cx.waker());
                        self.shared.notify.notify_one();
                    }
                }
            }
            Poll::Pending
        })
        .await
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let mut stack = self.shared.lock();
        for h in self.backlog.drain(..) {
            stack.remove(h);
        }
    }
}
