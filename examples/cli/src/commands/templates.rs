//! `coder templates init|push|list|versions list`.

use std::io::Read;
use std::path::{Path, PathBuf};

use coder_core::model::{
    CreateTemplateRequest, CreateTemplateVersionRequest, ProvisionerJobStatus,
    ProvisionerStorageMethod, ProvisionerType, Template, TemplateVersion, UpdateTemplateMeta,
};

use super::Ctx;
use crate::archive::{detect_provisioner, tar_directory};
use crate::cli::{
    OutputFormat, ProvisionerArg, TableArgs, TemplatesCommand, TemplatesDeleteArgs,
    TemplatesEditArgs, TemplatesInitArgs, TemplatesPullArgs, TemplatesPushArgs, VersionsCommand,
    VersionsListArgs,
};
use crate::duration::{format_elapsed, format_ms, parse_ttl_ms};
use crate::error::{CliError, Result};
use crate::{example, output};

/// Dispatches `coder templates ...`.
pub(super) async fn run(ctx: &Ctx, cmd: TemplatesCommand) -> Result<()> {
    match cmd {
        TemplatesCommand::Init(args) => init(ctx, args),
        TemplatesCommand::Push(args) => push(ctx, args).await,
        TemplatesCommand::List(args) => list(ctx, args).await,
        TemplatesCommand::Versions(VersionsCommand::List(args)) => versions(ctx, args).await,
        TemplatesCommand::Pull(args) => pull(ctx, args).await,
        TemplatesCommand::Edit(args) => edit(ctx, args).await,
        TemplatesCommand::Delete(args) => delete(ctx, args).await,
    }
}

/// Downloads a version's archive: as a tar on stdout, or unpacked into a new (or empty)
/// directory.
async fn pull(ctx: &Ctx, args: TemplatesPullArgs) -> Result<()> {
    let client = ctx.client()?;
    let template = find_template(&client, &args.org.org, &args.template).await?;
    let version = match &args.template_version {
        Some(name) => client.templates().version_by_name(template.id, name).await,
        None => {
            client
                .template_versions()
                .get(template.active_version_id)
                .await
        }
    }
    .map_err(CliError::api(format!(
        "version of template {:?}",
        args.template
    )))?;
    let tar = client
        .files()
        .download(version.job.file_id)
        .await
        .map_err(CliError::api("download the template archive"))?;
    if args.tar {
        let mut stdout = std::io::stdout().lock();
        return std::io::Write::write_all(&mut stdout, &tar)
            .map_err(CliError::io("standard output"));
    }
    let dest = args
        .destination
        .unwrap_or_else(|| PathBuf::from(&template.name));
    if dest.exists()
        && std::fs::read_dir(&dest)
            .map_err(CliError::io(&dest))?
            .next()
            .is_some()
    {
        return Err(CliError::Usage(format!(
            "{} is not empty: choose a new directory",
            dest.display()
        )));
    }
    std::fs::create_dir_all(&dest).map_err(CliError::io(&dest))?;
    tar::Archive::new(tar.as_slice())
        .unpack(&dest)
        .map_err(CliError::io(&dest))?;
    ctx.ui.result(&format!(
        "Pulled version {:?} of template {:?} into {}",
        version.name,
        template.name,
        dest.display()
    ))
}

/// Changes the template's metadata; only the given flags change anything.
async fn edit(ctx: &Ctx, args: TemplatesEditArgs) -> Result<()> {
    let default_ttl_ms = args.default_ttl.as_deref().map(parse_ttl_ms).transpose()?;
    let client = ctx.client()?;
    let template = find_template(&client, &args.org.org, &args.template).await?;
    let meta = UpdateTemplateMeta {
        name: args.name,
        display_name: args.display_name,
        description: args.description,
        icon: args.icon,
        default_ttl_ms,
        ..Default::default()
    };
    let updated = client
        .templates()
        .update(template.id, &meta)
        .await
        .map_err(CliError::api(format!("edit template {:?}", args.template)))?;
    ctx.ui.result(&match updated {
        Some(t) => format!("Updated template {:?}.", t.name),
        None => format!("Template {:?} is unchanged.", template.name),
    })
}

/// Deletes templates (each must have no workspaces left).
async fn delete(ctx: &Ctx, args: TemplatesDeleteArgs) -> Result<()> {
    let client = ctx.client()?;
    let mut templates = Vec::new();
    for name in &args.templates {
        templates.push(find_template(&client, &args.org.org, name).await?);
    }
    ctx.ui.confirm(
        &format!("Delete template(s) {}?", args.templates.join(", ")),
        args.yes,
    )?;
    for template in templates {
        client
            .templates()
            .delete(template.id)
            .await
            .map_err(CliError::api(format!(
                "delete template {:?}",
                template.name
            )))?;
        ctx.ui
            .result(&format!("Deleted template {:?}.", template.name))?;
    }
    Ok(())
}

