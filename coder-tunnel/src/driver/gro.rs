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
/// shorter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Received {
    pub(super) len: usize,
    pub(super) src: SocketAddr,
    pub(super) segment: usize,
}

impl Received {
    /// The datagrams of this receive within `buf` (an empty datagram is one empty slice).
    pub(super) fn datagrams<'a>(&self, buf: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let all = &buf[..self.len];
        all.chunks(self.segment.max(1))
            .chain(all.is_empty().then_some(all))
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

/// One `recvmsg` with the `UDP_GRO` control message parsed.
fn recv_coalesced(udp: &UdpSocket, buf: &mut [u8], cmsg: &mut [u8]) -> io::Result<Received> {
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrStorage>(
        udp.as_raw_fd(),
        &mut iov,
        Some(cmsg),
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    if msg.flags.contains(MsgFlags::MSG_TRUNC) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "UDP receive truncated",
        ));
    }
    let len = msg.bytes;
    let mut segment = len;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::UdpGroSegments(size) = c {
            segment = usize::try_from(size).unwrap_or(len);
        }
    }
    let src = msg
        .address
        .as_ref()
        .and_then(socket_addr)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no source address"))?;
    Ok(Received { len, src, segment })
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
