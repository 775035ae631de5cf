//! Throughput benchmarks reported as ratios to an L0 baseline measured in the same run
//! (levels from `tunnel.md` §6.7):
//!
//! - L0: ring ChaCha20-Poly1305 seal of 1420-byte packets, one core.
//! - L1: `WgSession` encapsulate and decapsulate of 1420-byte packets (target ≥ 0.90 × L0).
//!   Decapsulation opens real transport-data datagrams, timed in cache-resident batches (see
//!   [`l1_decap`]); it includes boringtun's copy of the ciphertext into the output buffer.
//! - L2: in-process TCP netstack → tunnel → tunnel → netstack, one thread doing both ends
//!   (target ≥ 0.35 × L0), steady state after a warm-up, at the default inner MTU 1280 and at
//!   1420 (the direct-path maximum). The app side is a plain socket user: 64 KiB writes, reads
//!   into one reused 64 KiB buffer.
//! - L3: real loopback UDP between two driver [`Tunnel`]s on the direct path (after the
//!   probe upgrade, as in `tests/driver.rs`), bulk TCP via `dial_tcp`/`listen_tcp`: the
//!   default config (UDP GSO sends and GRO receives, `TunnelConfig::udp_gso`; target ≥ 0.15 ×
//!   L0) and with `udp_gso` off (`sendmmsg`/`recvmmsg` batches of separate datagrams; target
//!   ≥ 0.15 × L0). Datagrams per system call are printed for both directions.
//! - L5: the L3 transfer with `block_direct`, so every datagram crosses a [`RelayServer`]
//!   over loopback WebSockets (target ≥ 0.5 × direct; the L3 default row of the same run
//!   stands in for L4, which needs root, see `benches/netns.rs`), with the relay's CPU seconds
//!   per Gbit moved, read from the CPU clock of the relay's own thread ([`Relay`]).
//! - Setup: handshake and first TCP byte after `add_tunnel`, in-memory coordinator, a fresh
//!   tunnel pair per trial, 100 trials (target first byte < 50 ms, never a 5 s retry).
//! - Lat: 1-byte TCP echo round trip through the two tunnels vs. plain loopback TCP in the
//!   same run (target added p50 ≤ 0.35 ms, p99 ≤ 1 ms).
//!
//! Run: `cargo bench -p coder-tunnel --bench tunnel`. For profiling, `TUNNEL_BENCH_PROFILE=l2`
//! (or `l3-off`, `l3-gso`, `l5`) runs one level alone and prints its rate (see [`profile_one`]). Criterion measures L0–L2; the closing
//! tables re-time every level back to back and print Gbit/s and the ratio to L0, then the
//! setup and latency figures, each with its target met or NOT met.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use coder_tunnel::addr::{ServicePrefix, host_net};
use coder_tunnel::core::{Core, CoreConfig, Destination, RngSeed};
use coder_tunnel::driver::{MemoryCoordinatorHub, Tunnel, TunnelConfig};
use coder_tunnel::keys::NodeKey;
use coder_tunnel::netstack::{Netstack, NetstackConfig};
use coder_tunnel::path::PathKind;
use coder_tunnel::relay::RelayServer;
use coder_tunnel::wg::{BoringtunSession, WgClock, WgOutput, WgRateLimiter, WgSession};
use criterion::{Criterion, Throughput};
use nix::time::{ClockId, clock_gettime};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod measure;
use measure::{echo, gbps, ms, pct, round_trip, verdict};

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

/// Datagrams per decapsulation batch: about one receive drain's worth (23 KB), so the timed
/// loop reads datagrams from cache as the receive path does right after `recv`.
const DECAP_BATCH: usize = 16;

/// L1 decapsulate: `n` transport-data datagrams, encrypted in batches of [`DECAP_BATCH`]
/// (untimed) and then decapsulated (timed). Pre-encrypting all `n` up front would time
/// reads of a 70 MB set from DRAM instead of the decapsulation.
fn l1_decap(n: usize) -> Duration {
    let (mut sa, mut sb, now) = session_pair();
    let p = ipv6_packet();
    let mut out = vec![0u8; 2048];
    let mut wire = vec![[0u8; 2048]; DECAP_BATCH];
    let mut lens = [0usize; DECAP_BATCH];
    let mut total = Duration::ZERO;
    for _ in 0..n.div_ceil(DECAP_BATCH) {
        for (w, len) in wire.iter_mut().zip(&mut lens) {
            *len = match sa.encapsulate(now, &p, w) {
                WgOutput::Network(b) => b.len(),
                o => panic!("{o:?}"),
            };
        }
        let start = Instant::now();
        for (w, len) in wire.iter().zip(&lens) {
            match sb.decapsulate(now, None, &w[..*len], &mut out) {
                WgOutput::Tunnel(ip, _) => black_box(ip),
                o => panic!("{o:?}"),
            };
        }
        total += start.elapsed();
    }
    total
}

