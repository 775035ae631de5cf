//! `coder login`, `coder logout`, `coder whoami`.

use coder_core::model::{CreateFirstUserRequest, User};

use super::Ctx;
use crate::cli::{LoginArgs, LoginCommand, OutputFormat, TableArgs, YesArgs};
use crate::config::normalize_url;
use crate::error::{CliError, Result};
use crate::output;

/// Logs in (creating the first user on a fresh deployment) and stores the session.
pub(super) async fn login(ctx: &Ctx, args: LoginArgs) -> Result<()> {
    if let Some(LoginCommand::Token) = args.command {
        let token = match ctx.global.token.clone() {
            Some(token) => token,
            None => ctx.config.session()?.ok_or(CliError::NotLoggedIn)?,
        };
        return ctx.ui.result(&token);
    }
    let url = match args.deployment.as_deref().or(ctx.global.url.as_deref()) {
        Some(url) => normalize_url(url),
        None => ctx.config.url()?.ok_or(CliError::NoUrl)?,
    };
    let client = ctx.client_for(&url, None)?;
    let provided = ctx.global.token.is_some() && args.use_token_as_session;
    if let Some(token) = &ctx.global.token {
        client.set_session_token(token.clone());
        if !args.use_token_as_session {
            // A session of its own: logging out later revokes it, not the given token.
            let session = client
                .tokens()
                .create_session_key("me")
                .await
                .map_err(CliError::api("create a session from the token"))?;
            client.set_session_token(session.key);
        }
    } else if !client
        .users()
        .first_user_exists()
        .await
        .map_err(CliError::api("check for the first user"))?
    {
        create_first_user(ctx, &client, &args).await?;
    } else {
        let email = match args.email.clone() {
            Some(email) => email,
            None => ctx.ui.ask("Email", "--email")?,
        };
        let password = match args.password.clone() {
            Some(password) => password,
            None => ctx.ui.ask_password("Password", "--password")?,
        };
        client
            .login(&email, &password)
            .await
            .map_err(CliError::api("login"))?;
    }
    let me = client
        .users()
        .me()
        .await
        .map_err(CliError::api("get the authenticated user"))?;
    let token = client.session_token().ok_or(CliError::NotLoggedIn)?;
    ctx.config.set_url(&url)?;
    ctx.config.set_session(&token)?;
    ctx.config.set_session_provided(provided)?;
    ctx.ui.result(&format!(
        "Welcome to Coder, {}! You're authenticated.",
        me.username
    ))
}

async fn create_first_user(
    ctx: &Ctx,
    client: &coder_client::Client,
    args: &LoginArgs,
) -> Result<()> {
    ctx.ui.note("Your Coder deployment hasn't been set up!");
    let username = match args.first_user_username.clone() {
        Some(v) => v,
        None => ctx
            .ui
            .ask("What username would you like?", "--first-user-username")?,
    };
    let email = match args.first_user_email.clone() {
        Some(v) => v,
        None => ctx.ui.ask("What's your email?", "--first-user-email")?,
    };
    let password = match args.first_user_password.clone() {
        Some(v) => v,
        None => {
            let first = ctx
                .ui
                .ask_password("Enter a password", "--first-user-password")?;
            let again = ctx
                .ui
                .ask_password("Confirm password", "--first-user-password")?;
            if first != again {
                return Err(CliError::Usage("passwords do not match".into()));
            }
            first
        }
    };
    let request = CreateFirstUserRequest {
        email: email.clone(),
        username,
        name: args.first_user_full_name.clone().unwrap_or_default(),
        password: password.clone(),
        trial: args.first_user_trial,
    };
    client
        .users()
        .create_first_user(&request)
        .await
        .map_err(CliError::api("create the first user"))?;
    client
        .login(&email, &password)
        .await
        .map_err(CliError::api("login"))?;
    Ok(())
}

/// Ends the session on the server (best effort) and removes the stored one.
pub(super) async fn logout(ctx: &Ctx, args: YesArgs) -> Result<()> {
    ctx.ui
        .confirm("Are you sure you want to log out?", args.yes)?;
    if ctx.config.session_provided() && ctx.global.token.is_none() {
        ctx.ui.note(
            "The token you logged in with (--use-token-as-session) stays valid; revoke it with `coder tokens remove`.",
        );
    } else if let Ok(client) = ctx.client()
        && let Err(e) = client.logout().await
    {
        ctx.ui
            .note(&CliError::api("end the session on the server")(e).render(ctx.ui.verbose));
    }
    ctx.config.clear()?;
    ctx.ui
        .result("You are no longer logged in. You can log in using 'coder login <url>'.")
}

/// Who the session belongs to.
pub(super) async fn whoami(ctx: &Ctx, args: TableArgs) -> Result<()> {
    let client = ctx.client()?;
    let me = client.users().me().await.map_err(CliError::api("whoami"))?;
    let url = client.url().as_str().trim_end_matches('/').to_owned();
    match args.output.unwrap_or(OutputFormat::Text) {
        OutputFormat::Text => ctx.ui.result(&format!(
            "Coder is running at {url}, You're authenticated as {} !",
            me.username
        )),
        OutputFormat::Table => {
            let columns = [
                output::column("URL", |_: &User| url.clone()),
                output::column("Username", |u: &User| u.username.clone()),
                output::column("ID", |u: &User| u.id.to_string()),
                output::column("Orgs", |u: &User| {
                    let ids: Vec<String> =
                        u.organization_ids.iter().map(ToString::to_string).collect();
                    ids.join(",")
                }),
                output::column("Roles", |u: &User| {
                    let roles: Vec<&str> = u.roles.iter().map(|r| r.name.as_str()).collect();
                    roles.join(",")
                }),
            ];
            let table = output::select(
                std::slice::from_ref(&me),
                &columns,
                &["url", "username", "id"],
                &args.column,
            )?;
            ctx.ui.result(table.trim_end())
        }
        OutputFormat::Json => {
            let value = serde_json::json!({
                "url": url,
                "username": me.username,
                "id": me.id,
                "email": me.email,
                "organization_ids": me.organization_ids,
                "roles": me.roles,
            });
            ctx.ui.result(output::json(&value)?.trim_end())
        }
    }
}
