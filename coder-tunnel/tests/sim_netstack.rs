//! Userspace TCP through the tunnel, deterministically: netstack → core → simulated network →
//! core → netstack, with the payload's SHA-256 checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use coder_tunnel::coord::Role;
use common::Sim;
use sha2::{Digest, Sha256};

fn payload(len: usize, seed: u8) -> Vec<u8> {
    common::Pattern::bytes(seed, len)
}

struct Flow {
    data: Vec<u8>,
    sent: usize,
    received: Vec<u8>,
}

/// Writes what fits of `out` into the socket and reads everything available into `inn`.
fn pump(
    sim: &mut Sim,
    node: usize,
    handle: coder_tunnel::netstack::SocketHandle,
    out: &mut Flow,
    inn: &mut Flow,
    buf: &mut [u8],
) {
    let sock = sim.stack(node).tcp(handle);
    if sock.may_send() && out.sent < out.data.len() {
        out.sent += sock.send_slice(&out.data[out.sent..]).unwrap();
    }
    while sock.can_recv() {
        let n = sock.recv_slice(buf).unwrap();
        inn.received.extend_from_slice(&buf[..n]);
    }
}

/// Moves `up` bytes client→agent and `down` bytes agent→client over one TCP connection.
fn transfer(sim: &mut Sim, up: usize, down: usize) -> (Flow, Flow) {
    let (client, server) = sim.tcp_pair(0, 1, 5000);
    let mut c2s = Flow {
        data: payload(up, 1),
        sent: 0,
        received: Vec::new(),
    };
    let mut s2c = Flow {
        data: payload(down, 2),
        sent: 0,
        received: Vec::new(),
    };
    let mut buf = vec![0u8; 64 * 1024];
    let limit = sim.now + Duration::from_secs(600);
    while (c2s.received.len() < up || s2c.received.len() < down) && sim.now < limit {
        pump(sim, 0, client, &mut c2s, &mut s2c, &mut buf);
        pump(sim, 1, server, &mut s2c, &mut c2s, &mut buf);
        sim.step();
    }
    (c2s, s2c)
}

#[test]
fn moves_mebibytes_both_ways_through_netstack_and_tunnel() {
    let mut sim = Sim::new(7);
    sim.add_node(1, Role::Client, "10.0.0.1:4001", "10.0.0.1:4001");
    sim.add_node(2, Role::Agent, "10.0.0.2:4002", "10.0.0.2:4002");
    let (up, down) = (3 << 20, 1 << 20);
    let (c2s, s2c) = transfer(&mut sim, up, down);
    assert_eq!(c2s.received.len(), up);
    assert_eq!(s2c.received.len(), down);
    assert_eq!(Sha256::digest(&c2s.received), Sha256::digest(&c2s.data));
    assert_eq!(Sha256::digest(&s2c.received), Sha256::digest(&s2c.data));
    // Buffers are pooled: far fewer allocations than packets.
    let packets = sim.nodes[1].core.stats().delivered + sim.nodes[0].core.stats().delivered;
    assert!(packets > 3_000, "{packets} packets");
    let allocated = sim.stack(0).buffers_allocated() + sim.stack(1).buffers_allocated();
    assert!(
        allocated * 10 < packets,
        "{allocated} buffers for {packets} packets"
    );
    assert_eq!(sim.net.udp_mtu_dropped, 0);
}

#[test]
fn tcp_recovers_from_loss_and_reordering() {
    let mut sim = Sim::new(8);
    sim.link.loss_permille = 5;
    sim.link.jitter = Duration::from_millis(2);
    sim.add_node(1, Role::Client, "10.0.0.1:4001", "10.0.0.1:4001");
    sim.add_node(2, Role::Agent, "10.0.0.2:4002", "10.0.0.2:4002");
    sim.disable_relay();
    let (c2s, _) = transfer(&mut sim, 1 << 20, 0);
    assert!(sim.net.data_lost > 0);
    assert_eq!(c2s.received.len(), 1 << 20);
    assert_eq!(Sha256::digest(&c2s.received), Sha256::digest(&c2s.data));
}