/// Bytes moved before L2 starts timing: two cycles of the socket buffers.
const L2_WARMUP: usize = 2 * L2_TCP_BUFFER;

/// Bytes per application write and read in L2.
const L2_APP_IO: usize = 64 << 10;

/// TCP buffer per direction per connection in L2 (the spec's 1–4 MiB range).
const L2_TCP_BUFFER: usize = 4 << 20;

/// L2: `bytes` of TCP from netstack A to netstack B through two cores, one thread, with an
/// inner MTU of `mtu`. Timing starts once [`L2_WARMUP`] bytes have arrived (handshakes done,
/// congestion window open, socket buffers paged in), so this is the steady-state rate.
fn l2_tcp(bytes: usize, mtu: usize) -> Duration {
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
        rng_seed: RngSeed([seed; 32]),
        persistent_keepalive: None,
        as_of_base: 0,
    };
    let mut ca = Core::new(cfg(ia, &ka, aa, 3), now0);
    let mut cb = Core::new(cfg(ib, &kb, ab, 4), now0);
    ca.add_static_peer(now0, kb.public(), eb, vec![host_net(ab).into()]);
    cb.add_static_peer(now0, ka.public(), ea, vec![host_net(aa).into()]);
    let ns = |addr: std::net::Ipv6Addr| NetstackConfig {
        addresses: vec![addr.into()],
        mtu,
        tcp_rx_buffer: L2_TCP_BUFFER,
        tcp_tx_buffer: L2_TCP_BUFFER,
    };
    let mut na = Netstack::new(ns(aa), now0);
    let mut nb = Netstack::new(ns(ab), now0);
    let server = nb.tcp_listen(5000).unwrap();
    let client = na.tcp_connect((ab, 5000).into()).unwrap();
    // A plain socket user: 64 KiB writes, reads into one reused buffer.
    let data = vec![0x5au8; L2_APP_IO];
    let mut buf = vec![0u8; L2_APP_IO];
    let (mut sent, mut received) = (0usize, 0usize);
    let total = L2_WARMUP + bytes;
    let mut start = None;
    while received < total {
        if start.is_none() && received >= L2_WARMUP {
            start = Some((Instant::now(), received));
        }
        let now = Instant::now();
        {
            let s = na.tcp(client);
            if s.can_send() && sent < total {
                sent += s
                    .send_slice(&data[..(total - sent).min(data.len())])
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
    let (start, at) = start.expect("warm-up finished");
    // Scaled to exactly `bytes` (timing started at the first poll past the warm-up).
    start
        .elapsed()
        .mul_f64(bytes as f64 / (received - at) as f64)
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

/// Bytes per L3 transfer.
const L3_BYTES: usize = 64 << 20;

/// A loopback relay shared by every driver-level measurement, on its own thread and
/// single-threaded runtime so that its CPU time is that thread's ([`Relay::cpu_time`]).
struct Relay {
    url: String,
    runtime: tokio::runtime::Handle,
    server: RelayServer,
}

impl Relay {
    fn start() -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("ws://{}/relay", listener.local_addr().unwrap());
                let server = RelayServer::new(1024);
                tx.send((url, tokio::runtime::Handle::current(), server.clone()))
                    .unwrap();
                server.serve(listener).await
            })
        });
        let (url, runtime, server) = rx.recv().unwrap();
        Self {
            url,
            runtime,
            server,
        }
    }

    /// CPU time (user and system) the relay's thread has used so far.
    async fn cpu_time(&self) -> Duration {
        let read = || clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
        Duration::from(self.runtime.spawn(async move { read() }).await.unwrap())
    }
}

