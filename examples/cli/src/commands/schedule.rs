//! `coder schedule show|start|stop|extend`.

use chrono::{DateTime, Utc};
use coder_core::model::Workspace;
use coder_core::schedule::Schedule;

use super::workspaces::{starts_at, starts_next, stops_after, stops_next};
use super::{Ctx, find_workspace};
use crate::cli::{
    OutputFormat, ScheduleCommand, ScheduleExtendArgs, ScheduleShowArgs, ScheduleStartArgs,
    ScheduleStopArgs,
};
use crate::duration::{parse_duration, parse_ttl_ms};
use crate::error::{CliError, Result};
use crate::output;
use crate::schedule_spec::{autostart_schedule, local_zone};

/// Dispatches `coder schedule ...`.
pub(super) async fn run(ctx: &Ctx, cmd: ScheduleCommand) -> Result<()> {
    match cmd {
        ScheduleCommand::Show(args) => show(ctx, args).await,
        ScheduleCommand::Start(args) => start(ctx, args).await,
        ScheduleCommand::Stop(args) => stop(ctx, args).await,
        ScheduleCommand::Extend(args) => extend(ctx, args).await,
    }
}

/// One row of `schedule show`.
#[derive(Debug, serde::Serialize, PartialEq, Eq)]
struct ScheduleRow {
    workspace: String,
    starts_at: String,
    starts_next: Option<DateTime<Utc>>,
    stops_after: String,
    stops_next: Option<DateTime<Utc>>,
}

fn schedule_row(ws: &Workspace, now: DateTime<Utc>) -> ScheduleRow {
    ScheduleRow {
        workspace: format!("{}/{}", ws.owner_name, ws.name),
        starts_at: starts_at(ws),
        starts_next: starts_next(ws, now),
        stops_after: stops_after(ws),
        stops_next: stops_next(ws),
    }
}

async fn show(ctx: &Ctx, args: ScheduleShowArgs) -> Result<()> {
    let client = ctx.client()?;
    let workspaces = match &args.workspace {
        Some(w) => vec![find_workspace(&client, w).await?],
        None => {
            let query = if args.all { "" } else { args.search.as_str() };
            client
                .workspaces()
                .list(query)
                .await
                .map_err(CliError::api("list workspaces"))?
                .workspaces
        }
    };
    let now = Utc::now();
    let rows: Vec<ScheduleRow> = workspaces.iter().map(|ws| schedule_row(ws, now)).collect();
    if args.output.output == Some(OutputFormat::Json) {
        return ctx.ui.result(output::json(&rows)?.trim_end());
    }
    let when = |t: Option<DateTime<Utc>>| t.map_or_else(|| "-".to_owned(), output::timestamp);
    let columns = [
        output::column("workspace", |r: &ScheduleRow| r.workspace.clone()),
        output::column("starts at", |r: &ScheduleRow| r.starts_at.clone()),
        output::column("starts next", |r: &ScheduleRow| when(r.starts_next)),
        output::column("stops after", |r: &ScheduleRow| r.stops_after.clone()),
        output::column("stops next", |r: &ScheduleRow| when(r.stops_next)),
    ];
    let defaults = [
        "workspace",
        "starts at",
        "starts next",
        "stops after",
        "stops next",
    ];
    let table = output::select(&rows, &columns, &defaults, &args.output.column)?;
    ctx.ui.result(table.trim_end())
}

async fn start(ctx: &Ctx, args: ScheduleStartArgs) -> Result<()> {
    let client = ctx.client()?;
    let schedule = match args.schedule.as_slice() {
        [one] if one == "manual" => None,
        words => Some(autostart_schedule(words, local_zone)?),
    };
    let ws = find_workspace(&client, &args.workspace).await?;
    client
        .workspaces()
        .set_autostart(ws.id, schedule.clone())
        .await
        .map_err(CliError::api(format!(
            "set the start schedule of {:?}",
            args.workspace
        )))?;
    let line = match schedule.as_deref().map(Schedule::parse_weekly) {
        Some(Ok(s)) => format!("Workspace {:?} will start at {}", ws.name, s.summary()),
        Some(Err(_)) | None => format!("Workspace {:?} no longer starts automatically", ws.name),
    };
    ctx.ui.result(&line)
}

async fn stop(ctx: &Ctx, args: ScheduleStopArgs) -> Result<()> {
    let client = ctx.client()?;
    let ttl_ms = match args.duration.as_str() {
        "manual" => None,
        d => Some(parse_ttl_ms(d)?),
    };
    let ws = find_workspace(&client, &args.workspace).await?;
    client
        .workspaces()
        .set_ttl(ws.id, ttl_ms)
        .await
        .map_err(CliError::api(format!(
            "set the stop schedule of {:?}",
            args.workspace
        )))?;
    let line = match ttl_ms {
        Some(ms) => format!(
            "Workspace {:?} will stop {} after each start (from its next build)",
            ws.name,
            crate::duration::format_ms(ms)
        ),
        None => format!("Workspace {:?} no longer stops automatically", ws.name),
    };
    ctx.ui.result(&line)
}

async fn extend(ctx: &Ctx, args: ScheduleExtendArgs) -> Result<()> {
    let client = ctx.client()?;
    let extend_by = parse_duration(&args.duration)?;
    let delta = chrono::TimeDelta::from_std(extend_by)
        .map_err(|_| CliError::Usage(format!("duration {:?} is too large", args.duration)))?;
    let deadline = Utc::now() + delta;
    let ws = find_workspace(&client, &args.workspace).await?;
    client
        .workspaces()
        .extend(ws.id, deadline)
        .await
        .map_err(CliError::api(format!("extend {:?}", args.workspace)))?;
    ctx.ui.result(&format!(
        "Workspace {:?} will now stop at {}",
        ws.name,
        output::timestamp(deadline)
    ))
}

#[cfg(test)]
mod tests {
    use coder_core::model::{WorkspaceBuild, WorkspaceStatus};

    use super::*;

    #[test]
    fn rows_compute_the_next_start_and_show_the_deadline_only_while_running() {
        let now: DateTime<Utc> = "2026-01-27T12:00:00Z".parse().unwrap();
        let deadline: DateTime<Utc> = "2026-01-27T20:00:00Z".parse().unwrap();
        let mut ws = Workspace {
            name: "dev".into(),
            owner_name: "admin".into(),
            autostart_schedule: Some("CRON_TZ=UTC 30 9 * * 1-5".into()),
            ttl_ms: Some(28_800_000),
            latest_build: WorkspaceBuild {
                status: WorkspaceStatus::Running,
                deadline: Some(deadline),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            schedule_row(&ws, now),
            ScheduleRow {
                workspace: "admin/dev".into(),
                starts_at: "9:30 AM Mon-Fri UTC".into(),
                starts_next: Some("2026-01-28T09:30:00Z".parse().unwrap()),
                stops_after: "8h".into(),
                stops_next: Some(deadline),
            }
        );
        ws.latest_build.status = WorkspaceStatus::Stopped;
        ws.autostart_schedule = None;
        let row = schedule_row(&ws, now);
        assert_eq!((row.starts_next, row.stops_next), (None, None));
        assert_eq!(row.starts_at, "-");
    }
}
