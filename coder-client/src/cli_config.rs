//! The session Coder's CLI (and this project's `coder`) keeps: `CODER_URL` and
//! `CODER_SESSION_TOKEN` when set, else the files `url` and `session` in the config directory
//! (`CODER_CONFIG_DIR`, default `coderv2` under the user's config directory). A program can
//! start from the user's `coder login` without asking for anything.

use std::path::{Path, PathBuf};

use crate::{Client, Error, Result};

/// Coder's CLI config directory and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliConfig {
    dir: PathBuf,
}

impl CliConfig {
    /// The file holding the deployment URL.
    pub const URL_FILE: &'static str = "url";
    /// The file holding the session token.
    pub const SESSION_FILE: &'static str = "session";

    /// `explicit` (a `--global-config` flag), else `$CODER_CONFIG_DIR`, else Coder's default
    /// `coderv2` under the user's config directory (`~/.config` on Linux).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when there is no user config directory to default to.
    pub fn locate(explicit: Option<PathBuf>) -> Result<Self> {
        let dir = match explicit.or_else(|| {
            std::env::var_os("CODER_CONFIG_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        }) {
            Some(dir) => dir,
            None => dirs::config_dir()
                .ok_or_else(|| {
                    Error::InvalidInput("no user config directory: set CODER_CONFIG_DIR".to_owned())
                })?
                .join("coderv2"),
        };
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The stored deployment URL, if any.
    pub fn url(&self) -> Result<Option<String>> {
        self.read(Self::URL_FILE)
    }

    /// The stored session token, if any.
    pub fn session(&self) -> Result<Option<String>> {
        self.read(Self::SESSION_FILE)
    }

    fn read(&self, name: &str) -> Result<Option<String>> {
        let path = self.dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::InvalidInput(format!("{}: {e}", path.display()))),
        }
    }
}

impl Client {
    /// A client with the session of the user's `coder login`: `CODER_URL` and
    /// `CODER_SESSION_TOKEN` when set, else what the CLI stored ([`CliConfig`]).
    ///
    /// ```no_run
    /// # async fn demo() -> coder_client::Result<()> {
    /// let client = coder_client::Client::from_cli_config()?;
    /// println!("signed in as {}", client.users().me().await?.username);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when no URL is set or stored (run `coder login <url>`).
    pub fn from_cli_config() -> Result<Client> {
        Self::from_cli(&CliConfig::locate(None)?)
    }

    /// [`Client::from_cli_config`] with the config directory given (a `--global-config`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when no URL is set or stored (run `coder login <url>`).
    pub fn from_cli(config: &CliConfig) -> Result<Client> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let url = match env("CODER_URL") {
            Some(url) => url,
            None => config.url()?.ok_or_else(|| {
                Error::InvalidInput(
                    "no deployment URL: run `coder login <url>` or set CODER_URL".to_owned(),
                )
            })?,
        };
        let mut builder = Client::builder(&url);
        if let Some(token) =
            env("CODER_SESSION_TOKEN").map_or_else(|| config.session(), |t| Ok(Some(t)))?
        {
            builder = builder.session_token(token);
        }
        builder.build()
    }
}
