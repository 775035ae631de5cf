//! Stream reconnect backoff ([`crate::backoff`]: 1 s doubling to 10 s), reset by a
//! successful open.

use crate::backoff::reconnect_delay;
pub use crate::backoff::{RECONNECT_BASE_DELAY, RECONNECT_MAX_DELAY};
use crate::model::Timestamp;

/// A scheduled reconnect, as the view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectState {
    /// 1-based number of consecutive failed connections.
    pub attempt: u32,
    /// When the next connect is due.
    pub at: Timestamp,
}

/// Consecutive-failure counter that yields the next delay.
#[derive(Debug, Clone, Default)]
pub(crate) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Records one failure and returns the reconnect it schedules.
    pub(crate) fn fail(&mut self, now: Timestamp) -> ReconnectState {
        self.failures = self.failures.saturating_add(1);
        ReconnectState {
            attempt: self.failures,
            at: now + reconnect_delay(self.failures),
        }
    }

    /// A connection opened: the next failure waits the base delay again.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_one_second_to_ten_and_reset_on_open() {
        let now = Timestamp::default();
        let mut backoff = Backoff::default();
        let secs: Vec<i64> = (0..6)
            .map(|_| (backoff.fail(now).at - now).num_seconds())
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
        backoff.reset();
        assert_eq!(backoff.fail(now).at - now, RECONNECT_BASE_DELAY);
    }
}
