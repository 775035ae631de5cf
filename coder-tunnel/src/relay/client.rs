//! The relay client: a supervisor task that keeps one WebSocket connection to the home relay
//! (reconnecting with backoff), logs in with the node key, and moves datagrams through bounded
//! channels (a full channel makes the sender wait: back-pressure, not drops).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::batch::write_batch;
use super::frame::{Frame, login_proof};
use crate::Error;
use crate::keys::{NodeKey, NodePublic};

/// What the relay client tells the driver.
#[derive(Debug)]
pub enum RelayEvent {
    /// Logged in; relayed sends will be carried.
    Up,
    /// The connection dropped; reconnecting.
    Down(String),
    /// A datagram from `src`.
    Packet(NodePublic, Vec<u8>),
    /// A frame that did not decode (counted by the driver).
    Malformed,
}

/// The driver's end of the relay client.
#[derive(Debug)]
pub struct RelayLink {
    /// Datagrams to send: (destination key, datagram).
    pub tx: mpsc::Sender<(NodePublic, Vec<u8>)>,
    /// Events and received datagrams.
    pub rx: mpsc::Receiver<RelayEvent>,
}

/// Channel depth between the driver and the relay connection.
pub const RELAY_QUEUE: usize = 1024;

/// Starts the relay client for `url` (e.g. `ws://127.0.0.1:8080/relay`).
pub fn spawn_relay_client(url: String, key: NodeKey) -> RelayLink {
    let (out_tx, mut out_rx) = mpsc::channel::<(NodePublic, Vec<u8>)>(RELAY_QUEUE);
    let (ev_tx, ev_rx) = mpsc::channel::<RelayEvent>(RELAY_QUEUE);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let reason = match run_connection(&url, &key, &mut out_rx, &ev_tx).await {
                Ok(()) => return, // the driver is gone
                Err(e) => e.to_string(),
            };
            if ev_tx.send(RelayEvent::Down(reason)).await.is_err() {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    });
    RelayLink {
        tx: out_tx,
        rx: ev_rx,
    }
}

async fn run_connection(
    url: &str,
    key: &NodeKey,
    out_rx: &mut mpsc::Receiver<(NodePublic, Vec<u8>)>,
    ev_tx: &mpsc::Sender<RelayEvent>,
) -> Result<(), Error> {
    // Nagle off: a small frame written behind an unacknowledged one would otherwise wait for
    // the relay's delayed ACK (about 40 ms), e.g. a handshake packet right after login.
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .map_err(|e| Error::Relay(e.to_string()))?;
    let (mut sink, mut stream) = ws.split();
    let ephemeral = match stream.next().await {
        Some(Ok(Message::Binary(b))) => match Frame::decode(&b)? {
            Frame::ServerHello { ephemeral } => ephemeral,
            _ => return Err(Error::Relay("expected server hello".into())),
        },
        _ => return Err(Error::Relay("connection closed during login".into())),
    };
    let hello = Frame::ClientHello {
        key: key.public(),
        proof: login_proof(key, &ephemeral),
    };
    sink.send(Message::Binary(hello.to_vec().into()))
        .await
        .map_err(|e| Error::Relay(e.to_string()))?;
    match stream.next().await {
        Some(Ok(Message::Binary(b))) if Frame::decode(&b)? == Frame::ServerAccept => {}
        _ => return Err(Error::Relay("login refused".into())),
    }
    if ev_tx.send(RelayEvent::Up).await.is_err() {
        return Ok(());
    }
    let mut keepalive = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            out = out_rx.recv() => {
                let Some(first) = out else { return Ok(()) };
                write_batch(&mut sink, out_rx, first, |(dst, data)| {
                    Frame::Send { dst, data }.to_vec()
                })
                .await
                .map_err(|e| Error::Relay(e.to_string()))?;
            }
            msg = stream.next() => {
                let ev = match msg {
                    Some(Ok(Message::Binary(b))) => match Frame::decode(&b) {
                        Ok(Frame::Recv { src, data }) => RelayEvent::Packet(src, data),
                        Ok(Frame::KeepAlive | Frame::PeerGone { .. }) => continue,
                        _ => RelayEvent::Malformed,
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(_)) => RelayEvent::Malformed,
                    Some(Err(e)) => return Err(Error::Relay(e.to_string())),
                    None => return Err(Error::Relay("relay closed the connection".into())),
                };
                if ev_tx.send(ev).await.is_err() {
                    return Ok(());
                }
            }
            _ = keepalive.tick() => {
                sink.send(Message::Binary(Frame::KeepAlive.to_vec().into()))
                    .await
                    .map_err(|e| Error::Relay(e.to_string()))?;
            }
        }
    }
}
