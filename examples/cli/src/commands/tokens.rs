//! `coder tokens create|list|remove`.

use coder_core::model::{APIKey, CreateTokenRequest};

use super::Ctx;
use crate::cli::{OutputFormat, TableArgs, TokensCommand, TokensCreateArgs, TokensRemoveArgs};
use crate::duration::parse_duration;
use crate::error::{CliError, Result};
use crate::output;

/// Dispatches `coder tokens ...`.
pub(super) async fn run(ctx: &Ctx, cmd: TokensCommand) -> Result<()> {
    match cmd {
        TokensCommand::Create(args) => create(ctx, args).await,
        TokensCommand::List(args) => list(ctx, args).await,
        TokensCommand::Remove(args) => remove(ctx, args).await,
    }
}

async fn create(ctx: &Ctx, args: TokensCreateArgs) -> Result<()> {
    let client = ctx.client()?;
    // Coder's wire lifetime is nanoseconds; 0 lets the server pick its default.
    let lifetime = match args.lifetime.as_deref() {
        Some(text) => i64::try_from(parse_duration(text)?.as_nanos())
            .map_err(|_| CliError::Usage(format!("lifetime {text:?} is too long")))?,
        None => 0,
    };
    let request = CreateTokenRequest {
        token_name: args.name.unwrap_or_default(),
        lifetime,
        ..Default::default()
    };
    let token = client
        .tokens()
        .create(&args.user, &request)
        .await
        .map_err(CliError::api("create token"))?;
    ctx.ui.result(&token.key)
}

async fn list(ctx: &Ctx, args: TableArgs) -> Result<()> {
    let client = ctx.client()?;
    let keys = client
        .tokens()
        .list("me")
        .await
        .map_err(CliError::api("list tokens"))?;
    if args.output == Some(OutputFormat::Json) {
        return ctx.ui.result(output::json(&keys)?.trim_end());
    }
    if keys.is_empty() {
        ctx.ui
            .note("No tokens found. Create one with: coder tokens create --name <name>");
        return Ok(());
    }
    let columns = [
        output::column("id", |k: &APIKey| k.id.clone()),
        output::column("name", |k: &APIKey| k.token_name.clone()),
        output::column("scopes", |k: &APIKey| k.scope.to_string()),
        output::column("last used", |k: &APIKey| output::timestamp(k.last_used)),
        output::column("expires at", |k: &APIKey| output::timestamp(k.expires_at)),
        output::column("created at", |k: &APIKey| output::timestamp(k.created_at)),
        output::column("owner", |k: &APIKey| k.user_id.to_string()),
    ];
    let defaults = [
        "id",
        "name",
        "scopes",
        "last used",
        "expires at",
        "created at",
    ];
    let table = output::select(&keys, &columns, &defaults, &args.column)?;
    ctx.ui.result(table.trim_end())
}

/// Accepts a token's name, its id, or the whole `<id>-<secret>` token.
async fn remove(ctx: &Ctx, args: TokensRemoveArgs) -> Result<()> {
    let client = ctx.client()?;
    let id = match args.name_or_id.split_once('-') {
        Some((id, _)) => id.to_owned(),
        None => {
            let keys = client
                .tokens()
                .list("me")
                .await
                .map_err(CliError::api("list tokens"))?;
            keys.into_iter()
                .find(|k| k.token_name == args.name_or_id || k.id == args.name_or_id)
                .map(|k| k.id)
                .ok_or_else(|| CliError::Usage(format!("no token named {:?}", args.name_or_id)))?
        }
    };
    client
        .tokens()
        .delete("me", &id)
        .await
        .map_err(CliError::api(format!("delete token {:?}", args.name_or_id)))?;
    ctx.ui.result("Token has been deleted.")
}
