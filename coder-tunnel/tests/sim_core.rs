//! Deterministic tests of the sans-IO core over the simulated network (fake clock, no sleeps).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use coder_tunnel::coord::{CoordinateRequest, Role};
use coder_tunnel::core::{ANNOUNCE_GAP, Event, NatReport};
use coder_tunnel::path::PathKind;
use common::{Sim, ipv6_packet};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn path_events(sim: &Sim, i: usize) -> Vec<PathKind> {
    sim.nodes[i]
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::PathChanged { path, .. } => Some(*path),
            _ => None,
        })
        .collect()
}

fn current_path(sim: &Sim, i: usize, j: usize) -> PathKind {
    sim.nodes[i]
        .core
        .diagnostics(sim.now, sim.key(j))
        .unwrap()
        .path
}

/// Runs until nodes 0 and 1 both go direct (within 10 s); 0's one path change is to
/// `zero_sees`, 1's to `one_sees`.
fn upgrades_both_ways(sim: &mut Sim, zero_sees: &str, one_sees: &str) {
    assert!(sim.run_until(Duration::from_secs(10), |s| {
        matches!(current_path(s, 0, 1), PathKind::Direct(_))
            && matches!(current_path(s, 1, 0), PathKind::Direct(_))
    }));
    assert_eq!(path_events(sim, 0), vec![PathKind::Direct(sa(zero_sees))]);
    assert_eq!(path_events(sim, 1), vec![PathKind::Direct(sa(one_sees))]);
}

/// Client 0 at 10.0.0.1:4001 (no NAT); agent 1 behind a NAT that maps its 192.168.1.2:4002
/// socket to 203.0.113.9:62000 (so its advertised endpoint is unreachable).
fn client_and_natted_agent(seed: u64) -> Sim {
    let mut sim = Sim::new(seed);
    sim.add_node(1, Role::Client, "10.0.0.1:4001", "10.0.0.1:4001");
    sim.add_node(2, Role::Agent, "192.168.1.2:4002", "203.0.113.9:62000");
    sim
}

#[test]
fn handshake_over_relay_then_upgrade_through_port_rewriting_nat() {
    let mut sim = client_and_natted_agent(1);
    sim.add_tunnel(0, 1);
    assert!(sim.run_until(Duration::from_secs(1), |s| s.session_up(0, 1)));
    // Initiation, response and the initiator's confirming keepalive all went through the
    // relay: ready-for-handshake triggered the handshake before any probe could round-trip.
    assert_eq!(sim.net.relay_sent, 3);
    // The agent told the client it was ready once it installed the client's node.
    let client_id = sim.nodes[0].id;
    assert!(sim.nodes[1].events.iter().any(|(_, e)| *e
        == Event::Coordinate(CoordinateRequest::ReadyForHandshake {
            ids: vec![client_id]
        })));
    assert_eq!(sim.nodes[0].core.stats().relay_tx, 2);
    assert_eq!(sim.nodes[0].core.stats().handshakes, 1);

    // The agent's ping reveals its NAT mapping; both sides end up direct.
    upgrades_both_ways(&mut sim, "203.0.113.9:62000", "10.0.0.1:4001");

    let relay_before = sim.net.relay_sent;
    let packet = ipv6_packet(sim.addr(0), sim.addr(1), b"over the direct path");
    sim.send_ip(0, &packet);
    sim.run_for(Duration::from_millis(50));
    assert_eq!(sim.nodes[1].delivered, vec![packet]);
    assert_eq!(
        sim.net.relay_sent, relay_before,
        "no relayed datagram after the upgrade"
    );
}

#[test]
fn direct_falls_back_to_relay_and_recovers() {
    let mut sim = client_and_natted_agent(2);
    sim.add_tunnel(0, 1);
    assert!(sim.run_until(Duration::from_secs(10), |s| {
        matches!(current_path(s, 0, 1), PathKind::Direct(_))
    }));
    sim.direct_works = false;
    let broke_at = sim.now;
    assert!(
        sim.run_until(Duration::from_secs(30), |s| current_path(s, 0, 1)
            == PathKind::Relay)
    );
    // Three missed heartbeats (2 s apart) before giving up: 6.5 s after the last pong.
    let waited = sim.now - broke_at;
    assert!(
        waited <= Duration::from_millis(6_500),
        "fell back after {waited:?}"
    );
    assert!(
        waited > Duration::from_secs(4),
        "fell back after {waited:?}"
    );

    let packet = ipv6_packet(sim.addr(0), sim.addr(1), b"relayed while direct is down");
    let relay_before = sim.net.relay_sent;
    sim.send_ip(0, &packet);
    sim.run_for(Duration::from_millis(50));
    assert_eq!(sim.nodes[1].delivered, vec![packet]);
    assert_eq!(sim.net.relay_sent, relay_before + 1);

    sim.direct_works = true;
    assert!(sim.run_until(Duration::from_secs(30), |s| {
        matches!(current_path(s, 0, 1), PathKind::Direct(_))
    }));
    assert_eq!(
        path_events(&sim, 0),
        vec![
            PathKind::Direct(sa("203.0.113.9:62000")),
            PathKind::Relay,
            PathKind::Direct(sa("203.0.113.9:62000"))
        ]
    );
}

