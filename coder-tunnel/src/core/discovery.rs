//! STUN endpoint discovery, sans-IO: when to send Binding requests to the STUN servers (at
//! start, every [`STUN_INTERVAL`], and on demand after a direct path failed), retransmits, and
//! what the answers mean. All servers see the same local socket, so their answers must agree:
//! one mapping per address family is our public endpoint; different mappings mean the NAT maps
//! by destination ("hard NAT"), and that family's mapping is not advertised, because a peer
//! reaching it is unlikely. Answers are judged once per round, when every server has answered
//! or given up, so a first answer is never published before a disagreeing second one.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::stun::{Class, Message, TransactionId};

/// Time between discovery rounds.
pub const STUN_INTERVAL: Duration = Duration::from_secs(20);
/// Wait before the first retransmit of a request; doubles with each retransmit.
pub const STUN_RTO: Duration = Duration::from_millis(500);
/// Requests sent per server per round (the first and its retransmits) before giving up.
pub const STUN_ATTEMPTS: u32 = 3;
/// An on-demand round (after a path failure) starts no sooner than this after the last one.
pub const STUN_MIN_GAP: Duration = Duration::from_secs(2);

/// What discovery found (Coder's netcheck report, reduced).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatReport {
    /// Each STUN server that answered in its last round, and the mapping it saw.
    pub mappings: Vec<(SocketAddr, SocketAddr)>,
    /// Servers disagree about our mapping: the NAT maps by destination. Peers behind such a
    /// NAT stay on the relay.
    pub hard_nat: bool,
    /// The endpoints we advertise from discovery (one per address family at most).
    pub endpoints: Vec<SocketAddr>,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    transaction: TransactionId,
    attempts: u32,
    retry_at: Instant,
}

#[derive(Debug)]
struct Server {
    addr: SocketAddr,
    pending: Option<Pending>,
    mapped: Option<SocketAddr>,
}

/// A Binding request to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) server: SocketAddr,
    pub(crate) transaction: TransactionId,
}

/// Discovery state for one UDP socket.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    servers: Vec<Server>,
    next_round: Option<Instant>,
    last_round: Option<Instant>,
    /// The verdict of the last completed round.
    settled: NatReport,
}

fn same_addr(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && a.ip().to_canonical() == b.ip().to_canonical()
}

impl Discovery {
    /// Replaces the STUN servers and, if the list changed, starts a round now. Servers that
    /// stay keep their mappings (and any request in flight); the mappings of removed servers
    /// are forgotten at once and the verdict re-judged without them. Returns whether the
    /// discovered endpoints changed (never when the list is the same).
    pub(crate) fn set_servers(&mut self, now: Instant, servers: &[SocketAddr]) -> bool {
        if self
            .servers
            .iter()
            .map(|s| s.addr)
            .eq(servers.iter().copied())
        {
            return false;
        }
        let mut old = std::mem::take(&mut self.servers);
        self.servers = servers
            .iter()
            .map(|&addr| match old.iter().position(|s| s.addr == addr) {
                Some(i) => old.swap_remove(i),
                None => Server {
                    addr,
                    pending: None,
                    mapped: None,
                },
            })
            .collect();
        self.next_round = (!self.servers.is_empty()).then_some(now);
        if old.is_empty() {
            // Nothing removed: the last verdict stands until the new round completes.
            return false;
        }
        let mut mappings = std::mem::take(&mut self.settled.mappings);
        mappings.retain(|(server, _)| !old.iter().any(|s| s.addr == *server));
        let report = verdict(mappings);
        let changed = report.endpoints != self.settled.endpoints;
        self.settled = report;
        changed
    }

