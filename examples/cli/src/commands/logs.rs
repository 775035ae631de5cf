//! `coder logs`: a build's provisioner logs, or follows them live with `-f`.

use coder_core::model::{ProvisionerJobLog, WorkspaceBuild};

use super::{Ctx, find_workspace};
use crate::cli::LogsArgs;
use crate::error::{CliError, Result};
use crate::ui::{ConnectionNotes, drain_logs};

/// Prints the logs of the chosen build.
pub(super) async fn run(ctx: &Ctx, args: LogsArgs) -> Result<()> {
    let client = ctx.client()?;
    let ws = find_workspace(&client, &args.workspace).await?;
    let builds = client
        .builds()
        .list(ws.id)
        .await
        .map_err(CliError::api(format!("builds of {:?}", args.workspace)))?;
    let build = pick_build(&builds, ws.latest_build.build_number, args.build_number)?;
    if args.follow {
        let mut logs = client
            .builds()
            .follow_logs(build.id, None)
            .map_err(CliError::api("follow logs"))?;
        let mut notes = ConnectionNotes::default();
        drain_logs(
            &mut logs,
            &mut notes,
            |line| ctx.ui.result(&format_line(line)),
            |note| ctx.ui.note(&note),
        )
        .await?;
    } else {
        let lines = client
            .builds()
            .logs(build.id, None)
            .await
            .map_err(CliError::api("get logs"))?;
        for line in &lines {
            ctx.ui.result(&format_line(line))?;
        }
    }
    Ok(())
}

/// `0`: the latest build; negative: that many before the latest; positive: that number.
fn pick_build(builds: &[WorkspaceBuild], latest: i64, wanted: i64) -> Result<&WorkspaceBuild> {
    let number = if wanted <= 0 { latest + wanted } else { wanted };
    builds
        .iter()
        .find(|b| b.build_number == number)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "there is no build #{number} (the latest is #{latest})"
            ))
        })
}

/// `2026-01-27 09:00:01.250 [info] [Planning infrastructure] output`.
fn format_line(log: &ProvisionerJobLog) -> String {
    format!(
        "{} [{}] [{}] {}",
        log.created_at.format("%Y-%m-%d %H:%M:%S%.3f"),
        log.log_level,
        log.stage,
        log.output
    )
}

#[cfg(test)]
mod tests {
    use coder_core::model::LogLevel;

    use super::*;

    fn builds() -> Vec<WorkspaceBuild> {
        (1..=3)
            .rev()
            .map(|n| WorkspaceBuild {
                build_number: n,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn build_numbers_zero_negative_and_positive() {
        let b = builds();
        assert_eq!(pick_build(&b, 3, 0).unwrap().build_number, 3);
        assert_eq!(pick_build(&b, 3, -1).unwrap().build_number, 2);
        assert_eq!(pick_build(&b, 3, 1).unwrap().build_number, 1);
        assert_eq!(
            pick_build(&b, 3, -3).unwrap_err().to_string(),
            "there is no build #0 (the latest is #3)"
        );
    }

    #[test]
    fn lines_carry_time_level_and_stage() {
        let log = ProvisionerJobLog {
            id: 7,
            created_at: "2026-01-27T09:00:01.25Z".parse().unwrap(),
            log_level: LogLevel::Info,
            stage: "Starting workspace".into(),
            output: "ready".into(),
            ..Default::default()
        };
        assert_eq!(
            format_line(&log),
            "2026-01-27 09:00:01.250 [info] [Starting workspace] ready"
        );
    }
}