/// A client and an agent tunnel on loopback UDP with the in-memory coordinator and a relay,
/// started but not yet connected: the caller times `client.add_tunnel(agent.id())`.
async fn start_pair(relay_url: &str, configure: impl Fn(&mut TunnelConfig)) -> (Tunnel, Tunnel) {
    MemoryCoordinatorHub::new()
        .start_loopback_pair(relay_url, configure)
        .await
        .unwrap()
}

/// A connected pair whose path is direct UDP both ways (the L3 and latency setting).
async fn direct_pair(relay_url: &str, udp_gso: bool) -> (Tunnel, Tunnel) {
    let direct = |t: &Tunnel| PathKind::Direct(t.local_udp_addr());
    connected_pair(relay_url, |c| c.udp_gso = udp_gso, direct).await
}

/// A connected pair with `block_direct`: every datagram crosses the relay (the L5 setting).
async fn relayed_pair(relay_url: &str) -> (Tunnel, Tunnel) {
    connected_pair(relay_url, |c| c.block_direct = true, |_| PathKind::Relay).await
}

/// A pair configured by `configure`, connected, with each side on `path(other side)` and the
/// session up.
async fn connected_pair(
    relay_url: &str,
    configure: impl Fn(&mut TunnelConfig),
    path: impl Fn(&Tunnel) -> PathKind,
) -> (Tunnel, Tunnel) {
    let (client, agent) = start_pair(relay_url, configure).await;
    client.add_tunnel(agent.id()).await.unwrap();
    let limit = Duration::from_secs(10);
    for (from, to) in [(&client, &agent), (&agent, &client)] {
        from.wait_path(to.public_key(), path(to), limit)
            .await
            .expect("path never settled");
    }
    client
        .wait_session(agent.addresses()[0].into())
        .await
        .unwrap();
    (client, agent)
}

fn agent_addr(agent: &Tunnel, port: u16) -> SocketAddr {
    SocketAddr::new(agent.addresses()[0].into(), port)
}

/// L3: one TCP connection, `bytes` client → agent, timed until the agent's 1-byte
/// acknowledgement of the last byte arrives. Returns the best of `runs` transfers and the
/// datagrams per system call of the sender's sends and the receiver's receives.
async fn l3_tcp(client: &Tunnel, agent: &Tunnel, bytes: usize, runs: usize) -> L3 {
    let mut listener = agent.listen_tcp(5001).await.unwrap();
    let server = tokio::spawn(async move {
        for _ in 0..runs {
            let (mut s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 256 << 10];
                let mut got = 0;
                while got < bytes {
                    let n = s.read(&mut buf).await.unwrap();
                    assert!(n > 0, "eof after {got} bytes");
                    got += n;
                }
                s.write_all(&[1]).await.unwrap();
                let _ = s.read(&mut buf).await;
            });
        }
    });
    let before = (client.stats().await.unwrap(), agent.stats().await.unwrap());
    let data = vec![0x5au8; 256 << 10];
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let mut s = client.dial_tcp(agent_addr(agent, 5001)).await.unwrap();
        let start = Instant::now();
        let mut sent = 0;
        while sent < bytes {
            let n = (bytes - sent).min(data.len());
            s.write_all(&data[..n]).await.unwrap();
            sent += n;
        }
        let mut ack = [0u8; 1];
        s.read_exact(&mut ack).await.unwrap();
        best = best.min(start.elapsed());
    }
    server.await.unwrap();
    let after = (client.stats().await.unwrap(), agent.stats().await.unwrap());
    let per_call = |datagrams: u64, calls: u64| datagrams as f64 / calls.max(1) as f64;
    L3 {
        best,
        tx_per_call: per_call(
            after.0.udp_tx - before.0.udp_tx,
            after.0.udp_send_calls - before.0.udp_send_calls,
        ),
        rx_per_call: per_call(
            after.1.udp_rx - before.1.udp_rx,
            after.1.udp_recv_calls - before.1.udp_recv_calls,
        ),
    }
}

/// One L3 configuration's result.
struct L3 {
    best: Duration,
    /// Client (sender) datagrams per send system call.
    tx_per_call: f64,
    /// Agent (receiver) datagrams per receive system call.
    rx_per_call: f64,
}

/// L5 figures: [`l3_tcp`] over a relay-only pair.
struct L5 {
    best: Duration,
    /// Relay thread CPU time over all runs.
    relay_cpu: Duration,
    /// Wall time of all runs.
    wall: Duration,
    /// Bytes moved over all runs.
    moved: usize,
    /// Frames the relay dropped because a destination queue was full.
    dropped_queue_full: u64,
}

