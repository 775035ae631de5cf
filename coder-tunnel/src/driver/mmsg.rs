//! UDP batching without segmentation offload: `sendmmsg` and `recvmmsg` move up to [`BATCH`]
//! datagrams per system call, each still its own datagram to the kernel. This is the path when
//! UDP GSO/GRO is off ([`super::TunnelConfig::udp_gso`]) or, on receive, refused by the kernel;
//! it saves the per-call cost (syscall entry, socket lock, tokio readiness) that one-by-one
//! `send_to`/`recv_from` pay per datagram. Outgoing payloads are sent from the core's own
//! buffers, without a copy. nix's header array holds raw pointers (not `Send`), so it is built
//! per call, inside the synchronous part, and never lives across an await.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::buf::PACKET_BUF;

/// Datagrams per system call (Linux's `UIO_MAXIOV` allows 1024; 64 matches the GSO batch).
pub(super) const BATCH: usize = 64;

/// Receive slot per datagram: one byte more than the core accepts, so an oversized datagram
/// arrives truncated to a length the core still rejects (and counts) as oversized.
const SLOT: usize = PACKET_BUF + 1;

/// Datagrams queued for one `sendmmsg`.
#[derive(Debug)]
pub(super) struct MmsgSender {
    pending: Vec<(SockaddrStorage, Vec<u8>)>,
    /// Send system calls made so far.
    pub(super) calls: u64,
}

impl Default for MmsgSender {
    fn default() -> Self {
        Self {
            pending: Vec::with_capacity(BATCH),
            calls: 0,
        }
    }
}

impl MmsgSender {
    /// Queues `payload` for `dst`; a full batch is sent at once. Sent buffers are handed to
    /// `recycle`.
    pub(super) async fn push(
        &mut self,
        udp: &UdpSocket,
        dst: SocketAddr,
        payload: Vec<u8>,
        recycle: impl FnMut(Vec<u8>),
    ) {
        self.pending.push((SockaddrStorage::from(dst), payload));
        if self.pending.len() == BATCH {
            self.flush(udp, recycle).await;
        }
    }

    /// Sends everything queued, then hands the buffers to `recycle`. A datagram the kernel
    /// rejects (unreachable destination, …) is dropped, as a failed `send_to` would be.
    pub(super) async fn flush(&mut self, udp: &UdpSocket, mut recycle: impl FnMut(Vec<u8>)) {
        let mut sent = 0;
        while sent < self.pending.len() {
            match self.send_from(udp, sent) {
                Ok(n) => sent += n.max(1),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(e) = udp.writable().await {
                        tracing::debug!(error = %e, "udp socket unwritable");
                        break;
                    }
                }
                Err(e) => {
                    // The first datagram of the call failed: skip it.
                    tracing::debug!(error = %e, "udp send failed");
                    sent += 1;
                }
            }
        }
        for (_, payload) in self.pending.drain(..) {
            recycle(payload);
        }
    }

    /// One `sendmmsg` of the queued datagrams from `first` on; returns how many left.
    fn send_from(&mut self, udp: &UdpSocket, first: usize) -> io::Result<usize> {
        let rest = &self.pending[first..];
        let slices: Vec<[io::IoSlice<'_>; 1]> =
            rest.iter().map(|(_, p)| [io::IoSlice::new(p)]).collect();
        let addrs: Vec<Option<SockaddrStorage>> = rest.iter().map(|(a, _)| Some(*a)).collect();
        let n = udp.try_io(Interest::WRITABLE, || {
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(slices.len(), None);
            let cmsgs: [ControlMessage<'_>; 0] = [];
            sendmmsg(
                udp.as_raw_fd(),
                &mut headers,
                &slices,
                &addrs,
                cmsgs,
                MsgFlags::MSG_DONTWAIT,
            )
            .map(Iterator::count)
            .map_err(io::Error::from)
        })?;
        self.calls += 1;
        Ok(n)
    }
}

/// One datagram of a `recvmmsg`: which receive slot holds it, its length and its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slotted {
    slot: usize,
    len: usize,
    src: SocketAddr,
}

/// Datagrams taken by one `recvmmsg`.
#[derive(Debug)]
pub(super) struct MmsgReceiver {
    buf: Vec<u8>,
    /// The datagrams of the last receive that had a usable source, in slot order.
    received: Vec<Slotted>,
}

impl Default for MmsgReceiver {
    fn default() -> Self {
        Self {
            buf: vec![0; BATCH * SLOT],
            received: Vec::with_capacity(BATCH),
        }
    }
}

