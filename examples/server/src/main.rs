//! `coder-server`: runs the reference control plane with Coder's `coder server` flags.

use clap::Parser;
use coder_server::cli::ServerArgs;

/// Start a Coder-compatible control plane (embedded SQLite unless --postgres-url is set).
#[derive(Debug, Parser)]
#[command(name = "coder-server", version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    coder_server::cli::init_tracing();
    coder_server::cli::run(Args::parse().server).await
}