impl L5 {
    /// Relay CPU seconds per Gbit moved: the cores the relay keeps busy per Gbit/s.
    fn cpu_per_gbps(&self) -> f64 {
        self.relay_cpu.as_secs_f64() / (self.moved as f64 * 8.0 / 1e9)
    }
}

/// L5: `runs` transfers of `bytes` over a [`relayed_pair`], timing the relay's CPU around them.
async fn l5_tcp(relay: &Relay, bytes: usize, runs: usize) -> L5 {
    let (client, agent) = relayed_pair(&relay.url).await;
    let (cpu0, drops0, start) = (
        relay.cpu_time().await,
        relay.server.stats().dropped_queue_full,
        Instant::now(),
    );
    let best = l3_tcp(&client, &agent, bytes, runs).await.best;
    let wall = start.elapsed();
    let relay_cpu = relay.cpu_time().await - cpu0;
    let _ = client.close().await;
    let _ = agent.close().await;
    L5 {
        best,
        relay_cpu,
        wall,
        moved: bytes * runs,
        dropped_queue_full: relay.server.stats().dropped_queue_full - drops0,
    }
}

/// One setup trial: a fresh pair; returns (handshake, first byte) measured from
/// `add_tunnel`, or `None` when the first byte took longer than 10 s.
async fn setup_trial(relay_url: &str) -> Option<(Duration, Duration)> {
    let (client, agent) = start_pair(relay_url, |_| {}).await;
    let mut listener = agent.listen_tcp(22).await.unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(b"S").await.unwrap();
        let mut rest = [0u8; 1];
        let _ = s.read(&mut rest).await;
    });
    let ip = agent.addresses()[0].into();
    let to = agent_addr(&agent, 22);
    let start = Instant::now();
    let run = async {
        client.add_tunnel(agent.id()).await.unwrap();
        client.wait_session(ip).await.unwrap();
        let handshake = start.elapsed();
        let mut s = client.dial_tcp(to).await.unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        (handshake, start.elapsed())
    };
    let result = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .ok();
    server.abort();
    let _ = client.close().await;
    let _ = agent.close().await;
    result
}

/// Latency: (tunnel RTTs, plain loopback TCP RTTs), `n` each after 200 warm-up ones,
/// alternating one tunnel and one plain round trip so both see the same machine state.
async fn latency(client: &Tunnel, agent: &Tunnel, n: usize) -> (Vec<Duration>, Vec<Duration>) {
    let mut listener = agent.listen_tcp(7).await.unwrap();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        echo(s).await;
    });
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_addr = plain.local_addr().unwrap();
    tokio::spawn(async move {
        let (s, _) = plain.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        echo(s).await;
    });
    let mut t = client.dial_tcp(agent_addr(agent, 7)).await.unwrap();
    let mut p = tokio::net::TcpStream::connect(plain_addr).await.unwrap();
    p.set_nodelay(true).unwrap();
    let (mut tun, mut base) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n + 200 {
        let (a, b) = (round_trip(&mut t).await, round_trip(&mut p).await);
        if i >= 200 {
            tun.push(a);
            base.push(b);
        }
    }
    tun.sort();
    base.sort();
    (tun, base)
}

/// Driver-level figures, measured on a 2-worker tokio runtime.
struct DriverFigures {
    l3: L3,
    l3_mmsg: L3,
    l5: L5,
    setup_handshake: Vec<Duration>,
    setup_first_byte: Vec<Duration>,
    setup_failed: usize,
    lat_tunnel: Vec<Duration>,
    lat_plain: Vec<Duration>,
}

