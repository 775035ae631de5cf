//! A smoltcp [`Device`] backed by two packet queues and a buffer pool: the engine pushes
//! decrypted packets in, smoltcp's output is taken out for encryption. No allocation per
//! packet once the pool is warm.

use std::collections::VecDeque;

use smoltcp::phy::{self, Checksum, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::buf::BufPool;

/// Queue-backed IP device.
#[derive(Debug)]
pub struct QueueDevice {
    pub(super) rx: VecDeque<Vec<u8>>,
    pub(super) tx: VecDeque<Vec<u8>>,
    pub(super) pool: BufPool,
    /// Buffers smoltcp finished reading; returned to `pool` by [`QueueDevice::reclaim`].
    spent: Vec<Vec<u8>>,
    mtu: usize,
}

impl QueueDevice {
    /// A device with this IP MTU.
    pub fn new(mtu: usize) -> Self {
        Self {
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            pool: BufPool::new(mtu, 4096),
            spent: Vec::new(),
            mtu,
        }
    }

    /// Returns buffers smoltcp has consumed to the pool.
    pub fn reclaim(&mut self) {
        for buf in self.spent.drain(..) {
            self.pool.put(buf);
        }
    }
}

/// Hands one received packet to smoltcp.
#[derive(Debug)]
pub struct RxToken<'a> {
    buf: Vec<u8>,
    spent: &'a mut Vec<Vec<u8>>,
}

/// Lets smoltcp write one packet into a pooled buffer.
#[derive(Debug)]
pub struct TxToken<'a> {
    tx: &'a mut VecDeque<Vec<u8>>,
    pool: &'a mut BufPool,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.buf);
        self.spent.push(self.buf);
        r
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = self.pool.get();
        buf.resize(len, 0);
        let r = f(&mut buf);
        shave_tcp_window(&mut buf);
        self.tx.push_back(buf);
        r
    }
}

/// Advertises one window unit less than smoltcp computed on every outgoing TCP segment other
/// than SYN and RST (works around a smoltcp 0.14 receive bug; the cost is `2^shift` bytes of
/// window, 32 for the default 1 MiB buffer).
///
/// smoltcp advertises `free >> shift`, rounded down, so the right edge it shows is
/// `C - (free mod 2^shift)`, where `C` (last byte read + buffer size) never decreases but the
/// remainder moves with every segment: a later ACK can show an edge up to `2^shift - 1` bytes
/// left of an earlier one. A peer may already have sent up to the earlier edge, and smoltcp
/// (`tcp::Socket::process`) trims a segment to its own last advertised edge yet still accepts
/// the segment's FIN, since it only ignores a FIN after a hole *before* the segment: the
/// trimmed tail of the stream is lost. Shown one unit less, a peer's edge is at most
/// `C - 2^shift`, never beyond any edge smoltcp later uses, so nothing is trimmed. Without
/// scaling (shift 0) this costs one byte and is harmless. A one-unit window shows as zero; the
/// peer's zero-window probes and smoltcp's window update once the application reads reopen it.
fn shave_tcp_window(packet: &mut [u8]) {
    let tcp_start = match packet.first().map(|b| b >> 4) {
        // IPv4, not a fragment (smoltcp does not fragment TCP), protocol TCP.
        Some(4)
            if packet.len() >= 20 && packet[9] == 6 && packet[6] & 0x1f == 0 && packet[7] == 0 =>
        {
            usize::from(packet[0] & 0x0f) * 4
        }
        // IPv6 with TCP directly after the fixed header (smoltcp adds no extension headers to TCP).
        Some(6) if packet.len() >= 40 && packet[6] == 6 => 40,
        _ => return,
    };
    let Some(tcp) = packet.get_mut(tcp_start..tcp_start + 20) else {
        return;
    };
    const SYN: u8 = 0x02;
    const RST: u8 = 0x04;
    if tcp[13] & (SYN | RST) != 0 {
        return;
    }
    let window = u16::from_be_bytes([tcp[14], tcp[15]]);
    if window == 0 {
        return;
    }
    set_tcp_word(tcp, 14, window - 1);
}