async fn find_template(client: &coder_client::Client, org: &str, name: &str) -> Result<Template> {
    client
        .templates()
        .get_by_name(org, name)
        .await
        .map_err(CliError::api(format!("template {name:?}")))
}

/// Writes the example template; never overwrites a file.
fn init(ctx: &Ctx, args: TemplatesInitArgs) -> Result<()> {
    let dir = args
        .directory
        .unwrap_or_else(|| PathBuf::from(example::DEFAULT_DIR));
    for (name, _) in example::FILES {
        let path = dir.join(name);
        if path.exists() {
            return Err(CliError::Usage(format!(
                "{} already exists: choose another directory",
                path.display()
            )));
        }
    }
    std::fs::create_dir_all(&dir).map_err(CliError::io(&dir))?;
    for (name, contents) in example::FILES {
        let path = dir.join(name);
        std::fs::write(&path, contents).map_err(CliError::io(&path))?;
    }
    ctx.ui.result(&format!(
        "Extracted the local example template to {}. Create your template by running:\n\n    \
         cd {} && coder templates push {} -d .",
        dir.display(),
        dir.display(),
        example::DEFAULT_DIR
    ))
}

/// The template name `push` uses: the argument, else the directory's name.
fn template_name(args: &TemplatesPushArgs) -> Result<String> {
    if let Some(name) = &args.template {
        return Ok(name.clone());
    }
    let dir = std::path::absolute(&args.directory).map_err(CliError::io(&args.directory))?;
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && args.directory != Path::new("-"))
        .ok_or_else(|| {
            CliError::Usage("pass the template's name: coder templates push <name>".into())
        })
}

/// Uploads the directory, imports it as a new version, and creates the template or makes the
/// version active.
async fn push(ctx: &Ctx, args: TemplatesPushArgs) -> Result<()> {
    let name = template_name(&args)?;
    let from_stdin = args.directory == Path::new("-");
    let provisioner = match (args.provisioner, from_stdin) {
        (Some(p), _) => p,
        (None, true) => {
            return Err(CliError::Usage(
                "pass --provisioner when reading the archive from stdin".into(),
            ));
        }
        (None, false) => detect_provisioner(&args.directory)?,
    };
    let client = ctx.client()?;
    let org = args.org.org.as_str();
    let existing = match client.templates().get_by_name(org, &name).await {
        Ok(t) => Some(t),
        Err(coder_client::Error::NotFound(_)) => None,
        Err(e) => return Err(CliError::api(format!("get template {name:?}"))(e)),
    };
    let question = match &existing {
        Some(_) => format!(
            "Upload {} as a new version of {name:?}?",
            args.directory.display()
        ),
        None => format!(
            "Create template {name:?} from {}?",
            args.directory.display()
        ),
    };
    ctx.ui.confirm(&question, args.yes)?;

    let archive = if from_stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(CliError::io("-"))?;
        bytes
    } else {
        tar_directory(&args.directory)?
    };
    let size = archive.len();
    let upload = client
        .files()
        .upload(archive)
        .await
        .map_err(CliError::api("upload the template"))?;
    ctx.ui
        .note(&format!("Uploaded {size} bytes ({})", upload.hash));

    let request = CreateTemplateVersionRequest {
        name: args.name.clone().unwrap_or_default(),
        message: args.message.clone().unwrap_or_default(),
        template_id: existing.as_ref().map(|t| t.id),
        storage_method: ProvisionerStorageMethod::File,
        file_id: upload.hash,
        provisioner: provisioner_type(provisioner),
        ..Default::default()
    };
    let version = client
        .template_versions()
        .create(org, &request)
        .await
        .map_err(CliError::api("create the template version"))?;
    let versions = client.template_versions();
    let on_interrupt = format!(
        "the import of template version {:?} goes on on the server: see it with `coder templates versions list <template>`",
        version.name
    );
    let (job, took) = ctx
        .ui
        .follow_job(
            versions.follow_logs(version.id, None),
            move || async move {
                versions
                    .get(version.id)
                    .await
                    .map(|v| v.job)
                    .map_err(CliError::api("get the template version"))
            },
            &on_interrupt,
        )
        .await?;
    if job.status != ProvisionerJobStatus::Succeeded {
        return Err(CliError::JobFailed {
            what: format!("template version {:?} import", version.name),
            status: job.status.to_string(),
            message: job.error,
        });
    }
    let summary = match existing {
        None => {
            let template = client
                .templates()
                .create(
                    org,
                    &CreateTemplateRequest {
                        name: name.clone(),
                        template_version_id: version.id,
                        ..Default::default()
                    },
                )
                .await
                .map_err(CliError::api(format!("create template {name:?}")))?;
            format!(
                "✔ Template {:?} created with version {:?} [{}]",
                template.name,
                version.name,
                format_elapsed(took)
            )
        }
        Some(template) if args.activate => {
            client
                .templates()
                .set_active_version(template.id, version.id)
                .await
                .map_err(CliError::api(format!(
                    "activate the new version of {name:?}"
                )))?;
            format!(
                "✔ Template {name:?} updated: version {:?} is active [{}]",
                version.name,
                format_elapsed(took)
            )
        }
        Some(_) => format!(
            "✔ Template {name:?}: version {:?} imported (not activated) [{}]",
            version.name,
            format_elapsed(took)
        ),
    };
    ctx.ui.result(&summary)
}