    /// Asks for a round soon (a direct path failed: our mapping may have changed), unless one
    /// is running or the last started less than [`STUN_MIN_GAP`] ago.
    pub(crate) fn trigger(&mut self, now: Instant) {
        if self.servers.is_empty() || self.servers.iter().any(|s| s.pending.is_some()) {
            return;
        }
        let at = self.last_round.map_or(now, |l| (l + STUN_MIN_GAP).max(now));
        if self.next_round.is_none_or(|n| at < n) {
            self.next_round = Some(at);
        }
    }

    /// When [`Discovery::handle_timeout`] wants to run.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.servers
            .iter()
            .filter_map(|s| s.pending.map(|p| p.retry_at))
            .chain(self.next_round)
            .min()
    }

    /// Starts rounds and retransmits: pushes the requests to send into `out`, taking fresh
    /// transaction ids from `new_transaction`. Returns whether the discovered endpoints changed
    /// (a server stopped answering and its mapping was forgotten).
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        mut new_transaction: impl FnMut() -> TransactionId,
        out: &mut Vec<Request>,
    ) -> bool {
        let mut gave_up = false;
        for s in &mut self.servers {
            let Some(p) = &mut s.pending else { continue };
            if now < p.retry_at {
                continue;
            }
            if p.attempts >= STUN_ATTEMPTS {
                // No answer this round: the mapping may be gone.
                s.pending = None;
                s.mapped = None;
                gave_up = true;
                continue;
            }
            // Retransmits keep the transaction id (RFC 8489 §6.2.1).
            p.attempts += 1;
            p.retry_at = now + STUN_RTO * (1 << (p.attempts - 1));
            out.push(Request {
                server: s.addr,
                transaction: p.transaction,
            });
        }
        if self.next_round.is_some_and(|t| now >= t) {
            self.next_round = Some(now + STUN_INTERVAL);
            self.last_round = Some(now);
            for s in &mut self.servers {
                if s.pending.is_some() {
                    continue;
                }
                let transaction = new_transaction();
                s.pending = Some(Pending {
                    transaction,
                    attempts: 1,
                    retry_at: now + STUN_RTO,
                });
                out.push(Request {
                    server: s.addr,
                    transaction,
                });
            }
        }
        gave_up && self.settle()
    }

    /// Whether a request with `transaction` to the server at `src` awaits an answer (cheap:
    /// checked before a message is decoded).
    pub(crate) fn expects(&self, src: SocketAddr, transaction: &TransactionId) -> bool {
        self.servers.iter().any(|s| {
            same_addr(s.addr, src) && s.pending.is_some_and(|p| p.transaction == *transaction)
        })
    }

    /// A decoded STUN message arrived from `src`. `None` if it answers nothing we asked
    /// (the caller drops it); otherwise whether the discovered endpoints changed.
    pub(crate) fn on_message(&mut self, src: SocketAddr, msg: &Message) -> Option<bool> {
        let server = self.servers.iter_mut().find(|s| {
            same_addr(s.addr, src) && s.pending.is_some_and(|p| p.transaction == msg.transaction)
        })?;
        match (msg.class, msg.mapped) {
            (Class::Success, Some(mapped)) => {
                server.pending = None;
                server.mapped = Some(mapped);
            }
            (Class::Error, _) => {
                server.pending = None;
                server.mapped = None;
            }
            // A request or indication with our transaction id, or a success without an
            // address: not an answer.
            _ => return None,
        }
        Some(self.settle())
    }

    /// The last completed round's mappings, hard-NAT verdict and endpoints to advertise.
    pub(crate) fn report(&self) -> NatReport {
        self.settled.clone()
    }

    /// The last completed round found a NAT that maps by destination.
    pub(crate) fn hard_nat(&self) -> bool {
        self.settled.hard_nat
    }

    /// Judges the answers if the round is complete. Returns whether the endpoints changed.
    fn settle(&mut self) -> bool {
        if self.servers.iter().any(|s| s.pending.is_some()) {
            return false;
        }
        let report = self.judge();
        let changed = report.endpoints != self.settled.endpoints;
        self.settled = report;
        changed
    }

    fn judge(&self) -> NatReport {
        verdict(
            self.servers
                .iter()
                .filter_map(|s| s.mapped.map(|m| (s.addr, m)))
                .collect(),
        )
    }
}

