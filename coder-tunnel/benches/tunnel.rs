//! Throughput benchmarks reported as ratios to an L0 baseline measured in the same run
//! (levels from `tunnel.md` §6.7):
//!
//! - L0: ring ChaCha20-Poly1305 seal of 1420-byte packets, one core.
//! - L1: `WgSession` encapsulate and decapsulate of 1420-byte packets (target ≥ 0.90 × L0).
//! - L2: in-process TCP netstack → tunnel → tunnel → netstack, one thread doing both ends
//!   (target ≥ 0.35 × L0).
//!
//! Run: `cargo bench -p coder-tunnel --bench tunnel`. Criterion measures each level; the
//! closing table re-times them back to back and prints Gbit/s and the ratio to L0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use coder_tunnel::addr::{ServicePrefix, host_net};
use coder_tunnel::core::{Core, CoreConfig, Destination};
use coder_tunnel::keys::NodeKey;
use coder_tunnel::netstack::{Netstack, NetstackConfig};
use coder_tunnel::wg::{BoringtunSession, WgClock, WgOutput, WgRateLimiter, WgSession};
use criterion::{Criterion, Throughput};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

const PKT: usize = 1420;

fn l0_seal(n: usize) -> Duration {
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7; 32]).unwrap());
    let mut buf = vec![0u8; PKT + 16];
    let start = Instant::now();
    for i in 0..n as u64 {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&i.to_le_bytes());
        let (data, tag) = buf.split_at_mut(PKT);
        let t = key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), data)
            .unwrap();
        tag.copy_from_slice(t.as_ref());
        black_box(&buf);
    }
    start.elapsed()
}

/// Two sessions with an established handshake.
fn session_pair() -> (BoringtunSession, BoringtunSession, Instant) {
    let now = Instant::now();
    let clock = WgClock::new(now);
    let (a, b) = (NodeKey::from_bytes([1; 32]), NodeKey::from_bytes([2; 32]));
    let la = WgRateLimiter::new(&a, 100, clock, now);
    let lb = WgRateLimiter::new(&b, 100, clock, now);
    let mut sa = BoringtunSession::new(&a, b.public(), 1, None, &la, now);
    let mut sb = BoringtunSession::new(&b, a.public(), 2, None, &lb, now);
    let mut out = vec![0u8; 2048];
    let mut out2 = vec![0u8; 2048];
    let init = match sa.initiate(now, false, &mut out) {
        WgOutput::Network(p) => p.to_vec(),
        o => panic!("{o:?}"),
    };
    let resp = match sb.decapsulate(now, None, &init, &mut out2) {
        WgOutput::Network(p) => p.to_vec(),
        o => panic!("{o:?}"),
    };
    if let WgOutput::Network(k) = sa.decapsulate(now, None, &resp, &mut out) {
        let k = k.to_vec();
        let _ = sb.decapsulate(now, None, &k, &mut out2);
    }
    (sa, sb, now)
}

fn ipv6_packet() -> Vec<u8> {
    let mut p = vec![0u8; PKT];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&((PKT - 40) as u16).to_be_bytes());
    p[6] = 59;
    p
}

fn l1_encap(n: usize) -> Duration {
    let (mut sa, _, now) = session_pair();
    let p = ipv6_packet();
    let mut out = vec![0u8; 2048];
    let start = Instant::now();
    for _ in 0..n {
        black_box(sa.encapsulate(now, &p, &mut out));
    }
    start.elapsed()
}

fn l1_decap(n: usize) -> Duration {
    let (mut sa, mut sb, now) = session_pair();
    let p = ipv6_packet();
    let mut out = vec![0u8; 2048];
    let wire: Vec<Vec<u8>> = (0..n)
        .map(|_| match sa.encapsulate(now, &p, &mut out) {
            WgOutput::Network(b) => b.to_vec(),
            o => panic!("{o:?}"),
        })
        .collect();
    let start = Instant::now();
    for d in &wire {
        black_box(sb.decapsulate(now, None, d, &mut out));
    }
    start.elapsed()
}

