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
//! fast retransmit). A copy sent again and shown delivered sooner than the minimum RTT
//! after that was delivered by an earlier transmission, so its latest place in the order
//! says nothing (RFC 8985 §6.2 step 2): behind a deep queue smoltcp's go-back-N resends
//! segments whose originals are still queued, and taking their deliveries for the resends'
//! showed every segment sent in between lost, a flood of spurious repairs that overflowed
//! the queue again. The window widens while repairs turn out spurious, delivered sooner
//! than a round trip after they were sent (see [`MAX_REORDER_WINDOW`]); the stack's own
//! retransmissions and probes, not chosen by the window, are no evidence about it. A lost
//! copy goes out again with the flow's latest ACK number and window, and counts as a new
//! transmission, so a lost repair is itself repaired once later segments are delivered.
//!
//! Load: repairs follow packet conservation (RFC 6675's pipe accounting, in its simplest
//! per-ACK form): each ACK of a peer that sends SACK blocks allows as many repairs as the
//! segments it newly shows delivered (cumulatively or by SACK), and each of the stack's own
//! retransmissions in answer uses one of those. A repair thus only replaces a segment that
//! left the network, and the data in flight does not grow while segments are repaired.
//! Repairs are chosen after the stack has answered the ACKs that allowed them
//! ([`Recovery::repair`]), so a segment smoltcp fast-retransmits is not also repaired. A
//! lost tail, which no later delivery reveals, is found by a probe instead: with no ACK for
//! twice the smoothed RTT (at least [`MIN_PROBE_TIMEOUT`], doubling while unanswered), the
//! lowest unacknowledged segment goes out again, and the ACK it draws resumes repairs
//! (RACK-TLP, RFC 8985, in short).
//! smoltcp still sees every ACK and keeps its congestion control: the duplicate ACKs still
//! trigger its fast retransmit and window reduction once, it sends new data only as the
//! cumulative ACK advances, and its timeout stays the last fallback; after that timeout it
//! resends the whole window, SACKed segments included, as it would without this module.
//!
//! FIN: a FIN takes a sequence number, so the segment carrying it is copied and probed for
//! like data, with or without SACK, and a flow lasts until the FIN is ACKed. This also covers
//! a smoltcp 0.14 sender bug: once every byte but the FIN is ACKed, a third duplicate ACK
//! (the receiver ignored the FIN because it came before a hole, then a late copy of some
//! segment drew ACKs) makes it fast-retransmit, and with its send buffer empty it sends
//! nothing, yet disarms its retransmission timer: the FIN would never be sent again and the
//! connection would stay in FIN-WAIT-1 (or LAST-ACK) for good. The probe resends it.
//!
//! Memory: one packet copy per unacknowledged segment, bounded by the flows' send windows,
//! none while repair is off. A flow's state goes when everything sent is ACKed (so after a
//! FIN exchange), on a RST or SYN either way (a new connection on a reused 4-tuple starts
//! afresh), when the stack drops the socket ([`Recovery::forget`]), and after [`IDLE`]
//! without a packet either way. The module is sans-IO: packets and the clock are parameters.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    IpAddress, IpEndpoint, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket, TcpRepr, TcpSeqNumber,
};

use super::device::set_tcp_word;
use crate::buf::BufPool;

/// How many transmissions after a segment's latest one a delivered segment must have been
/// sent for the segment to count as lost, at first and at least (see [`Rtt::reorder`]).
pub const REORDER_WINDOW: u64 = 3;

/// The widest a flow's reordering window grows, in transmissions.
pub const MAX_REORDER_WINDOW: u64 = 64;

/// A gap between two data transmissions of one flow, with data unacknowledged, at least this
/// long counts as a stall: longer than Linux's minimum retransmission timeout (200 ms), so
/// ACK clocking does not explain it.
pub const STALL_GAP: Duration = Duration::from_millis(200);

/// The shortest wait for an ACK before a probe for a lost tail (RFC 8985's floor for its
/// probe timeout).
pub const MIN_PROBE_TIMEOUT: Duration = Duration::from_millis(10);

/// A flow without a packet either way for this long is forgotten: twice smoltcp's longest
/// retransmission timeout (60 s), so a socket that still holds unacknowledged data has
/// retransmitted in the meantime; a flow this quiet lost its socket.
pub const IDLE: Duration = Duration::from_secs(120);

/// What the loss repair saw and did, summed over flows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryStats {
    /// TCP segments with payload or a FIN the stack emitted (retransmissions included).
    pub data_segments: u64,
    /// Of those, the stack's own retransmissions (a sequence number sent before).
    pub stack_retransmits: u64,
    /// Segments sent again here after SACK blocks showed them lost, or as probes.
    pub repairs: u64,
    /// Of those, probes: the lowest unacknowledged segment, sent again after no ACK came for
    /// a probe timeout.
    pub probes: u64,
    /// Repairs found spurious: delivered sooner than a round trip after they were sent (see
    /// [`MAX_REORDER_WINDOW`]).
    pub spurious: u64,
    /// Transmission gaps of at least [`STALL_GAP`] with data unacknowledged.
    pub stalls: u64,
    /// Their total length.
    pub stalled: Duration,
}

