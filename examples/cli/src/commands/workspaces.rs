//! `coder create|list|show|start|stop|restart|delete`: workspaces and their builds.

use coder_client::Client;
use coder_core::model::{
    CreateWorkspaceBuildReason, CreateWorkspaceBuildRequest, CreateWorkspaceRequest,
    ProvisionerJobStatus, Workspace, WorkspaceBuild, WorkspaceBuildParameter, WorkspaceStatus,
    WorkspaceTransition,
};
use coder_core::schedule::Schedule;

use super::{Ctx, find_workspace, split_workspace};
use crate::cli::{
    CreateArgs, DeleteArgs, ListArgs, OutputFormat, RenameArgs, StartArgs, UpdateArgs,
    WorkspaceArg, WorkspaceYesArgs,
};
use crate::duration::{format_elapsed, format_ms, parse_ttl_ms};
use crate::error::{CliError, Result};
use crate::output;
use crate::params::{ParameterSources, parse_parameters};
use crate::schedule_spec::{autostart_schedule, local_zone};

/// Creates a workspace from a template and follows its first build.
pub(super) async fn create(ctx: &Ctx, args: CreateArgs) -> Result<()> {
    // Local mistakes first: no network call for a command line that cannot work.
    let sources = ParameterSources::from_flags(&args.parameters)?;
    let ttl_ms = args.stop_after.as_deref().map(parse_ttl_ms).transpose()?;
    let autostart_schedule = args
        .start_at
        .as_deref()
        .map(|s| autostart_schedule(&[s.to_owned()], local_zone))
        .transpose()?;
    let client = ctx.client()?;
    let workspace = match args.workspace.clone() {
        Some(w) => w,
        None => ctx
            .ui
            .ask("Specify a name for your workspace", "<workspace>")?,
    };
    let (owner, name) = split_workspace(&workspace)?;
    let template_name = match args.template.clone() {
        Some(t) => t,
        None => pick_template(ctx, &client).await?,
    };
    let template = client
        .templates()
        .get_by_name(&args.org.org, &template_name)
        .await
        .map_err(CliError::api(format!("template {template_name:?}")))?;
    let version_id = match &args.template_version {
        Some(version) => Some(
            client
                .templates()
                .version_by_name(template.id, version)
                .await
                .map_err(CliError::api(format!(
                    "version {version:?} of template {template_name:?}"
                )))?
                .id,
        ),
        None => None,
    };
    let params = client
        .template_versions()
        .rich_parameters(version_id.unwrap_or(template.active_version_id))
        .await
        .map_err(CliError::api(format!(
            "parameters of template {template_name:?}"
        )))?;
    let rich_parameter_values = sources.resolve(&ctx.ui, &params)?;
    let request = CreateWorkspaceRequest {
        name: name.to_owned(),
        template_id: version_id.is_none().then_some(template.id),
        template_version_id: version_id,
        ttl_ms,
        autostart_schedule,
        rich_parameter_values,
        ..Default::default()
    };
    ctx.ui.confirm(
        &format!("Create workspace {workspace:?} from template {template_name:?}?"),
        args.yes,
    )?;
    let ws = client
        .workspaces()
        .create(owner, &request)
        .await
        .map_err(CliError::api(format!("create workspace {workspace:?}")))?;
    if args.no_wait {
        return ctx.ui.result(&format!(
            "Workspace {:?} is being created (build #{}); follow it with `coder logs {} -f`",
            ws.name, ws.latest_build.build_number, ws.name
        ));
    }
    follow_build(ctx, &client, &ws.name, &ws.latest_build).await
}

/// On a terminal, asks which template to use (by number or name); elsewhere a usage error
/// listing them.
async fn pick_template(ctx: &Ctx, client: &Client) -> Result<String> {
    let names: Vec<String> = client
        .templates()
        .list()
        .await
        .map_err(CliError::api("list templates"))?
        .into_iter()
        .map(|t| t.name)
        .collect();
    if names.is_empty() {
        return Err(CliError::Usage(
            "no templates yet: create one with `coder templates push`".into(),
        ));
    }
    if !ctx.ui.can_prompt {
        return Err(CliError::Usage(format!(
            "pass --template <name>; available: {}",
            names.join(", ")
        )));
    }
    let menu: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("  {}. {n}", i + 1))
        .collect();
    ctx.ui
        .note(&format!("Select a template below:\n{}", menu.join("\n")));
    loop {
        let answer = ctx.ui.ask("Template", "--template")?;
        match answer.parse::<usize>() {
            Ok(n) if n >= 1 && n <= names.len() => return Ok(names[n - 1].clone()),
            _ if names.contains(&answer) => return Ok(answer),
            _ => ctx.ui.note(&format!(
                "  {answer:?} is not one of them: answer 1–{} or a name",
                names.len()
            )),
        }
    }
}

