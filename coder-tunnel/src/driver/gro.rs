//! UDP receive batching: with Linux's `UDP_GRO` socket option the kernel may hand over several
//! datagrams from one sender, all of one size except possibly the last, as one buffer, and says
//! the size in a `UDP_GRO` control message. On loopback a peer's GSO batch ([`super::gso`])
//! arrives this way whole, never cut apart, so one `recvmsg` replaces up to 64 `recvfrom`s.
//! Where the option is refused (or off Linux) every receive is one datagram, as before.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// One receive: `len` bytes from `src`, datagrams of `segment` bytes each (the last may be
/// shorter), and `dropped` more datagrams that did not fit the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Received {
    pub(super) len: usize,
    pub(super) src: SocketAddr,
    pub(super) segment: usize,
    pub(super) dropped: usize,
}

impl Received {
    /// The datagrams of this receive within `buf` (an empty datagram is one empty slice).
    pub(super) fn datagrams<'a>(&self, buf: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let all = &buf[..self.len];
        let empty_datagram = all.is_empty() && self.dropped == 0;
        all.chunks(self.segment.max(1))
            .chain(empty_datagram.then_some(all))
    }
}

/// Receives datagrams from one socket, coalesced when the kernel allows.
#[derive(Debug)]
pub(super) struct GroReceiver {
    enabled: bool,
    cmsg: Vec<u8>,
}

impl GroReceiver {
    /// Turns `UDP_GRO` on for `udp` when `requested` (and the kernel accepts it).
    pub(super) fn new(udp: &UdpSocket, requested: bool) -> Self {
        let enabled = requested && cfg!(target_os = "linux") && enable(udp);
        Self {
            enabled,
            cmsg: nix::cmsg_space!(i32),
        }
    }

    /// Whether receives may be coalesced.
    #[cfg(test)]
    fn enabled(&self) -> bool {
        self.enabled
    }

    /// Waits for the next receive.
    pub(super) async fn recv(&mut self, udp: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
        if !self.enabled {
            let (len, src) = udp.recv_from(buf).await?;
            return Ok(Received {
                len,
                src,
                segment: len,
                dropped: 0,
            });
        }
        loop {
            udp.readable().await?;
            match self.try_recv(udp, buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return r,
            }
        }
    }

    /// The next receive if one is ready (`WouldBlock` otherwise).
    pub(super) fn try_recv(&mut self, udp: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
        if !self.enabled {
            let (len, src) = udp.try_recv_from(buf)?;
            return Ok(Received {
                len,
                src,
                segment: len,
                dropped: 0,
            });
        }
        let cmsg = &mut self.cmsg;
        udp.try_io(Interest::READABLE, || recv_coalesced(udp, buf, cmsg))
    }
}

fn enable(udp: &UdpSocket) -> bool {
    match setsockopt(udp, sockopt::UdpGroSegment, &true) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(error = %e, "UDP GRO refused; receiving datagrams one by one");
            false
        }
    }
}

/// One `recvmsg` with the `UDP_GRO` control message parsed. `MSG_TRUNC` makes the kernel
/// report the coalesced length even when `buf` holds less, so a receive that did not fit
/// still delivers its whole datagrams and counts the rest ([`fit`]).
fn recv_coalesced(udp: &UdpSocket, buf: &mut [u8], cmsg: &mut [u8]) -> io::Result<Received> {
    let cap = buf.len();
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrStorage>(
        udp.as_raw_fd(),
        &mut iov,
        Some(cmsg),
        MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
    )
    .map_err(io::Error::from)?;
    let full = msg.bytes;
    let mut segment = full;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::UdpGroSegments(size) = c {
            segment = usize::try_from(size).unwrap_or(full);
        }
    }
    let src = msg
        .address
        .as_ref()
        .and_then(socket_addr)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no source address"))?;
    let (len, dropped) = fit(full, segment, cap);
    Ok(Received {
        len,
        src,
        segment,
        dropped,
    })
}

/// What a `cap`-byte buffer holds of a receive of `full` bytes cut in `segment`-byte
/// datagrams: the bytes of the datagrams that fit whole, and how many datagrams did not (a
/// datagram cut short is one of those: it is lost, not delivered in part).
fn fit(full: usize, segment: usize, cap: usize) -> (usize, usize) {
    if full <= cap {
        return (full, 0);
    }
    let segment = segment.max(1);
    let whole = cap / segment;
    (whole * segment, full.div_ceil(segment) - whole)
}

