//! A standalone relay server for tests: `cargo run -p coder-tunnel --example relay -- 127.0.0.1:8080`
//! serves `ws://127.0.0.1:8080/relay` and `GET /relay/latency-check`.

use coder_tunnel::relay::RelayServer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("relay listening on ws://{}/relay", listener.local_addr()?);
    RelayServer::new(1024).serve(listener).await
}
