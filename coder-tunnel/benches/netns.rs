//! L4 and Lat from `tunnel.md` §6.7, end to end between two network namespaces joined by a
//! veth pair, with the wireguard-go pair measured in the same run as the reference:
//!
//! - wireguard-go in each namespace (TUN MTU 1420), kernel TCP: `iperf3 -J` for 5 s each
//!   direction (the reference, ratio 1.00), ICMP `ping` and a 1-byte TCP ping-pong.
//! - Ours: a coder-tunnel client in namespace A and an agent in B on direct UDP over the veth
//!   (static peers), inner MTU 1420 like wireguard-go's TUN (our default is 1280): bulk TCP
//!   through `dial_tcp` / `listen_tcp` for the same time each direction, `Tunnel::ping` and the
//!   same 1-byte TCP ping-pong.
//! - Cross-checks: the bench's own bulk-TCP code over the wireguard-go pair (so our figure can
//!   also be compared with code identical on both sides), and our client ↔ wireguard-go with a
//!   kernel TCP server behind it.
//! - Added RTT = RTT through the tunnel − RTT over the bare veth, same protocol.
//!
//! Each namespace's side runs on its own thread moved into the namespace with `setns(2)`, with
//! a 2-worker tokio runtime. Run: `cargo bench -p coder-tunnel --bench netns`
//! (`CT_BENCH_SECS=10` for longer transfers). Skips with a one-line reason when the machine
//! cannot (not root, no `/dev/net/tun`, no wireguard-go, wg, ping or iperf3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/netns/mod.rs"]
mod netns;

mod measure;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use coder_tunnel::addr::ServicePrefix;
use coder_tunnel::driver::{CoordinatorLink, Tunnel, TunnelConfig, UDP_SOCKET_BUFFER};
use coder_tunnel::keys::NodePublic;
use measure::{echo, gbps, ms, pct, round_trip, verdict};
use netns::{Netns, WireguardGo, run};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

/// Inner MTU of every tunnel here (wireguard-go's TUN default).
const MTU: usize = 1420;
const VETH_A: &str = "10.77.0.1";
const VETH_B: &str = "10.77.0.2";
const WG_A: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
const WG_B: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
/// Our client's address when it talks to wireguard-go (inside wireguard-go's /64).
const OURS_TO_WG: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 3);
const WG_PORT: u16 = 51820;
const OUR_PORT: u16 = 51900;
const OUR_TO_WG_PORT: u16 = 51901;
/// Services on both sides of every path (kernel TCP in namespace B, and our agent).
const SINK: u16 = 5001;
const SOURCE: u16 = 5002;
const ECHO: u16 = 5007;
const RTT_SAMPLES: usize = 500;
const RTT_WARMUP: usize = 100;
const PINGS: usize = 300;
/// TCP payload per full segment at [`MTU`] over IPv6.
const MSS: u64 = (MTU - 40 - 20) as u64;