/// Our endpoint and the peer's.
type FlowKey = (IpAddress, u16, IpAddress, u16);

/// One unacknowledged segment: data, a FIN, or both.
#[derive(Debug)]
struct Sent {
    seq: TcpSeqNumber,
    /// After the data, and the FIN if `fin`.
    end: TcpSeqNumber,
    fin: bool,
    /// Place of this segment's latest transmission in the flow's transmission order.
    order: u64,
    sacked: bool,
    /// When this segment was last sent, and whether more than once (its delivery is no RTT
    /// sample then).
    sent_at: Instant,
    resent: bool,
    /// Whether that latest transmission was a repair the reordering window chose (the only
    /// kind whose timing is evidence about the window: see [`Rtt`]).
    repaired: bool,
    packet: Vec<u8>,
}

/// One connection with data unacknowledged.
#[derive(Debug)]
struct Flow {
    /// Copies by sequence number, contiguous (none while repair is off).
    sent: VecDeque<Sent>,
    /// End of the highest data (or FIN) sent.
    next: TcpSeqNumber,
    /// The peer's highest cumulative ACK.
    acked: TcpSeqNumber,
    /// Transmissions so far (the next one's order).
    transmissions: u64,
    /// Highest transmission order known delivered (ACKed or SACKed).
    delivered: u64,
    /// Repairs the peer's latest ACKs allow (segments they newly showed delivered, less the
    /// stack's retransmissions since).
    allowance: u64,
    /// Whether the flow waits in [`Recovery::pending`].
    pending: bool,
    /// Whether the peer sent SACK blocks.
    sack_seen: bool,
    /// Whether the stack sent its FIN (probed for even without SACK).
    fin_sent: bool,
    /// ACK number and window field of the stack's latest segment, raw.
    ack_window: Option<([u8; 4], [u8; 2])>,
    last_data: Instant,
    /// The latest packet either way.
    last_seen: Instant,
    /// Round-trip times and the reordering window they adapt.
    rtt: Rtt,
    /// The latest ACK or probe, and probes since an ACK showed a delivery.
    last_ack: Instant,
    probes: u32,
}

/// A flow's round-trip times, and its reordering window, adapted RACK-style (RFC 8985
/// §6.2) in transmissions: a repair delivered sooner than the minimum RTT after it was sent
/// cannot be what arrived, so its original was only reordered and the repair spurious. Each
/// spurious repair widens the window by one transmission (up to [`MAX_REORDER_WINDOW`]);
/// each repair delivered later than that, a real loss, narrows it by one (down to
/// [`REORDER_WINDOW`]). smoltcp sends no D-SACK, so this timing is the only evidence.
#[derive(Debug, Default)]
struct Rtt {
    /// Smoothed round-trip time of segments sent once (RFC 6298's gain of 1/8).
    srtt: Option<Duration>,
    /// The smallest such sample.
    min: Option<Duration>,
    /// Transmissions the window holds beyond [`REORDER_WINDOW`].
    widened: u64,
    /// Spurious repairs seen.
    spurious: u64,
}

impl Rtt {
    /// The reordering window in transmissions.
    fn reorder(&self) -> u64 {
        REORDER_WINDOW + self.widened
    }

    /// Copy `s` shows delivered at `now`: an RTT sample if it was sent once, else evidence
    /// about the reordering window. Returns whether the delivery can be of the copy's latest
    /// transmission: not if that was sent again sooner than the minimum RTT ago, so an
    /// earlier one arrived (RFC 8985 §6.2 step 2), whose place in the transmission order is
    /// unknown; taking it for the latest would show every copy sent before that lost.
    fn on_delivery(&mut self, s: &Sent, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(s.sent_at);
        let early = s.resent && self.min.is_some_and(|min| elapsed < min);
        if !s.resent {
            self.srtt = Some(self.srtt.map_or(elapsed, |srtt| srtt * 7 / 8 + elapsed / 8));
            self.min = Some(self.min.map_or(elapsed, |min| min.min(elapsed)));
        } else if !s.repaired {
            // The stack's own retransmission or a probe: no loss inference to judge.
        } else if early {
            self.spurious += 1;
            self.widened = (self.widened + 1).min(MAX_REORDER_WINDOW - REORDER_WINDOW);
        } else {
            self.widened = self.widened.saturating_sub(1);
        }
        !early
    }
}