/// The runtime the driver-level figures run on: two workers, as on the 2-core CI machine.
fn driver_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn driver_figures() -> DriverFigures {
    let relay = Relay::start();
    let url = &relay.url;
    driver_runtime().block_on(async {
        let (client, agent) = direct_pair(url, false).await;
        let l3_mmsg = l3_tcp(&client, &agent, L3_BYTES, 3).await;
        let _ = client.close().await;
        let _ = agent.close().await;
        let (client, agent) = direct_pair(url, true).await;
        let l3 = l3_tcp(&client, &agent, L3_BYTES, 3).await;
        let (lat_tunnel, lat_plain) = latency(&client, &agent, 2000).await;
        let _ = client.close().await;
        let _ = agent.close().await;
        let l5 = l5_tcp(&relay, L3_BYTES, 3).await;

        let (mut setup_handshake, mut setup_first_byte, mut setup_failed) =
            (Vec::new(), Vec::new(), 0);
        for _ in 0..100 {
            match setup_trial(url).await {
                Some((h, f)) => {
                    setup_handshake.push(h);
                    setup_first_byte.push(f);
                }
                None => setup_failed += 1,
            }
        }
        setup_handshake.sort();
        setup_first_byte.sort();
        DriverFigures {
            l3,
            l3_mmsg,
            l5,
            setup_handshake,
            setup_first_byte,
            setup_failed,
            lat_tunnel,
            lat_plain,
        }
    })
}

/// Runs one level alone for a profiler: `l2` (`TUNNEL_BENCH_MIB` MiB, default 1024) or
/// `l3-off` / `l3-gso` (one 64 MiB L3 transfer with `udp_gso` off / on) or `l5` (one 64 MiB
/// transfer through the relay, with the relay's CPU per Gbit/s).
fn profile_one(level: &str) {
    let mut mib: usize = std::env::var("TUNNEL_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let (name, d) = match level {
        "l2" => ("L2", l2_tcp(mib << 20, 1280)),
        "l3-off" | "l3-gso" => {
            let relay = Relay::start();
            let d = driver_runtime().block_on(async {
                let (client, agent) = direct_pair(&relay.url, level == "l3-gso").await;
                l3_tcp(&client, &agent, L3_BYTES, 1).await.best
            });
            mib = L3_BYTES >> 20;
            ("L3", d)
        }
        "l5" => {
            let relay = Relay::start();
            let l5 = driver_runtime().block_on(l5_tcp(&relay, L3_BYTES, 1));
            println!(
                "relay CPU {:.2} s per Gbit, {} frames dropped on a full queue",
                l5.cpu_per_gbps(),
                l5.dropped_queue_full
            );
            mib = L3_BYTES >> 20;
            ("L5", l5.best)
        }
        _ => panic!("TUNNEL_BENCH_PROFILE: l2, l3-off, l3-gso or l5"),
    };
    println!("{name} {:.2} Gbit/s", gbps(mib << 20, d));
}

fn best_of(runs: usize, f: impl Fn() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap()
}