/// What `(server, mapping)` pairs mean: per address family, one mapping all servers agree
/// on is advertised; different mappings flag a hard NAT and advertise nothing.
fn verdict(mappings: Vec<(SocketAddr, SocketAddr)>) -> NatReport {
    let mut endpoints = Vec::new();
    let mut hard_nat = false;
    for v4 in [true, false] {
        let mut family = mappings
            .iter()
            .map(|(_, m)| *m)
            .filter(|m| matches!(m.ip(), IpAddr::V4(_)) == v4);
        let Some(first) = family.next() else { continue };
        if family.all(|m| m == first) {
            endpoints.push(first);
        } else {
            hard_nat = true;
        }
    }
    NatReport {
        mappings,
        hard_nat,
        endpoints,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn success(transaction: TransactionId, mapped: &str) -> Message {
        Message {
            class: Class::Success,
            method: crate::stun::BINDING,
            transaction,
            mapped: Some(sa(mapped)),
            fingerprint: true,
        }
    }

    #[test]
    fn retransmits_then_gives_up_until_the_next_round() {
        let t0 = Instant::now();
        let server = sa("198.51.100.1:3478");
        let mut d = Discovery::default();
        d.set_servers(t0, &[server]);
        let mut n = 0u8;
        let mut tx = || {
            n += 1;
            [n; 12]
        };
        let mut out = Vec::new();
        assert!(!d.handle_timeout(t0, &mut tx, &mut out));
        let first = Request {
            server,
            transaction: [1; 12],
        };
        assert_eq!(out, vec![first]);
        // Retransmits at +0.5 s and +1.5 s with the same id; gives up at +3.5 s.
        assert_eq!(d.poll_timeout(), Some(t0 + STUN_RTO));
        out.clear();
        d.handle_timeout(t0 + STUN_RTO, &mut tx, &mut out);
        assert_eq!(d.poll_timeout(), Some(t0 + Duration::from_millis(1_500)));
        d.handle_timeout(t0 + Duration::from_millis(1_500), &mut tx, &mut out);
        assert_eq!(out, vec![first, first]);
        assert_eq!(d.poll_timeout(), Some(t0 + Duration::from_millis(3_500)));
        out.clear();
        d.handle_timeout(t0 + Duration::from_millis(3_500), &mut tx, &mut out);
        assert!(out.is_empty());
        assert_eq!(d.poll_timeout(), Some(t0 + STUN_INTERVAL));
        // A late answer to the abandoned transaction is not ours any more.
        assert_eq!(
            d.on_message(server, &success([1; 12], "203.0.113.1:1")),
            None
        );
        d.handle_timeout(t0 + STUN_INTERVAL, &mut tx, &mut out);
        assert_eq!(
            out,
            vec![Request {
                server,
                transaction: [2; 12]
            }]
        );
    }

    #[test]
    fn agreeing_servers_give_an_endpoint_and_disagreeing_ones_flag_hard_nat() {
        let t0 = Instant::now();
        let (mut d, a, b) = two_servers_asked(t0);
        // A response from the wrong address is not an answer.
        assert_eq!(d.on_message(b, &success([1; 12], "203.0.113.1:7000")), None);
        // The first answer alone is not judged: the round is still open.
        assert_eq!(
            d.on_message(a, &success([1; 12], "203.0.113.1:7000")),
            Some(false)
        );
        assert_eq!(d.report(), NatReport::default());
        assert_eq!(
            d.on_message(b, &success([2; 12], "203.0.113.1:7001")),
            Some(false)
        );
        assert_eq!(
            d.report(),
            NatReport {
                mappings: vec![(a, sa("203.0.113.1:7000")), (b, sa("203.0.113.1:7001"))],
                hard_nat: true,
                endpoints: vec![],
            }
        );
        // Next round both agree: the mapping is advertised.
        let mut out = Vec::new();
        d.handle_timeout(t0 + STUN_INTERVAL, || [9; 12], &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            d.on_message(a, &success([9; 12], "203.0.113.1:7000")),
            Some(false)
        );
        assert_eq!(
            d.on_message(b, &success([9; 12], "203.0.113.1:7000")),
            Some(true)
        );
        assert_eq!(d.report().endpoints, vec![sa("203.0.113.1:7000")]);
        assert!(!d.report().hard_nat);
    }

    /// Two servers `(discovery, a, b)`, asked at `t0` with transactions `[1; 12]` and
    /// `[2; 12]`.
    fn two_servers_asked(t0: Instant) -> (Discovery, SocketAddr, SocketAddr) {
        let (a, b) = (sa("198.51.100.1:3478"), sa("198.51.100.2:3478"));
        let mut d = Discovery::default();
        d.set_servers(t0, &[a, b]);
        let mut out = Vec::new();
        let mut n = 0u8;
        let mut tx = || {
            n += 1;
            [n; 12]
        };
        d.handle_timeout(t0, &mut tx, &mut out);
        assert_eq!(out.len(), 2);
        (d, a, b)
    }

    /// Two servers that disagreed, answered: `(discovery, a, b)` at `t0`.
    fn hard_nat_round(t0: Instant) -> (Discovery, SocketAddr, SocketAddr) {
        let (mut d, a, b) = two_servers_asked(t0);
        d.on_message(a, &success([1; 12], "203.0.113.1:7000"));
        d.on_message(b, &success([2; 12], "203.0.113.1:7001"));
        assert!(d.hard_nat());
        (d, a, b)
    }

    /// Setting the same servers again changes nothing: no new round, nothing withdrawn.
    /// Removing one forgets its mapping at once; adding one keeps the others' mappings.
    #[test]
    fn changing_servers_keeps_the_mappings_of_those_that_stay() {
        let t0 = Instant::now();
        let (mut d, a, b) = hard_nat_round(t0);
        let before = d.report();
        assert!(!d.set_servers(t0 + Duration::from_secs(1), &[a, b]));
        assert_eq!(d.report(), before);
        assert_eq!(d.poll_timeout(), Some(t0 + STUN_INTERVAL));

        // Without the disagreeing server, a's mapping is advertised.
        let t1 = t0 + Duration::from_secs(2);
        assert!(d.set_servers(t1, &[a]));
        let only_a = NatReport {
            mappings: vec![(a, sa("203.0.113.1:7000"))],
            hard_nat: false,
            endpoints: vec![sa("203.0.113.1:7000")],
        };
        assert_eq!(d.report(), only_a);
        assert_eq!(d.poll_timeout(), Some(t1));

        // A new server is asked at once; a's mapping stays advertised meanwhile.
        let c = sa("198.51.100.3:3478");
        assert!(!d.set_servers(t1, &[a, c]));
        assert_eq!(d.report(), only_a);
        let mut out = Vec::new();
        d.handle_timeout(t1, || [5; 12], &mut out);
        let asked: Vec<SocketAddr> = out.iter().map(|r| r.server).collect();
        assert_eq!(asked, vec![a, c]);
        // Both answers agree with what is advertised: no change to publish.
        for server in [a, c] {
            let answer = success([5; 12], "203.0.113.1:7000");
            assert_eq!(d.on_message(server, &answer), Some(false));
        }
        assert_eq!(d.report().endpoints, vec![sa("203.0.113.1:7000")]);
        assert_eq!(d.report().mappings.len(), 2);

        // No servers left: nothing discovered is advertised.
        assert!(d.set_servers(t1, &[]));
        assert_eq!(d.report(), NatReport::default());
        assert_eq!(d.poll_timeout(), None);
    }
}