/// Follows a build to its end; prints a one-line summary, or fails with the job's error.
async fn follow_build(
    ctx: &Ctx,
    client: &Client,
    name: &str,
    build: &WorkspaceBuild,
) -> Result<()> {
    let id = build.id;
    let builds = client.builds();
    let on_interrupt = format!(
        "build #{} of {name:?} goes on on the server: follow it with `coder logs {name} -f`, or stop it with `coder stop {name}`",
        build.build_number
    );
    let (job, took) = ctx
        .ui
        .follow_job(
            builds.follow_logs(id, None),
            move || async move {
                builds
                    .get(id)
                    .await
                    .map(|b| b.job)
                    .map_err(CliError::api("get build"))
            },
            &on_interrupt,
        )
        .await?;
    if job.status != ProvisionerJobStatus::Succeeded {
        return Err(CliError::JobFailed {
            what: format!("build #{} of {name:?}", build.build_number),
            status: job.status.to_string(),
            message: job.error,
        });
    }
    let state = match build.transition {
        WorkspaceTransition::Start => "is running",
        WorkspaceTransition::Stop => "is stopped",
        WorkspaceTransition::Delete => "has been deleted",
        _ => "is built",
    };
    ctx.ui.result(&format!(
        "✔ Workspace {name:?} {state} (build #{}, {})",
        build.build_number,
        format_elapsed(took)
    ))
}

/// Starts a build of `transition` on `ws` and follows it.
async fn build(
    ctx: &Ctx,
    client: &Client,
    ws: &Workspace,
    transition: WorkspaceTransition,
    parameters: Vec<WorkspaceBuildParameter>,
    orphan: bool,
) -> Result<()> {
    let request = CreateWorkspaceBuildRequest {
        transition,
        rich_parameter_values: parameters,
        orphan,
        reason: Some(CreateWorkspaceBuildReason::Cli),
        ..Default::default()
    };
    start_build(ctx, client, ws, &request).await
}

/// Starts the build `request` describes on `ws` and follows it.
async fn start_build(
    ctx: &Ctx,
    client: &Client,
    ws: &Workspace,
    request: &CreateWorkspaceBuildRequest,
) -> Result<()> {
    let transition = &request.transition;
    let build = client
        .builds()
        .create(ws.id, request)
        .await
        .map_err(CliError::api(format!(
            "{transition} workspace {:?}",
            ws.name
        )))?;
    follow_build(ctx, client, &ws.name, &build).await
}

/// `coder start`.
pub(super) async fn start(ctx: &Ctx, args: StartArgs) -> Result<()> {
    let parameters = parse_parameters(&args.parameters)?;
    let client = ctx.client()?;
    let ws = find_workspace(&client, &args.workspace).await?;
    if ws.latest_build.status == WorkspaceStatus::Running && parameters.is_empty() {
        return ctx
            .ui
            .result(&format!("Workspace {:?} is already running", ws.name));
    }
    build(
        ctx,
        &client,
        &ws,
        WorkspaceTransition::Start,
        parameters,
        false,
    )
    .await
}

/// `coder stop`.
pub(super) async fn stop(ctx: &Ctx, args: WorkspaceYesArgs) -> Result<()> {
    let client = ctx.client()?;
    let ws = find_workspace(&client, &args.workspace).await?;
    ctx.ui.confirm(
        &format!("Confirm stop workspace {:?}?", args.workspace),
        args.yes,
    )?;
    build(
        ctx,
        &client,
        &ws,
        WorkspaceTransition::Stop,
        Vec::new(),
        false,
    )
    .await
}