fn main() {
    let secs = std::env::var("CT_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5u64);
    #[rustfmt::skip]
    let tools = [("wireguard-go", "wireguard-go"), ("wg", "wireguard-tools"),
                 ("ping", "iputils-ping"), ("iperf3", "iperf3")];
    if let Err(reason) = netns::check_machine(&tools, false) {
        println!("skipping the netns bench: {reason}");
        return;
    }
    match Bench::setup() {
        Ok(bench) => bench.run(Duration::from_secs(secs)),
        Err(reason) => println!("skipping the netns bench: {reason}"),
    }
}

/// The two namespaces and wireguard-go in each; fields drop in order (processes first).
struct Bench {
    wg_a: WireguardGo,
    wg_b: WireguardGo,
    a: Netns,
    b: Netns,
}

impl Bench {
    fn setup() -> Result<Self, String> {
        let pid = std::process::id();
        let a = Netns::new(format!("ct-{pid}-a"))?;
        let b = Netns::new(format!("ct-{pid}-b"))?;
        let (va, vb) = (format!("ctv{pid}a"), format!("ctv{pid}b"));
        a.veth_to(
            &va,
            &format!("{VETH_A}/24"),
            &b,
            &vb,
            &format!("{VETH_B}/24"),
        )?;
        let wg_a = WireguardGo::start(&a, format!("ctw{}a", pid % 100_000))?;
        let wg_b = WireguardGo::start(&b, format!("ctw{}b", pid % 100_000))?;
        let (pa, pb) = (wg_a.key.public(), wg_b.key.public());
        #[rustfmt::skip]
        wg_a.configure(WG_PORT, &pb, &format!("{WG_B}/128"), &format!("{VETH_B}:{WG_PORT}"))?;
        #[rustfmt::skip]
        wg_b.configure(WG_PORT, &pa, &format!("{WG_A}/128"), &format!("{VETH_A}:{WG_PORT}"))?;
        wg_a.address(&a, &format!("{WG_A}/64"), MTU)?;
        wg_b.address(&b, &format!("{WG_B}/64"), MTU)?;
        // The first ping makes the handshake.
        a.exec(&[
            "ping",
            "-6",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "5",
            &WG_B.to_string(),
        ])?;
        Ok(Self { wg_a, wg_b, a, b })
    }

    fn run(self, dur: Duration) {
        self.print_facts(dur);
        let wg_pids = [self.wg_a.pid(), self.wg_b.pid()];

        // Reference: iperf3 and ping over the wireguard-go pair and the bare veth.
        let server = self
            .b
            .command("iperf3")
            .args(["-s", "-B", "::"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let _server = KillOnDrop(server);
        std::thread::sleep(Duration::from_millis(300));
        let iperf_up = self.iperf(dur, false, wg_pids);
        let iperf_down = self.iperf(dur, true, wg_pids);
        let icmp_veth = self.icmp(VETH_B);
        let icmp_wg = self.icmp(&WG_B.to_string());

        // Namespace B: kernel TCP services and our agent (with the same services).
        let mut agent = TunnelConfig::agent(ServicePrefix::DEFAULT, uuid::Uuid::new_v4());
        let mut client = TunnelConfig::client(ServicePrefix::DEFAULT);
        let mut to_wg = TunnelConfig::client(ServicePrefix::DEFAULT);
        agent.listen = SocketAddr::new(VETH_B.parse().unwrap(), OUR_PORT);
        client.listen = SocketAddr::new(VETH_A.parse().unwrap(), OUR_PORT);
        to_wg.listen = SocketAddr::new(VETH_A.parse().unwrap(), OUR_TO_WG_PORT);
        to_wg.addresses = vec![OURS_TO_WG];
        for c in [&mut agent, &mut client, &mut to_wg] {
            c.mtu = MTU;
        }
        let tcp_buffer = client.tcp_buffer;
        let client_peer = Peer::of(&client);
        let agent_peer = Peer::of(&agent);
        let wg_peer = Peer {
            key: self.wg_b.key.public(),
            endpoint: SocketAddr::new(VETH_B.parse().unwrap(), WG_PORT),
            addr: WG_B,
        };
        // wireguard-go B also accepts our second client.
        self.wg_b
            .add_peer(
                &to_wg.node_key.public(),
                &format!("{OURS_TO_WG}/128"),
                &to_wg.listen.to_string(),
            )
            .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let side_b = in_netns(&self.b, move || async move {
            for port in [SINK, SOURCE, ECHO] {
                let l = tokio::net::TcpListener::bind((Ipv6Addr::UNSPECIFIED, port))
                    .await
                    .unwrap();
                tokio::spawn(async move {
                    loop {
                        let (s, _) = l.accept().await.unwrap();
                        s.set_nodelay(true).unwrap();
                        tokio::spawn(serve(port, s, dur));
                    }
                });
            }
            let agent = Tunnel::start(agent, CoordinatorLink::none()).await.unwrap();
            client_peer.add_to(&agent).await;
            for port in [SINK, SOURCE, ECHO] {
                let mut l = agent.listen_tcp(port).await.unwrap();
                tokio::spawn(async move {
                    loop {
                        let (s, _) = l.accept().await.unwrap();
                        tokio::spawn(serve(port, s, dur));
                    }
                });
            }
            ready_tx.send(()).unwrap();
            let _ = stopped.await;
            let _ = agent.close().await;
        });
        ready_rx.recv().unwrap();

        // Namespace A: every in-process row, one after the other.
        let names = [self.a.name.clone(), self.b.name.clone()];
        let side_a = in_netns(&self.a, move || async move {
            let veth_b: IpAddr = VETH_B.parse().unwrap();
            let kernel = async |ip: IpAddr, port| {
                let s = tokio::net::TcpStream::connect((ip, port)).await.unwrap();
                s.set_nodelay(true).unwrap();
                s
            };
            let mut veth = kernel(veth_b, ECHO).await;
            let veth = &mut veth;
            let watch = Watch { wg_pids, names };
            let watch = &watch;
            let wg_pair = Row::measure(dur, watch, None, veth, async |port| {
                kernel(WG_B.into(), port).await
            })
            .await;

            let client = Tunnel::start(client, CoordinatorLink::none())
                .await
                .unwrap();
            agent_peer.add_to(&client).await;
            client.wait_session(agent_peer.addr.into()).await.unwrap();
            let dial = async |port| {
                let to = SocketAddr::new(agent_peer.addr.into(), port);
                client.dial_tcp(to).await.unwrap()
            };
            let ours = Row::measure(dur, watch, Some(&client), veth, dial).await;
            let ours_icmp = icmp_ours(&client, agent_peer.addr).await;

            let to_wg = Tunnel::start(to_wg, CoordinatorLink::none()).await.unwrap();
            wg_peer.add_to(&to_wg).await;
            let dial = async |port| {
                let to = SocketAddr::new(WG_B.into(), port);
                to_wg.dial_tcp(to).await.unwrap()
            };
            let ours_wg = Row::measure(dur, watch, Some(&to_wg), veth, dial).await;
            let ours_wg_icmp = icmp_ours(&to_wg, WG_B).await;
            let _ = client.close().await;
            let _ = to_wg.close().await;
            InProcess {
                wg_pair,
                ours,
                ours_icmp,
                ours_wg,
                ours_wg_icmp,
            }
        })
        .join()
        .unwrap();
        let _ = stop.send(());
        side_b.join().unwrap();

        println!("load average after the run: {}", load_average());
        report(
            Reference {
                iperf_up,
                iperf_down,
                icmp_veth,
                icmp_wg,
            },
            side_a,
            tcp_buffer,
        );
    }

    fn print_facts(&self, dur: Duration) {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let first = |cmd: &str, args: &[&str]| {
            run(cmd, args)
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let sysctl = |path: &str| {
            self.a
                .exec(&["cat", path])
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "machine: {cpu}, {cores} cores, kernel {}",
            first("uname", &["-r"])
        );
        println!(
            "tools: {}, {}, {}",
            first("rustc", &["-V"]),
            first("wireguard-go", &["--version"]),
            first("iperf3", &["--version"])
        );
        println!(
            "network: two netns joined by a veth (MTU 1500, {VETH_A}/24 - {VETH_B}/24); \
             wireguard-go TUN MTU {MTU} ({WG_A} - {WG_B}); our inner MTU {MTU} \
             (default 1280), direct UDP over the veth, static peers"
        );
        println!(
            "buffers: kernel tcp_rmem {} / tcp_wmem {}; ours: TCP {} KiB per direction per \
             connection, UDP socket {} KiB requested; {} s per transfer",
            sysctl("/proc/sys/net/ipv4/tcp_rmem"),
            sysctl("/proc/sys/net/ipv4/tcp_wmem"),
            TunnelConfig::client(ServicePrefix::DEFAULT).tcp_buffer >> 10,
            UDP_SOCKET_BUFFER >> 10,
            dur.as_secs()
        );
    }

    /// `iperf3 -J` from A to B over the wireguard-go pair (`reverse`: B to A).
    fn iperf(&self, dur: Duration, reverse: bool, wg_pids: [Option<u32>; 2]) -> Bulk {
        let secs = dur.as_secs().to_string();
        let mut args = vec!["iperf3", "-6", "-J", "-c", "fd77::2", "-t", &secs];
        if reverse {
            args.push("-R");
        }
        let loss = Loss::sample(&[self.a.name.clone(), self.b.name.clone()]);
        let before = Cpu::sample(wg_pids);
        let out = self.a.exec(&args).unwrap();
        let cpu = before.since(wg_pids);
        let loss = loss.since();
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        let end = &json["end"];
        let util = &end["cpu_utilization_percent"];
        Bulk {
            gbps: end["sum_received"]["bits_per_second"].as_f64().unwrap() / 1e9,
            cpu: Cpu {
                wg_go: cpu.wg_go,
                app: util["host_total"].as_f64().unwrap_or(0.0)
                    + util["remote_total"].as_f64().unwrap_or(0.0),
                ..cpu
            },
            retransmits: end["sum_sent"]["retransmits"].as_u64(),
            loss,
        }
    }

    /// `ping` from A: RTT samples, sorted.
    fn icmp(&self, to: &str) -> Vec<Duration> {
        let count = PINGS.to_string();
        let out = self
            .a
            .exec(&["ping", "-n", "-c", &count, "-i", "0.005", to])
            .unwrap();
        let mut v: Vec<Duration> = out
            .lines()
            .filter_map(|l| l.split("time=").nth(1))
            .filter_map(|t| t.trim_end_matches(" ms").parse::<f64>().ok())
            .map(|m| Duration::from_secs_f64(m / 1e3))
            .collect();
        v.sort();
        v
    }
}

/// A static peer: its key, UDP endpoint and tunnel address.
#[derive(Clone, Copy)]
struct Peer {
    key: NodePublic,
    endpoint: SocketAddr,
    addr: Ipv6Addr,
}

impl Peer {
    fn of(c: &TunnelConfig) -> Self {
        Self {
            key: c.node_key.public(),
            endpoint: c.listen,
            addr: c.addresses[0],
        }
    }

    async fn add_to(&self, t: &Tunnel) {
        let allowed = vec![format!("{}/128", self.addr).parse().unwrap()];
        t.add_static_peer(self.key, self.endpoint, allowed)
            .await
            .unwrap();
    }
}

/// Runs `f`'s future on a new thread moved into `ns`, on a 2-worker tokio runtime.
fn in_netns<F, Fut>(ns: &Netns, f: F) -> std::thread::JoinHandle<Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future,
    Fut::Output: Send + 'static,
{
    let name = ns.name.clone();
    std::thread::spawn(move || {
        netns::enter(&name).unwrap();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    })
}

/// The 1-, 5- and 15-minute load averages: other work on the machine skews every figure.
fn load_average() -> String {
    let l = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A connection on one of the service ports: a sink that answers with the byte count, a
/// source that sends for `dur`, or an echo.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(port: u16, mut s: S, dur: Duration) {
    let mut buf = vec![0u8; 256 << 10];
    match port {
        SINK => {
            let mut got = 0u64;
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n as u64,
                }
            }
            let _ = s.write_all(&got.to_be_bytes()).await;
            let _ = s.shutdown().await;
        }
        SOURCE => {
            let start = Instant::now();
            while start.elapsed() < dur {
                if s.write_all(&buf).await.is_err() {
                    return;
                }
            }
            let _ = s.shutdown().await;
            let _ = s.read(&mut buf).await;
        }
        _ => echo(s).await,
    }
}

/// Sends for `dur`, then waits for the sink's count: (bytes, time to the count).
async fn upload<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, dur: Duration) -> (u64, Duration) {
    let buf = vec![0x5au8; 256 << 10];
    let start = Instant::now();
    while start.elapsed() < dur {
        s.write_all(&buf).await.unwrap();
    }
    s.shutdown().await.unwrap();
    let mut count = [0u8; 8];
    s.read_exact(&mut count).await.unwrap();
    (u64::from_be_bytes(count), start.elapsed())
}

/// Reads to EOF: (bytes, time from the first byte to EOF).
async fn download<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) -> (u64, Duration) {
    let mut buf = vec![0u8; 256 << 10];
    let mut got = s.read(&mut buf).await.unwrap() as u64;
    let start = Instant::now();
    loop {
        let n = s.read(&mut buf).await.unwrap();
        if n == 0 {
            return (got, start.elapsed());
        }
        got += n as u64;
    }
}

