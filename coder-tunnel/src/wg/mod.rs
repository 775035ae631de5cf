//! WireGuard sessions behind our own [`WgSession`] trait, so a maintained fork (gotatun,
//! Firezone's) can replace boringtun by rewriting one module.
//!
//! Every call takes the caller's `now`: the boringtun implementation feeds it to boringtun's
//! clock, which makes sessions deterministic under a simulated clock (see [`boringtun_impl`]).

pub mod boringtun_impl;

use std::net::IpAddr;
use std::time::{Duration, Instant};

pub use boringtun_impl::{BoringtunSession, Classified, WgClock, WgRateLimiter, classify_datagram};

/// What a session call produced. Borrowed buffers point into the caller's `out`.
#[derive(Debug)]
pub enum WgOutput<'a> {
    /// Nothing to do.
    Done,
    /// Send this datagram to the peer. After a `decapsulate` that returned this, call
    /// [`WgSession::flush`] until it returns `Done`.
    Network(&'a [u8]),
    /// A decrypted IP packet from the peer, with its inner source address.
    Tunnel(&'a [u8], IpAddr),
    /// The input was rejected.
    Error(WgError),
}

/// Why a session rejected input or gave up. Mirrors boringtun's errors, grouped by what the
/// engine does about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgError {
    /// Malformed or unexpected datagram.
    InvalidPacket,
    /// Failed authentication (MAC, AEAD tag, wrong key, bad timestamp).
    Auth,
    /// Replayed or too old counter.
    Replay,
    /// Data arrived for a session we do not have.
    NoSession,
    /// The session gave up (REKEY_ATTEMPT_TIME, 3 × REJECT_AFTER_TIME).
    Expired,
    /// The peer is rate limited (cookie reply).
    UnderLoad,
    /// The output buffer was too small (a bug in the caller).
    BufferTooSmall,
}

/// Counters and timing of one session.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WgStats {
    /// Age of the current session, if one is established.
    pub since_handshake: Option<Duration>,
    /// Plaintext bytes sent.
    pub tx_bytes: u64,
    /// Plaintext bytes received.
    pub rx_bytes: u64,
    /// RTT measured during the last handshake.
    pub handshake_rtt: Option<Duration>,
}

/// One point-to-point WireGuard session with one peer.
pub trait WgSession: Send {
    /// Encrypts one IP packet. With no session the packet is queued and a handshake
    /// initiation is returned instead. `out` must be at least `packet.len() + 32` and 148 bytes.
    fn encapsulate<'a>(&mut self, now: Instant, packet: &[u8], out: &'a mut [u8]) -> WgOutput<'a>;
    /// Processes one datagram from the peer. `src` is its UDP source (None when relayed).
    fn decapsulate<'a>(
        &mut self,
        now: Instant,
        src: Option<IpAddr>,
        datagram: &[u8],
        out: &'a mut [u8],
    ) -> WgOutput<'a>;
    /// Emits whatever is pending after a `decapsulate` returned `Network` (handshake response
    /// follow-ups, queued packets).
    fn flush<'a>(&mut self, now: Instant, out: &'a mut [u8]) -> WgOutput<'a>;
    /// Runs the protocol timers (handshake retransmit, rekey, keepalive). Call every
    /// [`TIMER_TICK`].
    fn update_timers<'a>(&mut self, now: Instant, out: &'a mut [u8]) -> WgOutput<'a>;
    /// Starts a handshake now (`force` even if one is in flight).
    fn initiate<'a>(&mut self, now: Instant, force: bool, out: &'a mut [u8]) -> WgOutput<'a>;
    /// Counters and session age.
    fn stats(&self, now: Instant) -> WgStats;
}

/// How often [`WgSession::update_timers`] must run (boringtun's own device uses 250 ms).
pub const TIMER_TICK: Duration = Duration::from_millis(250);

/// WireGuard's per-datagram overhead (16-byte header + 16-byte tag).
pub const DATA_OVERHEAD: usize = 32;

/// Smallest output buffer any call may need (a handshake initiation).
pub const MIN_OUT: usize = 148;