fn main() {
    if let Ok(level) = std::env::var("TUNNEL_BENCH_PROFILE") {
        profile_one(&level);
        return;
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let n = 10_000;
    let mut g = c.benchmark_group("levels");
    g.throughput(Throughput::Bytes((n * PKT) as u64));
    g.bench_function("L0 ring seal 1420B", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| l0_seal(n)).sum())
    });
    g.bench_function("L1 encapsulate 1420B", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| l1_encap(n)).sum())
    });
    g.bench_function("L1 decapsulate 1420B", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| l1_decap(n)).sum())
    });
    g.throughput(Throughput::Bytes(16 << 20));
    g.bench_function("L2 tcp netstack-tunnel-tunnel-netstack", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| l2_tcp(16 << 20, 1280)).sum())
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
            gbps(32 << 20, best_of(3, || l2_tcp(32 << 20, 1280))),
            0.35,
        ),
        (
            "L2, inner MTU 1420",
            gbps(32 << 20, best_of(3, || l2_tcp(32 << 20, 1420))),
            0.35,
        ),
    ];
    let d = driver_figures();
    let rows = rows.into_iter().chain([
        ("L3 loopback, default", gbps(L3_BYTES, d.l3.best), 0.15),
        ("L3, udp_gso off", gbps(L3_BYTES, d.l3_mmsg.best), 0.15),
    ]);
    println!("\nlevel                 Gbit/s   ratio to L0   target (issue 5)");
    println!("L0 ring seal          {l0:6.2}   1.000         reference");
    for (name, v, target) in rows {
        println!(
            "{name:<21} {v:6.2}   {:.3}         >= {target:.2} {}",
            v / l0,
            verdict(v / l0 >= target)
        );
    }
    println!(
        "tunnel.md 6.7 also sets >= 0.30 for L3 with batching and >= 0.45 for L2 after pooling \
         (stretch goals, calibrated where L0 ran at 11.7 Gbit/s)."
    );
    println!(
        "L3: two Tunnels over loopback UDP, direct path, one TCP connection (dial_tcp/listen_tcp), \
         64 MiB, best of 3, 1 MiB TCP buffers, MTU 1280.\n\
         L3 batching, default (TunnelConfig::udp_gso on): UDP_SEGMENT sendmsg and UDP_GRO \
         recvmsg, {:.1} datagrams per send call, {:.1} per receive call measured.\n\
         L3 batching, udp_gso off: sendmmsg and recvmmsg (up to 64 datagrams each), {:.1} \
         datagrams per send call, {:.1} per receive call measured.",
        d.l3.tx_per_call, d.l3.rx_per_call, d.l3_mmsg.tx_per_call, d.l3_mmsg.rx_per_call
    );

    let (l3, l5) = (gbps(L3_BYTES, d.l3.best), gbps(L3_BYTES, d.l5.best));
    println!(
        "\nL5 relay path (ws)    {l5:6.2}   {:.3}         ratio to L3 direct {:.3}, target >= 0.50 {}",
        l5 / l0,
        l5 / l3,
        verdict(l5 / l3 >= 0.5)
    );
    println!(
        "L5: the L3 setup with block_direct, so every datagram goes client -> WebSocket -> \
         in-process RelayServer -> WebSocket -> agent on loopback; 64 MiB, best of 3. tunnel.md \
         6.7 sets >= 0.5 x L4 direct; L4 is the root-only netns bench (benches/netns.rs), so the \
         direct reference here is the L3 default row of this run.\n\
         relay CPU: {:.2} CPU-seconds per Gbit moved (cores busy per Gbit/s), the relay's own \
         thread (single-threaded runtime, CLOCK_THREAD_CPUTIME_ID) over all 3 runs; it was busy \
         {:.0}% of their {:.2} s; {} frames dropped on a full queue.",
        d.l5.cpu_per_gbps(),
        100.0 * d.l5.relay_cpu.as_secs_f64() / d.l5.wall.as_secs_f64(),
        d.l5.wall.as_secs_f64(),
        d.l5.dropped_queue_full
    );

    let (h, f) = (&d.setup_handshake, &d.setup_first_byte);
    let over_5s = f.iter().filter(|x| **x > Duration::from_secs(5)).count() + d.setup_failed;
    println!(
        "\nsetup (add_tunnel -> ..., fresh pair each, {} trials)   p50 ms   p99 ms   max ms   target",
        h.len() + d.setup_failed
    );
    if !h.is_empty() {
        println!(
            "handshake (session up)                           {:7.2}  {:7.2}  {:7.2}   <= 5 ms p50 {}",
            ms(pct(h, 0.5)),
            ms(pct(h, 0.99)),
            ms(*h.last().unwrap()),
            verdict(pct(h, 0.5) <= Duration::from_millis(5))
        );
        println!(
            "first TCP byte                                   {:7.2}  {:7.2}  {:7.2}   < 50 ms every trial {}",
            ms(pct(f, 0.5)),
            ms(pct(f, 0.99)),
            ms(*f.last().unwrap()),
            verdict(*f.last().unwrap() < Duration::from_millis(50))
        );
    }
    println!(
        "trials over 5 s (missed first handshake)         {over_5s}                           0 {}",
        verdict(over_5s == 0)
    );

    let (t, p) = (&d.lat_tunnel, &d.lat_plain);
    let added50 = ms(pct(t, 0.5)) - ms(pct(p, 0.5));
    let added99 = ms(pct(t, 0.99)) - ms(pct(p, 0.99));
    println!(
        "\nround trip, 1-byte TCP echo ({} each, same run)  p50 ms   p99 ms   target",
        t.len()
    );
    println!(
        "through the two tunnels (direct UDP)            {:7.3}  {:7.3}",
        ms(pct(t, 0.5)),
        ms(pct(t, 0.99))
    );
    println!(
        "plain loopback TCP                              {:7.3}  {:7.3}",
        ms(pct(p, 0.5)),
        ms(pct(p, 0.99))
    );
    println!(
        "added by the tunnels                            {added50:7.3}  {added99:7.3}   p50 <= 0.35 {}, p99 <= 1.0 {}",
        verdict(added50 <= 0.35),
        verdict(added99 <= 1.0)
    );
}
