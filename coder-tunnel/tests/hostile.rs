//! Hostile input: random, truncated and oversized datagrams and relay frames are dropped and
//! counted; nothing panics (proptest).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use coder_tunnel::Error;
use coder_tunnel::coord::Role;
use coder_tunnel::core::{Core, Destination, STUN_INTERVAL, Stats};
use coder_tunnel::probe;
use coder_tunnel::relay::Frame;
use coder_tunnel::stun::{self, Malformed};
use common::Sim;
use proptest::prelude::*;

fn drops(s: &Stats) -> u64 {
    s.dropped_malformed
        + s.dropped_oversized
        + s.dropped_unknown_peer
        + s.dropped_auth
        + s.dropped_spoofed
}

/// A client and agent with an established session; returns the sim and captured datagrams
/// (a handshake initiation and a data message) for mutation.
fn established() -> (Sim, Vec<Vec<u8>>) {
    let mut sim = Sim::new(11);
    sim.add_node(1, Role::Client, "10.0.0.1:4001", "10.0.0.1:4001");
    sim.add_node(2, Role::Agent, "10.0.0.2:4002", "10.0.0.2:4002");
    sim.add_tunnel(0, 1);
    assert!(sim.run_until(Duration::from_secs(1), |s| s.session_up(0, 1)));
    let now = sim.now;
    let core: &mut Core = &mut sim.nodes[0].core;
    let p = common::ipv6_packet(sim_addr(0), sim_addr(1), b"sample");
    core.send_ip(now, &p);
    let data = core.poll_transmit().unwrap().payload;
    (sim, vec![data])
}

fn sim_addr(i: u8) -> std::net::Ipv6Addr {
    common::PREFIX.addr_from_uuid(uuid::Uuid::from_u128(u128::from(i + 1) << 64 | 0xabcd))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn random_udp_and_relay_input_is_dropped_and_counted(
        inputs in prop::collection::vec(
            (any::<bool>(), prop::collection::vec(any::<u8>(), 0..3000)), 1..40),
        first in 0u8..9,
    ) {
        let (mut sim, _) = established();
        let now = sim.now;
        let key = sim.key(0);
        let core = &mut sim.nodes[1].core;
        let before = core.stats();
        for (relay, mut bytes) in inputs.clone() {
            // Bias towards WireGuard-looking and probe-looking headers.
            if let Some(b) = bytes.first_mut() {
                *b = match first { 0..=4 => first, 5 => 0xC7, _ => *b };
            }
            if first == 5 && bytes.len() >= 4 {
                bytes[..4].copy_from_slice(&probe::MAGIC);
            }
            // STUN-shaped: first two bits 0, the magic cookie, a consistent length.
            if first == 6 && bytes.len() >= stun::HEADER_LEN {
                bytes.truncate(stun::HEADER_LEN + (bytes.len() - stun::HEADER_LEN) / 4 * 4);
                let len = (bytes.len() - stun::HEADER_LEN) as u16;
                bytes[0] &= 0x3f;
                bytes[2..4].copy_from_slice(&len.to_be_bytes());
                bytes[4..8].copy_from_slice(&stun::MAGIC_COOKIE);
            }
            if relay {
                core.handle_relay(now, key, &bytes);
            } else {
                core.handle_udp(now, "10.0.0.1:4001".parse().unwrap(), &bytes);
            }
        }
        let after = core.stats();
        prop_assert_eq!(after.delivered, before.delivered);
        prop_assert_eq!(drops(&after) - drops(&before), inputs.len() as u64);
        prop_assert!(core.poll_transmit().is_none());
    }

    #[test]
    fn truncated_or_corrupted_real_datagrams_are_dropped(cut in 0usize..200, flip in 0usize..200) {
        let (mut sim, captured) = established();
        let now = sim.now;
        let core = &mut sim.nodes[1].core;
        let before = core.stats();
        let data = &captured[0];
        let truncated = &data[..cut.min(data.len() - 1)];
        core.handle_udp(now, "10.0.0.1:4001".parse().unwrap(), truncated);
        let mut corrupted = data.clone();
        let i = flip % corrupted.len();
        corrupted[i] ^= 0x40;
        core.handle_udp(now, "10.0.0.1:4001".parse().unwrap(), &corrupted);
        let after = core.stats();
        prop_assert_eq!(after.delivered, before.delivered);
        prop_assert_eq!(drops(&after) - drops(&before), 2);
    }

    #[test]
    fn relay_and_probe_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Frame::decode(&bytes);
        let _ = probe::peek_sender(&bytes);
        let mut framed = bytes.clone();
        if framed.len() >= 5 {
            let len = (framed.len() - 5) as u32;
            framed[1..5].copy_from_slice(&len.to_be_bytes());
            if let Ok(f) = Frame::decode(&framed) {
                prop_assert_eq!(f.to_vec(), framed);
            }
        }
    }
}