/// 1-byte TCP ping-pong RTTs on `s` and on `base`, alternating one each so both see the same
/// machine state; each sorted, after a warm-up.
async fn rtts<S, B>(s: &mut S, base: &mut B) -> (Vec<Duration>, Vec<Duration>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (mut v, mut b) = (Vec::new(), Vec::new());
    for i in 0..RTT_WARMUP + RTT_SAMPLES {
        let (x, y) = (round_trip(s).await, round_trip(base).await);
        if i >= RTT_WARMUP {
            v.push(x);
            b.push(y);
        }
    }
    v.sort();
    b.sort();
    (v, b)
}

/// `Tunnel::ping` RTTs, sorted, one every 5 ms like `ping -i 0.005`.
async fn icmp_ours(t: &Tunnel, to: Ipv6Addr) -> Vec<Duration> {
    let mut v = Vec::with_capacity(PINGS);
    for _ in 0..PINGS {
        v.push(t.ping(to.into()).await.unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    v.sort();
    v
}

/// CPU time over a measurement, in % of one core.
#[derive(Debug, Default, Clone, Copy)]
struct Cpu {
    /// Both wireguard-go processes.
    wg_go: f64,
    /// This process (our tunnels and the bench's TCP ends), or iperf3 client + server.
    app: f64,
    at: Option<Instant>,
    ticks: [u64; 2],
}

impl Cpu {
    fn ticks(pid: &str) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        // utime and stime are fields 14 and 15; `after` starts at field 3.
        f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
    }

    fn wg_ticks(pids: [Option<u32>; 2]) -> u64 {
        pids.iter()
            .flatten()
            .map(|p| Self::ticks(&p.to_string()))
            .sum()
    }

    fn sample(pids: [Option<u32>; 2]) -> Self {
        Self {
            at: Some(Instant::now()),
            ticks: [Self::wg_ticks(pids), Self::ticks("self")],
            ..Self::default()
        }
    }

    fn since(&self, pids: [Option<u32>; 2]) -> Self {
        let secs = self.at.map_or(1.0, |t| t.elapsed().as_secs_f64());
        // Linux reports these in USER_HZ, 100 per second on every supported architecture.
        let pct = |now: u64, then: u64| (now.saturating_sub(then)) as f64 / secs;
        Self {
            wg_go: pct(Self::wg_ticks(pids), self.ticks[0]),
            app: pct(Self::ticks("self"), self.ticks[1]),
            ..Self::default()
        }
    }
}

/// One bulk transfer's figures.
#[derive(Debug, Clone)]
struct Bulk {
    gbps: f64,
    cpu: Cpu,
    retransmits: Option<u64>,
    /// Loss counters that moved during the transfer.
    loss: Vec<String>,
}

/// Kernel loss counters of both namespaces ([`netns::counters`]), sampled before a transfer.
struct Loss {
    names: [String; 2],
    before: [BTreeMap<String, u64>; 2],
}

impl Loss {
    fn sample(names: &[String; 2]) -> Self {
        Self {
            before: names.clone().map(|n| netns::counters(&n)),
            names: names.clone(),
        }
    }

    /// `A:`/`B:`-prefixed counters of drops, errors and TCP retransmissions that moved since
    /// the sample, with the amount (the machine-wide `softnet.dropped` once).
    fn since(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, (name, before)) in self.names.iter().zip(&self.before).enumerate() {
            let side = if i == 0 { "A" } else { "B" };
            for (k, v) in netns::counters(name) {
                let lossy = ["Drop", "drop", "Err", "Prune", "Collapse", "RetransSegs"]
                    .iter()
                    .any(|w| k.contains(w));
                let delta = v.saturating_sub(before.get(&k).copied().unwrap_or(v));
                if lossy && delta > 0 && (i == 0 || k != "softnet.dropped") {
                    out.push(format!("{side}:{k} {delta}"));
                }
            }
        }
        out
    }
}

