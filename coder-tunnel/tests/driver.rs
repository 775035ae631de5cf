//! The tokio driver end to end on loopback: two tunnels, a relay server, the in-memory
//! coordinator; relay-only first, then direct UDP; TCP both ways with SHA-256 checked; ping;
//! endpoints discovered by STUN through the relay's STUN responder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use coder_tunnel::driver::{MemoryCoordinatorHub, Tunnel, TunnelConfig};
use coder_tunnel::path::PathKind;
use coder_tunnel::relay::{RelayServer, StunServer};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

async fn relay() -> (RelayServer, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/relay", listener.local_addr().unwrap());
    let server = RelayServer::new(1024);
    tokio::spawn(server.clone().serve(listener));
    (server, url)
}

async fn pair(block_direct: bool) -> (Tunnel, Tunnel, RelayServer) {
    pair_with(|c| c.block_direct = block_direct).await
}

async fn pair_with(configure: impl Fn(&mut TunnelConfig)) -> (Tunnel, Tunnel, RelayServer) {
    let (server, url) = relay().await;
    let (client, agent) = MemoryCoordinatorHub::new()
        .start_loopback_pair(&url, configure)
        .await
        .unwrap();
    client.add_tunnel(agent.id()).await.unwrap();
    (client, agent, server)
}

/// Echo server on the agent: reads everything, answers with its SHA-256 then `reply_len`
/// bytes of its own.
async fn serve_one(agent: &Tunnel, port: u16, reply_len: usize) -> tokio::task::JoinHandle<()> {
    let mut listener = agent.listen_tcp(port).await.unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut len = [0u8; 8];
        s.read_exact(&mut len).await.unwrap();
        let mut data = vec![0u8; u64::from_be_bytes(len) as usize];
        s.read_exact(&mut data).await.unwrap();
        s.write_all(&Sha256::digest(&data)).await.unwrap();
        s.write_all(&payload(reply_len, 9)).await.unwrap();
        s.shutdown().await.unwrap();
        // Keep the stream until the peer has read everything.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest).await;
    })
}

async fn exchange(from: &Tunnel, to: SocketAddr, up: usize, down: usize) {
    let mut s = from.dial_tcp(to).await.unwrap();
    let data = payload(up, 3);
    s.write_all(&(up as u64).to_be_bytes()).await.unwrap();
    s.write_all(&data).await.unwrap();
    let mut digest = [0u8; 32];
    s.read_exact(&mut digest).await.unwrap();
    assert_eq!(digest.as_slice(), Sha256::digest(&data).as_slice());
    let mut back = Vec::new();
    s.read_to_end(&mut back).await.unwrap();
    assert_eq!(back.len(), down);
    assert_eq!(Sha256::digest(&back), Sha256::digest(payload(down, 9)));
}

/// Waits until `a` sends to `b` directly at `b_at` and `b` to `a` at `a_at`.
async fn wait_direct(a: &Tunnel, b_at: SocketAddr, b: &Tunnel, a_at: SocketAddr) {
    let limit = Duration::from_secs(10);
    a.wait_path(b.public_key(), PathKind::Direct(b_at), limit)
        .await
        .unwrap();
    b.wait_path(a.public_key(), PathKind::Direct(a_at), limit)
        .await
        .unwrap();
}

/// `up` bytes from `client` to a [`serve_one`] on `agent`'s port 22 and `down` bytes back,
/// checked, within 30 s.
async fn transfer(client: &Tunnel, agent: &Tunnel, up: usize, down: usize) {
    let server = serve_one(agent, 22, down).await;
    tokio::time::timeout(
        Duration::from_secs(30),
        exchange(client, agent_addr(agent, 22), up, down),
    )
    .await
    .unwrap();
    server.await.unwrap();
}

/// Waits until the client and the agent of a loopback pair talk directly.
async fn wait_direct_pair(client: &Tunnel, agent: &Tunnel) {
    wait_direct(
        client,
        agent.local_udp_addr(),
        agent,
        client.local_udp_addr(),
    )
    .await;
}

