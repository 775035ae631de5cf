//! The relay server: accepts WebSocket connections on `/relay`, logs clients in by public key,
//! and forwards data frames to the destination's bounded queue (a full queue drops and counts,
//! as a congested network would; a slow receiver never stalls other senders). Answers
//! `GET /relay/latency-check` with an empty 200 for region latency probes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::batch::write_batch;
use super::frame::{Frame, readdress, verify_login};
use crate::keys::{NodeKey, NodePublic};

/// Counters of a relay server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Clients logged in right now.
    pub clients: u64,
    /// Data frames forwarded.
    pub forwarded: u64,
    /// Dropped: the destination's queue was full.
    pub dropped_queue_full: u64,
    /// Dropped: the destination is not connected.
    pub dropped_no_peer: u64,
    /// Dropped: malformed frames or non-binary messages.
    pub dropped_malformed: u64,
    /// Logins refused (bad proof).
    pub login_failures: u64,
}

#[derive(Default)]
struct Counters {
    forwarded: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_no_peer: AtomicU64,
    dropped_malformed: AtomicU64,
    login_failures: AtomicU64,
}

/// A logged-in client: its connection number and its bounded outgoing queue.
type ClientSlot = (u64, mpsc::Sender<Vec<u8>>);

struct Inner {
    clients: Mutex<HashMap<NodePublic, ClientSlot>>,
    counters: Counters,
    queue_depth: usize,
    next_conn: AtomicU64,
}

/// Forwards frames between logged-in clients. Cheap to clone.
#[derive(Clone)]
pub struct RelayServer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RelayServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayServer")
            .field("stats", &self.stats())
            .finish()
    }
}

const LATENCY_CHECK: &[u8] = b"GET /relay/latency-check";

impl RelayServer {
    /// A server whose per-connection outgoing queue holds `queue_depth` frames.
    pub fn new(queue_depth: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                clients: Mutex::new(HashMap::new()),
                counters: Counters::default(),
                queue_depth: queue_depth.max(1),
                next_conn: AtomicU64::new(1),
            }),
        }
    }

    /// Counters.
    pub fn stats(&self) -> RelayStats {
        let c = &self.inner.counters;
        RelayStats {
            clients: self
                .inner
                .clients
                .lock()
                .map(|m| m.len() as u64)
                .unwrap_or(0),
            forwarded: c.forwarded.load(Ordering::Relaxed),
            dropped_queue_full: c.dropped_queue_full.load(Ordering::Relaxed),
            dropped_no_peer: c.dropped_no_peer.load(Ordering::Relaxed),
            dropped_malformed: c.dropped_malformed.load(Ordering::Relaxed),
            login_failures: c.login_failures.load(Ordering::Relaxed),
        }
    }

    /// Accepts connections forever (HTTP latency checks and WebSocket upgrades on `/relay`).
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let server = self.clone();
            tokio::spawn(async move { server.handle_tcp(stream).await });
        }
    }

    async fn handle_tcp(self, mut stream: TcpStream) {
        let mut head = [0u8; LATENCY_CHECK.len()];
        if let Ok(n) = stream.peek(&mut head).await
            && n == head.len()
            && head == LATENCY_CHECK
        {
            // Consume the request head (closing with unread data would reset the connection).
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                match stream.read(&mut byte).await {
                    Ok(1) => head.push(byte[0]),
                    _ => return,
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
            return;
        }
        if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
            self.serve_websocket(ws).await;
        }
    }

    /// Serves one accepted WebSocket connection (for servers that do their own HTTP routing).
    pub async fn serve_websocket<S>(&self, ws: WebSocketStream<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (mut sink, mut stream) = ws.split();
        let ephemeral = NodeKey::generate();
        let hello = Frame::ServerHello {
            ephemeral: ephemeral.public(),
        }
        .to_vec();
        if sink.send(Message::Binary(hello.into())).await.is_err() {
            return;
        }
        let key = loop {
            match stream.next().await {
                Some(Ok(Message::Binary(b))) => match Frame::decode(&b) {
                    Ok(Frame::ClientHello { key, proof })
                        if verify_login(&ephemeral, &key, &proof) =>
                    {
                        break key;
                    }
                    _ => {
                        self.inner
                            .counters
                            .login_failures
                            .fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                },
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return,
            }
        };
        if sink
            .send(Message::Binary(Frame::ServerAccept.to_vec().into()))
            .await
            .is_err()
        {
            return;
        }
        let conn = self.inner.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(self.inner.queue_depth);
        if let Ok(mut clients) = self.inner.clients.lock() {
            clients.insert(key, (conn, tx));
        }
        let writer = async move {
            while let Some(first) = rx.recv().await {
                if write_batch(&mut sink, &mut rx, first, |f| f).await.is_err() {
                    break;
                }
            }
        };
        let reader = async {
            while let Some(Ok(msg)) = stream.next().await {
                match msg {
                    Message::Binary(b) => self.forward(key, b.into()),
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => {}
                    _ => {
                        self.inner
                            .counters
                            .dropped_malformed
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        };
        tokio::select! {
            _ = writer => {}
            _ = reader => {}
        }
        if let Ok(mut clients) = self.inner.clients.lock()
            && clients.get(&key).is_some_and(|(c, _)| *c == conn)
        {
            clients.remove(&key);
        }
    }

    /// Forwards a client's frame: a `Send` frame goes to its destination's queue as a `Recv`
    /// frame (rewritten in place), a keep-alive is dropped, anything else is counted.
    fn forward(&self, src: NodePublic, mut frame: Vec<u8>) {
        let c = &self.inner.counters;
        let dst = match readdress(&mut frame, &src) {
            Ok(dst) => dst,
            Err(_) if matches!(Frame::decode(&frame), Ok(Frame::KeepAlive)) => return,
            Err(_) => {
                c.dropped_malformed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let target = self
            .inner
            .clients
            .lock()
            .ok()
            .and_then(|m| m.get(&dst).map(|(_, t)| t.clone()));
        let Some(target) = target else {
            c.dropped_no_peer.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match target.try_send(frame) {
            Ok(()) => {
                c.forwarded.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                c.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
