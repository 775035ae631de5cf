//! Interop with wireguard-go (an independent WireGuard implementation) in a network namespace
//! this test creates. The test re-runs itself inside the namespace (`ip netns exec`), so both
//! ends talk over that namespace's loopback and nothing leaves it. Skips with a one-line reason
//! when the machine cannot create namespaces or TUN devices.
//!
//! Checks: handshake initiated from our side and from wireguard-go's; ICMPv6 echo both ways;
//! a TCP transfer through our netstack to a kernel TCP server behind wireguard-go, both
//! directions, SHA-256 checked; `wg show latest-handshakes` non-zero; a re-handshake after
//! wireguard-go removes and re-adds our peer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::process::Command;

use coder_tunnel::driver::{CoordinatorLink, Tunnel, TunnelConfig};
use coder_tunnel::keys::{NodeKey, NodePublic};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INNER: &str = "CODER_TUNNEL_INTEROP_INNER";
const WG_ADDR: Ipv6Addr = Ipv6Addr::new(0xfd7a, 0x115c, 0xa1e0, 0, 0, 0, 0, 1);
const OUR_ADDR: Ipv6Addr = Ipv6Addr::new(0xfd7a, 0x115c, 0xa1e0, 0, 0, 0, 0, 2);
const WG_PORT: u16 = 51820;
const OUR_PORT: u16 = 51821;

mod netns;

use netns::{Netns, WireguardGo, run};

/// The namespace and wireguard-go in it; fields drop in order (the process before the netns).
struct Harness {
    wg: WireguardGo,
    ns: Netns,
}

fn setup(our_key: &NodePublic) -> Result<Harness, String> {
    #[rustfmt::skip]
    netns::check_machine(&[("wireguard-go", "wireguard-go"), ("wg", "wireguard-tools"),
                           ("ping", "iputils-ping")], true)?;
    let pid = std::process::id();
    let ns = Netns::new(format!("ct-{pid}-wg"))?;
    let wg = WireguardGo::start(&ns, format!("ctw{}", pid % 100_000))?;
    let allowed = format!("{OUR_ADDR}/128");
    wg.configure(WG_PORT, our_key, &allowed, &format!("127.0.0.1:{OUR_PORT}"))?;
    wg.address(&ns, &format!("{WG_ADDR}/64"), 1420)?;
    Ok(Harness { wg, ns })
}

