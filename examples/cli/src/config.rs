//! The session on disk, stored like Coder's CLI: the files `url` and `session` in the config
//! directory (`--global-config`, `$CODER_CONFIG_DIR`, default `~/.config/coderv2`), mode
//! 0600 in a 0700 directory. `--url`/`$CODER_URL` and `--token`/`$CODER_SESSION_TOKEN`
//! override the files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};

use coder_client::CliConfig;

/// File holding the deployment URL.
const URL_FILE: &str = CliConfig::URL_FILE;
/// File holding the session token.
const SESSION_FILE: &str = CliConfig::SESSION_FILE;
/// Present when the stored session is a token the user gave (`login --use-token-as-session`):
/// `logout` then leaves it valid on the server.
const PROVIDED_FILE: &str = "session-provided";

/// The config directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigDir {
    path: PathBuf,
}

impl ConfigDir {
    /// `explicit` (from `--global-config` or `$CODER_CONFIG_DIR`), else Coder's default,
    /// `coderv2` under the user's config directory.
    pub(crate) fn locate(explicit: Option<PathBuf>) -> Result<Self> {
        let config = CliConfig::locate(explicit).map_err(|_| {
            CliError::Usage("cannot find the user's config directory; pass --global-config".into())
        })?;
        Ok(Self {
            path: config.dir().to_owned(),
        })
    }

    /// The directory.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The stored deployment URL, if any.
    pub(crate) fn url(&self) -> Result<Option<String>> {
        self.read(URL_FILE)
    }

    /// The stored session token, if any.
    pub(crate) fn session(&self) -> Result<Option<String>> {
        self.read(SESSION_FILE)
    }

    /// Stores the deployment URL (mode 0600).
    pub(crate) fn set_url(&self, url: &str) -> Result<()> {
        self.write(URL_FILE, url)
    }

    /// Stores the session token (mode 0600).
    pub(crate) fn set_session(&self, token: &str) -> Result<()> {
        self.write(SESSION_FILE, token)
    }

    /// Records whether the stored session is a token the user gave rather than one the CLI
    /// minted.
    pub(crate) fn set_session_provided(&self, provided: bool) -> Result<()> {
        if provided {
            self.write(PROVIDED_FILE, "provided")
        } else {
            self.remove(PROVIDED_FILE)
        }
    }

    /// Whether the stored session is a token the user gave.
    pub(crate) fn session_provided(&self) -> bool {
        self.path.join(PROVIDED_FILE).exists()
    }

    /// Forgets the session token and URL, as `coder logout` does; missing files are fine.
    pub(crate) fn clear(&self) -> Result<()> {
        for name in [SESSION_FILE, URL_FILE, PROVIDED_FILE] {
            self.remove(name)?;
        }
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<()> {
        let path = self.path.join(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CliError::io(path)(e)),
        }
    }

    fn read(&self, name: &str) -> Result<Option<String>> {
        let path = self.path.join(name);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let text = text.trim();
                Ok((!text.is_empty()).then(|| text.to_owned()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::io(path)(e)),
        }
    }

    fn write(&self, name: &str, value: &str) -> Result<()> {
        create_private_dir(&self.path)?;
        let path = self.path.join(name);
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(CliError::io(&path))?;
        // An existing file keeps its mode on open: tighten it explicitly.
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(CliError::io(&path))?;
        file.write_all(value.as_bytes())
            .map_err(CliError::io(&path))
    }
}

fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(CliError::io(path))
}

/// Where the CLI talks to and as whom, after applying the precedence
/// flag/environment > config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The deployment URL.
    pub(crate) url: String,
    /// The session token, if any.
    pub(crate) token: Option<String>,
}

impl Session {
    /// Resolves the session: `url`/`token` come from the flags or their environment
    /// variables (clap reads both), and fall back to the files in `dir`.
    pub(crate) fn resolve(
        url: Option<&str>,
        token: Option<&str>,
        dir: &ConfigDir,
    ) -> Result<Session> {
        let url = match url {
            Some(url) => normalize_url(url),
            None => dir.url()?.ok_or(CliError::NoUrl)?,
        };
        let token = match token {
            Some(token) => Some(token.to_owned()),
            None => dir.session()?,
        };
        Ok(Session { url, token })
    }
}