/// `coder restart`: a stop build, then a start build.
pub(super) async fn restart(ctx: &Ctx, args: StartArgs) -> Result<()> {
    let parameters = parse_parameters(&args.parameters)?;
    let client = ctx.client()?;
    let ws = find_workspace(&client, &args.workspace).await?;
    ctx.ui.confirm(
        &format!("Restart workspace {:?}?", args.workspace),
        args.yes,
    )?;
    build(
        ctx,
        &client,
        &ws,
        WorkspaceTransition::Stop,
        Vec::new(),
        false,
    )
    .await?;
    build(
        ctx,
        &client,
        &ws,
        WorkspaceTransition::Start,
        parameters,
        false,
    )
    .await
}

/// `coder update`: starts the workspace on its template's active version, keeping the
/// previous parameter values and asking for new required ones.
pub(super) async fn update(ctx: &Ctx, args: UpdateArgs) -> Result<()> {
    let sources = ParameterSources::from_flags(&args.parameters)?;
    let client = ctx.client()?;
    let ws = find_workspace(&client, &args.workspace).await?;
    if !ws.outdated {
        return ctx.ui.result(&format!(
            "Workspace {:?} is up to date: it runs the template's active version {}",
            ws.name, ws.latest_build.template_version_name
        ));
    }
    let template = client
        .templates()
        .get(ws.template_id)
        .await
        .map_err(CliError::api(format!("template of {:?}", ws.name)))?;
    let previous = client
        .builds()
        .parameters(ws.latest_build.id)
        .await
        .map_err(CliError::api(format!("parameters of {:?}", ws.name)))?;
    let params = client
        .template_versions()
        .rich_parameters(template.active_version_id)
        .await
        .map_err(CliError::api(format!(
            "parameters of template {:?}",
            template.name
        )))?;
    let request = CreateWorkspaceBuildRequest {
        transition: WorkspaceTransition::Start,
        template_version_id: Some(template.active_version_id),
        rich_parameter_values: sources.after(previous).resolve(&ctx.ui, &params)?,
        reason: Some(CreateWorkspaceBuildReason::Cli),
        ..Default::default()
    };
    start_build(ctx, &client, &ws, &request).await
}

/// `coder rename`.
pub(super) async fn rename(ctx: &Ctx, args: RenameArgs) -> Result<()> {
    let client = ctx.client()?;
    let ws = find_workspace(&client, &args.workspace).await?;
    ctx.ui.confirm(
        &format!(
            "Rename workspace {:?} to {:?}? Resources named after the workspace may break.",
            args.workspace, args.new_name
        ),
        args.yes,
    )?;
    client
        .workspaces()
        .rename(ws.id, &args.new_name)
        .await
        .map_err(CliError::api(format!(
            "rename workspace {:?}",
            args.workspace
        )))?;
    ctx.ui.result(&format!(
        "Workspace {:?} renamed to {:?}.",
        ws.name, args.new_name
    ))
}

/// `coder delete`.
pub(super) async fn delete(ctx: &Ctx, args: DeleteArgs) -> Result<()> {
    let client = ctx.client()?;
    let ws = find_workspace(&client, &args.workspace).await?;
    ctx.ui.confirm(
        &format!("Confirm delete workspace {:?}?", args.workspace),
        args.yes,
    )?;
    build(
        ctx,
        &client,
        &ws,
        WorkspaceTransition::Delete,
        Vec::new(),
        args.orphan,
    )
    .await
}

/// `coder list`: a table, or Coder's `Workspace` objects as a JSON array.
pub(super) async fn list(ctx: &Ctx, args: ListArgs) -> Result<()> {
    let client = ctx.client()?;
    let query = if args.all { "" } else { args.search.as_str() };
    let response = client
        .workspaces()
        .list(query)
        .await
        .map_err(CliError::api("list workspaces"))?;
    let now = chrono::Utc::now();
    if args.output.output == Some(OutputFormat::Json) {
        return ctx
            .ui
            .result(render_list_json(&response.workspaces)?.trim_end());
    }
    if response.workspaces.is_empty() {
        ctx.ui.note(
            "No workspaces found! Create one:\n\n    coder create <name> --template <template>",
        );
        return Ok(());
    }
    let table = render_list_table(&response.workspaces, now, &args.output.column)?;
    ctx.ui.result(table.trim_end())
}

