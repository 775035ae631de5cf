//! Userspace TCP through the tunnel, deterministically: netstack → core → simulated network →
//! core → netstack, with the payload's SHA-256 checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use coder_tunnel::coord::Role;
use common::Sim;
use sha2::{Digest, Sha256};

fn payload(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
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
    sim.attach_netstack(0);
    sim.attach_netstack(1);
    sim.add_tunnel(0, 1);
    // TCP only starts once the WireGuard session is up.
    assert!(sim.run_until(Duration::from_secs(1), |s| s.session_up(0, 1)));
    let agent_addr = sim.addr(1);
    let server = sim.stack(1).tcp_listen(5000).unwrap();
    let client = sim.stack(0).tcp_connect((agent_addr, 5000).into()).unwrap();
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
