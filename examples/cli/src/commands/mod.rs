//! One module per command group; [`run`] dispatches a parsed command line.

mod auth;
mod completion;
mod headers;
mod logs;
mod organizations;
mod schedule;
mod templates;
mod tokens;
mod users;
mod version;
mod workspaces;

use coder_client::Client;
use coder_core::model::Workspace;

use crate::cli::{Cli, Command, Global};
use crate::config::{ConfigDir, Session};
use crate::error::{CliError, Result};
use crate::ui::Ui;

/// What every command may need: the global options, the config directory and the terminal.
pub(crate) struct Ctx {
    global: Global,
    config: ConfigDir,
    ui: Ui,
}

impl Ctx {
    /// The session (flag/env over files).
    fn session(&self) -> Result<Session> {
        Session::resolve(
            self.global.url.as_deref(),
            self.global.token.as_deref(),
            &self.config,
        )
    }

    /// A client for the deployment, with the session token; fails when not logged in.
    fn client(&self) -> Result<Client> {
        let session = self.session()?;
        let token = session.token.ok_or(CliError::NotLoggedIn)?;
        self.client_for(&session.url, Some(token))
    }

    /// A client for `url`, sending the `--header` and `--header-command` headers.
    fn client_for(&self, url: &str, token: Option<String>) -> Result<Client> {
        let mut builder =
            Client::builder(url).user_agent(concat!("coder-rs-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = token {
            builder = builder.session_token(token);
        }
        for (name, value) in headers::collect(&self.global)? {
            builder = builder.header(name, value);
        }
        build(builder)
    }
}

/// Builds a client, telling a bad `--url` or header apart from other failures.
fn build(builder: coder_client::ClientBuilder) -> Result<Client> {
    builder.build().map_err(|e| match e {
        coder_client::Error::InvalidInput(msg) if msg.starts_with("header ") => {
            CliError::Usage(format!("invalid --header: {msg}"))
        }
        coder_client::Error::InvalidInput(msg) => CliError::Usage(format!("invalid --url: {msg}")),
        other => CliError::api("connect")(other),
    })
}

/// Runs the command line.
pub(crate) async fn run(cli: Cli, ui: Ui) -> Result<()> {
    let config = ConfigDir::locate(cli.global.global_config.clone())?;
    let ctx = Ctx {
        global: cli.global,
        config,
        ui,
    };
    match cli.command {
        Command::Login(args) => auth::login(&ctx, args).await,
        Command::Logout(args) => auth::logout(&ctx, args).await,
        Command::Whoami(args) => auth::whoami(&ctx, args).await,
        Command::Tokens(cmd) => tokens::run(&ctx, cmd).await,
        Command::Templates(cmd) => templates::run(&ctx, cmd).await,
        Command::Create(args) => workspaces::create(&ctx, args).await,
        Command::List(args) => workspaces::list(&ctx, args).await,
        Command::Show(args) => workspaces::show(&ctx, args).await,
        Command::Start(args) => workspaces::start(&ctx, args).await,
        Command::Stop(args) => workspaces::stop(&ctx, args).await,
        Command::Restart(args) => workspaces::restart(&ctx, args).await,
        Command::Update(args) => workspaces::update(&ctx, args).await,
        Command::Rename(args) => workspaces::rename(&ctx, args).await,
        Command::Delete(args) => workspaces::delete(&ctx, args).await,
        Command::Logs(args) => logs::run(&ctx, args).await,
        Command::Schedule(cmd) => schedule::run(&ctx, cmd).await,
        Command::Users(cmd) => users::run(&ctx, cmd).await,
        Command::Organizations(cmd) => organizations::run(&ctx, cmd).await,
        Command::Completion(args) => completion::run(&ctx, args),
        Command::Version(args) => version::run(&ctx, args),
        // `main` runs the server on its own multi-threaded runtime before reaching here.
        Command::Server(_) => Err(CliError::Usage("coder server runs from main".into())),
    }
}

/// Splits `<owner>/<name>` (or `<name>`, owned by `me`).
pub(crate) fn split_workspace(arg: &str) -> Result<(&str, &str)> {
    let (owner, name) = match arg.split_once('/') {
        Some((owner, name)) => (owner, name),
        None => ("me", arg),
    };
    if owner.is_empty() || name.is_empty() || name.contains('/') {
        return Err(CliError::Usage(format!(
            "invalid workspace {arg:?}: use <name> or <owner>/<name>"
        )));
    }
    Ok((owner, name))
}

/// Finds a workspace by `<name>` or `<owner>/<name>`.
async fn find_workspace(client: &Client, arg: &str) -> Result<Workspace> {
    let (owner, name) = split_workspace(arg)?;
    client
        .workspaces()
        .get_by_owner_and_name(owner, name)
        .await
        .map_err(CliError::api(format!("workspace {arg:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_arguments() {
        assert_eq!(split_workspace("dev").unwrap(), ("me", "dev"));
        assert_eq!(split_workspace("alice/dev").unwrap(), ("alice", "dev"));
        for bad in ["", "/dev", "alice/", "a/b/c"] {
            assert!(split_workspace(bad).is_err(), "{bad}");
        }
    }
}
