//! A standalone relay server for tests:
//! `cargo run -p coder-tunnel --example relay -- 127.0.0.1:8080 [STUN_ADDR]`
//! serves `ws://127.0.0.1:8080/relay` and `GET /relay/latency-check` over TCP, and answers
//! STUN Binding requests over UDP on `STUN_ADDR`, by default the same address and port as
//! the relay (UDP 8080 here; set `RelayNode::stun_port` to it). Tunnels list that address in
//! `TunnelConfig::stun_servers` to learn their public mapping.

use coder_tunnel::relay::{RelayServer, StunServer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let relay_addr = listener.local_addr()?;
    let stun_addr = args.next().unwrap_or_else(|| relay_addr.to_string());
    let stun_socket = tokio::net::UdpSocket::bind(&stun_addr).await?;
    println!("relay listening on ws://{relay_addr}/relay");
    println!("stun listening on udp://{}", stun_socket.local_addr()?);
    tokio::select! {
        r = RelayServer::new(1024).serve(listener) => r,
        r = StunServer::new().serve(stun_socket) => r,
    }
}