/// Adds a scheme to a URL typed without one, as `coder login` does: `http://` for
/// `localhost…`, `https://` for anything else.
pub(crate) fn normalize_url(input: &str) -> String {
    let input = input.trim().trim_end_matches('/');
    if input.starts_with("http://") || input.starts_with("https://") {
        input.to_owned()
    } else if input.starts_with("localhost") {
        format!("http://{input}")
    } else {
        format!("https://{input}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, ConfigDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ConfigDir::locate(Some(tmp.path().join("coderv2"))).unwrap();
        (tmp, dir)
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn stores_url_and_session_as_coder_does() {
        let (_tmp, dir) = dir();
        dir.set_url("http://127.0.0.1:3000").unwrap();
        dir.set_session("abcdefghij-secret").unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("url")).unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("session")).unwrap(),
            "abcdefghij-secret"
        );
        assert_eq!(dir.url().unwrap().as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(dir.session().unwrap().as_deref(), Some("abcdefghij-secret"));
        #[cfg(unix)]
        {
            assert_eq!(mode(&dir.path().join("url")), 0o600);
            assert_eq!(mode(&dir.path().join("session")), 0o600);
            assert_eq!(mode(dir.path()), 0o700);
        }
    }

    #[cfg(unix)]
    #[test]
    fn rewriting_a_world_readable_session_tightens_it_to_0600() {
        use std::os::unix::fs::PermissionsExt;
        let (_tmp, dir) = dir();
        fs::create_dir_all(dir.path()).unwrap();
        let session = dir.path().join("session");
        fs::write(&session, "old").unwrap();
        fs::set_permissions(&session, fs::Permissions::from_mode(0o644)).unwrap();
        dir.set_session("new").unwrap();
        assert_eq!(mode(&session), 0o600);
        assert_eq!(fs::read_to_string(&session).unwrap(), "new");
    }

    #[test]
    fn flags_and_env_override_the_files() {
        let (_tmp, dir) = dir();
        dir.set_url("http://from-file:3000").unwrap();
        dir.set_session("file-token").unwrap();
        assert_eq!(
            Session::resolve(None, None, &dir).unwrap(),
            Session {
                url: "http://from-file:3000".into(),
                token: Some("file-token".into())
            }
        );
        assert_eq!(
            Session::resolve(Some("http://flag:1"), Some("flag-token"), &dir).unwrap(),
            Session {
                url: "http://flag:1".into(),
                token: Some("flag-token".into())
            }
        );
        // Each value falls back on its own.
        assert_eq!(
            Session::resolve(None, Some("flag-token"), &dir).unwrap(),
            Session {
                url: "http://from-file:3000".into(),
                token: Some("flag-token".into())
            }
        );
    }

    #[test]
    fn missing_files_mean_no_url_and_no_token() {
        let (_tmp, dir) = dir();
        assert!(matches!(
            Session::resolve(None, None, &dir),
            Err(CliError::NoUrl)
        ));
        assert_eq!(
            Session::resolve(Some("http://x:1"), None, &dir)
                .unwrap()
                .token,
            None
        );
    }

    #[test]
    fn logout_removes_both_files_and_tolerates_missing_ones() {
        let (_tmp, dir) = dir();
        dir.clear().unwrap();
        dir.set_url("http://x:1").unwrap();
        dir.set_session("t").unwrap();
        dir.clear().unwrap();
        assert_eq!(dir.url().unwrap(), None);
        assert_eq!(dir.session().unwrap(), None);
    }

    #[test]
    fn login_urls_default_to_https() {
        assert_eq!(
            normalize_url("coder.example.com/"),
            "https://coder.example.com"
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:3000"),
            "http://127.0.0.1:3000"
        );
    }
}
