//! The HTTP core every sub-client uses: URLs, the session token, sending, error mapping, and
//! one retry of idempotent reads on a connection reset.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::ApiError;
use crate::{Error, Result};

/// The header Coder reads the session token from.
pub(crate) const SESSION_TOKEN_HEADER: &str = "Coder-Session-Token";

/// Shared state of a [`crate::Client`] and all its clones.
#[derive(Debug)]
pub(crate) struct Http {
    pub(crate) base: Url,
    pub(crate) token: RwLock<Option<String>>,
    pub(crate) client: reqwest::Client,
    /// For long-lived streams (SSE): no whole-request timeout, a read timeout instead.
    pub(crate) stream_client: reqwest::Client,
    pub(crate) tls: Arc<rustls::ClientConfig>,
    pub(crate) user_agent: String,
    /// Extra headers for every request (REST clients have them as defaults already).
    pub(crate) headers: header::HeaderMap,
}

/// What a request carries besides its method and path.
pub(crate) enum Body<'a> {
    None,
    Json(serde_json::Value),
    Raw {
        content_type: &'a str,
        bytes: Vec<u8>,
    },
}

impl Http {
    /// The absolute URL of an API path (`/api/v2/...`), keeping any path prefix of the base.
    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}"))
            .map_err(|e| Error::InvalidInput(format!("{path}: {e}")))
    }

    pub(crate) fn token(&self) -> Option<String> {
        self.token.read().ok().and_then(|t| t.clone())
    }

    pub(crate) fn set_token(&self, token: Option<String>) {
        if let Ok(mut slot) = self.token.write() {
            *slot = token;
        }
    }

    /// Sends a request and returns the raw successful response.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Body<'_>,
    ) -> Result<reqwest::Response> {
        let url = self.url(path)?;
        let json = match &body {
            Body::Json(v) => Some(v.clone()),
            _ => None,
        };
        let raw = match body {
            Body::Raw {
                content_type,
                bytes,
            } => Some((content_type.to_owned(), bytes)),
            _ => None,
        };
        // Reads are idempotent: one retry when the connection was reset under us. Writes are
        // never retried blindly (the first attempt may have been applied).
        let attempts = if method == Method::GET { 2 } else { 1 };
        let mut last = None;
        for _ in 0..attempts {
            let mut request = self.client.request(method.clone(), url.clone());
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(token) = self.token() {
                request = request.header(SESSION_TOKEN_HEADER, token);
            }
            if let Some(json) = &json {
                request = request.json(json);
            }
            if let Some((content_type, bytes)) = &raw {
                request = request
                    .header(header::CONTENT_TYPE, content_type.as_str())
                    .body(bytes.clone());
            }
            match request.send().await {
                Ok(response) => return self.check(&method, &url, response).await,
                Err(e) if e.is_connect() || is_reset(&e) => last = Some(e),
                Err(e) => return Err(transport(&method, &url, &e)),
            }
        }
        let e = last.map(|e| transport(&method, &url, &e));
        Err(e.unwrap_or_else(|| Error::InvalidInput("no attempt made".into())))
    }

    /// Turns a non-2xx answer into the matching [`Error`].
    async fn check(
        &self,
        method: &Method,
        url: &Url,
        response: reqwest::Response,
    ) -> Result<reqwest::Response> {
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport(method, url, &e))?;
        let api = ApiError::from_body(
            status.as_u16(),
            method.as_str(),
            url.as_str(),
            &content_type,
            &body,
        );
        Err(Error::from_status(api))
    }

    /// Sends and decodes a JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Body<'_>,
    ) -> Result<T> {
        let url = self.url(path)?;
        let response = self.send(method.clone(), path, query, body).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport(&method, &url, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            method: method.to_string(),
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    /// `GET` and decode.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        self.json(Method::GET, path, query, Body::None).await
    }

    /// A write with a JSON body, decoding the answer.
    pub(crate) async fn write<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
        let value = serde_json::to_value(body).map_err(|e| Error::InvalidInput(e.to_string()))?;
        self.json(method, path, &[], Body::Json(value)).await
    }

    /// A write whose answer body does not matter (204, or a `Response` message).
    pub(crate) async fn write_unit(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<()> {
        let body = match body {
            Some(b) => {
                Body::Json(serde_json::to_value(b).map_err(|e| Error::InvalidInput(e.to_string()))?)
            }
            None => Body::None,
        };
        self.send(method, path, &[], body).await.map(drop)
    }

    /// The websocket URL of an API path (`ws`/`wss` for `http`/`https`).
    pub(crate) fn websocket_url(&self, path: &str, query: &[(&str, String)]) -> Result<Url> {
        let mut url = self.url(path)?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| Error::InvalidInput(format!("cannot use {scheme} for {path}")))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }
}

/// The `Content-Type` of a response, or empty.
pub(crate) fn content_type(headers: &header::HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn is_reset(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            );
        }
        source = err.source();
    }
    false
}

pub(crate) fn transport(method: &Method, url: &Url, e: &reqwest::Error) -> Error {
    if e.is_timeout() {
        return Error::Timeout {
            method: method.to_string(),
            url: url.to_string(),
        };
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        message = format!("{message}: {inner}");
        source = inner.source();
    }
    Error::Transport {
        method: method.to_string(),
        url: url.to_string(),
        message,
    }
}

/// Default timeouts: long enough for a big upload, short enough to notice a dead server.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout for plain REST calls (streams have none).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Streams fail when nothing (not even a heartbeat, sent every 15 s) arrives for this long.
pub(crate) const STREAM_READ_TIMEOUT: Duration = Duration::from_secs(45);