/// `list -o json`: the workspaces exactly as the API returns them.
pub(crate) fn render_list_json(workspaces: &[Workspace]) -> Result<String> {
    output::json(workspaces)
}

/// `list`'s table: Coder's columns (`-c`), by default Coder's default ones.
pub(crate) fn render_list_table(
    workspaces: &[Workspace],
    now: chrono::DateTime<chrono::Utc>,
    chosen: &[String],
) -> Result<String> {
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(|| "-".to_owned(), output::timestamp)
    };
    let columns = [
        output::column("favorite", |ws: &Workspace| ws.favorite.to_string()),
        output::column("workspace", |ws: &Workspace| {
            format!("{}/{}", ws.owner_name, ws.name)
        }),
        output::column("organization id", |ws: &Workspace| {
            ws.organization_id.to_string()
        }),
        output::column("organization name", |ws: &Workspace| {
            ws.organization_name.clone()
        }),
        output::column("template", |ws: &Workspace| ws.template_name.clone()),
        output::column("status", |ws: &Workspace| {
            display_status(&ws.latest_build.status)
        }),
        output::column("healthy", |ws: &Workspace| {
            if ws.latest_build.status == WorkspaceStatus::Running {
                ws.health.healthy.to_string()
            } else {
                String::new()
            }
        }),
        output::column("last built", |ws: &Workspace| {
            output::relative(ws.latest_build.created_at, now)
        }),
        output::column("current version", |ws: &Workspace| {
            ws.latest_build.template_version_name.clone()
        }),
        output::column("outdated", |ws: &Workspace| ws.outdated.to_string()),
        output::column("starts at", starts_at),
        output::column("starts next", |ws: &Workspace| when(starts_next(ws, now))),
        output::column("stops after", stops_after),
        output::column("stops next", |ws: &Workspace| when(stops_next(ws))),
        output::column("daily cost", |ws: &Workspace| {
            ws.latest_build.daily_cost.to_string()
        }),
    ];
    let defaults = [
        "workspace",
        "template",
        "status",
        "healthy",
        "last built",
        "current version",
        "outdated",
        "starts at",
        "stops after",
    ];
    output::select(workspaces, &columns, &defaults, chosen)
}

/// When the workspace next starts by its autostart schedule, if it has one.
pub(super) fn starts_next(
    ws: &Workspace,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    ws.next_start_at.or_else(|| {
        ws.autostart_schedule
            .as_deref()
            .and_then(|s| Schedule::parse_weekly(s).ok())
            .and_then(|s| s.next_after(now))
    })
}

/// When a running workspace stops by its deadline, if it has one.
pub(super) fn stops_next(ws: &Workspace) -> Option<chrono::DateTime<chrono::Utc>> {
    (ws.latest_build.status == WorkspaceStatus::Running)
        .then_some(ws.latest_build.deadline)
        .flatten()
}

/// Coder's display status: `Started` for a running workspace, else the status capitalised.
fn display_status(status: &WorkspaceStatus) -> String {
    if *status == WorkspaceStatus::Running {
        return "Started".to_owned();
    }
    let s = status.to_string();
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The autostart schedule's summary, or `-`.
pub(super) fn starts_at(ws: &Workspace) -> String {
    ws.autostart_schedule
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| Schedule::parse_weekly(s).map_or_else(|_| s.to_owned(), |s| s.summary()))
        .unwrap_or_else(|| "-".to_owned())
}

/// The autostop TTL, or `-`.
pub(super) fn stops_after(ws: &Workspace) -> String {
    ws.ttl_ms
        .filter(|ms| *ms > 0)
        .map(format_ms)
        .unwrap_or_else(|| "-".to_owned())
}

/// `coder show`: the workspace, its latest build, resources and agents.
pub(super) async fn show(ctx: &Ctx, args: WorkspaceArg) -> Result<()> {
    let client = ctx.client()?;
    let ws = find_workspace(&client, &args.workspace).await?;
    ctx.ui
        .result(render_show(&ws, chrono::Utc::now()).trim_end())
}