/// A hand-driven TCP peer talking raw IPv4 segments to one [`Netstack`] socket.
mod raw_peer {
    use std::net::Ipv4Addr;

    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    };

    pub(crate) const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    pub(crate) const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    pub(crate) const PEER_PORT: u16 = 40_000;
    pub(crate) const OUR_PORT: u16 = 5000;

    /// A segment from the peer to us.
    pub(crate) fn segment(
        control: TcpControl,
        seq: i32,
        ack: Option<i32>,
        window_scale: Option<u8>,
        payload: &[u8],
    ) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: PEER_PORT,
            dst_port: OUR_PORT,
            control,
            seq_number: TcpSeqNumber(seq),
            ack_number: ack.map(TcpSeqNumber),
            window_len: 65_535,
            window_scale,
            max_seg_size: window_scale.map(|_| 1200),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        };
        let ip = Ipv4Repr {
            src_addr: PEER,
            dst_addr: US,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let caps = ChecksumCapabilities::default();
        let mut buf = vec![0u8; ip.buffer_len() + tcp.buffer_len()];
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.emit(&mut packet, &caps);
        tcp.emit(
            &mut TcpPacket::new_unchecked(packet.payload_mut()),
            &IpAddress::Ipv4(PEER),
            &IpAddress::Ipv4(US),
            &caps,
        );
        buf
    }

    /// (seq, ack, window field, window scale option, SYN) of a segment we sent.
    pub(crate) fn parse(packet: &[u8]) -> (i32, Option<i32>, u16, Option<u8>, bool) {
        let caps = ChecksumCapabilities::default();
        let ip = Ipv4Packet::new_checked(packet).unwrap();
        let ip_repr = Ipv4Repr::parse(&ip, &caps).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        let repr = TcpRepr::parse(
            &tcp,
            &IpAddress::Ipv4(ip_repr.src_addr),
            &IpAddress::Ipv4(ip_repr.dst_addr),
            &caps,
        )
        .unwrap();
        (
            repr.seq_number.0,
            repr.ack_number.map(|a| a.0),
            repr.window_len,
            repr.window_scale,
            repr.control == TcpControl::Syn,
        )
    }
}

