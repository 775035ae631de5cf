//! Password hashing and verification under a bound. Each argon2id check holds about 19 MiB
//! for its duration, so at most `concurrent` run at once and at most `queue` more wait; a
//! check beyond that is refused with `429` instead of queueing without limit. An unknown
//! account is verified against a dummy hash, so its answer costs what a known one costs
//! and response times do not tell which emails exist.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// The message of the `429` a refused check answers.
pub const BUSY: &str = "Too many password checks are in progress. Please try again in a moment.";

/// Counters of [`PasswordChecks`], for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordCheckStats {
    /// Verifications run (against a stored or the dummy hash).
    pub verifications: u64,
    /// Hashes computed for new passwords.
    pub hashes: u64,
    /// Checks refused because `concurrent + queue` were already admitted.
    pub refused: u64,
    /// The most checks that ever ran at once.
    pub peak_running: usize,
}

/// Runs argon2 hashing and verification on blocking threads, `concurrent` at a time.
#[derive(Debug)]
pub struct PasswordChecks {
    /// Running plus waiting checks.
    admitted: Arc<Semaphore>,
    /// Running checks.
    running: Arc<Semaphore>,
    now_running: AtomicUsize,
    peak_running: AtomicUsize,
    verifications: AtomicU64,
    hashes: AtomicU64,
    refused: AtomicU64,
}

impl PasswordChecks {
    /// Lets `concurrent` checks run (at least one) and `queue` more wait.
    pub fn new(concurrent: usize, queue: usize) -> Self {
        let concurrent = concurrent.max(1);
        Self {
            admitted: Arc::new(Semaphore::new(concurrent.saturating_add(queue))),
            running: Arc::new(Semaphore::new(concurrent)),
            now_running: AtomicUsize::new(0),
            peak_running: AtomicUsize::new(0),
            verifications: AtomicU64::new(0),
            hashes: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Hashes a new password as an argon2id PHC string.
    pub async fn hash(self: &Arc<Self>, password: String) -> Result<String> {
        let hashed = self.run(move || hash_now(&password)).await??;
        self.hashes.fetch_add(1, Ordering::Relaxed);
        Ok(hashed)
    }

    /// Whether `password` matches `stored`, an argon2 PHC string. `None` (an unknown account,
    /// or one without a password) is checked against a dummy hash and never matches.
    pub async fn verify(
        self: &Arc<Self>,
        password: String,
        stored: Option<String>,
    ) -> Result<bool> {
        let matches = self
            .run(move || match stored {
                Some(hash) => verify_now(&password, &hash),
                None => {
                    verify_now(&password, dummy_hash());
                    false
                }
            })
            .await?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        Ok(matches)
    }

    /// The counters so far.
    pub fn stats(&self) -> PasswordCheckStats {
        PasswordCheckStats {
            verifications: self.verifications.load(Ordering::Relaxed),
            hashes: self.hashes.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            peak_running: self.peak_running.load(Ordering::Relaxed),
        }
    }

    /// Runs `check` on a blocking thread once admitted and given a running slot. The permits
    /// move into the blocking task: a request dropped mid-check (its client gone) still holds
    /// its slot until the argon2 work, and its memory, are done.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let Ok(admitted) = Arc::clone(&self.admitted).try_acquire_owned() else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Error::TooManyRequests(BUSY.to_owned()));
        };
        let running = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(format!("password checks: {e}")))?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let now = this.now_running.fetch_add(1, Ordering::SeqCst) + 1;
            this.peak_running.fetch_max(now, Ordering::SeqCst);
            let out = check();
            this.now_running.fetch_sub(1, Ordering::SeqCst);
            drop((running, admitted));
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("password check: {e}")))
    }
}

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing password: {e}")))
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a random password with the same parameters as real ones, made once on first use.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random: String = (0..32)
            .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
            .collect();
        hash_now(&random).unwrap_or_default()
    })
}