/// The repair state of every flow. See the module docs.
#[derive(Debug, Default)]
pub struct Recovery {
    flows: HashMap<FlowKey, Flow>,
    /// Flows with a repair allowance, for the next [`Recovery::repair`].
    pending: Vec<FlowKey>,
    stats: RecoveryStats,
    /// Only observe (counters), never copy or repair.
    off: bool,
    /// When [`Recovery::expire`] next looks for idle flows.
    next_expiry: Option<Instant>,
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

/// Cuts `packet`, a copy of the data segment `p` that carries a FIN, down to the FIN alone
/// (sequence number at the end of the data, no payload), with valid lengths and checksums.
///
/// The peer holds the data but ignored the FIN, as smoltcp 0.14 does with a FIN that comes
/// before a hole. Sent again whole, the segment would not deliver the FIN to smoltcp either:
/// it takes a segment whose data all lies before its window for an old duplicate, FIN and all
/// (it leaves the FIN out of the segment's length).
fn fin_only(packet: &mut Vec<u8>, p: &Parsed<'_>) {
    let header = usize::from(p.tcp.header_len());
    let seq = p.tcp.seq_number() + p.tcp.payload().len();
    let ip_len = p.tcp_start + header;
    packet.truncate(ip_len);
    match (p.src, p.dst) {
        (IpAddress::Ipv4(_), IpAddress::Ipv4(_)) => {
            let mut ip = Ipv4Packet::new_unchecked(&mut packet[..]);
            ip.set_total_len(u16::try_from(ip_len).unwrap_or(u16::MAX));
            ip.fill_checksum();
        }
        _ => {
            let mut ip = Ipv6Packet::new_unchecked(&mut packet[..]);
            ip.set_payload_len(u16::try_from(header).unwrap_or(u16::MAX));
        }
    }
    let mut tcp = TcpPacket::new_unchecked(&mut packet[p.tcp_start..]);
    tcp.set_seq_number(seq);
    tcp.fill_checksum(&p.src, &p.dst);
}

impl Flow {
    fn new(seq: TcpSeqNumber, now: Instant) -> Self {
        Self {
            sent: VecDeque::new(),
            next: seq,
            acked: seq,
            transmissions: 0,
            delivered: 0,
            allowance: 0,
            pending: false,
            sack_seen: false,
            fin_sent: false,
            ack_window: None,
            last_data: now,
            last_seen: now,
            rtt: Rtt::default(),
            last_ack: now,
            probes: 0,
        }
    }

    /// When to probe for a lost tail: twice the smoothed RTT (at least
    /// [`MIN_PROBE_TIMEOUT`]) after the latest ACK, doubling with each unanswered probe.
    /// None while nothing is unacknowledged (the first copy is never SACKed), before an RTT
    /// sample, or if the peer does not SACK and no FIN was sent.
    fn probe_at(&self) -> Option<Instant> {
        let srtt = self
            .rtt
            .srtt
            .filter(|_| (self.sack_seen || self.fin_sent) && !self.sent.is_empty())?;
        let timeout = (2 * srtt).max(MIN_PROBE_TIMEOUT) * (1 << self.probes.min(6));
        Some(self.last_ack + timeout)
    }

    /// Whether a later delivery shows copy `s` lost.
    fn is_lost(&self, s: &Sent) -> bool {
        !s.sacked && s.order + self.rtt.reorder() <= self.delivered
    }

    /// Sends copy `i` again at `now`, with the flow's latest ACK number and window, as the
    /// flow's next transmission.
    fn resend(&mut self, i: usize, now: Instant, pool: &mut BufPool, out: &mut VecDeque<Vec<u8>>) {
        let Some(s) = self.sent.get_mut(i) else {
            return;
        };
        let mut packet = pool.get();
        packet.clear();
        packet.extend_from_slice(&s.packet);
        if let Some(p) = parse(&s.packet) {
            if s.fin && self.acked >= s.end - 1 && s.end - 1 > s.seq {
                // Only the FIN is unacknowledged: send it alone (see [`fin_only`]).
                fin_only(&mut packet, &p);
            }
            if let Some((ack, window)) = self.ack_window {
                let tcp = &mut packet[p.tcp_start..];
                set_tcp_word(tcp, 8, u16::from_be_bytes([ack[0], ack[1]]));
                set_tcp_word(tcp, 10, u16::from_be_bytes([ack[2], ack[3]]));
                set_tcp_word(tcp, 14, u16::from_be_bytes(window));
            }
        }
        out.push_back(packet);
        s.order = self.transmissions;
        s.sent_at = now;
        s.resent = true;
        s.repaired = false;
        self.transmissions += 1;
    }

    /// Takes the copies up to `ack` off and marks those in `sack` SACKed; returns how many
    /// segments this newly shows delivered.
    fn on_ack(
        &mut self,
        ack: TcpSeqNumber,
        sack: &[Option<(u32, u32)>; 3],
        now: Instant,
        pool: &mut BufPool,
    ) -> u64 {
        let mut newly = 0;
        self.acked = self.acked.max(ack);
        while self.sent.front().is_some_and(|s| s.end <= ack) {
            if let Some(s) = self.sent.pop_front() {
                if !s.sacked {
                    newly += 1;
                    if self.rtt.on_delivery(&s, now) {
                        self.delivered = self.delivered.max(s.order);
                    }
                }
                pool.put(s.packet);
            }
        }
        for (left, right) in sack.iter().flatten() {
            let (left, right) = (TcpSeqNumber(*left as i32), TcpSeqNumber(*right as i32));
            let first = self.sent.partition_point(|s| s.seq < left);
            for s in self.sent.range_mut(first..) {
                // SACK blocks cover data only, never a FIN.
                if s.end - usize::from(s.fin) > right {
                    break;
                }
                if !s.sacked {
                    s.sacked = true;
                    newly += 1;
                    if self.rtt.on_delivery(s, now) {
                        self.delivered = self.delivered.max(s.order);
                    }
                }
            }
        }
        newly
    }

