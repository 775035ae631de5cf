//! A tour of `coder-core`'s rules, printed: how a workspace's status follows its build, what a
//! second build is told, how a template parameter rejects bad input, and why a workspace is
//! still running.
//!
//! Run it with `cargo run -p coder-core --example demo`.

use coder_core::build::{check_new_build, workspace_status};
use coder_core::model::{
    ParameterType, ProvisionerJobStatus, TemplateVersionParameter, WorkspaceStatus,
    WorkspaceTransition,
};
use coder_core::schedule::{
    BuildJob, BumpInput, LatestBuild, Schedule, SessionKind, TemplateSchedule, bump_deadline,
    deadlines_on_start, next_autostart_after,
};
use coder_core::wire::WireEnum;

fn main() {
    println!("Workspace status from (job status x transition), as Coder derives it:\n");
    print!("{:>12}", "job \\ build");
    for t in WorkspaceTransition::KNOWN {
        print!("{:>12}", t.as_str());
    }
    println!();
    for job in ProvisionerJobStatus::KNOWN {
        print!("{:>12}", job.as_str());
        for t in WorkspaceTransition::KNOWN {
            print!("{:>12}", workspace_status(job, t).as_str());
        }
        println!();
    }

    println!("\nStarting a second build while the first one runs:");
    match check_new_build(&WorkspaceStatus::Starting, &WorkspaceTransition::Stop) {
        Ok(()) => println!("  allowed"),
        Err(e) => println!("  409: {e}"),
    }

    println!("\nValidating the `cpus` parameter (number, 1..=8, may only grow):");
    let cpus = TemplateVersionParameter {
        name: "cpus".into(),
        type_: ParameterType::Number,
        mutable: true,
        validation_min: Some(1),
        validation_max: Some(8),
        validation_monotonic: Some(coder_core::model::ValidationMonotonicOrder::Increasing),
        ..Default::default()
    };
    for (value, previous) in [
        ("4", Some("2")),
        ("16", None),
        ("2", Some("4")),
        ("four", None),
    ] {
        let verdict = match cpus.validate(value, previous) {
            Ok(()) => "ok".to_owned(),
            Err(e) => e.to_string(),
        };
        println!("  {value:>5} (previous {previous:?}): {verdict}");
    }

    explain_schedule();
}

/// "Why is my workspace still running?", answered with the reason each rule returns.
fn explain_schedule() {
    let parse = |t: &str| t.parse().unwrap_or_default();
    let template = TemplateSchedule::default();
    println!("\nWhy is my workspace still running? (TTL 8h, activity bump 1h)");
    let started = parse("2026-03-06T09:00:00Z");
    let Ok(start) = deadlines_on_start(&template, Some(8 * 3_600_000), None, started) else {
        return;
    };
    println!(
        "  09:00 start completes -> deadline {:?}: {}",
        start.deadline, start.reason
    );

    let build = LatestBuild {
        transition: WorkspaceTransition::Start,
        job: BuildJob::Succeeded {
            completed_at: started,
        },
        deadline: start.deadline,
        max_deadline: start.max_deadline,
    };
    for (at, session) in [
        ("2026-03-06T12:00:00Z", SessionKind::Ssh),
        ("2026-03-06T16:30:00Z", SessionKind::Vscode),
    ] {
        let input = BumpInput {
            build: &build,
            template: &template,
            workspace_ttl_ms: Some(8 * 3_600_000),
            next_autostart: None,
            session,
            is_prebuild: false,
        };
        if let Ok(out) = bump_deadline(&input, parse(at)) {
            println!(
                "  activity at {at} -> deadline {:?}: {}",
                out.deadline, out.reason
            );
        }
    }

    println!("\nAutostart across the New York spring-forward (2026-03-08):");
    if let Ok(schedule) = Schedule::parse_weekly("CRON_TZ=America/New_York 30 2 * * *") {
        let due = next_autostart_after(&schedule, parse("2026-03-07T12:00:00Z"), &template);
        let at = due
            .at()
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "never".into());
        println!(
            "  {} ({schedule}) -> {at}: {}",
            schedule.summary(),
            due.reason()
        );
        println!("  (02:30 does not exist that night; the workspace starts at 03:00 EDT)");
    }
}
