//! Hostile input: random, truncated and oversized datagrams and relay frames are dropped and
//! counted; nothing panics (proptest).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use coder_tunnel::coord::Role;
use coder_tunnel::core::{Core, Stats};
use coder_tunnel::probe;
use coder_tunnel::relay::Frame;
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
        first in 0u8..8,
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
