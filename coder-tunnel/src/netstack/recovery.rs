//! SACK-driven repair of lost TCP segments, below smoltcp: the stack's output and the peer's
//! ACKs both pass through here, so lost segments can be sent again as soon as the peer's SACK
//! blocks show them missing, instead of when smoltcp would.
//!
//! Why: smoltcp 0.14 as a sender ignores SACK, fast-retransmits only the first unacknowledged
//! segment on the third duplicate ACK and has no NewReno partial-ACK recovery; a second loss
//! in the same window waits for its retransmission timeout (never below 1 s) and is then
//! repaired go-back-N, resending the whole window. A drop-tail queue that overflows, such as
//! the UDP socket of a wireguard-go peer (its default 208 KiB receive buffer holds about a
//! hundred datagrams), drops runs of segments, so every overflow cost a second of silence:
//! the upload into wireguard-go ran at a tenth of kernel TCP's speed over the same path.
//! Kernel TCP (SACK, RACK) loses as much there and barely slows down.
//!
//! How: every data segment smoltcp emits is copied, by flow, until cumulatively ACKed. The
//! peer's ACKs (every SACK-capable stack sends SACK blocks: smoltcp asks for them in its SYN,
//! and Linux does so too) mark copies SACKed. Loss is inferred the way RACK (RFC 8985) does,
//! with transmission order instead of time: a segment is lost once a segment sent
//! [`REORDER_WINDOW`] or more transmissions after its latest transmission was delivered (the
//! packet-count form of RFC 6675's DupThresh = 3, tolerating the same reordering as
//! fast retransmit). A lost copy goes out again with the flow's latest ACK number and
//! window, and counts as a new transmission, so a lost repair is itself repaired once later
//! segments are delivered. smoltcp still sees every ACK, keeps its congestion control (the
//! duplicate ACKs still trigger its fast retransmit and window reduction once) and its
//! timeout as the fallback for losses no later delivery reveals (a lost tail).
//!
//! Repairs only replace segments the peer never got, so they add no load beyond what smoltcp
//! already counts in flight. Memory: one packet copy per unacknowledged segment, bounded by
//! the flows' send windows. The module is sans-IO: packets and the clock are parameters.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    IpAddress, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket, TcpRepr, TcpSeqNumber,
};

use super::device::set_tcp_word;
use crate::buf::BufPool;

/// How many transmissions after a segment's latest one a delivered segment must have been
/// sent for the segment to count as lost.
pub const REORDER_WINDOW: u64 = 3;

/// A gap between two data transmissions of one flow, with data unacknowledged, at least this
/// long counts as a stall: longer than Linux's minimum retransmission timeout (200 ms), so
/// ACK clocking does not explain it.
pub const STALL_GAP: Duration = Duration::from_millis(200);

/// What the loss repair saw and did, summed over flows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryStats {
    /// TCP segments with payload the stack emitted (retransmissions included).
    pub data_segments: u64,
    /// Of those, the stack's own retransmissions (a sequence number sent before).
    pub stack_retransmits: u64,
    /// Segments sent again here after SACK blocks showed them lost.
    pub repairs: u64,
    /// Transmission gaps of at least [`STALL_GAP`] with data unacknowledged.
    pub stalls: u64,
    /// Their total length.
    pub stalled: Duration,
}

/// Our endpoint and the peer's.
type FlowKey = (IpAddress, u16, IpAddress, u16);

/// One unacknowledged data segment.
#[derive(Debug)]
struct Sent {
    seq: TcpSeqNumber,
    end: TcpSeqNumber,
    /// Place of this segment's latest transmission in the flow's transmission order.
    order: u64,
    sacked: bool,
    packet: Vec<u8>,
}

#[derive(Debug)]
struct Flow {
    /// By sequence number, contiguous.
    sent: VecDeque<Sent>,
    /// Transmissions so far (the next one's order).
    transmissions: u64,
    /// Highest transmission order known delivered (ACKed or SACKed).
    delivered: u64,
    /// ACK number and window field of the stack's latest segment, raw.
    ack_window: Option<([u8; 4], [u8; 2])>,
    last_data: Instant,
}

/// The repair state of every flow. See the module docs.
#[derive(Debug, Default)]
pub struct Recovery {
    flows: HashMap<FlowKey, Flow>,
    stats: RecoveryStats,
    /// Only observe (counters), never repair.
    off: bool,
}

