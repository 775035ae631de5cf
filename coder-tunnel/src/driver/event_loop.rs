//! The per-tunnel event loop: everything the core and the netstack need, in one task.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::Command;
use super::link::CoordinatorLink;
use super::tcp::Shared;
use super::udp::{UdpRx, UdpTx};
use crate::core::{Core, Destination, Event};
use crate::relay::{RelayEvent, RelayLink};

/// Datagrams read from the socket per wake-up before the netstack runs (a coalesced GRO or
/// `recvmmsg` receive is taken whole, so one wake-up may take up to 63 more); also the relay
/// events taken per wake-up.
const RECV_BATCH: usize = 64;

struct Waiter {
    ip: IpAddr,
    reply: oneshot::Sender<()>,
}

struct Loop {
    core: Core,
    shared: Arc<Shared>,
    udp: UdpSocket,
    relay_tx: Option<mpsc::Sender<(crate::keys::NodePublic, Vec<u8>)>>,
    requests: mpsc::Sender<crate::coord::CoordinateRequest>,
    waiters: Vec<Waiter>,
    closing: bool,
    tx: UdpTx,
    rx: UdpRx,
}

pub(super) async fn run(
    core: Core,
    shared: Arc<Shared>,
    udp: UdpSocket,
    mut commands: mpsc::Receiver<Command>,
    relay: Option<RelayLink>,
    link: CoordinatorLink,
    udp_gso: bool,
) {
    let (relay_tx, mut relay_rx) = match relay {
        Some(r) => (Some(r.tx), Some(r.rx)),
        None => (None, None),
    };
    let CoordinatorLink {
        requests,
        responses,
    } = link;
    let mut responses = Some(responses);
    let mut lp = Loop {
        core,
        shared,
        relay_tx,
        requests,
        waiters: Vec::new(),
        closing: false,
        tx: UdpTx::new(udp_gso),
        rx: UdpRx::new(&udp, udp_gso),
        udp,
    };
    let mut close_reply: Option<oneshot::Sender<()>> = None;
    loop {
        let deadline = lp.turn().await;
        if lp.closing {
            break;
        }
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline));
        tokio::select! {
            r = lp.rx.recv(&lp.udp) => {
                if r.is_ok() {
                    let mut datagrams = lp.rx.deliver(&mut lp.core);
                    while datagrams < RECV_BATCH && lp.rx.try_recv(&lp.udp).is_ok() {
                        datagrams += lp.rx.deliver(&mut lp.core);
                    }
                }
            }
            ev = recv_opt(&mut relay_rx) => match (ev, &mut relay_rx) {
                (Some(ev), Some(rx)) => {
                    // What else is queued goes into the same turn (one netstack poll per batch,
                    // not per datagram), as for UDP.
                    let now = Instant::now();
                    lp.relay_event(now, ev);
                    for _ in 1..RECV_BATCH {
                        match rx.try_recv() {
                            Ok(ev) => lp.relay_event(now, ev),
                            Err(_) => break,
                        }
                    }
                }
                _ => relay_rx = None,
            },
            resp = recv_opt(&mut responses) => match resp {
                Some(resp) => {
                    let now = Instant::now();
                    if let Some(e) = resp.error {
                        tracing::warn!(error = %e, "coordinator error");
                    }
                    for u in resp.peer_updates {
                        lp.core.apply_peer_update(now, u);
                    }
                }
                None => {
                    // Coordinator gone: keep tunnels, mark peers lost (Coder's SetAllPeersLost).
                    lp.core.set_all_peers_lost();
                    responses = None;
                }
            },
            cmd = commands.recv() => match cmd {
                Some(Command::Close(reply)) => {
                    lp.core.disconnect();
                    lp.closing = true;
                    close_reply = Some(reply);
                }
                Some(cmd) => lp.command(cmd),
                None => {
                    lp.core.disconnect();
                    lp.closing = true;
                }
            },
            _ = lp.shared.notify.notified() => {}
            _ = sleep => {}
        }
        if lp.closing {
            lp.turn().await;
            break;
        }
    }
    if let Some(r) = close_reply {
        let _ = r.send(());
    }
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Loop {
    fn command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::AddTunnel(id) => self.core.add_tunnel(id),
            Command::RemoveTunnel(id) => self.core.remove_tunnel(id),
            Command::AddStaticPeer(key, ep, allowed) => {
                self.core.add_static_peer(now, key, ep, allowed)
            }
            Command::ApplyUpdates(updates) => {
                for u in updates {
                    self.core.apply_peer_update(now, u);
                }
            }
            Command::WaitSession(ip, reply) => self.waiters.push(Waiter { ip, reply }),
            Command::Stats(reply) => {
                let mut stats = self.core.stats();
                stats.udp_send_calls = self.tx.calls();
                stats.udp_recv_calls = self.rx.calls;
                stats.dropped_truncated = self.rx.truncated;
                let _ = reply.send(stats);
            }
            Command::Diagnostics(reply) => {
                let d = self
                    .core
                    .peer_keys()
                    .into_iter()
                    .filter_map(|k| self.core.diagnostics(now, k))
                    .collect();
                let _ = reply.send(d);
            }
            Command::Node(reply) => {
                let _ = reply.send(self.core.node(now));
            }
            Command::Close(_) => {}
        }
    }

    fn relay_event(&mut self, now: Instant, ev: RelayEvent) {
        match ev {
            RelayEvent::Up => self.core.set_relay_connected(now, true),
            RelayEvent::Down(reason) => {
                tracing::debug!(%reason, "relay down");
                self.core.set_relay_connected(now, false);
            }
            RelayEvent::Packet(src, data) => self.core.handle_relay(now, src, &data),
            RelayEvent::Malformed => self.core.handle_relay_malformed(),
        }
    }

    /// Runs timers, moves packets between netstack and core, flushes events and transmits.
    /// Returns the next wake-up.
    async fn turn(&mut self) -> Instant {
        let now = Instant::now();
        if self.core.poll_timeout() <= now {
            self.core.handle_timeout(now);
        }
        self.check_waiters(now);
        let stack_deadline = {
            let mut stack = self.shared.lock();
            while let Some(p) = self.core.poll_delivery() {
                stack.receive(&p);
                self.core.recycle(p);
            }
            stack.poll(now);
            while let Some(p) = stack.poll_transmit() {
                self.core.send_ip(now, &p);
                stack.recycle(p);
            }
            if let Ok(mut closing) = self.shared.closing.lock() {
                closing.retain(|h| {
                    let s = stack.tcp(*h);
                    let done = matches!(
                        s.state(),
                        smoltcp::socket::tcp::State::Closed | smoltcp::socket::tcp::State::TimeWait
                    );
                    if done {
                        stack.remove(*h);
                    }
                    !done
                });
            }
            stack.poll_at(now)
        };
        while let Some(ev) = self.core.poll_event() {
            match ev {
                Event::Coordinate(req) => {
                    // Bounded: waits if the coordinator transport is slow.
                    let _ = self.requests.send(req).await;
                }
                Event::SessionEstablished { .. } => self.check_waiters(now),
                Event::PathChanged { peer, path } => {
                    tracing::debug!(?peer, ?path, "path changed");
                }
                Event::PeerRemoved { .. } => {}
            }
        }
        while let Some(t) = self.core.poll_transmit() {
            match t.dst {
                Destination::Udp(addr) => {
                    self.tx
                        .send(&self.udp, addr, t.payload, &mut self.core)
                        .await;
                }
                Destination::Relay(key) => match &self.relay_tx {
                    Some(tx) => {
                        let _ = tx.send((key, t.payload)).await;
                    }
                    None => self.core.recycle(t.payload),
                },
            }
        }
        self.tx.flush(&self.udp, &mut self.core).await;
        let core_deadline = self.core.poll_timeout();
        stack_deadline.map_or(core_deadline, |s| s.min(core_deadline))
    }

    fn check_waiters(&mut self, now: Instant) {
        if self.waiters.is_empty() {
            return;
        }
        let mut pending = Vec::new();
        for w in std::mem::take(&mut self.waiters) {
            if w.reply.is_closed() {
                continue;
            }
            match self.core.peer_for_ip(w.ip) {
                Some(key) if self.core.ensure_session(now, key) => {
                    let _ = w.reply.send(());
                }
                _ => pending.push(w),
            }
        }
        self.waiters = pending;
    }
}
