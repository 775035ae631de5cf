//! [`WgSession`] implemented with boringtun 0.7's `noise::Tunn`.
//!
//! boringtun reads time from `Instant::now()` internally. We build it with its `mock-instant`
//! feature and, before every call, set that (thread-local) clock to the caller's `now` measured
//! from a per-engine epoch ([`WgClock`]). boringtun therefore runs on exactly the engine's clock:
//! real time in the driver, simulated time in tests (a 120 s rekey takes microseconds). Each
//! call that can read boringtun's clock sets it first, so a tunnel migrating between tokio
//! worker threads still sees a monotonic clock; decapsulating a transport-data message cannot
//! (see the comment in `decapsulate`) and skips the set, which is 5 ns of a 0.8 µs
//! packet. Handshake timestamps (TAI64N) stay wall-clock based.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use boringtun::noise::errors::WireGuardError;
use boringtun::noise::handshake::parse_handshake_anon;
use boringtun::noise::rate_limiter::RateLimiter;
use boringtun::noise::{Packet, Tunn, TunnResult};
use mock_instant::MockClock;

use super::{WgError, WgOutput, WgSession, WgStats};
use crate::keys::{NodeKey, NodePublic};

/// First byte of a WireGuard transport-data message (type 4).
const DATA_MESSAGE_TYPE: u8 = 4;

/// The engine clock boringtun is driven by: `now - epoch`.
#[derive(Debug, Clone, Copy)]
pub struct WgClock {
    epoch: Instant,
}

impl WgClock {
    /// A clock whose zero is `epoch` (every later `now` must be at or after it).
    pub fn new(epoch: Instant) -> Self {
        Self { epoch }
    }

    fn sync(&self, now: Instant) {
        // Starts at 1 s so that boringtun's "time since" arithmetic never sees zero-age timers
        // as fresh events.
        MockClock::set_time(now.saturating_duration_since(self.epoch) + Duration::from_secs(1));
    }
}

/// A handshake rate limiter shared by all sessions of one engine (cookie replies when more
/// than `limit` handshakes arrive between resets). Reset it once a second.
#[derive(Clone)]
pub struct WgRateLimiter {
    inner: Arc<RateLimiter>,
    clock: WgClock,
}

impl WgRateLimiter {
    /// A limiter for our own static key.
    pub fn new(own: &NodeKey, limit: u64, clock: WgClock, now: Instant) -> Self {
        clock.sync(now);
        Self {
            inner: Arc::new(RateLimiter::new(&own.public().x25519(), limit)),
            clock,
        }
    }

    /// Forgets the handshake count (call about once a second).
    pub fn reset(&self, now: Instant) {
        self.clock.sync(now);
        self.inner.reset_count();
    }
}

impl std::fmt::Debug for WgRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WgRateLimiter")
    }
}

/// One boringtun session.
pub struct BoringtunSession {
    tunn: Tunn,
    clock: WgClock,
}

impl BoringtunSession {
    /// A session between `own` and `peer`. `index` is our 24-bit sender index (the low byte of
    /// boringtun's 32-bit index selects one of its session slots).
    pub fn new(
        own: &NodeKey,
        peer: NodePublic,
        index: u32,
        persistent_keepalive: Option<u16>,
        limiter: &WgRateLimiter,
        now: Instant,
    ) -> Self {
        limiter.clock.sync(now);
        let tunn = Tunn::new(
            own.secret().clone(),
            peer.x25519(),
            None,
            persistent_keepalive,
            index & 0x00ff_ffff,
            Some(limiter.inner.clone()),
        );
        Self {
            tunn,
            clock: limiter.clock,
        }
    }
}

