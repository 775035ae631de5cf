//! Password hashing and verification under a bound. Each argon2id check holds about 19 MiB
//! for its duration, so at most `concurrent` run at once, on as many dedicated threads, and
//! at most `queue` more wait; a check beyond that is refused with `429` instead of queueing
//! without limit. An unknown
//! account is verified against a dummy hash, so its answer costs what a known one costs
//! and response times do not tell which emails exist.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Runs argon2 hashing and verification on its own `concurrent` threads.
///
/// Each thread keeps its argon2 memory and reuses it for every check, so the memory is
/// `concurrent` × 19 MiB for good. Allocating it per check, as argon2's `PasswordHasher`
/// does, let the allocator keep several freed 19 MiB blocks per thread: 50 failed logins,
/// two at a time on tokio's blocking pool, grew the server by ~345 MiB.
pub struct PasswordChecks {
    /// Running plus waiting checks.
    admitted: Arc<Semaphore>,
    pool: rayon::ThreadPool,
    now_running: AtomicUsize,
    peak_running: AtomicUsize,
    verifications: AtomicU64,
    hashes: AtomicU64,
    refused: AtomicU64,
}

impl std::fmt::Debug for PasswordChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChecks")
            .field("threads", &self.pool.current_num_threads())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl PasswordChecks {
    /// Lets `concurrent` checks run (at least one) on as many threads, and `queue` more wait.
    pub fn new(concurrent: usize, queue: usize) -> Result<Self> {
        let concurrent = concurrent.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(concurrent)
            .thread_name(|i| format!("password-check-{i}"))
            // A panicking check fails its request (its answer channel drops) instead of
            // aborting the process, rayon's default.
            .panic_handler(|_| tracing::error!("a password check panicked"))
            .build()
            .map_err(|e| Error::Internal(format!("password check threads: {e}")))?;
        Ok(Self {
            admitted: Arc::new(Semaphore::new(concurrent.saturating_add(queue))),
            pool,
            now_running: AtomicUsize::new(0),
            peak_running: AtomicUsize::new(0),
            verifications: AtomicU64::new(0),
            hashes: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        })
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

    /// Runs `check` on the pool once admitted. The admission moves into the pool's task: a
    /// request dropped mid-check (its client gone) still holds its place until the argon2
    /// work, and its memory, are done.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let Ok(admitted) = Arc::clone(&self.admitted).try_acquire_owned() else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Error::TooManyRequests(BUSY.to_owned()));
        };
        let (done, result) = tokio::sync::oneshot::channel();
        let this = Arc::clone(self);
        self.pool.spawn(move || {
            let now = this.now_running.fetch_add(1, Ordering::SeqCst) + 1;
            this.peak_running.fetch_max(now, Ordering::SeqCst);
            let out = check();
            this.now_running.fetch_sub(1, Ordering::SeqCst);
            drop(admitted);
            let _ = done.send(out);
        });
        result
            .await
            .map_err(|_| Error::Internal("a password check thread panicked".to_owned()))
    }
}

thread_local! {
    /// This thread's argon2 memory, reused by every check it runs.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `blocks` argon2 blocks of this thread's reused memory (a hash with larger
/// parameters than ours gets memory of its own, not kept).
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    if blocks > Params::default().block_count() {
        return f(&mut vec![Block::default(); blocks]);
    }
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        f(&mut memory[..blocks])
    })
}

/// The argon2 output of `password` under the given algorithm, version, parameters and salt,
/// as argon2's `PasswordHasher` computes it, but in this thread's reused memory.
fn compute(
    password: &[u8],
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Salt<'_>,
    output_len: usize,
) -> password_hash::Result<Output> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    Output::init_with(output_len, |out| {
        with_memory(blocks, |memory| {
            argon2.hash_password_into_with_memory(password, salt, out, memory)
        })
        .map_err(Into::into)
    })
}

/// An argon2id PHC string for `password` with a new salt and the default parameters.
fn hash_now(password: &str) -> Result<String> {
    let failed = |e: password_hash::Error| Error::Internal(format!("hashing password: {e}"));
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let (algorithm, version) = (Algorithm::Argon2id, Version::V0x13);
    let output = compute(
        password.as_bytes(),
        algorithm,
        version,
        params.clone(),
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )
    .map_err(failed)?;
    let hash = PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash` (compared in constant time).
fn verify_now(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    compute(
        password.as_bytes(),
        algorithm,
        version,
        params,
        salt,
        expected.len(),
    )
    .is_ok_and(|output| output == expected)
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

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    /// Hashes made here verify with argon2's own verifier and the other way round, so
    /// stored hashes keep working whichever made them.
    #[test]
    fn hashes_are_interchangeable_with_argon2s_own() {
        let ours = hash_now("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong horse", &parsed)
                .is_err()
        );
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(verify_now("battery staple", &theirs));
        assert!(!verify_now("battery stapler", &theirs));
        assert!(verify_now("correct horse", &ours));
        assert!(!verify_now("correct horse", "not a phc string"));
        assert_eq!(&ours[..31], "$argon2id$v=19$m=19456,t=2,p=1$");
    }
}
