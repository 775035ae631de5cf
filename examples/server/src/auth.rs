//! Authentication: API keys (`<id>-<secret>`, only a SHA-256 of the secret stored), the key
//! login attempts are counted under, and the request extractor that finds the session token
//! where Coder looks for it. Password hashing lives in [`crate::passwords`].

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

/// The key login attempts are counted under: the SHA-256 hex of the lowercased email, so the
/// store never holds the (possibly huge, possibly mistyped-password) text a client sent.
pub fn login_attempt_key(email: &str) -> String {
    hash_secret(&email.to_lowercase())
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
    let (key, user) = state
        .store
        .api_key_with_user(id)
        .await?
        .ok_or_else(signed_out)?;
    if key.hashed_secret != hash_secret(secret) {
        return Err(signed_out());
    }
    let now = Utc::now();
    if key.expires_at <= now {
        return Err(signed_out());
    }
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