    /// Sends again at `now`, lowest sequence first, as many copies that later deliveries show
    /// lost as the allowance permits, and spends the allowance.
    fn repair(&mut self, now: Instant, pool: &mut BufPool, out: &mut VecDeque<Vec<u8>>) -> u64 {
        let mut allowance = std::mem::take(&mut self.allowance);
        let mut sent = 0;
        // Transmission order is not sequence order once copies were sent again: scan on.
        let mut i = 0;
        while allowance > 0 && i < self.sent.len() {
            if self.is_lost(&self.sent[i]) {
                self.resend(i, now, pool, out);
                if let Some(s) = self.sent.get_mut(i) {
                    s.repaired = true;
                }
                allowance -= 1;
                sent += 1;
            }
            i += 1;
        }
        sent
    }

    /// Returns the copies' buffers to `pool`.
    fn release(&mut self, pool: &mut BufPool) {
        for s in self.sent.drain(..) {
            pool.put(s.packet);
        }
    }
}

impl Recovery {
    /// Counters so far.
    pub fn stats(&self) -> RecoveryStats {
        self.stats
    }

    /// Turns repairs on (the default) or off; off, the counters still run, so smoltcp's own
    /// recovery can be measured, and no segment is copied.
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
        if p.tcp.rst() || p.tcp.syn() {
            // The connection ends, or one starts on this 4-tuple: whatever was there is stale.
            self.drop_flow(p.key, pool);
            return;
        }
        // A FIN takes a sequence number and is resent like data (see the module docs).
        let len = p.tcp.payload().len() + usize::from(p.tcp.fin());
        let raw = &packet[p.tcp_start..];
        let ack_window = ([raw[8], raw[9], raw[10], raw[11]], [raw[14], raw[15]]);
        if len == 0 {
            if let Some(flow) = self.flows.get_mut(&p.key) {
                flow.ack_window = Some(ack_window);
                flow.last_seen = now;
            }
            return;
        }
        self.stats.data_segments += 1;
        let seq = p.tcp.seq_number();
        let end = seq + len;
        let flow = self
            .flows
            .entry(p.key)
            .or_insert_with(|| Flow::new(seq, now));
        flow.ack_window = Some(ack_window);
        flow.fin_sent |= p.tcp.fin();
        let gap = now.saturating_duration_since(flow.last_data);
        if gap >= STALL_GAP {
            self.stats.stalls += 1;
            self.stats.stalled += gap;
        }
        flow.last_data = now;
        flow.last_seen = now;
        let order = flow.transmissions;
        flow.transmissions += 1;
        if seq < flow.next {
            // The stack sent this again (its fast retransmit or timeout), in answer to the
            // ACKs that allowed repairs: a new transmission of the copy we hold, if the
            // boundaries match.
            self.stats.stack_retransmits += 1;
            flow.allowance = flow.allowance.saturating_sub(1);
            let i = flow.sent.partition_point(|s| s.seq < seq);
            if let Some(s) = flow.sent.get_mut(i).filter(|s| s.seq == seq) {
                s.order = order;
                s.sent_at = now;
                s.resent = true;
                s.repaired = false;
            }
            if flow.next < end {
                flow.next = end;
            }
            return;
        }
        flow.next = end;
        if flow.sent.back().is_some_and(|s| s.end != seq) {
            // A hole we never saw sent: start over from this segment.
            flow.release(pool);
        }
        if self.off {
            return;
        }
        let mut copy = pool.get();
        copy.clear();
        copy.extend_from_slice(packet);
        flow.sent.push_back(Sent {
            seq,
            end,
            fin: p.tcp.fin(),
            order,
            sacked: false,
            sent_at: now,
            resent: false,
            repaired: false,
            packet: copy,
        });
    }

