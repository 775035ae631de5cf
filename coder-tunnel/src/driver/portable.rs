//! One datagram per system call (`send_to`, `recv_from`): the UDP path where `sendmmsg`,
//! `recvmmsg` and UDP GSO/GRO do not exist (macOS, Windows). Same interface as
//! [`super::mmsg`]'s batches of one, so the driver is the same everywhere.

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

use crate::buf::PACKET_BUF;

/// Sends each datagram as it is queued.
#[derive(Debug, Default)]
pub(super) struct BatchSender {
    /// Send system calls made so far.
    pub(super) calls: u64,
}

impl BatchSender {
    /// Sends `payload` to `dst` now, then hands the buffer to `recycle`. A datagram the
    /// network rejects is dropped, as UDP would.
    pub(super) async fn push(
        &mut self,
        udp: &UdpSocket,
        dst: SocketAddr,
        payload: Vec<u8>,
        mut recycle: impl FnMut(Vec<u8>),
    ) {
        if let Err(e) = udp.send_to(&payload, dst).await {
            tracing::debug!(error = %e, "udp send failed");
        }
        self.calls += 1;
        recycle(payload);
    }

    /// Nothing is ever queued.
    pub(super) async fn flush(&mut self, _udp: &UdpSocket, _recycle: impl FnMut(Vec<u8>)) {}
}

/// One received datagram at a time.
#[derive(Debug)]
pub(super) struct BatchReceiver {
    /// One byte more than the core accepts, so an oversized datagram stays oversized.
    buf: Vec<u8>,
    last: Option<(SocketAddr, usize)>,
}

impl Default for BatchReceiver {
    fn default() -> Self {
        Self {
            buf: vec![0; PACKET_BUF + 1],
            last: None,
        }
    }
}

impl BatchReceiver {
    /// Waits for one datagram; returns 1.
    pub(super) async fn recv(&mut self, udp: &UdpSocket) -> io::Result<usize> {
        let (len, src) = udp.recv_from(&mut self.buf).await?;
        self.last = Some((src, len));
        Ok(1)
    }

    /// Takes one datagram if one is ready (`WouldBlock` otherwise).
    pub(super) fn try_recv(&mut self, udp: &UdpSocket) -> io::Result<usize> {
        let (len, src) = udp.try_recv_from(&mut self.buf)?;
        self.last = Some((src, len));
        Ok(1)
    }

    /// The last datagram with its source.
    pub(super) fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        self.last.iter().map(|&(src, len)| (src, &self.buf[..len]))
    }
}
