//! Long-lived API tokens (`/api/v2/users/{user}/keys...`).

use coder_core::model::{APIKey, CreateTokenRequest, GenerateAPIKeyResponse};
use reqwest::Method;

use super::segment;
use crate::{Client, Result};

/// API tokens of a user.
///
/// ```no_run
/// # async fn demo(client: coder_client::Client) -> coder_client::Result<()> {
/// let token = client.tokens().create("me", &coder_core::model::CreateTokenRequest {
///     token_name: "ci".into(),
///     lifetime: 7 * 24 * 3_600 * 1_000_000_000, // nanoseconds, as in Coder
///     ..Default::default()
/// }).await?;
/// println!("store this, it is shown once: {}", token.key);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Tokens<'a> {
    pub(crate) client: &'a Client,
}

impl Tokens<'_> {
    /// Creates a token; the answer holds the full `<id>-<secret>`, shown only once.
    pub async fn create(
        &self,
        user: &str,
        request: &CreateTokenRequest,
    ) -> Result<GenerateAPIKeyResponse> {
        let path = format!("/api/v2/users/{}/keys/tokens", segment(user)?);
        self.client.http.write(Method::POST, &path, request).await
    }

    /// Mints a new session key for the user (what `coder login --token` does, so that
    /// logging out later revokes the session and not the token it came from).
    pub async fn create_session_key(&self, user: &str) -> Result<GenerateAPIKeyResponse> {
        let path = format!("/api/v2/users/{}/keys", segment(user)?);
        self.client.http.write(Method::POST, &path, &()).await
    }

    /// The user's tokens (metadata only).
    pub async fn list(&self, user: &str) -> Result<Vec<APIKey>> {
        let path = format!("/api/v2/users/{}/keys/tokens", segment(user)?);
        self.client.http.get(&path, &[]).await
    }

    /// One key by its id (the part before the `-`).
    pub async fn get(&self, user: &str, key_id: &str) -> Result<APIKey> {
        let path = format!("/api/v2/users/{}/keys/{}", segment(user)?, segment(key_id)?);
        self.client.http.get(&path, &[]).await
    }

    /// Revokes a key.
    pub async fn delete(&self, user: &str, key_id: &str) -> Result<()> {
        let path = format!("/api/v2/users/{}/keys/{}", segment(user)?, segment(key_id)?);
        self.client
            .http
            .write_unit(Method::DELETE, &path, None::<&()>)
            .await
    }
}