/// A peer that fills our receive window exactly to the right edge it was last shown and sets
/// FIN on that final segment must not lose the segment's tail. With window scaling smoltcp
/// advertises `free >> shift`, rounded down, so a later ACK can show a right edge up to
/// `2^shift - 1` bytes left of an earlier one; smoltcp then trims the in-flight final segment
/// to its (shrunk) edge but still accepts its FIN, and the stream ends short (the interop tail
/// loss against wireguard-go).
#[test]
fn fin_on_segment_filling_the_advertised_window_keeps_every_byte() {
    use raw_peer::*;
    use smoltcp::wire::TcpControl;

    let config = coder_tunnel::netstack::NetstackConfig {
        addresses: vec![US.into()],
        ..Default::default()
    };
    let rx_cap = config.tcp_rx_buffer;
    let now = std::time::Instant::now();
    let mut stack = coder_tunnel::netstack::Netstack::new(config, now);
    let handle = stack.tcp_listen(OUR_PORT).unwrap();

    // Handshake; the peer offers window scaling so we scale ours.
    let isn: i32 = 1000;
    stack.receive(&segment(TcpControl::Syn, isn, None, Some(7), &[]));
    stack.poll(now);
    let syn_ack = stack.poll_transmit().expect("SYN-ACK");
    let (our_isn, ack, _, our_scale, syn) = parse(&syn_ack);
    assert!(syn);
    assert_eq!(ack, Some(isn + 1));
    let shift = our_scale.expect("we scale our window");
    assert!(shift > 0, "a 1 MiB buffer needs window scaling");
    let unit = 1usize << shift;
    let our_ack = Some(our_isn.wrapping_add(1));
    stack.receive(&segment(TcpControl::None, isn + 1, our_ack, None, &[]));
    stack.poll(now);
    while let Some(p) = stack.poll_transmit() {
        stack.recycle(p);
    }

    let data = payload(rx_cap, 9);
    let mut next = 0usize; // stream offset of the peer's next byte
    // The right edge (stream offset) of the peer's send window: the furthest edge we showed.
    let mut peer_edge = 0usize;
    let send = |stack: &mut coder_tunnel::netstack::Netstack,
                from: usize,
                to: usize,
                fin: bool,
                peer_edge: &mut usize| {
        let control = if fin {
            TcpControl::Fin
        } else {
            TcpControl::None
        };
        let seq = isn.wrapping_add(1).wrapping_add(from as i32);
        stack.receive(&segment(control, seq, our_ack, None, &data[from..to]));
        stack.poll(now);
        while let Some(p) = stack.poll_transmit() {
            let (_, ack, win, _, _) = parse(&p);
            if let Some(ack) = ack {
                let acked = ack.wrapping_sub(isn + 1) as usize;
                *peer_edge = (*peer_edge).max(acked + ((win as usize) << shift));
            }
            stack.recycle(p);
        }
    };

    // The application does not read: fill the buffer until less than one segment is free.
    // C = rx_cap is the true right edge; the advertised one is C - (free mod unit).
    while rx_cap - next > 1000 {
        let n = (rx_cap - next - 900).min(1200);
        send(&mut stack, next, next + n, false, &mut peer_edge);
        next += n;
    }
    if (rx_cap - next) % unit == unit - 1 {
        send(&mut stack, next, next + 1, false, &mut peer_edge);
        next += 1;
    }
    // The edge the peer now sees; its final segment (data up to it, with FIN) is already in
    // flight when our ACK for the next segment shows the smallest rounded edge, C - (unit - 1).
    let final_edge = peer_edge;
    assert!(final_edge > next + unit && final_edge - next <= 1200);
    let k = ((rx_cap - next) + unit - (unit - 1)) % unit;
    let k = if k == 0 { unit } else { k };
    send(&mut stack, next, next + k, false, &mut peer_edge);
    next += k;
    send(&mut stack, next, final_edge, true, &mut peer_edge);
    let sent = final_edge;

    // The application reads everything; a correct receiver either has every byte and the FIN,
    // or has not taken the FIN and gets the tail again from the peer's retransmission.
    let mut received = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..4 {
        let sock = stack.tcp(handle);
        while sock.can_recv() {
            let n = sock.recv_slice(&mut buf).unwrap();
            received.extend_from_slice(&buf[..n]);
        }
        if !sock.may_recv() {
            break;
        }
        // Retransmit what was not acknowledged, with the FIN.
        stack.poll(now);
        let mut acked = received.len();
        while let Some(p) = stack.poll_transmit() {
            if let (_, Some(ack), _, _, _) = parse(&p) {
                acked = ack.wrapping_sub(isn + 1) as usize;
            }
            stack.recycle(p);
        }
        send(&mut stack, acked.min(sent), sent, true, &mut peer_edge);
    }
    assert!(!stack.tcp(handle).may_recv(), "FIN never accepted");
    assert_eq!(
        received.len(),
        sent,
        "stream ended {} bytes short (window unit {unit})",
        sent as isize - received.len() as isize
    );
    assert!(received == data[..sent], "stream corrupted");
}

/// Two netstacks joined by a one-way bottleneck: a drop-tail queue served at a fixed rate (a
/// wireguard-go peer's UDP socket buffer and its decryption rate), simulated event by event.
mod bottleneck {
    use std::collections::VecDeque;
    use std::net::{IpAddr, Ipv6Addr};
    use std::time::{Duration, Instant};

    use coder_tunnel::netstack::{Netstack, NetstackConfig, RecoveryStats};

    use super::payload;

    /// Packets the queue holds (about what a 208 KiB socket buffer holds of 1.4 KB datagrams).
    pub(crate) const QUEUE: usize = 96;
    /// One packet leaves the queue per this much time (about 0.5 Gbit/s of 1420-byte packets).
    pub(crate) const SERVICE: Duration = Duration::from_micros(22);
    /// Propagation delay each way.
    pub(crate) const DELAY: Duration = Duration::from_micros(100);

    pub(crate) struct Outcome {
        pub(crate) received: Vec<u8>,
        pub(crate) elapsed: Duration,
        pub(crate) dropped: u64,
        pub(crate) sender: RecoveryStats,
    }

    /// The receiver's address.
    pub(crate) const RECEIVER: Ipv6Addr = Ipv6Addr::new(0xfd7a, 0, 0, 0, 0, 0, 0, 2);