impl MmsgReceiver {
    /// Waits until at least one datagram is in; returns how many the call took.
    pub(super) async fn recv(&mut self, udp: &UdpSocket) -> io::Result<usize> {
        loop {
            udp.readable().await?;
            match self.try_recv(udp) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return r,
            }
        }
    }

    /// Takes up to [`BATCH`] datagrams if any are ready (`WouldBlock` otherwise).
    pub(super) fn try_recv(&mut self, udp: &UdpSocket) -> io::Result<usize> {
        self.received.clear();
        let Self { buf, received } = self;
        udp.try_io(Interest::READABLE, || {
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
            let mut slices: Vec<[io::IoSliceMut<'_>; 1]> = buf
                .chunks_mut(SLOT)
                .map(|s| [io::IoSliceMut::new(s)])
                .collect();
            let results = recvmmsg(
                udp.as_raw_fd(),
                &mut headers,
                &mut slices,
                MsgFlags::MSG_DONTWAIT,
                None,
            )
            .map_err(io::Error::from)?;
            let results = results.map(|msg| (msg.bytes, msg.address.as_ref().and_then(std_addr)));
            keep_addressed(results, received);
            Ok(())
        })?;
        Ok(self.received.len())
    }

    /// The datagrams of the last receive with their sources.
    pub(super) fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        slotted_datagrams(&self.buf, &self.received)
    }
}

/// Records `(length, source)` of each received message, in slot order, keeping its slot
/// number; a message whose source is not an IP socket address is skipped (receives on an
/// unconnected UDP socket always carry one, so this is defensive), without shifting the
/// slots of the ones after it.
fn keep_addressed(
    results: impl Iterator<Item = (usize, Option<SocketAddr>)>,
    out: &mut Vec<Slotted>,
) {
    out.extend(results.enumerate().filter_map(|(slot, (len, src))| {
        Some(Slotted {
            slot,
            len,
            src: src?,
        })
    }));
}

/// Each kept datagram's source and bytes, read from its own slot of `buf`.
fn slotted_datagrams<'a>(
    buf: &'a [u8],
    received: &'a [Slotted],
) -> impl Iterator<Item = (SocketAddr, &'a [u8])> + 'a {
    received.iter().map(move |d| {
        let start = d.slot * SLOT;
        (d.src, &buf[start..start + d.len.min(SLOT)])
    })
}

/// The standard form of an IPv4 or IPv6 socket address.
fn std_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddrV4::from(*v4).into());
    }
    Some(SocketAddrV6::from(*addr.as_sockaddr_in6()?).into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A message without a usable source in the middle of a receive is left out, and the
    /// ones after it still read their own slots.
    #[test]
    fn a_skipped_message_does_not_shift_later_slots() {
        let mut buf = vec![0u8; 4 * SLOT];
        for (i, slot) in buf.chunks_mut(SLOT).enumerate() {
            slot[..3].fill(b'a' + i as u8);
        }
        let (a, b): (SocketAddr, SocketAddr) = (
            "192.0.2.1:1".parse().unwrap(),
            "[2001:db8::2]:2".parse().unwrap(),
        );
        let mut received = Vec::new();
        keep_addressed(
            [(3, Some(a)), (2, None), (3, Some(b)), (1, Some(a))].into_iter(),
            &mut received,
        );
        let got: Vec<(SocketAddr, &[u8])> = slotted_datagrams(&buf, &received).collect();
        assert_eq!(
            got,
            vec![(a, &b"aaa"[..]), (b, &b"ccc"[..]), (a, &b"d"[..])]
        );
    }

    /// 150 datagrams of mixed sizes, an empty one and an oversized one among them, go out in
    /// full batches and arrive intact, in order, in batched receives; the oversized one
    /// arrives cut to one byte more than the core accepts.
    #[tokio::test]
    async fn batches_arrive_whole_and_in_order() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket2::SockRef::from(&rx)
            .set_recv_buffer_size(4 << 20)
            .unwrap();
        let dst = rx.local_addr().unwrap();
        let sent: Vec<Vec<u8>> = (0..150u32)
            .map(|i| {
                let len = match i {
                    7 => 0,
                    99 => 3000,
                    _ => 100 + (i as usize * 37) % 1300,
                };
                (0..len).map(|j| (i as usize + j) as u8).collect()
            })
            .collect();
        let mut sender = MmsgSender::default();
        let mut recycled = 0;
        for d in &sent {
            sender.push(&tx, dst, d.clone(), |_| recycled += 1).await;
        }
        sender.flush(&tx, |_| recycled += 1).await;
        assert_eq!(recycled, 150);
        assert_eq!(sender.calls, 3, "150 datagrams in batches of 64");

        let mut receiver = MmsgReceiver::default();
        let (mut got, mut calls) = (Vec::new(), 0);
        while got.len() < sent.len() {
            let n = receiver.recv(&rx).await.unwrap();
            assert!(n > 0 && n <= BATCH);
            calls += 1;
            for (src, d) in receiver.datagrams() {
                assert_eq!(src, tx.local_addr().unwrap());
                got.push(d.to_vec());
            }
        }
        assert!(calls >= 3, "{calls} receives for 150 datagrams");
        let mut want = sent.clone();
        want[99].truncate(SLOT);
        assert_eq!(got, want);
    }
}
