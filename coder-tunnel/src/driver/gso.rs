//! UDP send batching: consecutive datagrams of one size to one address leave in a single
//! `sendmsg` with Linux's `UDP_SEGMENT` (UDP GSO); the kernel cuts them apart again (on loopback,
//! at the receiving socket), so the per-datagram cost of the send path is paid once per batch.
//! Where the kernel refuses, the refused batch goes out through `sendmmsg` (`super::mmsg`)
//! and GSO stays off: [`super::udp`] then sends with `sendmmsg` only. On by default
//! ([`super::TunnelConfig::udp_gso`]); the receiving side is [`super::gro`].

use std::io;
use std::net::SocketAddr;

use tokio::io::Interest;
use tokio::net::UdpSocket;

#[cfg(target_os = "linux")]
use super::mmsg::MmsgSender as BatchSender;
#[cfg(not(target_os = "linux"))]
use super::portable::BatchSender;

/// The kernel's `UDP_MAX_SEGMENTS` on older kernels.
const MAX_SEGMENTS: usize = 64;
/// Payload bytes per batch: one UDP datagram's worth, headroom left for the headers.
const MAX_BYTES: usize = 65_000;

/// Pending datagrams for one destination, all `seg` bytes long except possibly the last.
#[derive(Debug)]
pub(super) struct GsoBatch {
    enabled: bool,
    dst: Option<SocketAddr>,
    seg: usize,
    count: usize,
    short_tail: bool,
    buf: Vec<u8>,
    /// Send system calls made so far.
    pub(super) calls: u64,
}

impl GsoBatch {
    /// `requested`: try GSO (only ever on 64-bit Linux).
    pub(super) fn new(requested: bool) -> Self {
        Self {
            enabled: requested && cfg!(all(target_os = "linux", target_pointer_width = "64")),
            dst: None,
            seg: 0,
            count: 0,
            short_tail: false,
            buf: Vec::with_capacity(MAX_BYTES),
            calls: 0,
        }
    }

    /// Whether batches go out as one `sendmsg` (false off 64-bit Linux and once the kernel
    /// refused).
    pub(super) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Queues `payload` for `dst`, sending the pending batch first when it cannot join it.
    pub(super) async fn push(&mut self, udp: &UdpSocket, dst: SocketAddr, payload: &[u8]) {
        if !self.enabled || payload.is_empty() {
            self.calls += 1;
            send_one(udp, payload, dst).await;
            return;
        }
        if self.count > 0
            && (self.dst != Some(dst)
                || self.short_tail
                || payload.len() > self.seg
                || self.count == MAX_SEGMENTS
                || self.buf.len() + payload.len() > MAX_BYTES)
        {
            self.flush(udp).await;
        }
        if self.count == 0 {
            self.dst = Some(dst);
            self.seg = payload.len();
        }
        self.short_tail = payload.len() < self.seg;
        self.buf.extend_from_slice(payload);
        self.count += 1;
    }

    /// Sends whatever is pending.
    pub(super) async fn flush(&mut self, udp: &UdpSocket) {
        let Some(dst) = self.dst.take() else {
            return;
        };
        self.calls += 1;
        if self.count == 1 {
            send_one(udp, &self.buf, dst).await;
        } else if let Err(e) = send_segmented(udp, &self.buf, self.seg, dst).await {
            tracing::debug!(%dst, error = %e, "UDP GSO refused; batching with sendmmsg");
            self.enabled = false;
            // The refused call is counted above; the datagrams leave in sendmmsg calls.
            self.calls += send_unsegmented(udp, &self.buf, self.seg, dst).await - 1;
        }
        self.buf.clear();
        self.count = 0;
        self.short_tail = false;
    }
}

/// Sends `buf` as the `seg`-byte datagrams a refused GSO send held, with `sendmmsg`; returns
/// the system calls made.
async fn send_unsegmented(udp: &UdpSocket, buf: &[u8], seg: usize, dst: SocketAddr) -> u64 {
    let mut mmsg = BatchSender::default();
    for d in buf.chunks(seg.max(1)) {
        mmsg.push(udp, dst, d.to_vec(), drop).await;
    }
    mmsg.flush(udp, drop).await;
    mmsg.calls
}

