//! The reconnect policy every stream shares (chat view, log follow, workspace watch): wait
//! 1 s after the first failure, doubling up to 10 s; a successful connection starts over.

use chrono::TimeDelta;

/// The first reconnect delay.
pub const RECONNECT_BASE_DELAY: TimeDelta = TimeDelta::seconds(1);
/// The largest reconnect delay.
pub const RECONNECT_MAX_DELAY: TimeDelta = TimeDelta::seconds(10);

/// The delay before reconnecting after `failures` consecutive failed connections (1-based).
///
/// ```
/// use coder_core::backoff::reconnect_delay;
/// let secs: Vec<i64> = (1..=6).map(|n| reconnect_delay(n).num_seconds()).collect();
/// assert_eq!(secs, [1, 2, 4, 8, 10, 10]);
/// ```
pub fn reconnect_delay(failures: u32) -> TimeDelta {
    let exponent = failures.saturating_sub(1).min(8);
    (RECONNECT_BASE_DELAY * (1_i32 << exponent)).min(RECONNECT_MAX_DELAY)
}
