//! Prints a workspace's status each time it changes, until interrupted:
//!
//! ```sh
//! cargo run -p coder-client --example watch_workspace -- <name>
//! ```

use coder_client::model::WorkspaceStatus;
use coder_client::{Client, Error, Result};
use futures_util::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let Some(name) = std::env::args().nth(1) else {
        return Err(Error::InvalidInput("usage: watch_workspace <name>".into()));
    };
    let client = Client::from_cli_config()?;
    watch(&client, &name, |status| {
        println!("{status}");
        true
    })
    .await
}

/// Watches my workspace `name`, handing each new status to `on_status` until it returns
/// `false` (or the stream ends).
pub(crate) async fn watch(
    client: &Client,
    name: &str,
    mut on_status: impl FnMut(&WorkspaceStatus) -> bool,
) -> Result<()> {
    let workspace = client
        .workspaces()
        .get_by_owner_and_name("me", name)
        .await?;
    let mut updates = client.workspaces().watch(workspace.id)?;
    let mut last = None;
    while let Some(update) = updates.next().await {
        let status = update?.latest_build.status;
        if last.as_ref() != Some(&status) {
            if !on_status(&status) {
                return Ok(());
            }
            last = Some(status);
        }
    }
    Ok(())
}
