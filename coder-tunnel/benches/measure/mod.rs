//! Measurement helpers shared by the benches (`tunnel.rs`, `netns.rs`): 1-byte round trips,
//! an echo service, percentiles and the units and verdicts the tables print.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// One 1-byte round trip on a connected stream whose peer echoes.
pub async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> Duration {
    let mut b = [0u8; 1];
    let start = Instant::now();
    s.write_all(&[7]).await.unwrap();
    s.read_exact(&mut b).await.unwrap();
    start.elapsed()
}

/// Echoes bytes until EOF.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// The `p` quantile (0..=1) of sorted samples.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Gbit/s for `bytes` in `d`.
pub fn gbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 * 8.0 / d.as_secs_f64() / 1e9
}

/// How a table marks a target.
pub fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}
