//! `coder`: Coder's command-line tool over this project's Rust SDK (`coder-client`).
//!
//! Commands and flags follow Coder's own CLI. The session is stored like Coder's (files
//! `url` and `session` in `--global-config`, mode 0600); errors print one clear line and
//! exit non-zero; `-o json` prints the API's own objects.

mod archive;
mod cli;
mod commands;
mod complete;
mod config;
mod duration;
mod error;
mod example;
mod output;
mod params;
mod schedule_spec;
mod stages;
mod ui;

use std::process::ExitCode;

use clap::FromArgMatches;

fn main() -> ExitCode {
    // `COMPLETE=<shell> coder -- <words>`: the shell asking for completions (see `coder
    // completion`); answers and exits.
    clap_complete::CompleteEnv::with_factory(cli::command).complete();
    let cli = match cli::Cli::from_arg_matches(&cli::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let cli::Command::Server(args) = cli.command {
        return serve(args);
    }
    let ui = ui::Ui::detect(cli.global.quiet, cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli, ui)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.render(ui.verbose));
            e.exit_code()
        }
    }
}

/// `coder server`: the reference control plane, on a multi-threaded runtime.
fn serve(args: coder_server::cli::ServerArgs) -> ExitCode {
    coder_server::cli::init_tracing();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(coder_server::cli::run(args)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