#[test]
fn wireguard_go_interop() {
    if std::env::var(INNER).is_ok() {
        return inner();
    }
    let our_key = NodeKey::generate();
    let h = match setup(&our_key.public()) {
        Ok(h) => h,
        Err(reason) => {
            eprintln!("skipping wireguard-go interop: {reason}");
            return;
        }
    };
    let exe = std::env::current_exe().unwrap();
    let hex: String = our_key
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let out = Command::new("ip")
        .args(["netns", "exec", &h.ns.name])
        .arg(exe)
        .args([
            "--exact",
            "wireguard_go_interop",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER, "1")
        .env("CT_OUR_SECRET", hex)
        .env("CT_WG_PUBLIC", h.wg.key.public().to_base64())
        .env("CT_WG_IF", &h.wg.ifname)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inner interop run failed:\n{text}");
    assert!(text.contains("interop: all checks passed"), "{text}");
    for line in text.lines().filter(|l| l.starts_with("interop:")) {
        println!("{line}");
    }
}

fn payload(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Runs inside the namespace.
fn inner() {
    let secret = std::env::var("CT_OUR_SECRET").unwrap();
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&secret[2 * i..2 * i + 2], 16).unwrap();
    }
    let wg_pub = NodePublic::from_base64(&std::env::var("CT_WG_PUBLIC").unwrap()).unwrap();
    let ifname = std::env::var("CT_WG_IF").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut config = TunnelConfig::client(coder_tunnel::addr::ServicePrefix::CODER_COMPAT);
        config.node_key = NodeKey::from_bytes(bytes);
        config.addresses = vec![OUR_ADDR];
        config.listen = SocketAddr::from(([127, 0, 0, 1], OUR_PORT));
        let tunnel = Tunnel::start(config, CoordinatorLink::none())
            .await
            .unwrap();
        let wg_endpoint = SocketAddr::from(([127, 0, 0, 1], WG_PORT));
        let allowed = vec![format!("{WG_ADDR}/128").parse().unwrap()];
        tunnel
            .add_static_peer(wg_pub, wg_endpoint, allowed)
            .await
            .unwrap();

        // 1. We initiate the handshake; ICMPv6 echo us → wireguard-go's kernel.
        let rtt = tunnel.ping(IpAddr::V6(WG_ADDR)).await.unwrap();
        println!("interop: our ping rtt {rtt:?}");

        // 2. TCP both ways to a kernel TCP server behind wireguard-go.
        let listener = std::net::TcpListener::bind((WG_ADDR, 7000)).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut len = [0u8; 8];
            s.read_exact(&mut len).unwrap();
            let mut data = vec![0u8; u64::from_be_bytes(len) as usize];
            s.read_exact(&mut data).unwrap();
            s.write_all(&Sha256::digest(&data)).unwrap();
            s.write_all(&payload(1 << 20, 9)).unwrap();
            // Graceful close: FIN, then wait for ours, so no RST can cut the tail short.
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).unwrap();
            assert!(
                rest.is_empty(),
                "unexpected bytes after the upload: {}",
                rest.len()
            );
        });
        let mut s = tunnel
            .dial_tcp(SocketAddr::new(WG_ADDR.into(), 7000))
            .await
            .unwrap();
        let up = payload(2 << 20, 3);
        s.write_all(&(up.len() as u64).to_be_bytes()).await.unwrap();
        s.write_all(&up).await.unwrap();
        let mut digest = [0u8; 32];
        s.read_exact(&mut digest).await.unwrap();
        assert_eq!(digest.as_slice(), Sha256::digest(&up).as_slice());
        let mut down = Vec::new();
        s.read_to_end(&mut down).await.unwrap();
        assert_eq!(down.len(), 1 << 20, "bytes received from the kernel server");
        let first_diff = down
            .iter()
            .zip(payload(1 << 20, 9))
            .position(|(a, b)| *a != b);
        assert_eq!(first_diff, None, "first corrupted byte");
        assert_eq!(Sha256::digest(&down), Sha256::digest(payload(1 << 20, 9)));
        drop(s);
        server.join().unwrap();
        println!("interop: tcp both ways ok");

        // 3. ICMPv6 echo wireguard-go's kernel → us.
        let ours = OUR_ADDR.to_string();
        let ping_us = move || run("ping", &["-6", "-c", "2", "-W", "3", &ours]);
        tokio::task::spawn_blocking(ping_us.clone())
            .await
            .unwrap()
            .unwrap();
        let hs = run("wg", &["show", &ifname, "latest-handshakes"]).unwrap();
        let ts: u64 = hs.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(ts > 0, "latest-handshakes: {hs}");

        // 4. wireguard-go forgets us and re-adds us: it initiates the next handshake.
        let key = tunnel.public_key().to_base64();
        run("wg", &["set", &ifname, "peer", &key, "remove"]).unwrap();
        let allowed = format!("{OUR_ADDR}/128");
        let endpoint = format!("127.0.0.1:{OUR_PORT}");
        #[rustfmt::skip]
        run("wg", &["set", &ifname, "peer", &key, "allowed-ips", &allowed, "endpoint", &endpoint])
            .unwrap();
        tokio::task::spawn_blocking(ping_us.clone())
            .await
            .unwrap()
            .unwrap();
        let d = tunnel.diagnostics().await.unwrap();
        assert_eq!(d.len(), 1);
        assert!(d[0].handshakes >= 2, "handshakes: {}", d[0].handshakes);
        let stats = tunnel.stats().await.unwrap();
        assert_eq!(stats.relay_tx, 0);
        println!(
            "interop: all checks passed (handshakes {})",
            d[0].handshakes
        );
    });
}