#[test]
fn rekeys_every_two_minutes_under_traffic() {
    let mut sim = client_and_natted_agent(3);
    sim.add_tunnel(0, 1);
    assert!(sim.run_until(Duration::from_secs(1), |s| s.session_up(0, 1)));
    let mut sent = Vec::new();
    for i in 0..300u32 {
        let p = ipv6_packet(sim.addr(0), sim.addr(1), &i.to_be_bytes());
        sim.send_ip(0, &p);
        sent.push(p);
        sim.run_for(Duration::from_secs(1));
    }
    // REKEY_AFTER_TIME is 120 s: the initial handshake plus rekeys at ~120 s and ~240 s.
    let d = sim.nodes[0].core.diagnostics(sim.now, sim.key(1)).unwrap();
    assert_eq!(d.handshakes, 3);
    assert_eq!(
        sim.nodes[1]
            .core
            .diagnostics(sim.now, sim.key(0))
            .unwrap()
            .handshakes,
        3
    );
    assert!(d.handshake_age.unwrap() < Duration::from_secs(120));
    // Nothing was lost across the key changes.
    assert_eq!(sim.nodes[1].delivered, sent);
    assert!(sim.steps > 1000, "{} steps", sim.steps);
}

#[test]
fn lossy_duplicating_reordering_link_without_relay() {
    let mut sim = Sim::new(4);
    sim.link.loss_permille = 200;
    sim.link.dup_permille = 50;
    sim.link.jitter = Duration::from_millis(5);
    sim.add_node(1, Role::Client, "10.0.0.1:4001", "10.0.0.1:4001");
    sim.add_node(2, Role::Agent, "10.0.0.2:4002", "10.0.0.2:4002");
    sim.disable_relay();
    sim.add_tunnel(0, 1);
    // Let the coordinator exchange nodes (packets to an unknown peer have no route).
    sim.run_for(Duration::from_micros(1));
    let mut sent = Vec::new();
    for i in 0..400u32 {
        let p = ipv6_packet(sim.addr(0), sim.addr(1), &i.to_be_bytes());
        sim.send_ip(0, &p);
        sent.push(p);
        sim.run_for(Duration::from_millis(2));
    }
    sim.run_for(Duration::from_secs(30));
    assert!(sim.session_up(0, 1));
    let delivered = &sim.nodes[1].delivered;
    // Every packet that the network did not lose arrives exactly once (duplicates are
    // rejected by the replay window, reordering within it is accepted).
    let mut unique = delivered.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        delivered.len(),
        "a packet was delivered twice"
    );
    assert!(delivered.iter().all(|p| sent.contains(p)));
    assert!(sim.net.data_lost > 0 && sim.net.wg_duplicated > 0);
    assert_eq!(delivered.len() as u64, 400 - sim.net.data_lost);
    let replays = sim.nodes[0].core.stats().dropped_auth + sim.nodes[1].core.stats().dropped_auth;
    assert_eq!(replays, sim.net.wg_duplicated);
}

#[test]
fn mtu_drops_oversized_datagrams_only() {
    let mut sim = Sim::new(5);
    sim.link.mtu = 1200;
    sim.add_node(1, Role::Client, "10.0.0.1:4001", "10.0.0.1:4001");
    sim.add_node(2, Role::Agent, "10.0.0.2:4002", "10.0.0.2:4002");
    sim.disable_relay();
    sim.add_tunnel(0, 1);
    assert!(sim.run_until(Duration::from_secs(2), |s| s.session_up(0, 1)));
    let small = ipv6_packet(sim.addr(0), sim.addr(1), &[1; 1100 - 40]);
    let big = ipv6_packet(sim.addr(0), sim.addr(1), &[2; 1200 - 40]);
    sim.send_ip(0, &big);
    sim.send_ip(0, &small);
    sim.run_for(Duration::from_millis(50));
    assert_eq!(sim.nodes[1].delivered, vec![small]);
    assert_eq!(sim.net.udp_mtu_dropped, 1);
}

