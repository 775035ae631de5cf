//! `coder organizations show`.

use coder_core::model::Organization;

use super::Ctx;
use crate::cli::{OrganizationsCommand, OrganizationsShowArgs, OutputFormat};
use crate::error::{CliError, Result};
use crate::output;

/// Dispatches `coder organizations ...`.
pub(super) async fn run(ctx: &Ctx, cmd: OrganizationsCommand) -> Result<()> {
    match cmd {
        OrganizationsCommand::Show(args) => show(ctx, args).await,
    }
}

async fn show(ctx: &Ctx, args: OrganizationsShowArgs) -> Result<()> {
    let client = ctx.client()?;
    let orgs: Vec<Organization> = match args.which.as_str() {
        "me" => client
            .organizations()
            .list()
            .await
            .map_err(CliError::api("list organizations"))?,
        which => {
            let name = if which == "selected" {
                args.org.org.as_str()
            } else {
                which
            };
            vec![
                client
                    .organizations()
                    .get(name)
                    .await
                    .map_err(CliError::api(format!("organization {name:?}")))?,
            ]
        }
    };
    if args.output.output == Some(OutputFormat::Json) {
        return ctx.ui.result(output::json(&orgs)?.trim_end());
    }
    let columns = [
        output::column("id", |o: &Organization| o.id.to_string()),
        output::column("name", |o: &Organization| o.name.clone()),
        output::column("display name", |o: &Organization| o.display_name.clone()),
        output::column("description", |o: &Organization| o.description.clone()),
        output::column("default", |o: &Organization| o.is_default.to_string()),
        output::column("created at", |o: &Organization| {
            output::timestamp(o.created_at)
        }),
    ];
    let defaults = ["id", "name", "display name", "default"];
    let table = output::select(&orgs, &columns, &defaults, &args.output.column)?;
    ctx.ui.result(table.trim_end())
}
