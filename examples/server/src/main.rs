//! `coder-server`: runs the reference control plane with Coder's `coder server` flags.

use std::path::PathBuf;

use clap::Parser;
use coder_server::Config;

/// Start a Coder-compatible control plane (embedded SQLite unless --postgres-url is set).
#[derive(Debug, Parser)]
#[command(name = "coder-server", version)]
struct Args {
    /// HTTP bind address of the server. Unset to disable the HTTP endpoint.
    #[arg(long, env = "CODER_HTTP_ADDRESS", default_value = "127.0.0.1:3000")]
    http_address: String,
    /// The URL that users will use to access the Coder deployment.
    #[arg(long, env = "CODER_ACCESS_URL")]
    access_url: Option<String>,
    /// URL of a PostgreSQL database. If empty, an embedded SQLite database is used.
    #[arg(long, env = "CODER_PG_CONNECTION_URL")]
    postgres_url: Option<String>,
    /// The directory to cache temporary files and the embedded database.
    #[arg(long, env = "CODER_CACHE_DIRECTORY")]
    cache_dir: Option<PathBuf>,
    /// Number of provisioner daemons to create on start (jobs run concurrently).
    #[arg(long, env = "CODER_PROVISIONER_DAEMONS", default_value_t = 3)]
    provisioner_daemons: usize,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = Config::new(args.cache_dir.unwrap_or_else(Config::default_cache_dir));
    config.access_url = args.access_url.filter(|u| !u.is_empty());
    config.postgres_url = args.postgres_url.filter(|u| !u.is_empty());
    config.job_concurrency = args.provisioner_daemons;
    let listener = match tokio::net::TcpListener::bind(&args.http_address).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: listen on {}: {e}", args.http_address);
            return std::process::ExitCode::FAILURE;
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
         View the Web UI: {access}\n\
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
    match coder_server::serve(listener, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
