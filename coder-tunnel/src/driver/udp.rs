//! The tunnel's UDP socket I/O: batched with segmentation offload (UDP GSO sends,
//! `super::gso`; UDP GRO receives, `super::gro`) when [`super::TunnelConfig::udp_gso`] is
//! on and the kernel accepts it, otherwise with `sendmmsg`/`recvmmsg` (`super::mmsg`). Where
//! those do not exist (not Linux), one datagram per call (`super::portable`). Counts the
//! system calls each direction makes, for [`crate::core::Stats`].

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::net::UdpSocket;

#[cfg(target_os = "linux")]
use super::gro::{GroReceiver, Received};
use super::gso::GsoBatch;
#[cfg(target_os = "linux")]
use super::mmsg::{MmsgReceiver as BatchReceiver, MmsgSender as BatchSender};
#[cfg(not(target_os = "linux"))]
use super::portable::{BatchReceiver, BatchSender};
#[cfg(target_os = "linux")]
use crate::buf::PACKET_BUF;
use crate::core::Core;

/// Receive buffer for coalesced GRO receives: the kernel coalesces at most 64 datagrams
/// (`UDP_GRO_CNT_MAX`), and may go past 64 KiB when `gro_max_size` is raised, so 64 of the
/// largest datagram the core accepts always fit. A larger receive delivers what fits whole
/// and counts the rest in [`crate::core::Stats::dropped_truncated`].
#[cfg(target_os = "linux")]
const GRO_BUF: usize = 64 * PACKET_BUF;

/// The sending half.
#[derive(Debug)]
pub(super) enum UdpTx {
    /// Same-size runs to one address leave as one `UDP_SEGMENT` send.
    Gso(GsoBatch),
    /// Up to 64 datagrams per `sendmmsg` (one per `send_to` where there is none).
    Mmsg(BatchSender),
}

impl UdpTx {
    /// GSO when `udp_gso` (and the platform has it), `sendmmsg` otherwise.
    pub(super) fn new(udp_gso: bool) -> Self {
        let gso = GsoBatch::new(udp_gso);
        if gso.enabled() {
            Self::Gso(gso)
        } else {
            Self::Mmsg(BatchSender::default())
        }
    }

    /// Once the kernel refused GSO, sends go through `sendmmsg` (the call count carries on).
    fn fall_back_if_refused(&mut self) {
        if let Self::Gso(gso) = self
            && !gso.enabled()
        {
            let mut mmsg = BatchSender::default();
            mmsg.calls = gso.calls;
            *self = Self::Mmsg(mmsg);
        }
    }

    /// Queues (or sends) `payload` to `dst`; the buffer goes back to `core` once sent.
    pub(super) async fn send(
        &mut self,
        udp: &UdpSocket,
        dst: SocketAddr,
        payload: Vec<u8>,
        core: &mut Core,
    ) {
        match self {
            Self::Gso(gso) => {
                gso.push(udp, dst, &payload).await;
                core.recycle(payload);
            }
            Self::Mmsg(mmsg) => mmsg.push(udp, dst, payload, |b| core.recycle(b)).await,
        }
        self.fall_back_if_refused();
    }

    /// Sends whatever is queued.
    pub(super) async fn flush(&mut self, udp: &UdpSocket, core: &mut Core) {
        match self {
            Self::Gso(gso) => gso.flush(udp).await,
            Self::Mmsg(mmsg) => mmsg.flush(udp, |b| core.recycle(b)).await,
        }
        self.fall_back_if_refused();
    }

    /// Send system calls made so far.
    pub(super) fn calls(&self) -> u64 {
        match self {
            Self::Gso(gso) => gso.calls,
            Self::Mmsg(mmsg) => mmsg.calls,
        }
    }
}

/// The receiving half: one receive call's datagrams at a time.
#[derive(Debug)]
pub(super) struct UdpRx {
    kind: RxKind,
    /// Receive system calls that returned data.
    pub(super) calls: u64,
    /// Datagrams lost because a coalesced receive did not fit [`GRO_BUF`].
    pub(super) truncated: u64,
}

#[derive(Debug)]
enum RxKind {
    #[cfg(target_os = "linux")]
    Gro {
        gro: GroReceiver,
        buf: Vec<u8>,
        last: Option<Received>,
    },
    Mmsg(BatchReceiver),
}

impl UdpRx {
    /// GRO when `udp_gso` and the kernel turns it on for `udp`, `recvmmsg` otherwise.
    pub(super) fn new(udp: &UdpSocket, udp_gso: bool) -> Self {
        #[cfg(target_os = "linux")]
        let kind = {
            use nix::sys::socket::{getsockopt, sockopt};
            let gro = udp_gso.then(|| GroReceiver::new(udp, true));
            match gro {
                Some(gro) if getsockopt(udp, sockopt::UdpGroSegment).unwrap_or(false) => {
                    RxKind::Gro {
                        gro,
                        buf: vec![0; GRO_BUF],
                        last: None,
                    }
                }
                _ => RxKind::Mmsg(BatchReceiver::default()),
            }
        };
        #[cfg(not(target_os = "linux"))]
        let kind = {
            let _ = (udp, udp_gso);
            RxKind::Mmsg(BatchReceiver::default())
        };
        Self {
            kind,
            calls: 0,
            truncated: 0,
        }
    }

    /// Waits for the next receive.
    pub(super) async fn recv(&mut self, udp: &UdpSocket) -> io::Result<()> {
        match &mut self.kind {
            #[cfg(target_os = "linux")]
            RxKind::Gro { gro, buf, last } => *last = Some(gro.recv(udp, buf).await?),
            RxKind::Mmsg(mmsg) => {
                mmsg.recv(udp).await?;
            }
        }
        self.calls += 1;
        Ok(())
    }

    /// The next receive if one is ready (`WouldBlock` otherwise).
    pub(super) fn try_recv(&mut self, udp: &UdpSocket) -> io::Result<()> {
        match &mut self.kind {
            #[cfg(target_os = "linux")]
            RxKind::Gro { gro, buf, last } => *last = Some(gro.try_recv(udp, buf)?),
            RxKind::Mmsg(mmsg) => {
                mmsg.try_recv(udp)?;
            }
        }
        self.calls += 1;
        Ok(())
    }

    /// Feeds the last receive's datagrams to `core`; returns how many there were.
    pub(super) fn deliver(&mut self, core: &mut Core) -> usize {
        let now = Instant::now();
        let mut n = 0;
        match &mut self.kind {
            #[cfg(target_os = "linux")]
            RxKind::Gro { buf, last, .. } => {
                if let Some(r) = last.take() {
                    self.truncated += r.dropped as u64;
                    for datagram in r.datagrams(buf) {
                        core.handle_udp(now, r.src, datagram);
                        n += 1;
                    }
                }
            }
            RxKind::Mmsg(mmsg) => {
                for (src, datagram) in mmsg.datagrams() {
                    core.handle_udp(now, src, datagram);
                    n += 1;
                }
            }
        }
        n
    }
}
