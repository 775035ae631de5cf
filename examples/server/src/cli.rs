//! The `coder server` command line: Coder's flags and environment variables, shared by the
//! `coder-server` binary and the `coder server` subcommand of the CLI.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::Config;

/// Start a Coder-compatible control plane (embedded SQLite unless --postgres-url is set).
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// HTTP bind address of the server (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "CODER_HTTP_ADDRESS", default_value = "127.0.0.1:3000")]
    pub http_address: String,
    /// The URL that users will use to access the Coder deployment.
    #[arg(long, env = "CODER_ACCESS_URL")]
    pub access_url: Option<String>,
    /// URL of a PostgreSQL database. If empty, an embedded SQLite database is used.
    #[arg(long, env = "CODER_PG_CONNECTION_URL")]
    pub postgres_url: Option<String>,
    /// The directory to cache temporary files and the embedded database.
    #[arg(long, env = "CODER_CACHE_DIRECTORY")]
    pub cache_dir: Option<PathBuf>,
    /// Number of provisioner daemons to create on start (jobs run concurrently).
    #[arg(long, env = "CODER_PROVISIONER_DAEMONS", default_value_t = 3)]
    pub provisioner_daemons: usize,
    /// How long a running job stays with its server after the server last renewed its lease
    /// (every third of it). Any server on the database fails a job whose lease lapsed.
    #[arg(long, env = "CODER_PROVISIONER_JOB_LEASE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub provisioner_job_lease: std::time::Duration,
    /// Allow users to rename their workspaces (a rename can break a workspace whose resources
    /// use its name).
    #[arg(long, env = "CODER_ALLOW_WORKSPACE_RENAMES")]
    pub allow_workspace_renames: bool,
    /// Most entries (files, directories, links) a template archive may hold.
    #[arg(long, env = "CODER_TEMPLATE_MAX_FILES", default_value_t = 100_000)]
    pub template_max_files: u64,
    /// Most bytes a template archive may unpack to (sparse files count at their full size).
    #[arg(long, env = "CODER_TEMPLATE_MAX_UNPACKED_SIZE", default_value_t = 1 << 30)]
    pub template_max_unpacked_size: u64,
    /// Most client connections open at once (websocket streams included); more wait to be
    /// accepted.
    #[arg(long, env = "CODER_HTTP_MAX_CONNECTIONS", default_value_t = 4096)]
    pub http_max_connections: usize,
    /// Time a client has to send a request's headers; also closes idle keep-alive
    /// connections (e.g. `30s`, `1m`; `0s` disables it).
    #[arg(long, env = "CODER_HTTP_READ_HEADER_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub http_read_header_timeout: std::time::Duration,
}

impl ServerArgs {
    /// The server configuration these flags describe.
    pub fn config(&self) -> Config {
        let mut config = Config::new(
            self.cache_dir
                .clone()
                .unwrap_or_else(Config::default_cache_dir),
        );
        config.access_url = self.access_url.clone().filter(|u| !u.is_empty());
        config.postgres_url = self.postgres_url.clone().filter(|u| !u.is_empty());
        config.job_concurrency = self.provisioner_daemons;
        config.job_lease = self
            .provisioner_job_lease
            .max(std::time::Duration::from_millis(300));
        config.allow_workspace_renames = self.allow_workspace_renames;
        config.template_limits = crate::config::TemplateLimits {
            max_files: self.template_max_files,
            max_unpacked_bytes: self.template_max_unpacked_size,
        };
        config.http_max_connections = self.http_max_connections;
        config.http_read_header_timeout = self.http_read_header_timeout;
        config
    }
}

/// Binds, prints the URL (first stdout line) and how to create the first user, then serves
/// until SIGINT/SIGTERM. Needs a multi-threaded tokio runtime.
pub async fn run(args: ServerArgs) -> ExitCode {
    crate::connections::raise_open_file_limit();
    let config = args.config();
    let listener = match tokio::net::TcpListener::bind(&args.http_address).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: listen on {}: {e}", args.http_address);
            return ExitCode::FAILURE;
        }
    };
    let url = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(_) => args.http_address.clone(),
    };
    let access = config.access_url.clone().unwrap_or_else(|| url.clone());
    // Written with errors ignored: a reader that closed our stdout after the first line
    // (`| head -1`, a test harness) must not take the server down.
    let banner = format!(
        "Started HTTP listener at {url}\n\
         Access URL (API under /api/v2): {access}\n\
         Create the first user: curl -X POST {access}/api/v2/users/first -H 'Content-Type: application/json' \
         -d '{{\"email\":\"admin@example.com\",\"username\":\"admin\",\"password\":\"<at least 8 characters>\"}}'\n\
         Or with the CLI: coder login {access}\n"
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes());
        let _ = out.flush();
    }
    match crate::serve(listener, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, `warn` unless `RUST_LOG` says otherwise; colored only on a terminal.
pub fn init_tracing() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::ServerArgs;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn connection_flags_set_the_config() {
        let cli = Cli::try_parse_from([
            "coder-server",
            "--http-max-connections",
            "7",
            "--http-read-header-timeout",
            "1m 30s",
        ])
        .unwrap();
        let config = cli.server.config();
        assert_eq!(config.http_max_connections, 7);
        assert_eq!(
            config.http_read_header_timeout,
            std::time::Duration::from_secs(90)
        );
        let defaults = Cli::try_parse_from(["coder-server"])
            .unwrap()
            .server
            .config();
        assert_eq!(
            (
                defaults.http_max_connections,
                defaults.http_read_header_timeout
            ),
            (4096, std::time::Duration::from_secs(30))
        );
    }
}