fn provisioner_type(p: ProvisionerArg) -> ProvisionerType {
    match p {
        ProvisionerArg::Terraform => ProvisionerType::Terraform,
        ProvisionerArg::Process => ProvisionerType::Process,
        ProvisionerArg::Echo => ProvisionerType::Echo,
    }
}

async fn list(ctx: &Ctx, args: TableArgs) -> Result<()> {
    let client = ctx.client()?;
    let templates = client
        .templates()
        .list()
        .await
        .map_err(CliError::api("list templates"))?;
    if args.output == Some(OutputFormat::Json) {
        return ctx.ui.result(output::json(&templates)?.trim_end());
    }
    if templates.is_empty() {
        ctx.ui.note(
            "No templates found! Create one:\n\n    coder templates init\n    coder templates push local -d local",
        );
        return Ok(());
    }
    let now = chrono::Utc::now();
    let columns = [
        output::column("name", |t: &Template| t.name.clone()),
        output::column("created at", |t: &Template| output::timestamp(t.created_at)),
        output::column("last updated", |t: &Template| {
            output::relative(t.updated_at, now)
        }),
        output::column("organization id", |t: &Template| {
            t.organization_id.to_string()
        }),
        output::column("organization name", |t: &Template| {
            t.organization_name.clone()
        }),
        output::column("provisioner", |t: &Template| t.provisioner.to_string()),
        output::column("active version id", |t: &Template| {
            t.active_version_id.to_string()
        }),
        output::column("used by", |t: &Template| {
            format!(
                "{} developer{}",
                t.active_user_count,
                plural(t.active_user_count)
            )
        }),
        output::column("default ttl", |t: &Template| format_ms(t.default_ttl_ms)),
    ];
    let defaults = ["name", "organization name", "last updated", "used by"];
    let table = output::select(&templates, &columns, &defaults, &args.column)?;
    ctx.ui.result(table.trim_end())
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

async fn versions(ctx: &Ctx, args: VersionsListArgs) -> Result<()> {
    let client = ctx.client()?;
    let template = client
        .templates()
        .get_by_name(&args.org.org, &args.template)
        .await
        .map_err(CliError::api(format!("template {:?}", args.template)))?;
    let versions = client
        .templates()
        .versions(template.id)
        .await
        .map_err(CliError::api(format!("versions of {:?}", args.template)))?;
    if args.output.output == Some(OutputFormat::Json) {
        return ctx.ui.result(output::json(&versions)?.trim_end());
    }
    let active = |v: &TemplateVersion| v.id == template.active_version_id;
    let columns = [
        output::column("id", |v: &TemplateVersion| v.id.to_string()),
        output::column("name", |v: &TemplateVersion| v.name.clone()),
        output::column("created at", |v: &TemplateVersion| {
            output::timestamp(v.created_at)
        }),
        output::column("created by", |v: &TemplateVersion| {
            v.created_by.username.clone()
        }),
        output::column("status", |v: &TemplateVersion| v.job.status.to_string()),
        output::column("active", |v: &TemplateVersion| {
            if active(v) { "Active" } else { "" }.to_owned()
        }),
        output::column("archived", |v: &TemplateVersion| {
            if v.archived { "Archived" } else { "" }.to_owned()
        }),
    ];
    let defaults = ["name", "created at", "created by", "status", "active"];
    let mut newest_first = versions;
    newest_first.reverse();
    let table = output::select(&newest_first, &columns, &defaults, &args.output.column)?;
    ctx.ui.result(table.trim_end())
}
