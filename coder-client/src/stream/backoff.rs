//! Reconnect delays: 1 s, doubling, at most 10 s; reset after a connection that delivered.

use std::time::Duration;

/// First reconnect delay.
pub(crate) const BASE: Duration = Duration::from_secs(1);
/// Longest reconnect delay.
pub(crate) const MAX: Duration = Duration::from_secs(10);

/// The delay before the next reconnect.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self { next: BASE }
    }

    /// The delay to wait now; the one after it doubles, up to [`MAX`].
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX);
        delay
    }

    /// A connection worked: start again from [`BASE`].
    pub(crate) fn reset(&mut self) {
        self.next = BASE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_ten_seconds_and_reset() {
        let mut b = Backoff::new();
        let secs: Vec<u64> = (0..6).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
        b.reset();
        assert_eq!(b.next_delay(), BASE);
    }
}