fn socket_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
    addr.as_sockaddr_in()
        .map(|v4| SocketAddrV4::from(*v4).into())
        .or_else(|| {
            addr.as_sockaddr_in6()
                .map(|v6| SocketAddrV6::from(*v6).into())
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::gso::GsoBatch;
    use super::*;

    /// A receive that fits is delivered whole; one that does not keeps the datagrams that fit
    /// whole and counts the others, the one cut short included.
    #[test]
    fn truncated_receives_keep_whole_datagrams_and_count_the_rest() {
        // 64 datagrams of 1452 bytes, the last 100: 91,576 bytes.
        let full = 63 * 1452 + 100;
        assert_eq!(fit(full, 1452, 64 * 2048), (full, 0));
        assert_eq!(fit(full, 1452, full), (full, 0));
        // 65,536 bytes hold 45 datagrams and 196 bytes of the 46th.
        assert_eq!(fit(full, 1452, 65_536), (45 * 1452, 19));
        // The buffer ends exactly between two datagrams.
        assert_eq!(fit(full, 1452, 10 * 1452), (10 * 1452, 54));
        // A single datagram larger than the buffer is lost whole.
        assert_eq!(fit(3000, 3000, 2048), (0, 1));
        // No data at all is one empty datagram, delivered.
        assert_eq!(fit(0, 0, 2048), (0, 0));
    }

    /// A coalesced receive larger than the buffer: the kernel reports the full length, the
    /// datagrams that fit whole arrive intact and the rest are counted.
    #[tokio::test]
    async fn a_batch_larger_than_the_buffer_keeps_what_fits() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut gro = GroReceiver::new(&rx, true);
        if !cfg!(target_os = "linux") || !gro.enabled() {
            eprintln!("skipped: no UDP GRO on this kernel");
            return;
        }
        let mut batch = GsoBatch::new(true);
        let sent: Vec<Vec<u8>> = (0..40u32)
            .map(|i| (0..1200).map(|j| (i * 3 + j) as u8).collect())
            .collect();
        for d in &sent {
            batch.push(&tx, rx.local_addr().unwrap(), d).await;
        }
        batch.flush(&tx).await;
        // 10,000 bytes: 8 whole datagrams and 400 bytes of the 9th.
        let mut buf = vec![0u8; 10_000];
        let r = gro.recv(&rx, &mut buf).await.unwrap();
        let got: Vec<Vec<u8>> = r.datagrams(&buf).map(<[u8]>::to_vec).collect();
        assert_eq!(got, sent[..8]);
        assert_eq!(r.dropped, 32);
    }

    /// A GSO batch of 40 datagrams (the last one short) arrives as whole datagrams with their
    /// contents and order intact, in a single receive on Linux.
    #[tokio::test]
    async fn gso_batch_arrives_as_its_datagrams() {
        let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut gro = GroReceiver::new(&rx, true);
        let mut batch = GsoBatch::new(true);
        let sent: Vec<Vec<u8>> = (0..40u32)
            .map(|i| {
                let len = if i == 39 { 300 } else { 1200 };
                (0..len).map(|j| (i * 7 + j) as u8).collect()
            })
            .collect();
        for d in &sent {
            batch.push(&tx, rx.local_addr().unwrap(), d).await;
        }
        batch.flush(&tx).await;
        let mut buf = vec![0u8; 65_536];
        let (mut got, mut receives) = (Vec::new(), 0);
        while got.len() < sent.len() {
            let r = gro.recv(&rx, &mut buf).await.unwrap();
            assert_eq!(r.src, tx.local_addr().unwrap());
            receives += 1;
            got.extend(r.datagrams(&buf).map(<[u8]>::to_vec));
        }
        assert_eq!(got, sent);
        if cfg!(target_os = "linux") {
            assert!(gro.enabled(), "the kernel refused UDP_GRO");
            assert_eq!(
                receives, 1,
                "a loopback GSO batch should arrive in one receive"
            );
        }
    }
}