/// What every in-process row watches: the wireguard-go processes' CPU and the namespaces'
/// loss counters (A, B).
struct Watch {
    wg_pids: [Option<u32>; 2],
    names: [String; 2],
}

/// A path measured in-process: bulk both ways, TCP RTTs and the bare veth's TCP RTTs taken
/// alternately with them.
struct Row {
    up: Bulk,
    down: Bulk,
    tcp_rtt: Vec<Duration>,
    tcp_veth: Vec<Duration>,
}

impl Row {
    /// Measures the path `connect` dials; with `ours`, the tunnel whose datagrams count
    /// segments sent beyond the bytes delivered (upload: ours sends; download: the peer
    /// sends and we count what arrived).
    async fn measure<S: AsyncRead + AsyncWrite + Unpin>(
        dur: Duration,
        watch: &Watch,
        ours: Option<&Tunnel>,
        veth: &mut tokio::net::TcpStream,
        connect: impl AsyncFn(u16) -> S,
    ) -> Self {
        let udp = async || match ours {
            Some(t) => {
                let s = t.stats().await.unwrap();
                Some((s.udp_tx, s.udp_rx))
            }
            None => None,
        };
        let wg_pids = watch.wg_pids;
        let bulk =
            |(bytes, d): (u64, Duration), cpu: Cpu, loss: Loss, datagrams: Option<u64>| Bulk {
                gbps: gbps(bytes as usize, d),
                cpu: cpu.since(wg_pids),
                retransmits: datagrams.map(|n| n.saturating_sub(bytes.div_ceil(MSS))),
                loss: loss.since(),
            };
        let sample = async || {
            let loss = Loss::sample(&watch.names);
            (Cpu::sample(wg_pids), loss, udp().await)
        };
        let (cpu, loss, before) = sample().await;
        let repair = ours.map(Tunnel::recovery_stats);
        let sent = upload(connect(SINK).await, dur).await;
        let tx = udp().await.zip(before).map(|(a, b)| a.0 - b.0);
        let mut up = bulk(sent, cpu, loss, tx);
        if let (Some(t), Some(b)) = (ours, repair) {
            let a = t.recovery_stats();
            up.loss.push(format!(
                "ours: stack retx {}, repairs {}, stalls {} ({:.2} s)",
                a.stack_retransmits - b.stack_retransmits,
                a.repairs - b.repairs,
                a.stalls - b.stalls,
                (a.stalled - b.stalled).as_secs_f64()
            ));
        }
        let (cpu, loss, before) = sample().await;
        let got = download(connect(SOURCE).await).await;
        let rx = udp().await.zip(before).map(|(a, b)| a.1 - b.1);
        let down = bulk(got, cpu, loss, rx);
        let (tcp_rtt, tcp_veth) = rtts(&mut connect(ECHO).await, veth).await;
        Self {
            up,
            down,
            tcp_rtt,
            tcp_veth,
        }
    }
}