    /// Reads a packet from the peer at `now`. Segments it shows lost go out with the next
    /// [`Recovery::repair`], once the stack has answered it.
    pub fn on_incoming(&mut self, packet: &[u8], now: Instant, pool: &mut BufPool) {
        let Some(p) = parse(packet) else {
            return;
        };
        let (src, sport, dst, dport) = p.key;
        let key = (dst, dport, src, sport);
        if p.tcp.rst() || p.tcp.syn() {
            self.drop_flow(key, pool);
            return;
        }
        if !p.tcp.ack() {
            return;
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        flow.last_seen = now;
        let ack = p.tcp.ack_number();
        if ack >= flow.next {
            // Everything sent arrived (a FIN exchange ends this way too).
            self.drop_flow(key, pool);
            return;
        }
        let sack = if p.tcp.header_len() > 20 {
            TcpRepr::parse(&p.tcp, &p.src, &p.dst, &ChecksumCapabilities::ignored())
                .map(|r| r.sack_ranges)
                .unwrap_or_default()
        } else {
            [None; 3]
        };
        let spurious = flow.rtt.spurious;
        let newly = flow.on_ack(ack, &sack, now, pool);
        self.stats.spurious += flow.rtt.spurious - spurious;
        flow.last_ack = now;
        if newly > 0 {
            flow.probes = 0;
        }
        let sacks = sack.iter().any(Option::is_some);
        flow.sack_seen |= sacks;
        // Without SACK blocks the peer holds nothing beyond the ACK: look for losses (a scan
        // of every copy) only if the first copy is one, as after a lost tail.
        let lost = sacks || flow.sent.front().is_some_and(|s| flow.is_lost(s));
        if flow.sack_seen && newly > 0 && lost && !self.off {
            flow.allowance += newly;
            if !flow.pending {
                flow.pending = true;
                self.pending.push(key);
            }
        }
    }

    /// Appends to `repairs` (from `pool`) the copies the peer's ACKs since the last call show
    /// lost, as many as those ACKs allow (see the module docs). Call it once the stack has
    /// answered those ACKs and its output went through [`Recovery::on_outgoing`].
    pub fn repair(&mut self, now: Instant, pool: &mut BufPool, repairs: &mut VecDeque<Vec<u8>>) {
        for key in self.pending.drain(..) {
            if let Some(flow) = self.flows.get_mut(&key) {
                flow.pending = false;
                self.stats.repairs += flow.repair(now, pool, repairs);
            }
        }
    }

    /// When [`Recovery::on_timer`] next has a probe to send.
    pub fn poll_at(&self) -> Option<Instant> {
        self.flows.values().filter_map(Flow::probe_at).min()
    }

    /// Probes, at `now`, every flow whose peer has not ACKed for its probe timeout: sends
    /// its lowest unacknowledged segment again (appended to `repairs`), so that a lost tail,
    /// which no later delivery reveals, is found by the ACK the probe draws instead of by the
    /// stack's timeout.
    pub fn on_timer(&mut self, now: Instant, pool: &mut BufPool, repairs: &mut VecDeque<Vec<u8>>) {
        if self.off {
            return;
        }
        for flow in self.flows.values_mut() {
            if flow.probe_at().is_some_and(|t| t <= now) {
                flow.resend(0, now, pool, repairs);
                flow.last_ack = now;
                flow.probes += 1;
                self.stats.repairs += 1;
                self.stats.probes += 1;
            }
        }
    }

    /// Forgets the connection between `local` and `remote`: its socket is gone.
    pub fn forget(&mut self, local: IpEndpoint, remote: IpEndpoint, pool: &mut BufPool) {
        self.drop_flow((local.addr, local.port, remote.addr, remote.port), pool);
    }

    /// Forgets flows without a packet either way for [`IDLE`] (looking at most every
    /// `IDLE / 4`).
    pub fn expire(&mut self, now: Instant, pool: &mut BufPool) {
        if self.next_expiry.is_some_and(|t| now < t) {
            return;
        }
        self.next_expiry = Some(now + IDLE / 4);
        self.flows.retain(|_, flow| {
            let keep = now.saturating_duration_since(flow.last_seen) < IDLE;
            if !keep {
                flow.release(pool);
            }
            keep
        });
    }

    fn drop_flow(&mut self, key: FlowKey, pool: &mut BufPool) {
        if let Some(mut flow) = self.flows.remove(&key) {
            flow.release(pool);
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

    use super::{IDLE, MIN_PROBE_TIMEOUT, Recovery, RecoveryStats};
    use crate::buf::BufPool;
    use crate::netstack::device::tests::v6_packet;

    const US: Ipv6Address = Ipv6Address::new(0xfd7a, 0, 0, 0, 0, 0, 0, 1);
    const PEER: Ipv6Address = Ipv6Address::new(0xfd7a, 0, 0, 0, 0, 0, 0, 2);
    const MSS: i32 = 100;
    const DATA: [u8; MSS as usize] = [7; MSS as usize];

    fn tcp(
        from_us: bool,
        control: TcpControl,
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
            control,
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

    fn segment(
        from_us: bool,
        seq: i32,
        ack: i32,
        sack: [Option<(u32, u32)>; 3],
        payload: &[u8],
    ) -> Vec<u8> {
        tcp(from_us, TcpControl::None, seq, ack, sack, payload)
    }

    /// The peer's ACK of `ack` with SACK blocks of (left, right) sequence numbers.
    fn peer_ack(ack: i32, blocks: &[(i32, i32)]) -> Vec<u8> {
        let mut sack = [None; 3];
        for (slot, (l, r)) in sack.iter_mut().zip(blocks) {
            *slot = Some((*l as u32, *r as u32));
        }
        segment(false, 1, ack, sack, &[])
    }

    /// A repair-enabled [`Recovery`] with a pool and a repair queue, at `t0`.
    struct Harness {
        r: Recovery,
        pool: BufPool,
        out: VecDeque<Vec<u8>>,
        t0: Instant,
    }

    impl Harness {
        fn new() -> Self {
            Self {
                r: Recovery::default(),
                pool: BufPool::new(2048, 64),
                out: VecDeque::new(),
                t0: Instant::now(),
            }
        }

        /// The stack sends `n` data segments from segment `first`, ACKing `ack`.
        fn send(&mut self, first: i32, n: i32, ack: i32) {
            for i in first..first + n {
                let p = segment(true, i * MSS, ack, [None; 3], &DATA);
                self.r.on_outgoing(&p, self.t0, &mut self.pool);
            }
        }

        /// The peer's packet arrives and the stack answers nothing.
        fn receive(&mut self, packet: &[u8]) {
            self.r.on_incoming(packet, self.t0, &mut self.pool);
        }

        /// The repairs now due: (seq, ack) of each, checksums verified.
        fn repairs(&mut self) -> Vec<(i32, i32)> {
            self.r.repair(self.t0, &mut self.pool, &mut self.out);
            self.out.drain(..).map(|p| seq_ack(&p)).collect()
        }

        /// The peer's packet arrives, the stack answers nothing, and the repairs now due.
        fn ack(&mut self, packet: &[u8]) -> Vec<(i32, i32)> {
            self.receive(packet);
            self.repairs()
        }
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
        let mut h = Harness::new();
        h.send(0, 10, 1);
        // A pure ACK of ours moves the ACK number repairs carry.
        let pure_ack = segment(true, 10 * MSS, 9, [None; 3], &[]);
        h.r.on_outgoing(&pure_ack, h.t0, &mut h.pool);
        let ack = |sacked_to: i32| peer_ack(2 * MSS, &[(400, sacked_to)]);
        assert_eq!(h.ack(&ack(500)), vec![], "within the reordering window");
        // Segment 5 is three transmissions after segment 2, segment 6 after segment 3.
        assert_eq!(h.ack(&ack(600)), vec![(200, 9)]);
        assert_eq!(h.ack(&ack(700)), vec![(300, 9)]);
        assert_eq!(
            h.ack(&ack(1000)),
            vec![],
            "nothing sent after the repairs was delivered yet"
        );
        // Segment 3's repair arrives, segment 2's was lost; three new segments arrive.
        assert_eq!(h.ack(&peer_ack(2 * MSS, &[(300, 1000)])), vec![]);
        h.send(10, 3, 9);
        assert_eq!(h.ack(&peer_ack(2 * MSS, &[(300, 1300)])), vec![(200, 9)]);
        assert_eq!(h.ack(&peer_ack(13 * MSS, &[])), vec![]);
        assert_eq!(h.r.flows(), 0, "everything acknowledged");
        assert_eq!(
            h.r.stats(),
            RecoveryStats {
                data_segments: 13,
                stack_retransmits: 0,
                repairs: 3,
                probes: 0,
                spurious: 0,
                stalls: 0,
                stalled: Duration::ZERO,
            }
        );
    }

    /// Thirty segments, of which only the last three arrive, then the repairs: every ACK
    /// allows as many repairs as segments it newly shows delivered (here one), lowest sequence
    /// first, never the whole set of lost segments at once; a segment the stack retransmits
    /// itself in answer to an ACK uses that ACK's allowance and is not repaired as well; an
    /// ACK SACKing only the newest repair allows one more, not a resend of every repair older
    /// than it.
    #[test]
    fn repairs_per_ack_are_bounded_by_segments_newly_delivered() {
        let mut h = Harness::new();
        h.send(0, 30, 1);
        // Segment 27 arrives: segments 0..=24 are three or more transmissions older.
        assert_eq!(h.ack(&peer_ack(0, &[(2700, 2800)])), vec![(0, 1)]);
        // Segment 28 arrives, and the stack fast-retransmits segment 0 in answer.
        h.receive(&peer_ack(0, &[(2700, 2900)]));
        h.send(0, 1, 1);
        assert_eq!(
            h.repairs(),
            vec![],
            "the stack's retransmission used the allowance"
        );
        assert_eq!(h.ack(&peer_ack(0, &[(2700, 3000)])), vec![(100, 1)]);
        // Only the newest repair (segment 1) arrives: one more repair, not 24.
        assert_eq!(
            h.ack(&peer_ack(0, &[(100, 200), (2700, 3000)])),
            vec![(200, 1)]
        );
        // A duplicate ACK showing nothing new allows nothing.
        assert_eq!(h.ack(&peer_ack(0, &[(100, 200), (2700, 3000)])), vec![]);
        // Segment 0 (its repair) and 2 arrive: the cumulative ACK moves past 0 and 1 and
        // shows two segments delivered, so two repairs.
        assert_eq!(
            h.ack(&peer_ack(3 * MSS, &[(2700, 3000)])),
            vec![(300, 1), (400, 1)]
        );
        assert_eq!(
            h.r.stats(),
            RecoveryStats {
                data_segments: 31,
                stack_retransmits: 1,
                repairs: 5,
                probes: 0,
                spurious: 0,
                stalls: 0,
                stalled: Duration::ZERO,
            }
        );
    }

    /// A lost tail shows in no later delivery: twice the smoothed RTT after the latest ACK
    /// (10 ms here) the lowest unacknowledged segment goes out again as a probe, the next
    /// probe waits twice as long, and the probe's ACK resumes repairs.
    #[test]
    fn probes_for_a_lost_tail_after_twice_the_rtt() {
        let mut h = Harness::new();
        let ms = Duration::from_millis;
        h.send(0, 5, 1);
        assert_eq!(h.r.poll_at(), None, "no RTT sample yet");
        // Segments 0 and 3 arrive 5 ms after they were sent; 1, 2 and 4 are lost.
        h.r.on_incoming(&peer_ack(MSS, &[(300, 400)]), h.t0 + ms(5), &mut h.pool);
        assert_eq!(h.repairs(), vec![], "nothing three transmissions older");
        let first = h.t0 + ms(5) + MIN_PROBE_TIMEOUT;
        assert_eq!(h.r.poll_at(), Some(first));
        h.r.on_timer(first - ms(1), &mut h.pool, &mut h.out);
        assert!(h.out.is_empty());
        h.r.on_timer(first, &mut h.pool, &mut h.out);
        let probes: Vec<_> = h.out.drain(..).map(|p| seq_ack(&p)).collect();
        assert_eq!(probes, vec![(100, 1)]);
        assert_eq!(h.r.poll_at(), Some(first + 2 * MIN_PROBE_TIMEOUT));
        // The probe arrives: sent after segment 2, so segment 2 is lost; 4 is too recent.
        h.r.on_incoming(
            &peer_ack(2 * MSS, &[(300, 400)]),
            first + ms(5),
            &mut h.pool,
        );
        assert_eq!(h.repairs(), vec![(200, 1)]);
        assert_eq!(h.r.poll_at(), Some(first + ms(5) + MIN_PROBE_TIMEOUT));
        assert_eq!(
            h.r.stats(),
            RecoveryStats {
                data_segments: 5,
                stack_retransmits: 0,
                repairs: 2,
                probes: 1,
                spurious: 0,
                stalls: 0,
                stalled: Duration::ZERO,
            }
        );
    }

    /// A repair delivered sooner than the minimum RTT after it was sent is spurious (its
    /// original was only reordered) and widens the reordering window by one transmission:
    /// after three, a loss needs six later deliveries to show, not three.
    #[test]
    fn spurious_repairs_widen_the_reordering_window() {
        let mut h = Harness::new();
        let ms = Duration::from_millis;
        h.send(0, 8, 1);
        // Segments 3..=7 arrive after 10 ms (the minimum RTT); 0..=2 look lost.
        h.r.on_incoming(&peer_ack(0, &[(300, 800)]), h.t0 + ms(10), &mut h.pool);
        h.r.repair(h.t0 + ms(10), &mut h.pool, &mut h.out);
        let repairs: Vec<_> = h.out.drain(..).map(|p| seq_ack(&p)).collect();
        assert_eq!(repairs, vec![(0, 1), (100, 1), (200, 1)]);
        // 1 ms later the cumulative ACK covers 0..=2: their originals, so three spurious.
        h.r.on_incoming(
            &peer_ack(3 * MSS, &[(300, 800)]),
            h.t0 + ms(11),
            &mut h.pool,
        );
        assert_eq!(h.r.stats().spurious, 3);
        // Segment 8 is lost: five later deliveries are not enough, the sixth is.
        h.send(8, 8, 1);
        let sacked = |to: i32| peer_ack(8 * MSS, &[(900, to)]);
        h.r.on_incoming(&peer_ack(8 * MSS, &[]), h.t0 + ms(20), &mut h.pool);
        h.r.on_incoming(&sacked(1400), h.t0 + ms(30), &mut h.pool);
        assert_eq!(h.repairs(), vec![]);
        h.r.on_incoming(&sacked(1500), h.t0 + ms(30), &mut h.pool);
        assert_eq!(h.repairs(), vec![(800, 1)]);
    }

    /// A delivery sooner than the minimum RTT after a copy was sent again is of an earlier
    /// transmission (RFC 8985 §6.2 step 2): it shows nothing sent before the resend lost, and
    /// as the stack's own retransmission it is no evidence about the reordering window either.
    /// Here the stack resends segment 7 (as smoltcp does go-back-N after its timeout) and the
    /// peer SACKs the original 1 ms later: segments 1..=6, sent earlier than the resend but
    /// not delivered yet, are not taken for lost, and no repair counts as spurious.
    #[test]
    fn an_early_delivery_of_a_resent_copy_shows_no_loss() {
        let mut h = Harness::new();
        let ms = Duration::from_millis;
        h.send(0, 8, 1);
        // Segment 0 arrives after 10 ms: the minimum RTT.
        h.r.on_incoming(&peer_ack(MSS, &[]), h.t0 + ms(10), &mut h.pool);
        let again = segment(true, 7 * MSS, 1, [None; 3], &DATA);
        h.r.on_outgoing(&again, h.t0 + ms(20), &mut h.pool);
        h.r.on_incoming(&peer_ack(MSS, &[(700, 800)]), h.t0 + ms(21), &mut h.pool);
        h.r.repair(h.t0 + ms(21), &mut h.pool, &mut h.out);
        assert_eq!(h.out.len(), 0, "nothing shown lost");
        // Segment 1 arrives: a later transmission than segment 0, so no loss either.
        h.r.on_incoming(
            &peer_ack(2 * MSS, &[(700, 800)]),
            h.t0 + ms(30),
            &mut h.pool,
        );
        h.r.repair(h.t0 + ms(30), &mut h.pool, &mut h.out);
        assert_eq!(h.out.len(), 0);
        let stats = h.r.stats();
        // (smoltcp's retransmissions, repairs, spurious repairs)
        assert_eq!(
            (stats.stack_retransmits, stats.repairs, stats.spurious),
            (1, 0, 0)
        );
    }

    /// A SYN on a 4-tuple, either way, forgets the flow there: the new connection's data, at
    /// sequence numbers below the old one's, is copied (not taken for the stack's
    /// retransmissions) and repaired.
    #[test]
    fn a_syn_on_a_reused_four_tuple_starts_a_fresh_flow() {
        for outgoing in [true, false] {
            let mut h = Harness::new();
            h.send(50, 5, 1);
            assert_eq!(h.r.flows(), 1);
            let syn = tcp(outgoing, TcpControl::Syn, 0, 0, [None; 3], &[]);
            if outgoing {
                h.r.on_outgoing(&syn, h.t0, &mut h.pool);
            } else {
                h.receive(&syn);
            }
            assert_eq!(h.r.flows(), 0, "outgoing SYN: {outgoing}");
            h.send(0, 5, 1);
            assert_eq!(h.ack(&peer_ack(0, &[(300, 400)])), vec![(0, 1)]);
            assert_eq!(
                h.r.stats(),
                RecoveryStats {
                    data_segments: 10,
                    stack_retransmits: 0,
                    repairs: 1,
                    probes: 0,
                    spurious: 0,
                    stalls: 0,
                    stalled: Duration::ZERO,
                },
                "outgoing SYN: {outgoing}"
            );
        }
    }

    /// A flow goes on a RST either way, when the stack drops the socket, and after [`IDLE`]
    /// without a packet either way, counted from the latest.
    #[test]
    fn flows_go_on_rst_forget_and_idleness() {
        let mut h = Harness::new();
        h.send(0, 2, 1);
        h.receive(&tcp(false, TcpControl::Rst, 1, 0, [None; 3], &[]));
        assert_eq!(h.r.flows(), 0, "peer's RST");
        h.send(0, 2, 1);
        let rst = tcp(true, TcpControl::Rst, 200, 1, [None; 3], &[]);
        h.r.on_outgoing(&rst, h.t0, &mut h.pool);
        assert_eq!(h.r.flows(), 0, "our RST");
        h.send(0, 2, 1);
        let ep = |addr: Ipv6Address, port| smoltcp::wire::IpEndpoint::new(addr.into(), port);
        h.r.forget(ep(US, 40_000), ep(PEER, 5000), &mut h.pool);
        assert_eq!(h.r.flows(), 0, "socket dropped");

        h.send(0, 2, 1);
        let minute = Duration::from_secs(60);
        h.r.on_incoming(&peer_ack(MSS, &[]), h.t0 + minute, &mut h.pool);
        h.r.expire(h.t0 + minute + IDLE - Duration::from_secs(1), &mut h.pool);
        assert_eq!(h.r.flows(), 1, "idle for less than IDLE since the ACK");
        h.r.expire(h.t0 + minute + IDLE, &mut h.pool);
        assert_eq!(h.r.flows(), 1, "looked less than IDLE / 4 ago");
        h.r.expire(h.t0 + minute + IDLE + IDLE / 4, &mut h.pool);
        assert_eq!(h.r.flows(), 0, "idle for IDLE");
    }

    /// The stack's own retransmissions are counted, and a resend after a long silence with
    /// data unacknowledged is a stall; off, nothing is copied or repaired.
    #[test]
    fn counts_stack_retransmits_and_stalls_and_copies_nothing_when_off() {
        let mut h = Harness::new();
        h.r.set_enabled(false);
        h.send(0, 6, 1);
        assert_eq!(h.ack(&peer_ack(0, &[(100, 600)])), vec![]);
        let again = segment(true, 0, 1, [None; 3], &DATA);
        h.r.on_outgoing(&again, h.t0 + Duration::from_secs(1), &mut h.pool);
        assert_eq!(h.pool.allocated(), 0, "no copies");
        assert_eq!(h.r.flows(), 1);
        assert_eq!(
            h.r.stats(),
            RecoveryStats {
                data_segments: 7,
                stack_retransmits: 1,
                repairs: 0,
                probes: 0,
                spurious: 0,
                stalls: 1,
                stalled: Duration::from_secs(1),
            }
        );
        assert_eq!(h.ack(&peer_ack(6 * MSS, &[])), vec![]);
        assert_eq!(h.r.flows(), 0, "everything acknowledged");
    }
}