#[test]
fn peer_restarts_with_a_new_endpoint() {
    let mut sim = Sim::new(6);
    sim.add_node(1, Role::Client, "10.0.0.1:4001", "10.0.0.1:4001");
    sim.add_node(2, Role::Agent, "10.0.0.2:4002", "10.0.0.2:4002");
    sim.add_tunnel(0, 1);
    assert!(sim.run_until(Duration::from_secs(10), |s| {
        s.session_up(0, 1) && current_path(s, 0, 1) == PathKind::Direct(sa("10.0.0.2:4002"))
    }));
    sim.run_for(Duration::from_secs(3));

    sim.restart_node(1, "10.0.0.3:4100", "10.0.0.3:4100");
    let restarted = sim.now;
    assert!(sim.run_until(Duration::from_secs(30), |s| {
        s.session_up(1, 0) && current_path(s, 0, 1) == PathKind::Direct(sa("10.0.0.3:4100"))
    }));
    // The restarted agent re-announced itself, got the client's node at once, and sent
    // ready-for-handshake; the client handshook immediately instead of waiting out timers.
    let up = sim.nodes[1]
        .events
        .iter()
        .find(|(_, e)| matches!(e, Event::SessionEstablished { .. }))
        .map(|(t, _)| *t)
        .unwrap();
    assert!(
        up - restarted < Duration::from_millis(100),
        "{:?}",
        up - restarted
    );
    let packet = ipv6_packet(sim.addr(0), sim.addr(1), b"hello again");
    sim.send_ip(0, &packet);
    sim.run_for(Duration::from_millis(50));
    assert_eq!(sim.nodes[1].delivered, vec![packet]);
    assert_eq!(
        path_events(&sim, 0),
        vec![
            PathKind::Direct(sa("10.0.0.2:4002")),
            PathKind::Relay,
            PathKind::Direct(sa("10.0.0.3:4100"))
        ]
    );
}

const STUN_A: &str = "198.51.100.1:3478";
const STUN_B: &str = "198.51.100.2:3478";

/// Client 0 (socket 192.168.1.1:4001, NAT 203.0.113.1:61001) and agent 1 (192.168.2.2:4002,
/// NAT 203.0.113.2:62002): each advertises only its private socket, which the other cannot
/// reach. Two STUN servers; `stun` says whether the nodes use them.
fn two_natted_peers(seed: u64, stun: bool, hard_nat: bool) -> Sim {
    let mut sim = Sim::new(seed);
    sim.stun_servers = vec![sa(STUN_A), sa(STUN_B)];
    sim.add_node(1, Role::Client, "192.168.1.1:4001", "203.0.113.1:61001");
    sim.add_node(2, Role::Agent, "192.168.2.2:4002", "203.0.113.2:62002");
    for i in 0..2 {
        if hard_nat {
            sim.set_hard_nat(i);
        }
        if stun {
            sim.use_stun(i);
        }
    }
    sim
}

/// Node 0's report when STUN_A saw `mapped.0` and STUN_B `mapped.1`.
fn two_server_report(mapped: (&str, &str), hard_nat: bool, endpoints: &[&str]) -> NatReport {
    NatReport {
        mappings: vec![(sa(STUN_A), sa(mapped.0)), (sa(STUN_B), sa(mapped.1))],
        hard_nat,
        endpoints: endpoints.iter().map(|e| sa(e)).collect(),
    }
}

/// Sends one packet from 0 to 1, checks it arrived, returns how many datagrams the relay
/// carried meanwhile.
fn relayed_to_deliver(sim: &mut Sim, payload: &[u8]) -> u64 {
    let relay_before = sim.net.relay_sent;
    let packet = ipv6_packet(sim.addr(0), sim.addr(1), payload);
    sim.send_ip(0, &packet);
    sim.run_for(Duration::from_millis(50));
    assert_eq!(sim.nodes[1].delivered, vec![packet]);
    sim.net.relay_sent - relay_before
}

fn update_self_times(sim: &Sim, i: usize) -> Vec<Duration> {
    sim.nodes[i]
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Coordinate(CoordinateRequest::UpdateSelf { .. })))
        .map(|(t, _)| *t - sim.start)
        .collect()
}

fn advertised(sim: &mut Sim, i: usize) -> Vec<SocketAddr> {
    let now = sim.now;
    sim.nodes[i].core.node(now).endpoints
}

