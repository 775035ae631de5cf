//! Reconnect delays for streams: `coder_core::backoff`'s policy (1 s doubling to 10 s), reset
//! after a connection that delivered.

use std::time::Duration;

use coder_core::backoff::reconnect_delay;

/// Consecutive failures, and the delay they call for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Backoff {
    failures: u32,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records a failure and returns how long to wait before reconnecting.
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        reconnect_delay(self.failures)
            .to_std()
            .unwrap_or(Duration::from_secs(1))
    }

    /// Failures since the last reset.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// A connection worked: start again from the first delay.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
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
        assert_eq!(b.next_delay(), Duration::from_secs(1));
    }
}
