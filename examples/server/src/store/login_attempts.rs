//! Login attempts per account key, counted atomically before a password is verified: one
//! `INSERT … ON CONFLICT DO UPDATE … RETURNING` on both backends, so concurrent attempts (on
//! one server or on replicas sharing a PostgreSQL database) each see their own position.

use std::time::Duration;

use coder_core::model::Timestamp;

use super::Store;
use super::db::{execute, fetch};
use crate::error::{Error, Result};

/// The count of one key's attempts in its current window, this attempt included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct LoginAttempts {
    /// Attempts in the window so far (1 for the first).
    pub attempts: i64,
    /// When the window began; it ends `window` later.
    pub window_start: Timestamp,
}

fn window_cutoff(now: Timestamp, window: Duration) -> Result<Timestamp> {
    let window = chrono::Duration::from_std(window)
        .map_err(|e| Error::Internal(format!("login window: {e}")))?;
    Ok(now - window)
}

impl Store {
    /// Counts an attempt for `key_hash` at `now`: the first attempt, or the first after the
    /// window has passed, starts a new window with a count of 1.
    pub async fn count_login_attempt(
        &self,
        key_hash: &str,
        now: Timestamp,
        window: Duration,
    ) -> Result<LoginAttempts> {
        fetch!(
            self.pool,
            fetch_one,
            "INSERT INTO login_attempts (key_hash, attempts, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (key_hash) DO UPDATE SET \
               attempts = CASE WHEN login_attempts.window_start <= $3 THEN 1 ELSE login_attempts.attempts + 1 END, \
               window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 ELSE login_attempts.window_start END \
             RETURNING attempts, window_start",
            key_hash,
            now,
            window_cutoff(now, window)?
        )
    }

    /// Forgets `key_hash`'s attempts (after a successful login).
    pub async fn reset_login_attempts(&self, key_hash: &str) -> Result<()> {
        execute!(
            self.pool,
            "DELETE FROM login_attempts WHERE key_hash = $1",
            key_hash
        )?;
        Ok(())
    }

    /// Deletes the keys whose window ended by `now`; returns how many.
    pub async fn delete_expired_login_attempts(
        &self,
        now: Timestamp,
        window: Duration,
    ) -> Result<u64> {
        Ok(execute!(
            self.pool,
            "DELETE FROM login_attempts WHERE window_start <= $1",
            window_cutoff(now, window)?
        )?)
    }
}