fn agent_addr(agent: &Tunnel, port: u16) -> SocketAddr {
    SocketAddr::new(agent.addresses()[0].into(), port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_carries_tcp_both_ways_and_ping() {
    let (client, agent, relay) = pair(true).await;
    transfer(&client, &agent, 512 << 10, 256 << 10).await;
    // The agent can dial the client as well.
    let client_server = serve_one(&client, 9000, 1000).await;
    let to_client = SocketAddr::new(client.addresses()[0].into(), 9000);
    exchange(&agent, to_client, 1000, 1000).await;
    client_server.await.unwrap();
    let rtt = agent.ping(client.addresses()[0].into()).await.unwrap();
    assert!(rtt < Duration::from_secs(5));

    let d = client.diagnostics().await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path, PathKind::Relay);
    assert!(d[0].session_up);
    assert_eq!(d[0].key, agent.public_key());
    let s = client.stats().await.unwrap();
    assert_eq!(s.udp_tx, 0, "block_direct: nothing went over UDP");
    assert!(s.relay_tx > 100);
    assert!(relay.stats().forwarded >= s.relay_tx);
    assert_eq!(relay.stats().clients, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_to_direct_udp_and_carries_tcp() {
    let (client, agent, relay) = pair(false).await;
    // Probes round-trip over loopback and both sides switch to direct UDP.
    wait_direct_pair(&client, &agent).await;
    // The handshake itself may still be in flight over the relay; a ping waits for it.
    let rtt = client.ping(agent.addresses()[0].into()).await.unwrap();
    assert!(rtt < Duration::from_secs(1));
    let relayed_before = relay.stats().forwarded;
    transfer(&client, &agent, 1 << 20, 1 << 20).await;
    // 2 MiB of TCP is thousands of datagrams; at most a stray handshake retransmit may
    // still cross the relay.
    let relayed = relay.stats().forwarded - relayed_before;
    assert!(
        relayed < 10,
        "{relayed} datagrams went via the relay, TCP should go direct"
    );
    let node = client.node().await.unwrap();
    assert_eq!(node.endpoints, vec![client.local_udp_addr()]);
    assert_eq!(node.home_relay, 1);
    client.close().await.unwrap();
}

/// With UDP GSO/GRO off the direct path batches with `sendmmsg`/`recvmmsg`: TCP arrives intact
/// both ways, fewer send calls than datagrams, and every receive call is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_udp_without_gso_batches_syscalls() {
    let (client, agent, _relay) = pair_with(|c| c.udp_gso = false).await;
    wait_direct_pair(&client, &agent).await;
    client.ping(agent.addresses()[0].into()).await.unwrap();
    transfer(&client, &agent, 2 << 20, 1 << 20).await;
    let (c, a) = (client.stats().await.unwrap(), agent.stats().await.unwrap());
    assert!(c.udp_tx > 1000, "{} datagrams for 2 MiB", c.udp_tx);
    assert!(
        c.udp_send_calls > 0 && c.udp_send_calls < c.udp_tx,
        "{} send calls for {} datagrams",
        c.udp_send_calls,
        c.udp_tx
    );
    assert!(
        a.udp_recv_calls > 0 && a.udp_recv_calls <= a.udp_rx,
        "{} receive calls for {} datagrams",
        a.udp_recv_calls,
        a.udp_rx
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_answers_latency_check() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(RelayServer::new(8).serve(listener));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /relay/latency-check HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert_eq!(
        resp,
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stun_discovers_the_endpoint_of_a_wildcard_socket_and_goes_direct() {
    let (relay, url) = relay().await;
    let stun_socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let stun_addr = stun_socket.local_addr().unwrap();
    let stun = StunServer::new();
    tokio::spawn(stun.clone().serve(stun_socket));
    let (client, agent) = MemoryCoordinatorHub::new()
        .start_loopback_pair(&url, |c| {
            c.listen = SocketAddr::from(([0, 0, 0, 0], 0));
            c.stun_servers = vec![stun_addr];
        })
        .await
        .unwrap();
    // Bound to 0.0.0.0: only STUN can tell what to advertise; loopback answers 127.0.0.1.
    let seen = |t: &Tunnel| SocketAddr::from(([127, 0, 0, 1], t.local_udp_addr().port()));
    assert!(client.local_udp_addr().ip().is_unspecified());
    let advertised = async {
        loop {
            let c = client.node().await.unwrap().endpoints;
            let a = agent.node().await.unwrap().endpoints;
            if !c.is_empty() && !a.is_empty() {
                return (c, a);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let (c, a) = tokio::time::timeout(Duration::from_secs(10), advertised)
        .await
        .unwrap();
    assert_eq!(c, vec![seen(&client)]);
    assert_eq!(a, vec![seen(&agent)]);

    client.add_tunnel(agent.id()).await.unwrap();
    wait_direct(&client, seen(&agent), &agent, seen(&client)).await;
    let rtt = client.ping(agent.addresses()[0].into()).await.unwrap();
    assert!(rtt < Duration::from_secs(1));
    // One answered transaction each (a retransmit, if the load delayed an answer past 500 ms,
    // reuses the id: its second answer is dropped, not counted).
    let (c, a) = (client.stats().await.unwrap(), agent.stats().await.unwrap());
    assert_eq!(
        (c.stun_rx, c.hard_nat, a.stun_rx, a.hard_nat),
        (1, false, 1, false)
    );
    assert_eq!(stun.stats().answered, c.stun_tx + a.stun_tx);
    assert_eq!(stun.stats().dropped, 0);
    assert_eq!(relay.stats().clients, 2);
    client.close().await.unwrap();
}