async fn send_one(udp: &UdpSocket, payload: &[u8], dst: SocketAddr) {
    if let Err(e) = udp.send_to(payload, dst).await {
        tracing::debug!(%dst, error = %e, "udp send failed");
    }
}

/// A `cmsghdr` carrying `UDP_SEGMENT = seg` (Linux, 64-bit: 8-byte length, two `int`s, data).
fn segment_cmsg(seg: u16) -> [u8; 24] {
    const SOL_UDP: i32 = 17;
    const UDP_SEGMENT: i32 = 103;
    let mut c = [0u8; 24];
    c[..8].copy_from_slice(&18u64.to_ne_bytes());
    c[8..12].copy_from_slice(&SOL_UDP.to_ne_bytes());
    c[12..16].copy_from_slice(&UDP_SEGMENT.to_ne_bytes());
    c[16..18].copy_from_slice(&seg.to_ne_bytes());
    c
}

/// One `sendmsg` of `buf` cut into `seg`-byte datagrams by the kernel. Errors other than
/// "would block" mean GSO is unavailable (the caller falls back).
async fn send_segmented(
    udp: &UdpSocket,
    buf: &[u8],
    seg: usize,
    dst: SocketAddr,
) -> io::Result<()> {
    let seg = u16::try_from(seg).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let control = segment_cmsg(seg);
    let addr = socket2::SockAddr::from(dst);
    let sock = socket2::SockRef::from(udp);
    let iov = [io::IoSlice::new(buf)];
    loop {
        let msg = socket2::MsgHdr::new()
            .with_addr(&addr)
            .with_buffers(&iov)
            .with_control(&control);
        match udp.try_io(Interest::WRITABLE, || sock.sendmsg(&msg, 0)) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => udp.writable().await?,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// What a refused GSO batch falls back to: its datagrams, cut at the segment size, leave
    /// in one `sendmmsg` and arrive intact and in order.
    #[tokio::test]
    async fn a_refused_batch_leaves_in_one_sendmmsg() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sent: Vec<Vec<u8>> = (0..20u32)
            .map(|i| {
                let len = if i == 19 { 300 } else { 1200 };
                (0..len).map(|j| (i * 5 + j) as u8).collect()
            })
            .collect();
        let calls = send_unsegmented(&tx, &sent.concat(), 1200, rx.local_addr().unwrap()).await;
        assert_eq!(calls, 1);
        let mut buf = vec![0u8; 2048];
        for want in &sent {
            let (n, _) = rx.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], want.as_slice());
        }
    }

    /// Mixed sizes and destinations arrive intact and in order per destination. Read per
    /// round so the receiver's default buffer never overflows.
    #[tokio::test]
    async fn batches_arrive_as_separate_datagrams_in_order() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rx2 = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a, b) = (rx.local_addr().unwrap(), rx2.local_addr().unwrap());
        let mut batch = GsoBatch::new(true);
        let mut buf = vec![0u8; 65_536];
        for round in 0..4u32 {
            let mut expect = Vec::new();
            for i in 0..40u32 {
                // A short datagram in the middle and at the end of a round; a datagram to
                // another address in round 2.
                let len = if i == 17 || i == 39 { 100 } else { 1200 };
                let d: Vec<u8> = (0..len).map(|j| (round * 40 + i + j) as u8).collect();
                batch.push(&tx, a, &d).await;
                expect.push(d);
                if round == 2 && i == 5 {
                    batch.push(&tx, b, b"other").await;
                }
            }
            batch.flush(&tx).await;
            for want in &expect {
                let (n, _) = rx.recv_from(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], want.as_slice());
            }
        }
        let (n, _) = rx2.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"other");
        if cfg!(target_os = "linux") {
            assert!(batch.enabled(), "the kernel refused UDP_SEGMENT");
            // 4 rounds of 40: batches end at each short datagram and at the interruption.
            assert!(
                batch.calls < 20,
                "{} send calls for 161 datagrams",
                batch.calls
            );
        }
    }
}
