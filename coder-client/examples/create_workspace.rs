//! Creates a workspace from a template and follows its first build to the end:
//!
//! ```sh
//! cargo run -p coder-client --example create_workspace -- <template> <name>
//! ```

use coder_client::model::{CreateWorkspaceRequest, ProvisionerJobStatus};
use coder_client::{Client, Error, Result};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(template), Some(name)) = (args.next(), args.next()) else {
        return Err(Error::InvalidInput(
            "usage: create_workspace <template> <name>".into(),
        ));
    };
    let client = Client::from_cli_config()?;
    let status = create(&client, &template, &name, |line| println!("{line}")).await?;
    println!("build of {name}: {status}");
    Ok(())
}

/// Creates workspace `name` from `template` in the default organization, hands each build log
/// line to `on_log` (`[stage] output`), and returns how the build ended.
pub(crate) async fn create(
    client: &Client,
    template: &str,
    name: &str,
    mut on_log: impl FnMut(String),
) -> Result<ProvisionerJobStatus> {
    let template = client.templates().get_by_name("default", template).await?;
    let request = CreateWorkspaceRequest {
        name: name.to_owned(),
        template_id: Some(template.id),
        ..Default::default()
    };
    let workspace = client.workspaces().create("me", &request).await?;
    let build = client
        .builds()
        .wait(workspace.latest_build.id, |line| {
            on_log(format!("[{}] {}", line.stage, line.output));
        })
        .await?;
    Ok(build.job.status)
}