    /// A sender's and a receiver's stack, clocks starting at `start`.
    pub(crate) fn stacks(start: Instant) -> (Netstack, Netstack) {
        let stack = |addr: Ipv6Addr| {
            let config = NetstackConfig {
                addresses: vec![IpAddr::V6(addr)],
                mtu: 1420,
                ..NetstackConfig::default()
            };
            Netstack::new(config, start)
        };
        (
            stack(Ipv6Addr::new(0xfd7a, 0, 0, 0, 0, 0, 0, 1)),
            stack(RECEIVER),
        )
    }

    /// Sends `len` bytes from a sender through the bottleneck to a receiver whose ACKs come
    /// back after [`DELAY`]; `repair`: the sender's loss repair on or off.
    pub(crate) fn transfer(len: usize, repair: bool) -> Outcome {
        let start = Instant::now();
        let (mut tx, mut rx) = stacks(start);
        tx.set_loss_repair(repair);
        let server = rx.tcp_listen(5000).unwrap();
        let client = tx.tcp_connect((IpAddr::V6(RECEIVER), 5000).into()).unwrap();
        let data = payload(len, 3);
        let (mut sent, mut received, mut buf) = (0, Vec::new(), vec![0u8; 1 << 16]);
        // The queue (packets waiting, and when the one in service leaves), then the wires.
        let (mut queue, mut busy_until) = (VecDeque::<Vec<u8>>::new(), start);
        let mut forward = VecDeque::<(Instant, Vec<u8>)>::new();
        let mut back = VecDeque::<(Instant, Vec<u8>)>::new();
        let (mut now, mut dropped) = (start, 0);
        while received.len() < len && now < start + Duration::from_secs(120) {
            // Arrivals.
            while forward.front().is_some_and(|(t, _)| *t <= now) {
                let (_, p) = forward.pop_front().unwrap();
                rx.receive(&p);
            }
            while back.front().is_some_and(|(t, _)| *t <= now) {
                let (_, p) = back.pop_front().unwrap();
                tx.receive(&p);
            }
            // Applications.
            let s = tx.tcp(client);
            if s.may_send() && sent < len {
                sent += s.send_slice(&data[sent..]).unwrap();
            }
            tx.poll(now);
            let s = rx.tcp(server);
            while s.can_recv() {
                let n = s.recv_slice(&mut buf).unwrap();
                received.extend_from_slice(&buf[..n]);
            }
            rx.poll(now);
            // Departures: into the queue (or dropped), through it, and the ACKs back.
            while let Some(p) = tx.poll_transmit() {
                if queue.len() < QUEUE {
                    queue.push_back(p);
                } else {
                    dropped += 1;
                }
            }
            while busy_until <= now && !queue.is_empty() {
                busy_until = busy_until.max(now - SERVICE) + SERVICE;
                forward.push_back((busy_until + DELAY, queue.pop_front().unwrap()));
            }
            while let Some(p) = rx.poll_transmit() {
                back.push_back((now + DELAY, p));
            }
            // The next event.
            let mut next = [tx.poll_at(now), rx.poll_at(now)]
                .into_iter()
                .flatten()
                .chain(forward.front().map(|(t, _)| *t))
                .chain(back.front().map(|(t, _)| *t))
                .chain((!queue.is_empty()).then_some(busy_until))
                .min()
                .unwrap_or(now + Duration::from_millis(1));
            if next <= now {
                next = now + Duration::from_micros(1);
            }
            now = next;
        }
        assert_eq!(received, data, "the stream arrived intact");
        Outcome {
            received,
            elapsed: now - start,
            dropped,
            sender: tx.recovery_stats(),
        }
    }
}

