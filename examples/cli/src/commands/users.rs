//! `coder users list|show|create`.

use coder_core::model::{CreateUserRequestWithOrgs, LoginType, User};

use super::Ctx;
use crate::cli::{OutputFormat, UsersCommand, UsersCreateArgs, UsersShowArgs};
use crate::error::{CliError, Result};
use crate::output;

/// Dispatches `coder users ...`.
pub(super) async fn run(ctx: &Ctx, cmd: UsersCommand) -> Result<()> {
    match cmd {
        UsersCommand::List(args) => {
            let client = ctx.client()?;
            let users = client
                .users()
                .list("")
                .await
                .map_err(CliError::api("list users"))?
                .users;
            if args.output == Some(OutputFormat::Json) {
                return ctx.ui.result(output::json(&users)?.trim_end());
            }
            let table = output::select(&users, &columns(), DEFAULT_COLUMNS, &args.column)?;
            ctx.ui.result(table.trim_end())
        }
        UsersCommand::Show(args) => show(ctx, args).await,
        UsersCommand::Create(args) => create(ctx, args).await,
        UsersCommand::Suspend(args) => set_status(ctx, &args.user, true).await,
        UsersCommand::Activate(args) => set_status(ctx, &args.user, false).await,
    }
}

async fn set_status(ctx: &Ctx, user: &str, suspend: bool) -> Result<()> {
    let client = ctx.client()?;
    let users = client.users();
    let (done, what) = if suspend {
        (users.suspend(user).await, "suspend")
    } else {
        (users.activate(user).await, "activate")
    };
    let user = done.map_err(CliError::api(format!("{what} user {user:?}")))?;
    ctx.ui
        .result(&format!("User {:?} is now {}.", user.username, user.status))
}

/// `users list`'s default columns, as Coder's.
const DEFAULT_COLUMNS: &[&str] = &["username", "email", "created at", "status"];

fn columns<'a>() -> [output::Column<'a, User>; 7] {
    [
        output::column("id", |u: &User| u.id.to_string()),
        output::column("username", |u: &User| u.username.clone()),
        output::column("name", |u: &User| u.name.clone()),
        output::column("email", |u: &User| u.email.clone()),
        output::column("created at", |u: &User| output::timestamp(u.created_at)),
        output::column("updated at", |u: &User| output::timestamp(u.updated_at)),
        output::column("status", |u: &User| u.status.to_string()),
    ]
}

async fn show(ctx: &Ctx, args: UsersShowArgs) -> Result<()> {
    let client = ctx.client()?;
    let user = client
        .users()
        .get(&args.user)
        .await
        .map_err(CliError::api(format!("user {:?}", args.user)))?;
    match args.output.output.unwrap_or(OutputFormat::Table) {
        OutputFormat::Json => ctx.ui.result(output::json(&user)?.trim_end()),
        OutputFormat::Table | OutputFormat::Text => {
            let roles: Vec<&str> = user.roles.iter().map(|r| r.name.as_str()).collect();
            ctx.ui.result(&format!(
                "User {:?} ({})\n  email:   {}\n  name:    {}\n  status:  {}\n  roles:   {}\n  created: {}",
                user.username,
                user.id,
                user.email,
                user.name,
                user.status,
                if roles.is_empty() { "member".to_owned() } else { roles.join(", ") },
                output::timestamp(user.created_at)
            ))
        }
    }
}

async fn create(ctx: &Ctx, args: UsersCreateArgs) -> Result<()> {
    let client = ctx.client()?;
    let email = match args.email {
        Some(e) => e,
        None => ctx.ui.ask("Email", "--email")?,
    };
    let username = match args.username {
        Some(u) => u,
        None => ctx.ui.ask("Username", "--username")?,
    };
    let login_type: LoginType = args.login_type.parse().unwrap_or_default();
    let password = match (args.password, &login_type) {
        (Some(p), _) => p,
        (None, LoginType::Password) => ctx.ui.ask_password("Password", "--password")?,
        (None, _) => String::new(),
    };
    let org = client
        .organizations()
        .get(&args.org.org)
        .await
        .map_err(CliError::api(format!("organization {:?}", args.org.org)))?;
    let user = client
        .users()
        .create(&CreateUserRequestWithOrgs {
            email,
            username,
            name: args.full_name.unwrap_or_default(),
            password,
            login_type,
            organization_ids: vec![org.id],
            ..Default::default()
        })
        .await
        .map_err(CliError::api("create user"))?;
    ctx.ui.result(&format!(
        "User {:?} ({}) has been created in organization {:?}.",
        user.username, user.email, org.name
    ))
}
