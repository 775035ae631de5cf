//! Server configuration: what `coder-server`'s flags and environment variables set.

use std::path::PathBuf;
use std::time::Duration;

/// Everything [`crate::serve`] needs to know. Build one with [`Config::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// The URL clients and agents use to reach this server (`--access-url`). When `None`, the
    /// listener's own address is used (`http://127.0.0.1:<port>`).
    pub access_url: Option<String>,
    /// PostgreSQL connection URL (`--postgres-url`); `None` means embedded SQLite.
    pub postgres_url: Option<String>,
    /// Cache directory (`--cache-dir`): the SQLite database and workspace homes live here.
    pub cache_dir: PathBuf,
    /// Largest accepted upload (`POST /api/v2/files`), in bytes. Coder's is 100 MiB.
    pub max_file_size: usize,
    /// Largest accepted JSON request body, in bytes.
    pub max_json_body: usize,
    /// How long a stopping workspace process gets between SIGTERM and SIGKILL.
    pub stop_timeout: Duration,
    /// Login attempts allowed per email within [`Config::login_window`]; later ones are
    /// `429` without a password check. Each attempt counts before its password is verified;
    /// a successful login resets the count. Replicas on one database share the count.
    pub max_failed_logins: u32,
    /// The window for counting login attempts.
    pub login_window: Duration,
    /// Password hashes and verifications (argon2id) run at once, each on its own thread
    /// that keeps its 19 MiB of argon2 memory; default: the number of CPUs, at most 4.
    pub password_checks: usize,
    /// Password checks that may wait for a running slot; beyond them a check is `429`.
    pub password_check_queue: usize,
    /// How many provisioner jobs this server runs at once (`--provisioner-daemons`); 0 runs
    /// none (jobs stay pending until another replica takes them).
    pub job_concurrency: usize,
    /// Open client connections at most (`--http-max-connections`), websocket streams
    /// included; further clients wait to be accepted. Lowered at start to fit under the
    /// open-file limit.
    pub http_max_connections: usize,
    /// Time a client has to send a request's headers (`--http-read-header-timeout`), from
    /// the connection's start or the end of the previous response: it also closes idle
    /// keep-alive connections. Zero disables it.
    pub http_read_header_timeout: Duration,
    /// Session lifetime of a password login.
    pub session_lifetime: Duration,
    /// Default and maximum lifetime of API tokens.
    pub max_token_lifetime: Duration,
    /// How long a job stays held after its runner last renewed the lease
    /// (`--provisioner-job-lease`); renewed every third of it. A job whose lease lapses is
    /// failed by any server on the database: its runner is gone.
    pub job_lease: Duration,
    /// Whether workspaces may be renamed (`--allow-workspace-renames`; off by default, as in
    /// Coder, since a rename can break a workspace whose resources use its name).
    pub allow_workspace_renames: bool,
    /// The largest template the process provisioner unpacks.
    pub template_limits: TemplateLimits,
}

/// Bounds on a template archive's contents, checked at import and again while unpacking, so a
/// small archive cannot expand into unbounded disk, memory or time (a sparse or zip-bomb-like
/// tar fails the import with a message naming the limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateLimits {
    /// Most entries (files, directories, links) (`--template-max-files`).
    pub max_files: u64,
    /// Most bytes of file content once unpacked (`--template-max-unpacked-size`).
    pub max_unpacked_bytes: u64,
}

impl Default for TemplateLimits {
    fn default() -> Self {
        Self {
            max_files: 100_000,
            max_unpacked_bytes: 1 << 30,
        }
    }
}

impl Config {
    /// Defaults with the given cache directory and embedded SQLite.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            access_url: None,
            postgres_url: None,
            cache_dir: cache_dir.into(),
            max_file_size: 10 * (10 << 20),
            max_json_body: 1 << 20,
            stop_timeout: Duration::from_secs(10),
            max_failed_logins: 5,
            login_window: Duration::from_secs(60),
            password_checks: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            password_check_queue: 16,
            job_concurrency: 4,
            http_max_connections: 4096,
            http_read_header_timeout: Duration::from_secs(30),
            session_lifetime: Duration::from_secs(24 * 3600),
            max_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            job_lease: Duration::from_secs(30),
            template_limits: TemplateLimits::default(),
            allow_workspace_renames: false,
        }
    }

    /// The default cache directory: the user cache directory (`$XDG_CACHE_HOME` or
    /// `~/.cache`) plus `coder`, as Coder's `--cache-dir` default.
    pub fn default_cache_dir() -> PathBuf {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("coder")
    }

    /// Where workspace homes of the process provisioner live.
    pub fn workspaces_dir(&self) -> PathBuf {
        self.cache_dir.join("workspaces")
    }

    /// The SQLite database file.
    pub fn sqlite_path(&self) -> PathBuf {
        self.cache_dir.join("coder.db")
    }
}