/// [`two_natted_peers`] with a tunnel after 30 s: the session is up, both stayed on the relay.
fn stayed_on_relay(seed: u64, stun: bool, hard_nat: bool) -> Sim {
    let mut sim = two_natted_peers(seed, stun, hard_nat);
    sim.add_tunnel(0, 1);
    sim.run_for(Duration::from_secs(30));
    assert!(sim.session_up(0, 1));
    assert_eq!(current_path(&sim, 0, 1), PathKind::Relay);
    assert_eq!(current_path(&sim, 1, 0), PathKind::Relay);
    assert_eq!(path_events(&sim, 0), vec![]);
    assert_eq!(path_events(&sim, 1), vec![]);
    sim
}

#[test]
fn natted_peers_without_stun_stay_on_relay() {
    let mut sim = stayed_on_relay(7, false, false);
    assert_eq!(advertised(&mut sim, 0), vec![sa("192.168.1.1:4001")]);
    assert_eq!(sim.nodes[0].core.stats().stun_tx, 0);
}

#[test]
fn stun_discovery_upgrades_natted_peers_from_relay_to_direct() {
    let mut sim = two_natted_peers(8, true, false);
    sim.add_tunnel(0, 1);
    // The session comes up over the relay before the STUN mapping is published (the
    // republish waits out the 100 ms since the first UpdateSelf).
    assert!(sim.run_until(Duration::from_secs(1), |s| s.session_up(0, 1)));
    assert_eq!(current_path(&sim, 0, 1), PathKind::Relay);
    assert_eq!(sim.net.relay_sent, 3);
    assert!(sim.elapsed() < ANNOUNCE_GAP, "{:?}", sim.elapsed());

    upgrades_both_ways(&mut sim, "203.0.113.2:62002", "203.0.113.1:61001");
    // Both servers answered at 2 ms; the two answers were coalesced into one UpdateSelf,
    // sent when the 100 ms gap after the first one ended.
    assert_eq!(
        update_self_times(&sim, 0),
        vec![Duration::ZERO, ANNOUNCE_GAP]
    );
    assert_eq!(
        advertised(&mut sim, 0),
        vec![sa("192.168.1.1:4001"), sa("203.0.113.1:61001")]
    );
    assert_eq!(
        advertised(&mut sim, 1),
        vec![sa("192.168.2.2:4002"), sa("203.0.113.2:62002")]
    );
    assert_eq!(
        sim.nodes[0].core.nat_report(),
        two_server_report(
            ("203.0.113.1:61001", "203.0.113.1:61001"),
            false,
            &["203.0.113.1:61001"]
        )
    );
    let stats = sim.nodes[0].core.stats();
    assert_eq!(
        (stats.stun_tx, stats.stun_rx, stats.hard_nat),
        (2, 2, false)
    );
    assert_eq!(sim.net.stun_answered, 4);

    assert_eq!(relayed_to_deliver(&mut sim, b"hole punched"), 0);

    // Discovery repeats every 20 s; an unchanged mapping republishes nothing.
    sim.run_for(Duration::from_secs(25));
    assert_eq!(sim.nodes[0].core.stats().stun_rx, 4);
    assert_eq!(
        update_self_times(&sim, 0),
        vec![Duration::ZERO, ANNOUNCE_GAP]
    );
}

#[test]
fn hard_nat_is_flagged_and_stays_on_relay() {
    let mut sim = stayed_on_relay(9, true, true);
    // Each server saw another port of the same socket: nothing is advertised from STUN.
    assert_eq!(
        sim.nodes[0].core.nat_report(),
        two_server_report(("203.0.113.1:61001", "203.0.113.1:61002"), true, &[])
    );
    assert!(sim.nodes[1].core.stats().hard_nat);
    assert_eq!(advertised(&mut sim, 0), vec![sa("192.168.1.1:4001")]);
    assert_eq!(advertised(&mut sim, 1), vec![sa("192.168.2.2:4002")]);
    assert_eq!(update_self_times(&sim, 0), vec![Duration::ZERO]);

    assert_eq!(relayed_to_deliver(&mut sim, b"relayed behind hard NATs"), 1);
}

#[test]
fn falling_back_to_relay_rediscovers_the_mapping_at_once() {
    let mut sim = two_natted_peers(10, true, false);
    sim.add_tunnel(0, 1);
    upgrades_both_ways(&mut sim, "203.0.113.2:62002", "203.0.113.1:61001");
    assert_eq!(sim.nodes[0].core.stats().stun_tx, 2);
    sim.direct_works = false;
    assert!(
        sim.run_until(Duration::from_secs(10), |s| current_path(s, 0, 1)
            == PathKind::Relay)
    );
    // A new round went out with the fallback, long before the 20 s timer.
    let fell_back = sim.elapsed();
    assert!(fell_back < Duration::from_secs(10), "{fell_back:?}");
    assert_eq!(sim.nodes[0].core.stats().stun_tx, 4);
}
