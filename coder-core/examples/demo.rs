//! A tour of `coder-core`'s rules, printed: how a workspace's status follows its build, what a
//! second build is told, and how a template parameter rejects bad input.
//!
//! Run it with `cargo run -p coder-core --example demo`.

use coder_core::build::{check_new_build, workspace_status};
use coder_core::model::{
    ParameterType, ProvisionerJobStatus, TemplateVersionParameter, WorkspaceStatus,
    WorkspaceTransition,
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
}