/// The fields of a TCP segment this module reads, and where its TCP header starts.
struct Parsed<'a> {
    key: FlowKey,
    tcp_start: usize,
    tcp: TcpPacket<&'a [u8]>,
    src: IpAddress,
    dst: IpAddress,
}

/// Parses an IP packet carrying TCP (IPv4 unfragmented, IPv6 without extension headers: what
/// smoltcp and ordinary peers send). `key` is (source, destination).
fn parse(packet: &[u8]) -> Option<Parsed<'_>> {
    let (src, dst, tcp_start) = match packet.first()? >> 4 {
        4 => {
            let ip = Ipv4Packet::new_checked(packet).ok()?;
            if ip.next_header() != IpProtocol::Tcp || ip.more_frags() || ip.frag_offset() != 0 {
                return None;
            }
            let start = usize::from(ip.header_len());
            (
                IpAddress::Ipv4(ip.src_addr()),
                IpAddress::Ipv4(ip.dst_addr()),
                start,
            )
        }
        6 => {
            let ip = Ipv6Packet::new_checked(packet).ok()?;
            if ip.next_header() != IpProtocol::Tcp {
                return None;
            }
            (
                IpAddress::Ipv6(ip.src_addr()),
                IpAddress::Ipv6(ip.dst_addr()),
                40,
            )
        }
        _ => return None,
    };
    let tcp = TcpPacket::new_checked(packet.get(tcp_start..)?).ok()?;
    Some(Parsed {
        key: (src, tcp.src_port(), dst, tcp.dst_port()),
        tcp_start,
        tcp,
        src,
        dst,
    })
}

impl Recovery {
    /// Counters so far.
    pub fn stats(&self) -> RecoveryStats {
        self.stats
    }