/// A Binding success response for `tx` naming 192.0.2.1:32853, with FINGERPRINT.
fn stun_response(tx: [u8; 12]) -> Vec<u8> {
    let mut out = Vec::new();
    stun::encode_binding_success(&tx, "192.0.2.1:32853".parse().unwrap(), &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn stun_decoder_rejects_random_input_with_a_typed_error(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        cookie in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if cookie && bytes.len() >= 8 {
            bytes[0] &= 0x3f;
            bytes[4..8].copy_from_slice(&stun::MAGIC_COOKIE);
        }
        match stun::decode(&bytes) {
            Ok(m) => {
                // Only a well-formed message decodes: header length and cookie agree.
                prop_assert!(stun::is_stun(&bytes) || bytes[..4] == [bytes[0], 0, 0, 0]);
                prop_assert_eq!(bytes.len(), stun::HEADER_LEN + usize::from(u16::from_be_bytes([bytes[2], bytes[3]])));
                prop_assert_eq!(&m.transaction[..], &bytes[8..20]);
            }
            Err(Error::Stun(_)) => {}
            Err(e) => prop_assert!(false, "untyped error {e}"),
        }
        if bytes.len() > stun::MAX_MESSAGE {
            prop_assert!(matches!(stun::decode(&bytes), Err(Error::Stun(Malformed::Oversized))));
        }
    }

    #[test]
    fn truncated_or_corrupted_stun_responses_are_refused(
        tx in any::<[u8; 12]>(),
        cut in 0usize..40,
        flip in prop_oneof![20usize..32, 36usize..40],
        bit in 0u8..8,
    ) {
        let full = stun_response(tx);
        prop_assert_eq!(full.len(), 40);
        prop_assert_eq!(
            stun::decode(&full).unwrap().mapped,
            Some("192.0.2.1:32853".parse().unwrap())
        );
        // A cut message no longer matches its length field (or lost its header).
        let cut_err = stun::decode(&full[..cut]).unwrap_err();
        let expected = if cut < stun::HEADER_LEN { Malformed::Truncated } else { Malformed::BadLength };
        prop_assert!(matches!(cut_err, Error::Stun(m) if m == expected), "{cut_err:?}");
        // Any flipped bit in XOR-MAPPED-ADDRESS or the FINGERPRINT value is caught (by the
        // fingerprint at the latest). (A flipped FINGERPRINT type, bytes 32..34, legitimately
        // turns it into an unknown optional attribute, which is skipped.)
        let mut corrupted = full.clone();
        corrupted[flip] ^= 1 << bit;
        prop_assert!(matches!(stun::decode(&corrupted), Err(Error::Stun(_))));
    }
}

#[test]
fn unsolicited_stun_on_the_tunnel_socket_is_dropped_and_counted() {
    let (mut sim, _) = established();
    let now = sim.now;
    let core = &mut sim.nodes[1].core;
    let before = core.stats();
    let from = "198.51.100.1:3478".parse().unwrap();
    // A well-formed answer to nothing we asked, and a Binding request (tunnels answer none).
    core.handle_udp(now, from, &stun_response([7; 12]));
    let mut request = Vec::new();
    stun::encode_binding_request(&[7; 12], &mut request);
    core.handle_udp(now, from, &request);
    let after = core.stats();
    assert_eq!(after.dropped_malformed - before.dropped_malformed, 2);
    assert_eq!(after.stun_rx, 0);
    assert!(core.poll_transmit().is_none());
}

/// The Binding requests `core` sends to `server` at `now`.
fn stun_requests(core: &mut Core, now: std::time::Instant, server: SocketAddr) -> Vec<[u8; 12]> {
    core.handle_timeout(now);
    let mut ids = Vec::new();
    while let Some(t) = core.poll_transmit() {
        if t.dst == Destination::Udp(server) {
            ids.push(stun::decode(&t.payload).unwrap().transaction);
        }
    }
    ids
}

/// Someone who saw one of our STUN requests and spoofs the server's address cannot answer the
/// next one: transaction ids are random (RFC 8489 §6), so neither a replayed id nor the next
/// value of a counter is accepted. An answer with the right id still has its FINGERPRINT
/// checked; only the intact one counts.
#[test]
fn forged_stun_answers_from_a_configured_server_are_dropped() {
    let (mut sim, _) = established();
    let now = sim.now;
    let core = &mut sim.nodes[1].core;
    let server: SocketAddr = "198.51.100.1:3478".parse().unwrap();
    core.set_stun_servers(now, vec![server]);
    let first = stun_requests(core, now, server);
    assert_eq!(first.len(), 1);
    core.handle_udp(now, server, &stun_response(first[0]));
    assert_eq!(core.stats().stun_rx, 1);

    let next = now + STUN_INTERVAL;
    let second = stun_requests(core, next, server);
    assert_eq!(second.len(), 1);
    // What a counter-based id would have been next.
    let mut counted = first[0];
    let counter = u64::from_be_bytes(counted[..8].try_into().unwrap()) + 1;
    counted[..8].copy_from_slice(&counter.to_be_bytes());
    assert_ne!(second[0], counted);
    assert_ne!(second[0], first[0]);
    let mut bad_fingerprint = stun_response(second[0]);
    *bad_fingerprint.last_mut().unwrap() ^= 1;
    let before = core.stats();
    for forged in [
        stun_response(first[0]),
        stun_response(counted),
        bad_fingerprint,
    ] {
        core.handle_udp(next, server, &forged);
    }
    let after = core.stats();
    assert_eq!(after.dropped_malformed - before.dropped_malformed, 3);
    assert_eq!(after.stun_rx, 1);
    core.handle_udp(next, server, &stun_response(second[0]));
    assert_eq!(core.stats().stun_rx, 2);
    assert_eq!(
        core.nat_report().mappings,
        vec![(server, "192.0.2.1:32853".parse().unwrap())]
    );
}

#[test]
fn oversized_datagrams_are_counted() {
    let (mut sim, _) = established();
    let now = sim.now;
    let key = sim.key(0);
    let core = &mut sim.nodes[1].core;
    core.handle_udp(now, "10.0.0.1:4001".parse().unwrap(), &vec![4u8; 70_000]);
    core.handle_relay(now, key, &vec![4u8; 9_000]);
    assert_eq!(core.stats().dropped_oversized, 2);
    let huge = [vec![4u8], (u32::MAX).to_be_bytes().to_vec()].concat();
    assert!(Frame::decode(&huge).is_err());
}