/// L2: `bytes` of TCP from netstack A to netstack B through two cores, one thread.
fn l2_tcp(bytes: usize) -> Duration {
    let now0 = Instant::now();
    let (ka, kb) = (NodeKey::from_bytes([1; 32]), NodeKey::from_bytes([2; 32]));
    let prefix = ServicePrefix::DEFAULT;
    let (ia, ib) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
    let (aa, ab) = (prefix.addr_from_uuid(ia), prefix.addr_from_uuid(ib));
    let (ea, eb): (SocketAddr, SocketAddr) =
        ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
    let cfg = |id, key: &NodeKey, addr, seed| CoreConfig {
        id,
        node_key: key.clone(),
        probe_key: NodeKey::from_bytes([seed; 32]),
        addresses: vec![host_net(addr)],
        home_relay: 0,
        block_direct: false,
        seed: u32::from(seed),
        persistent_keepalive: None,
        as_of_base: 0,
    };
    let mut ca = Core::new(cfg(ia, &ka, aa, 3), now0);
    let mut cb = Core::new(cfg(ib, &kb, ab, 4), now0);
    ca.add_static_peer(now0, kb.public(), eb, vec![host_net(ab).into()]);
    cb.add_static_peer(now0, ka.public(), ea, vec![host_net(aa).into()]);
    let ns = |addr: std::net::Ipv6Addr| NetstackConfig {
        addresses: vec![addr.into()],
        tcp_rx_buffer: 4 << 20,
        tcp_tx_buffer: 4 << 20,
        ..NetstackConfig::default()
    };
    let mut na = Netstack::new(ns(aa), now0);
    let mut nb = Netstack::new(ns(ab), now0);
    let server = nb.tcp_listen(5000).unwrap();
    let client = na.tcp_connect((ab, 5000).into()).unwrap();
    let data = vec![0x5au8; 256 << 10];
    let mut buf = vec![0u8; 256 << 10];
    let (mut sent, mut received) = (0usize, 0usize);
    let start = Instant::now();
    while received < bytes {
        let now = Instant::now();
        {
            let s = na.tcp(client);
            if s.can_send() && sent < bytes {
                sent += s
                    .send_slice(&data[..(bytes - sent).min(data.len())])
                    .unwrap();
            }
        }
        {
            let s = nb.tcp(server);
            while s.can_recv() {
                received += s.recv_slice(&mut buf).unwrap();
            }
        }
        for (stack, core) in [(&mut na, &mut ca), (&mut nb, &mut cb)] {
            if core.poll_timeout() <= now {
                core.handle_timeout(now);
            }
            stack.poll(now);
            while let Some(p) = stack.poll_transmit() {
                core.send_ip(now, &p);
                stack.recycle(p);
            }
        }
        // The "network": deliver each core's transmits to the other.
        exchange(&mut ca, &mut cb, ea, now);
        exchange(&mut cb, &mut ca, eb, now);
        for (stack, core) in [(&mut na, &mut ca), (&mut nb, &mut cb)] {
            while let Some(p) = core.poll_delivery() {
                stack.receive(&p);
                core.recycle(p);
            }
        }
    }
    start.elapsed()
}

/// The benchmark's "network": delivers `from`'s transmits to `to`.
fn exchange(from: &mut Core, to: &mut Core, src: SocketAddr, now: Instant) {
    while let Some(t) = from.poll_transmit() {
        if let Destination::Udp(_) = t.dst {
            to.handle_udp(now, src, &t.payload);
        }
        from.recycle(t.payload);
    }
}

fn gbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 * 8.0 / d.as_secs_f64() / 1e9
}

fn best_of(runs: usize, f: impl Fn() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap()
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let n = 10_000;
    let mut g = c.benchmark_group("levels");
    g.throughput(Throughput::Bytes((n * PKT) as u64));
    g.bench_function("L0 ring seal 1420B", |b| b.iter(|| l0_seal(n)));
    g.bench_function("L1 encapsulate 1420B", |b| b.iter(|| l1_encap(n)));
    g.bench_function("L1 decapsulate 1420B", |b| b.iter(|| l1_decap(n)));
    g.throughput(Throughput::Bytes(16 << 20));
    g.bench_function("L2 tcp netstack-tunnel-tunnel-netstack", |b| {
        b.iter(|| l2_tcp(16 << 20))
    });
    g.finish();

    // Ratio table: every level timed in this run, best of 5.
    let n = 50_000;
    let l0 = gbps(n * PKT, best_of(5, || l0_seal(n)));
    let rows = [
        (
            "L1 encapsulate",
            gbps(n * PKT, best_of(5, || l1_encap(n))),
            0.90,
        ),
        (
            "L1 decapsulate",
            gbps(n * PKT, best_of(5, || l1_decap(n))),
            0.90,
        ),
        (
            "L2 in-process TCP",
            gbps(32 << 20, best_of(3, || l2_tcp(32 << 20))),
            0.35,
        ),
    ];
    println!("\nlevel                 Gbit/s   ratio to L0   target");
    println!("L0 ring seal          {l0:6.2}   1.00          reference");
    for (name, v, target) in rows {
        let verdict = if v / l0 >= target { "met" } else { "MISSED" };
        println!(
            "{name:<21} {v:6.2}   {:.2}          >= {target:.2} {verdict}",
            v / l0
        );
    }
}