fn render_show(ws: &Workspace, now: chrono::DateTime<chrono::Utc>) -> String {
    let b = &ws.latest_build;
    let mut out = output::table(
        &[
            "workspace",
            "template",
            "version",
            "status",
            "build",
            "last built",
        ],
        &[vec![
            format!("{}/{}", ws.owner_name, ws.name),
            ws.template_name.clone(),
            format!(
                "{}{}",
                b.template_version_name,
                if ws.outdated { " (outdated)" } else { "" }
            ),
            display_status(&b.status),
            format!(
                "#{} {} by {}",
                b.build_number, b.transition, b.initiator_name
            ),
            output::relative(b.created_at, now),
        ]],
    );
    if !b.job.error.is_empty() {
        out.push_str(&format!("\nError: {}\n", b.job.error));
    }
    let visible: Vec<_> = b.resources.iter().filter(|r| !r.hide).collect();
    if !visible.is_empty() {
        let rows: Vec<Vec<String>> = visible
            .iter()
            .flat_map(|r| {
                let resource = format!("{}.{}", r.type_, r.name);
                let mut rows = vec![vec![resource, String::new(), String::new()]];
                rows.extend(r.agents.iter().map(|a| {
                    vec![
                        format!("└─ agent {}", a.name),
                        a.status.to_string(),
                        a.lifecycle_state.to_string(),
                    ]
                }));
                rows
            })
            .collect();
        out.push('\n');
        out.push_str(&output::table(&["resource", "status", "lifecycle"], &rows));
    }
    out
}

#[cfg(test)]
mod tests {
    use coder_core::model::WorkspaceBuild;

    use super::*;

    fn workspace() -> Workspace {
        Workspace {
            id: "2b1e8f5a-8f7e-4a7c-9a57-1c2d3e4f5a6b".parse().unwrap(),
            name: "dev".into(),
            owner_name: "admin".into(),
            template_name: "local".into(),
            autostart_schedule: Some("CRON_TZ=Europe/Dublin 30 9 * * 1-5".into()),
            ttl_ms: Some(28_800_000),
            latest_build: WorkspaceBuild {
                build_number: 1,
                status: WorkspaceStatus::Running,
                template_version_name: "v1".into(),
                created_at: "2026-01-27T11:00:00Z".parse().unwrap(),
                ..Default::default()
            },
            health: coder_core::model::WorkspaceHealth {
                healthy: true,
                failing_agents: vec![],
            },
            ..Default::default()
        }
    }

    #[test]
    fn json_output_is_an_array_of_coders_workspace_objects() {
        let ws = workspace();
        let text = render_list_json(std::slice::from_ref(&ws)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let array = value.as_array().expect("a JSON array");
        assert_eq!(array.len(), 1);
        let obj = &array[0];
        assert_eq!(obj["id"], "2b1e8f5a-8f7e-4a7c-9a57-1c2d3e4f5a6b");
        assert_eq!(obj["name"], "dev");
        assert_eq!(obj["owner_name"], "admin");
        assert_eq!(obj["latest_build"]["status"], "running");
        assert_eq!(obj["latest_build"]["build_number"], 1);
        assert_eq!(obj["ttl_ms"], 28_800_000);
        assert_eq!(
            obj["autostart_schedule"],
            "CRON_TZ=Europe/Dublin 30 9 * * 1-5"
        );
        // Round-trips into the SDK's model: scripts and the SDK agree on the shape.
        let back: Vec<Workspace> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, vec![ws]);
        assert_eq!(render_list_json(&[]).unwrap(), "[]\n");
    }

    #[test]
    fn table_output_has_coders_default_columns() {
        let now = "2026-01-27T12:00:00Z".parse().unwrap();
        let mut stopped = workspace();
        stopped.name = "old".into();
        stopped.autostart_schedule = None;
        stopped.ttl_ms = None;
        stopped.latest_build.status = WorkspaceStatus::Stopped;
        let table = render_list_table(&[workspace(), stopped], now, &[]).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "WORKSPACE  TEMPLATE  STATUS   HEALTHY  LAST BUILT  CURRENT VERSION  OUTDATED  \
             STARTS AT                      STOPS AFTER"
        );
        assert_eq!(
            lines[1],
            "admin/dev  local     Started  true     1h ago      v1               false     \
             9:30 AM Mon-Fri Europe/Dublin  8h"
        );
        assert_eq!(
            lines[2],
            "admin/old  local     Stopped           1h ago      v1               false     \
             -                              -"
        );
    }
}
