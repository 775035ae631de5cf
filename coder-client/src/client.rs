//! [`Client`] and its builder: one connection pool, one session, many sub-clients.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use coder_core::model::{BuildInfoResponse, LoginWithPasswordRequest, LoginWithPasswordResponse};
use reqwest::Method;
use url::Url;

use crate::api::{
    Builds, Files, Organizations, TemplateVersions, Templates, Tokens, Users, Workspaces,
};
use crate::http::{CONNECT_TIMEOUT, Http, REQUEST_TIMEOUT, STREAM_READ_TIMEOUT};
use crate::tls::client_config;
use crate::{Error, Result};

/// A client of one Coder deployment (or the reference server). Cheap to clone: clones share
/// the connection pool and the session token.
///
/// ```no_run
/// # async fn demo() -> coder_client::Result<()> {
/// let client = coder_client::Client::new("http://127.0.0.1:3000")?;
/// client.login("admin@example.com", "a long password").await?;
/// let me = client.users().me().await?;
/// println!("hello {}", me.username);
/// for ws in client.workspaces().list("owner:me").await?.workspaces {
///     println!("{} is {}", ws.name, ws.latest_build.status);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) http: Arc<Http>,
}

impl Client {
    /// A client for `url` with the default settings and no session.
    pub fn new(url: &str) -> Result<Self> {
        ClientBuilder::new(url).build()
    }

    /// Starts configuring a client for `url`.
    pub fn builder(url: &str) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// The deployment URL.
    pub fn url(&self) -> &Url {
        &self.http.base
    }

    /// The current session token, if any.
    pub fn session_token(&self) -> Option<String> {
        self.http.token()
    }

    /// Uses `token` (`<id>-<secret>`) for every later call, on this client and its clones.
    pub fn set_session_token(&self, token: impl Into<String>) {
        self.http.set_token(Some(token.into()));
    }

    /// Logs in with email and password (`POST /api/v2/users/login`) and keeps the session.
    pub async fn login(&self, email: &str, password: &str) -> Result<LoginWithPasswordResponse> {
        let body = LoginWithPasswordRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        let response: LoginWithPasswordResponse = self
            .http
            .write(Method::POST, "/api/v2/users/login", &body)
            .await?;
        self.set_session_token(response.session_token.clone());
        Ok(response)
    }

    /// Ends the session server-side (`POST /api/v2/users/logout`) and forgets the token.
    pub async fn logout(&self) -> Result<()> {
        self.http
            .write_unit(Method::POST, "/api/v2/users/logout", None::<&()>)
            .await?;
        self.http.set_token(None);
        Ok(())
    }

    /// `GET /api/v2/buildinfo` (no session needed).
    pub async fn build_info(&self) -> Result<BuildInfoResponse> {
        self.http.get("/api/v2/buildinfo", &[]).await
    }

    /// Users and the first-user flow.
    pub fn users(&self) -> Users<'_> {
        Users { client: self }
    }

    /// API tokens of a user.
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens { client: self }
    }

    /// Organizations and members.
    pub fn organizations(&self) -> Organizations<'_> {
        Organizations { client: self }
    }

    /// Uploaded template archives.
    pub fn files(&self) -> Files<'_> {
        Files { client: self }
    }

    /// Templates.
    pub fn templates(&self) -> Templates<'_> {
        Templates { client: self }
    }

    /// Template versions and their import jobs.
    pub fn template_versions(&self) -> TemplateVersions<'_> {
        TemplateVersions { client: self }
    }

    /// Workspaces.
    pub fn workspaces(&self) -> Workspaces<'_> {
        Workspaces { client: self }
    }

    /// Workspace builds and their logs.
    pub fn builds(&self) -> Builds<'_> {
        Builds { client: self }
    }
}

/// Configures a [`Client`]: timeouts, user agent, token, extra trusted roots.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    token: Option<String>,
    connect_timeout: Duration,
    request_timeout: Duration,
    user_agent: String,
    extra_roots: Vec<Vec<u8>>,
    headers: Vec<(String, String)>,
}

impl ClientBuilder {
    /// Defaults: 10 s to connect, 60 s per request, rustls with the Mozilla roots, at most 5
    /// same-origin redirects (the session token never follows a redirect to another host).
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            token: None,
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            user_agent: format!("coder-rs/{}", env!("CARGO_PKG_VERSION")),
            extra_roots: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Starts with this session token.
    pub fn session_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Time allowed to establish a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole REST call (streams are not limited by it).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Sends this header on every request and websocket handshake (Coder's `--header`, e.g.
    /// for a proxy in front of the deployment). Checked by [`ClientBuilder::build`].
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Also trusts this DER-encoded root certificate (a private CA).
    pub fn add_root_certificate(mut self, der: Vec<u8>) -> Self {
        self.extra_roots.push(der);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a URL that is not `http(s)://...` or a bad certificate.
    pub fn build(self) -> Result<Client> {
        let base =
            Url::parse(&self.url).map_err(|e| Error::InvalidInput(format!("{}: {e}", self.url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(Error::InvalidInput(format!(
                "{}: not an http(s) URL",
                self.url
            )));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &self.headers {
            let bad =
                |e: &dyn std::fmt::Display| Error::InvalidInput(format!("header {name:?}: {e}"));
            let name =
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(&e))?;
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|e| bad(&e))?;
            headers.append(name, value);
        }
        let tls = client_config(&self.extra_roots)?;
        let origin = base.origin();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 || attempt.url().origin() != origin {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let common = |builder: reqwest::ClientBuilder| {
            builder
                .use_preconfigured_tls((*tls).clone())
                .connect_timeout(self.connect_timeout)
                .user_agent(self.user_agent.clone())
                .default_headers(headers.clone())
        };
        let client = common(reqwest::Client::builder())
            .timeout(self.request_timeout)
            .redirect(redirects)
            .build()
            .map_err(|e| Error::InvalidInput(format!("HTTP client: {e}")))?;
        let stream_client = common(reqwest::Client::builder())
            .read_timeout(STREAM_READ_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::InvalidInput(format!("HTTP client: {e}")))?;
        Ok(Client {
            http: Arc::new(Http {
                base,
                token: RwLock::new(self.token),
                client,
                stream_client,
                tls,
                user_agent: self.user_agent,
                headers,
            }),
        })
    }
}