fn convert(result: TunnResult<'_>) -> WgOutput<'_> {
    match result {
        TunnResult::Done => WgOutput::Done,
        TunnResult::WriteToNetwork(b) => WgOutput::Network(b),
        TunnResult::WriteToTunnelV4(b, a) => WgOutput::Tunnel(b, IpAddr::V4(a)),
        TunnResult::WriteToTunnelV6(b, a) => WgOutput::Tunnel(b, IpAddr::V6(a)),
        TunnResult::Err(e) => WgOutput::Error(convert_error(&e)),
    }
}

fn convert_error(e: &WireGuardError) -> WgError {
    use WireGuardError as E;
    match e {
        E::DestinationBufferTooSmall => WgError::BufferTooSmall,
        E::IncorrectPacketLength
        | E::UnexpectedPacket
        | E::WrongPacketType
        | E::WrongIndex
        | E::InvalidPacket
        | E::LockFailed => WgError::InvalidPacket,
        E::WrongKey
        | E::InvalidTai64nTimestamp
        | E::WrongTai64nTimestamp
        | E::InvalidMac
        | E::InvalidAeadTag => WgError::Auth,
        E::InvalidCounter | E::DuplicateCounter => WgError::Replay,
        E::NoCurrentSession => WgError::NoSession,
        E::ConnectionExpired => WgError::Expired,
        E::UnderLoad => WgError::UnderLoad,
    }
}

impl WgSession for BoringtunSession {
    fn encapsulate<'a>(&mut self, now: Instant, packet: &[u8], out: &'a mut [u8]) -> WgOutput<'a> {
        if out.len() < packet.len() + super::DATA_OVERHEAD || out.len() < super::MIN_OUT {
            return WgOutput::Error(WgError::BufferTooSmall);
        }
        self.clock.sync(now);
        convert(self.tunn.encapsulate(packet, out))
    }

    fn decapsulate<'a>(
        &mut self,
        now: Instant,
        src: Option<IpAddr>,
        datagram: &[u8],
        out: &'a mut [u8],
    ) -> WgOutput<'a> {
        if datagram.is_empty() {
            return WgOutput::Error(WgError::InvalidPacket);
        }
        if out.len() < datagram.len().max(super::MIN_OUT) {
            return WgOutput::Error(WgError::BufferTooSmall);
        }
        // boringtun's transport-data path (replay window, AEAD open, timer marks against the
        // last `update_timers` time) never reads the clock, so the per-packet hot path skips
        // the sync; handshake and cookie messages read it and get it.
        if datagram[0] != DATA_MESSAGE_TYPE {
            self.clock.sync(now);
        }
        convert(self.tunn.decapsulate(src, datagram, out))
    }

    fn flush<'a>(&mut self, now: Instant, out: &'a mut [u8]) -> WgOutput<'a> {
        self.clock.sync(now);
        convert(self.tunn.decapsulate(None, &[], out))
    }

    fn update_timers<'a>(&mut self, now: Instant, out: &'a mut [u8]) -> WgOutput<'a> {
        self.clock.sync(now);
        convert(self.tunn.update_timers(out))
    }

    fn initiate<'a>(&mut self, now: Instant, force: bool, out: &'a mut [u8]) -> WgOutput<'a> {
        self.clock.sync(now);
        convert(self.tunn.format_handshake_initiation(out, force))
    }

    fn stats(&self, now: Instant) -> WgStats {
        self.clock.sync(now);
        let (since, tx, rx, _loss, rtt) = self.tunn.stats();
        WgStats {
            since_handshake: since,
            tx_bytes: tx as u64,
            rx_bytes: rx as u64,
            handshake_rtt: rtt.map(|ms| Duration::from_millis(u64::from(ms))),
        }
    }
}

/// Where an incoming WireGuard datagram belongs, decided without a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified {
    /// A handshake initiation from this static key (verified by decrypting its static field).
    Initiation(NodePublic),
    /// A response, cookie reply or data message addressed to our 24-bit index.
    Index(u32),
    /// Not a well-formed WireGuard message, or an initiation not meant for us.
    Invalid,
}

/// Routes a datagram to a peer: initiations by the sender's static key, everything else by our
/// receiver index.
pub fn classify_datagram(own: &NodeKey, datagram: &[u8]) -> Classified {
    match Tunn::parse_incoming_packet(datagram) {
        Ok(Packet::HandshakeInit(init)) => {
            match parse_handshake_anon(own.secret(), &own.public().x25519(), &init) {
                Ok(half) => Classified::Initiation(NodePublic(half.peer_static_public)),
                Err(_) => Classified::Invalid,
            }
        }
        Ok(Packet::HandshakeResponse(p)) => Classified::Index(p.receiver_idx >> 8),
        Ok(Packet::PacketCookieReply(p)) => Classified::Index(p.receiver_idx >> 8),
        Ok(Packet::PacketData(p)) => Classified::Index(p.receiver_idx >> 8),
        Err(_) => Classified::Invalid,
    }
}