    /// Turns repairs on (the default) or off; off, the counters still run, so smoltcp's own
    /// recovery can be measured.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.off = !enabled;
    }

    /// Flows with unacknowledged data.
    pub fn flows(&self) -> usize {
        self.flows.len()
    }

    /// Records a packet the stack sends at `now`; data segments are copied into buffers from
    /// `pool`.
    pub fn on_outgoing(&mut self, packet: &[u8], now: Instant, pool: &mut BufPool) {
        let Some(p) = parse(packet) else {
            return;
        };
        if p.tcp.rst() {
            self.forget(p.key, pool);
            return;
        }
        let len = p.tcp.payload().len();
        let raw = &packet[p.tcp_start..];
        let ack_window = ([raw[8], raw[9], raw[10], raw[11]], [raw[14], raw[15]]);
        if len == 0 || p.tcp.syn() {
            if let Some(flow) = self.flows.get_mut(&p.key) {
                flow.ack_window = Some(ack_window);
            }
            return;
        }
        self.stats.data_segments += 1;
        let seq = p.tcp.seq_number();
        let end = seq + len;
        let flow = self.flows.entry(p.key).or_insert_with(|| Flow {
            sent: VecDeque::new(),
            transmissions: 0,
            delivered: 0,
            ack_window: None,
            last_data: now,
        });
        flow.ack_window = Some(ack_window);
        let gap = now.saturating_duration_since(flow.last_data);
        if !flow.sent.is_empty() && gap >= STALL_GAP {
            self.stats.stalls += 1;
            self.stats.stalled += gap;
        }
        flow.last_data = now;
        let order = flow.transmissions;
        flow.transmissions += 1;
        let next = flow.sent.back().map(|s| s.end);
        match next {
            Some(next) if seq < next => {
                // The stack sent this again (its fast retransmit or timeout): a new
                // transmission of the copy we hold, if the boundaries match.
                self.stats.stack_retransmits += 1;
                let i = flow.sent.partition_point(|s| s.seq < seq);
                if let Some(s) = flow.sent.get_mut(i).filter(|s| s.seq == seq) {
                    s.order = order;
                }
            }
            _ => {
                if next.is_some_and(|next| seq != next) {
                    // A hole we never saw sent: start over from this segment.
                    for s in flow.sent.drain(..) {
                        pool.put(s.packet);
                    }
                }
                let mut copy = pool.get();
                copy.clear();
                copy.extend_from_slice(packet);
                flow.sent.push_back(Sent {
                    seq,
                    end,
                    order,
                    sacked: false,
                    packet: copy,
                });
            }
        }
    }

    /// Reads a packet from the peer; segments it shows lost are appended to `repairs` (from
    /// `pool`).
    pub fn on_incoming(
        &mut self,
        packet: &[u8],
        pool: &mut BufPool,
        repairs: &mut VecDeque<Vec<u8>>,
    ) {
        let Some(p) = parse(packet) else {
            return;
        };
        let (src, sport, dst, dport) = p.key;
        let key = (dst, dport, src, sport);
        if !self.flows.contains_key(&key) {
            return;
        }
        if p.tcp.rst() {
            self.forget(key, pool);
            return;
        }
        if !p.tcp.ack() {
            return;
        }
        let ack = p.tcp.ack_number();
        let sack = if p.tcp.header_len() > 20 {
            TcpRepr::parse(&p.tcp, &p.src, &p.dst, &ChecksumCapabilities::ignored())
                .map(|r| r.sack_ranges)
                .unwrap_or_default()
        } else {
            [None; 3]
        };
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        while flow.sent.front().is_some_and(|s| s.end <= ack) {
            if let Some(s) = flow.sent.pop_front() {
                flow.delivered = flow.delivered.max(s.order);
                pool.put(s.packet);
            }
        }
        let mut sacked_any = false;
        for (left, right) in sack.into_iter().flatten() {
            sacked_any = true;
            let (left, right) = (TcpSeqNumber(left as i32), TcpSeqNumber(right as i32));
            let first = flow.sent.partition_point(|s| s.seq < left);
            for s in flow.sent.range_mut(first..) {
                if s.end > right {
                    break;
                }
                if !s.sacked {
                    s.sacked = true;
                    flow.delivered = flow.delivered.max(s.order);
                }
            }
        }
        if sacked_any && !self.off {
            Self::repair(flow, pool, repairs, &mut self.stats);
        }
        if flow.sent.is_empty() {
            self.flows.remove(&key);
        }
    }

    /// Sends again every copy that later deliveries show lost.
    fn repair(
        flow: &mut Flow,
        pool: &mut BufPool,
        repairs: &mut VecDeque<Vec<u8>>,
        stats: &mut RecoveryStats,
    ) {
        // Transmission order is not sequence order once copies were sent again: scan all.
        for s in flow.sent.iter_mut() {
            if s.sacked || s.order + REORDER_WINDOW > flow.delivered {
                continue;
            }
            let mut out = pool.get();
            out.clear();
            out.extend_from_slice(&s.packet);
            if let (Some((ack, window)), Some(p)) = (flow.ack_window, parse(&s.packet)) {
                let tcp = &mut out[p.tcp_start..];
                set_tcp_word(tcp, 8, u16::from_be_bytes([ack[0], ack[1]]));
                set_tcp_word(tcp, 10, u16::from_be_bytes([ack[2], ack[3]]));
                set_tcp_word(tcp, 14, u16::from_be_bytes(window));
            }
            repairs.push_back(out);
            s.order = flow.transmissions;
            flow.transmissions += 1;
            stats.repairs += 1;
        }
    }

    fn forget(&mut self, key: FlowKey, pool: &mut BufPool) {
        if let Some(flow) = self.flows.remove(&key) {
            for s in flow.sent {
                pool.put(s.packet);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::time::{Duration, Instant};

    use smoltcp::wire::{
        IpAddress, Ipv6Address, Ipv6Packet, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    };

    use super::{Recovery, RecoveryStats};
    use crate::buf::BufPool;
    use crate::netstack::device::tests::v6_packet;

    const US: Ipv6Address = Ipv6Address::new(0xfd7a, 0, 0, 0, 0, 0, 0, 1);
    const PEER: Ipv6Address = Ipv6Address::new(0xfd7a, 0, 0, 0, 0, 0, 0, 2);
    const MSS: i32 = 100;

    fn segment(
        from_us: bool,
        seq: i32,
        ack: i32,
        sack: [Option<(u32, u32)>; 3],
        payload: &[u8],
    ) -> Vec<u8> {
        let (src, dst, sport, dport) = if from_us {
            (US, PEER, 40_000, 5000)
        } else {
            (PEER, US, 5000, 40_000)
        };
        let tcp = TcpRepr {
            src_port: sport,
            dst_port: dport,
            control: TcpControl::None,
            seq_number: TcpSeqNumber(seq),
            ack_number: Some(TcpSeqNumber(ack)),
            window_len: 1000,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: sack,
            timestamp: None,
            payload,
        };
        v6_packet(src, dst, &tcp)
    }

    /// (seq, ack) of a repair, with its checksum verified.
    fn seq_ack(packet: &[u8]) -> (i32, i32) {
        let ip = Ipv6Packet::new_checked(packet).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum(&IpAddress::Ipv6(US), &IpAddress::Ipv6(PEER)));
        (tcp.seq_number().0, tcp.ack_number().0)
    }

    /// Ten segments from sequence 0, segments 2 and 3 lost: each is repaired once a segment
    /// sent three transmissions after it is SACKed, once, carrying the latest ACK number; a
    /// repair lost again is repaired again once segments sent three after it arrive.
    #[test]
    fn repairs_segments_three_later_deliveries_show_lost() {
        let (mut r, mut pool, mut out) =
            (Recovery::default(), BufPool::new(2048, 64), VecDeque::new());
        let t0 = Instant::now();
        let data = [7u8; MSS as usize];
        for i in 0..10 {
            r.on_outgoing(&segment(true, i * MSS, 1, [None; 3], &data), t0, &mut pool);
        }
        // A pure ACK of ours moves the ACK number repairs carry.
        r.on_outgoing(&segment(true, 10 * MSS, 9, [None; 3], &[]), t0, &mut pool);
        let ack = |sacked_to: i32| {
            segment(
                false,
                1,
                2 * MSS,
                [Some((400, sacked_to as u32)), None, None],
                &[],
            )
        };
        r.on_incoming(&ack(500), &mut pool, &mut out);
        assert!(out.is_empty(), "within the reordering window");
        // Segment 5 is three transmissions after segment 2, segment 6 after segment 3.
        r.on_incoming(&ack(600), &mut pool, &mut out);
        let repairs: Vec<_> = out.drain(..).map(|p| seq_ack(&p)).collect();
        assert_eq!(repairs, vec![(200, 9)]);
        r.on_incoming(&ack(700), &mut pool, &mut out);
        let repairs: Vec<_> = out.drain(..).map(|p| seq_ack(&p)).collect();
        assert_eq!(repairs, vec![(300, 9)]);
        r.on_incoming(&ack(1000), &mut pool, &mut out);
        assert!(
            out.is_empty(),
            "nothing sent after the repairs was delivered yet"
        );
        // Segment 3's repair arrives, segment 2's was lost; three new segments arrive.
        r.on_incoming(
            &segment(false, 1, 2 * MSS, [Some((300, 1000)), None, None], &[]),
            &mut pool,
            &mut out,
        );
        for i in 10..13 {
            r.on_outgoing(&segment(true, i * MSS, 9, [None; 3], &data), t0, &mut pool);
        }
        r.on_incoming(
            &segment(false, 1, 2 * MSS, [Some((300, 1300)), None, None], &[]),
            &mut pool,
            &mut out,
        );
        let repairs: Vec<_> = out.drain(..).map(|p| seq_ack(&p)).collect();
        assert_eq!(repairs, vec![(200, 9)]);
        r.on_incoming(
            &segment(false, 1, 13 * MSS, [None; 3], &[]),
            &mut pool,
            &mut out,
        );
        assert_eq!(r.flows(), 0, "everything acknowledged");
        assert_eq!(
            r.stats(),
            RecoveryStats {
                data_segments: 13,
                stack_retransmits: 0,
                repairs: 3,
                stalls: 0,
                stalled: Duration::ZERO,
            }
        );
    }

    /// The stack's own retransmissions are counted, and a resend after a long silence with
    /// data unacknowledged is a stall; off, nothing is repaired.
    #[test]
    fn counts_stack_retransmits_and_stalls_and_repairs_nothing_when_off() {
        let (mut r, mut pool, mut out) =
            (Recovery::default(), BufPool::new(2048, 64), VecDeque::new());
        r.set_enabled(false);
        let t0 = Instant::now();
        let data = [7u8; MSS as usize];
        for i in 0..6 {
            r.on_outgoing(&segment(true, i * MSS, 1, [None; 3], &data), t0, &mut pool);
        }
        r.on_incoming(
            &segment(false, 1, 0, [Some((100, 600)), None, None], &[]),
            &mut pool,
            &mut out,
        );
        assert!(out.is_empty());
        r.on_outgoing(
            &segment(true, 0, 1, [None; 3], &data),
            t0 + Duration::from_secs(1),
            &mut pool,
        );
        assert_eq!(
            r.stats(),
            RecoveryStats {
                data_segments: 7,
                stack_retransmits: 1,
                repairs: 0,
                stalls: 1,
                stalled: Duration::from_secs(1),
            }
        );
    }
}