/// Replaces the 16-bit word at `at` in a TCP header, updating its checksum incrementally
/// (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
pub(super) fn set_tcp_word(tcp: &mut [u8], at: usize, word: u16) {
    let old = u16::from_be_bytes([tcp[at], tcp[at + 1]]);
    tcp[at..at + 2].copy_from_slice(&word.to_be_bytes());
    let checksum = u16::from_be_bytes([tcp[16], tcp[17]]);
    let mut sum = u32::from(!checksum) + u32::from(!old) + u32::from(word);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    let checksum = !(sum as u16);
    tcp[16..18].copy_from_slice(&checksum.to_be_bytes());
}

impl Device for QueueDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let buf = self.rx.pop_front()?;
        Some((
            RxToken {
                buf,
                spent: &mut self.spent,
            },
            TxToken {
                tx: &mut self.tx,
                pool: &mut self.pool,
            },
        ))
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            tx: &mut self.tx,
            pool: &mut self.pool,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        caps.max_burst_size = None;
        // Every packet we receive was authenticated end to end by WireGuard's AEAD (the core
        // only delivers packets that decrypted), which catches any corruption a checksum could;
        // verifying the inner checksums again costs a pass over each packet. Outgoing packets
        // still carry valid checksums: the peer's stack (wireguard-go's kernel TCP) checks them.
        caps.checksum.ipv4 = Checksum::Tx;
        caps.checksum.tcp = Checksum::Tx;
        caps.checksum.udp = Checksum::Tx;
        caps.checksum.icmpv4 = Checksum::Tx;
        caps.checksum.icmpv6 = Checksum::Tx;
        caps
    }
}

#[cfg(test)]
pub(super) mod tests {
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        IpAddress, IpProtocol, Ipv6Address, Ipv6Packet, Ipv6Repr, TcpControl, TcpPacket, TcpRepr,
        TcpSeqNumber,
    };

    use super::shave_tcp_window;

    fn v6_segment(control: TcpControl, window_len: u16) -> Vec<u8> {
        let (src, dst) = (
            Ipv6Address::new(0xfd7a, 0, 0, 0, 0, 0, 0, 1),
            Ipv6Address::new(0xfd7a, 0, 0, 0, 0, 0, 0, 2),
        );
        let tcp = TcpRepr {
            src_port: 1,
            dst_port: 2,
            control,
            seq_number: TcpSeqNumber(7),
            ack_number: Some(TcpSeqNumber(9)),
            window_len,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: b"hello",
        };
        v6_packet(src, dst, &tcp)
    }

    /// `tcp` in an IPv6 packet from `src` to `dst`, checksums valid.
    pub(in crate::netstack) fn v6_packet(
        src: Ipv6Address,
        dst: Ipv6Address,
        tcp: &TcpRepr<'_>,
    ) -> Vec<u8> {
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut buf = vec![0u8; ip.buffer_len() + tcp.buffer_len()];
        let mut packet = Ipv6Packet::new_unchecked(&mut buf[..]);
        ip.emit(&mut packet);
        tcp.emit(
            &mut TcpPacket::new_unchecked(packet.payload_mut()),
            &IpAddress::Ipv6(src),
            &IpAddress::Ipv6(dst),
            &ChecksumCapabilities::default(),
        );
        buf
    }

    /// The window field after shaving, with the TCP checksum verified.
    fn window_of(packet: &[u8]) -> u16 {
        let ip = Ipv6Packet::new_checked(packet).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        let repr = TcpRepr::parse(
            &tcp,
            &IpAddress::Ipv6(ip.src_addr()),
            &IpAddress::Ipv6(ip.dst_addr()),
            &ChecksumCapabilities::default(),
        )
        .unwrap();
        repr.window_len
    }

    #[test]
    fn shaves_one_window_unit_and_keeps_the_checksum_valid() {
        for (window, want) in [
            (32_768, 32_767),
            (1, 0),
            (0, 0),
            (0xffff, 0xfffe),
            (0x100, 0xff),
        ] {
            let mut p = v6_segment(TcpControl::None, window);
            shave_tcp_window(&mut p);
            assert_eq!(window_of(&p), want, "window {window}");
        }
        for control in [TcpControl::Syn, TcpControl::Rst] {
            let mut p = v6_segment(control, 100);
            shave_tcp_window(&mut p);
            assert_eq!(window_of(&p), 100);
        }
    }
}
