//! Authentication: API keys (`<id>-<secret>`, only a SHA-256 of the secret stored), argon2
//! password hashes, the request extractor that finds the session token where Coder looks for
//! it, and failed-login rate limiting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::Utc;
use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result, SIGNED_OUT};
use crate::state::AppState;
use crate::store::UserRow;

/// Name of the session cookie (and query parameter).
pub const SESSION_COOKIE: &str = "coder_session_token";
/// Name of the session header.
pub const SESSION_HEADER: &str = "Coder-Session-Token";

fn random_alnum(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// A new API key: `(id, secret, full token)`; id is 10 and secret 22 alphanumerics.
pub fn generate_api_key() -> (String, String, String) {
    let id = random_alnum(10);
    let secret = random_alnum(22);
    let token = format!("{id}-{secret}");
    (id, secret, token)
}

/// The SHA-256 hex digest stored in place of a secret.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password with argon2id (on a blocking thread: it is deliberately slow).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hashing password: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// Whether `password` matches the stored argon2 hash.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// The session token of a request, looked up where Coder looks, in Coder's order: cookie,
/// `coder_session_token` query parameter, `Coder-Session-Token` header,
/// `Authorization: Bearer`, `access_token` query parameter.
pub fn token_from_parts(parts: &Parts) -> Option<String> {
    let cookie = parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, v)| *k == SESSION_COOKIE && !v.is_empty())
        .map(|(_, v)| v.to_owned());
    let query = |name: &str| {
        parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, v)| *k == name && !v.is_empty())
                .map(|(_, v)| v.to_owned())
        })
    };
    let header = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    cookie
        .or_else(|| query(SESSION_COOKIE))
        .or(header)
        .or(bearer)
        .or_else(|| query("access_token"))
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user: UserRow,
    /// The API key used (its public id).
    pub key_id: String,
}

impl Session {
    /// Whether the caller is a site owner.
    pub fn is_owner(&self) -> bool {
        self.user.is_owner()
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token =
            token_from_parts(parts).ok_or_else(|| Error::Unauthorized(SIGNED_OUT.into()))?;
        authenticate(state, &token).await
    }
}

/// Checks a `<id>-<secret>` token: known id, matching secret hash, not expired, active user.
/// Refreshes the expiry of sessions as Coder does (when less than lifetime − 1 h remains).
pub async fn authenticate(state: &AppState, token: &str) -> Result<Session> {
    let signed_out = || Error::Unauthorized(SIGNED_OUT.into());
    let (id, secret) = token.split_once('-').ok_or_else(signed_out)?;
    let key = state.store.api_key(id).await?.ok_or_else(signed_out)?;
    if key.hashed_secret != hash_secret(secret) {
        return Err(signed_out());
    }
    let now = Utc::now();
    if key.expires_at <= now {
        return Err(signed_out());
    }
    let user = state
        .store
        .user_by_id(key.user_id)
        .await?
        .ok_or_else(signed_out)?;
    if user.status == "suspended" {
        return Err(Error::Unauthorized(format!(
            "User is not active (status = \"{}\"). Contact an admin to reactivate your account.",
            user.status
        )));
    }
    // Record use at most once a minute, so reads stay reads.
    if now - key.last_used > chrono::Duration::minutes(1) {
        let lifetime = chrono::Duration::seconds(key.lifetime_seconds);
        let refresh = key.login_type != "token"
            && key.expires_at - now < lifetime - chrono::Duration::hours(1);
        let expires = if refresh {
            now + lifetime
        } else {
            key.expires_at
        };
        state.store.touch_api_key(&key.id, now, expires).await?;
        state.store.touch_user(user.id, now).await?;
    }
    Ok(Session {
        user,
        key_id: key.id,
    })
}

/// Counts failed logins per email; after `max` failures within `window` further attempts
/// are refused until the window passes.
#[derive(Debug)]
pub struct LoginLimiter {
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// A limiter allowing `max` failures per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(429)` when `email` has used up its failures.
    pub fn check(&self, email: &str) -> Result<()> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let key = email.to_lowercase();
        match map.get(&key) {
            Some((_, since)) if since.elapsed() >= self.window => {
                map.remove(&key);
                Ok(())
            }
            Some((n, since)) if *n >= self.max => {
                let wait = self.window.saturating_sub(since.elapsed()).as_secs() + 1;
                Err(Error::TooManyRequests(format!(
                    "Too many failed login attempts. Try again in {wait} seconds."
                )))
            }
            _ => Ok(()),
        }
    }

    /// Records a failure.
    pub fn failed(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bound the memory a stream of made-up emails can take: forget finished windows.
        if map.len() >= 10_000 {
            let window = self.window;
            map.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = map
            .entry(email.to_lowercase())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
    }

    /// Forgets failures after a successful login.
    pub fn succeeded(&self, email: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&email.to_lowercase());
    }
}
