//! Lists your workspaces and their status, as the user's `coder login` left the session:
//!
//! ```sh
//! cargo run -p coder-client --example list_workspaces
//! ```

use coder_client::{Client, Result};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let client = Client::from_cli_config()?;
    for line in list(&client).await? {
        println!("{line}");
    }
    Ok(())
}

/// One line per workspace of mine: `owner/name  status  template`.
pub(crate) async fn list(client: &Client) -> Result<Vec<String>> {
    let response = client.workspaces().list("owner:me").await?;
    Ok(response
        .workspaces
        .iter()
        .map(|ws| {
            format!(
                "{}/{}  {}  {}",
                ws.owner_name, ws.name, ws.latest_build.status, ws.template_name
            )
        })
        .collect())
}