/// A drop-tail bottleneck drops runs of segments whenever the sender's window outgrows it.
/// smoltcp alone repairs the first loss of a window by fast retransmit and waits out its
/// 1 s minimum retransmission timeout for the rest, then resends go-back-N; with the SACK
/// repair every loss is resent within a round trip or two, and the transfer never stalls: 41
/// times faster here. It also never idles, so the queue overflows more often; and the
/// receiver, smoltcp, keeps at most 4 out-of-order ranges and discards segments beyond them,
/// which the sender also repairs (more repairs than queue drops). Repairs follow packet
/// conservation, so they do not themselves overflow the queue: an earlier version that resent
/// every segment it found lost at once saw ten times the drops (23,490) and three times the
/// repairs (31,839).
#[test]
fn sack_repair_removes_timeout_stalls_behind_a_drop_tail_bottleneck() {
    let len = 16 << 20;
    let alone = bottleneck::transfer(len, false);
    let repaired = bottleneck::transfer(len, true);
    let summary = |o: &bottleneck::Outcome| {
        (
            o.received.len(),
            o.dropped,
            o.sender.stack_retransmits,
            o.sender.repairs,
            o.sender.probes,
            o.sender.stalls,
            o.elapsed.as_millis(),
        )
    };
    // (bytes, drops, smoltcp's retransmissions, repairs, probes, stalls, simulated ms)
    assert_eq!(summary(&alone), (len, 947, 1841, 0, 0, 51, 51981));
    assert_eq!(summary(&repaired), (len, 2253, 229, 10_444, 0, 0, 1214));
}

/// The loss repair keeps state only for connections with data unacknowledged: none once a
/// connection closed with everything delivered, and none once the socket of a connection
/// whose data never arrived is removed.
#[test]
fn closed_or_removed_connections_leave_no_repair_state() {
    use std::net::IpAddr;
    use std::time::{Duration, Instant};

    use coder_tunnel::netstack::Netstack;
    use smoltcp::socket::tcp::State;

    let start = Instant::now();
    let (mut tx, mut rx) = bottleneck::stacks(start);
    let b = bottleneck::RECEIVER;
    // Polls both stacks and moves their packets across (or drops tx's when `drop_tx`).
    let mut now = start;
    let mut exchange = |tx: &mut Netstack, rx: &mut Netstack, drop_tx: bool| {
        for _ in 0..20 {
            now += Duration::from_millis(1);
            tx.poll(now);
            rx.poll(now);
            while let Some(p) = tx.poll_transmit() {
                if !drop_tx {
                    rx.receive(&p);
                }
                tx.recycle(p);
            }
            while let Some(p) = rx.poll_transmit() {
                tx.receive(&p);
                rx.recycle(p);
            }
        }
    };
    let data = payload(64 << 10, 5);
    let mut buf = vec![0u8; 1 << 17];

    let server = rx.tcp_listen(5000).unwrap();
    let client = tx.tcp_connect((IpAddr::V6(b), 5000).into()).unwrap();
    exchange(&mut tx, &mut rx, false);
    assert_eq!(tx.tcp(client).send_slice(&data).unwrap(), data.len());
    tx.tcp(client).close();
    exchange(&mut tx, &mut rx, false);
    assert_eq!(rx.tcp(server).recv_slice(&mut buf).unwrap(), data.len());
    rx.tcp(server).close();
    exchange(&mut tx, &mut rx, false);
    assert_eq!(tx.tcp(client).state(), State::TimeWait);
    assert_eq!(tx.loss_repair_flows(), 0, "closed, everything delivered");
    tx.remove(client);
    rx.remove(server);

    let server = rx.tcp_listen(5000).unwrap();
    let client = tx.tcp_connect((IpAddr::V6(b), 5000).into()).unwrap();
    exchange(&mut tx, &mut rx, false);
    assert_eq!(tx.tcp(client).state(), State::Established);
    assert_eq!(tx.tcp(client).send_slice(&data).unwrap(), data.len());
    exchange(&mut tx, &mut rx, true);
    assert_eq!(tx.loss_repair_flows(), 1, "data sent, none delivered");
    tx.remove(client);
    assert_eq!(tx.loss_repair_flows(), 0, "socket removed");
    rx.remove(server);
}