struct Reference {
    iperf_up: Bulk,
    iperf_down: Bulk,
    icmp_veth: Vec<Duration>,
    icmp_wg: Vec<Duration>,
}

struct InProcess {
    wg_pair: Row,
    ours: Row,
    ours_icmp: Vec<Duration>,
    ours_wg: Row,
    ours_wg_icmp: Vec<Duration>,
}

fn report(r: Reference, p: InProcess, tcp_buffer: usize) {
    println!(
        "\nL4 bulk TCP, Gbit/s (ratio to the wireguard-go pair's iperf3, same direction)   \
         CPU % of one core: wg-go / app"
    );
    let line = |name: &str, b: &Bulk, reference: &Bulk, target: Option<f64>| {
        let ratio = b.gbps / reference.gbps;
        let goal = target.map_or(String::new(), |t| {
            format!("   >= {t:.2} {}", verdict(ratio >= t))
        });
        let retr = b
            .retransmits
            .map_or(String::new(), |n| format!(", retx {n}"));
        println!(
            "  {name:<44} {:6.3}  ({ratio:4.2}x)   {:5.0} / {:5.0}{retr}{goal}",
            b.gbps, b.cpu.wg_go, b.cpu.app
        );
        if !b.loss.is_empty() {
            println!("  {:<44} {}", "", b.loss.join(", "));
        }
    };
    let (ru, rd) = (&r.iperf_up, &r.iperf_down);
    line("wg-go pair, kernel TCP, iperf3, A->B", ru, ru, None);
    line("wg-go pair, kernel TCP, iperf3, B->A", rd, ru, None);
    line(
        "wg-go pair, kernel TCP, bench code, A->B",
        &p.wg_pair.up,
        ru,
        None,
    );
    line(
        "wg-go pair, kernel TCP, bench code, B->A",
        &p.wg_pair.down,
        rd,
        None,
    );
    line(
        "ours pair (smoltcp both ends), A->B",
        &p.ours.up,
        ru,
        Some(1.0),
    );
    line(
        "ours pair (smoltcp both ends), B->A",
        &p.ours.down,
        rd,
        Some(1.0),
    );
    line(
        "ours client -> wg-go + kernel TCP, A->B",
        &p.ours_wg.up,
        ru,
        None,
    );
    line(
        "ours client <- wg-go + kernel TCP, B->A",
        &p.ours_wg.down,
        rd,
        None,
    );
    println!(
        "  (\"B->A\" ratios are to iperf3 -R. Our TCP buffer {} KiB per direction; app CPU is \
         iperf3 client+server for iperf3 rows, this whole process (both tunnels and the bench's \
         TCP ends) for the others. retx: iperf3's retransmits; for ours, data datagrams sent \
         (A->B) or received (B->A) beyond bytes / MSS {MSS}.)",
        tcp_buffer >> 10
    );

    println!(
        "\nLat round trip, ms              p50      p99    added p50  added p99   (added = minus the \
         bare veth, same protocol)"
    );
    let lat = |name: &str, v: &[Duration], base: &[Duration]| {
        let (p50, p99) = (ms(pct(v, 0.5)), ms(pct(v, 0.99)));
        let (a50, a99) = (p50 - ms(pct(base, 0.5)), p99 - ms(pct(base, 0.99)));
        println!("  {name:<30} {p50:6.3}  {p99:7.3}  {a50:8.3}  {a99:9.3}");
        (a50, a99)
    };
    println!("  ICMP echo ({PINGS} each, 5 ms apart)");
    lat("veth", &r.icmp_veth, &r.icmp_veth);
    let (wg_icmp50, _) = lat("wg-go pair", &r.icmp_wg, &r.icmp_veth);
    let (ours_icmp50, _) = lat("ours pair (Tunnel::ping)", &p.ours_icmp, &r.icmp_veth);
    lat("ours -> wg-go", &p.ours_wg_icmp, &r.icmp_veth);
    println!(
        "  TCP 1-byte ping-pong ({RTT_SAMPLES} each after {RTT_WARMUP} warm-up, one veth round \
         trip after each)"
    );
    let row = |name: &str, r: &Row| {
        lat("veth, kernel TCP, alternating", &r.tcp_veth, &r.tcp_veth);
        lat(name, &r.tcp_rtt, &r.tcp_veth)
    };
    let (wg50, wg99) = row("wg-go pair, kernel TCP", &p.wg_pair);
    let (o50, o99) = row("ours pair", &p.ours);
    row("ours -> wg-go + kernel TCP", &p.ours_wg);
    println!(
        "  ours pair, TCP added: p50 {o50:.3} ms ({:.2}x wg-go) <= 0.35 {}, <= wg-go {}; \
         p99 {o99:.3} ms ({:.2}x wg-go) <= 1.0 {}",
        o50 / wg50,
        verdict(o50 <= 0.35),
        verdict(o50 <= wg50),
        o99 / wg99,
        verdict(o99 <= 1.0)
    );
    println!(
        "  ours pair, ICMP added: p50 {ours_icmp50:.3} ms ({:.2}x wg-go) <= 0.35 {}, <= wg-go {}",
        ours_icmp50 / wg_icmp50,
        verdict(ours_icmp50 <= 0.35),
        verdict(ours_icmp50 <= wg_icmp50)
    );
}