/// A close must complete when the receiver (smoltcp) ignored the FIN and duplicate ACKs
/// follow. The sender writes four segments and closes, so the fourth carries the FIN; the
/// wire holds the first three back for 100 ms (reordering), so the receiver gets the FIN
/// before a hole and ignores it. The sender's repairs fill the hole, every byte but the FIN
/// is ACKed, then the three late originals arrive and draw three duplicate ACKs. smoltcp
/// 0.14 answers them with a fast retransmit of an empty send buffer: it sends nothing and
/// disarms its retransmission timer, so it never resent the FIN and stayed in FIN-WAIT-1
/// for good (the soak's hang). The loss repair's probe sends the FIN again, alone (smoltcp
/// would drop it on a resent data segment whose data it holds), and the close completes.
#[test]
fn close_completes_after_an_ignored_fin_and_three_duplicate_acks() {
    use std::collections::BTreeMap;
    use std::net::IpAddr;
    use std::time::{Duration, Instant};

    use smoltcp::socket::tcp::State;
    use smoltcp::wire::{Ipv6Packet, TcpPacket};

    const DELAY: Duration = Duration::from_millis(10);
    const LATE: Duration = Duration::from_millis(100);
    let start = Instant::now();
    let (mut tx, mut rx) = bottleneck::stacks(start);
    let server = rx.tcp_listen(5000).unwrap();
    let client = tx
        .tcp_connect((IpAddr::V6(bottleneck::RECEIVER), 5000).into())
        .unwrap();
    // (seq, ack, payload length, FIN) of a segment.
    let tcp_of = |p: &[u8]| {
        let ip = Ipv6Packet::new_checked(p).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        (
            tcp.seq_number(),
            tcp.ack_number(),
            tcp.payload().len(),
            tcp.fin(),
        )
    };
    // Packets on the wire by arrival time (and order of sending): (to rx, packet).
    let mut wire = BTreeMap::<(Instant, u64), (bool, Vec<u8>)>::new();
    let (mut now, mut sent, mut late_seqs) = (start, 0u64, Vec::new());
    let (mut written, mut fin_acked_at) = (false, None);
    // Where the FIN is, and the receiver's ACKs of everything before it.
    let (mut fin_seq, mut acks_of_data) = (None, 0);
    // First a warm-up, which opens the congestion window, then four segments and the FIN.
    let (warm, mut warm_up) = (payload(256 << 10, 8), 0);
    let data = payload(4 * 1360, 9);
    let mut buf = vec![0u8; 1 << 16];
    while now < start + Duration::from_secs(30) && fin_acked_at.is_none() {
        while let Some(entry) = wire.first_entry().filter(|e| e.key().0 <= now) {
            let (to_rx, p) = entry.remove();
            if to_rx {
                rx.receive(&p);
            } else {
                if fin_seq.is_some() && fin_seq == Some(tcp_of(&p).1) {
                    acks_of_data += 1;
                }
                tx.receive(&p);
            }
        }
        let s = tx.tcp(client);
        if warm_up < warm.len() && s.can_send() {
            warm_up += s.send_slice(&warm[warm_up..]).unwrap();
        } else if !written && warm_up == warm.len() && s.send_queue() == 0 {
            assert_eq!(s.send_slice(&data).unwrap(), data.len());
            s.close();
            written = true;
        }
        tx.poll(now);
        rx.poll(now);
        while rx.tcp(server).can_recv() {
            rx.tcp(server).recv_slice(&mut buf).unwrap();
        }
        while let Some(p) = tx.poll_transmit() {
            let (seq, _, len, fin) = tcp_of(&p);
            // The first transmissions of the first three segments after the warm-up are late.
            let late = written && len > 0 && late_seqs.len() < 3 && !late_seqs.contains(&seq);
            if late {
                late_seqs.push(seq);
            }
            if fin {
                fin_seq.get_or_insert(seq + len);
            }
            sent += 1;
            wire.insert((now + if late { LATE } else { DELAY }, sent), (true, p));
        }
        while let Some(p) = rx.poll_transmit() {
            sent += 1;
            wire.insert((now + DELAY, sent), (false, p));
        }
        if tx.tcp(client).state() == State::FinWait2 {
            fin_acked_at = Some(now);
        }
        now = [tx.poll_at(now), rx.poll_at(now)]
            .into_iter()
            .flatten()
            .chain(wire.first_key_value().map(|(k, _)| k.0))
            .min()
            .unwrap_or(now + DELAY)
            .clamp(now + Duration::from_micros(1), now + DELAY);
    }
    // The first from a repair, then one from a second repair and three from the late
    // originals: duplicates.
    assert_eq!(acks_of_data, 5);
    assert_eq!(
        fin_acked_at.map(|t| t - start),
        Some(Duration::from_millis(560))
    );
}
