//! Shell completion of the names a command takes, asked of the deployment the user is logged
//! in to while they type: workspaces (`coder start d<TAB>`) and templates (`-t l<TAB>`). Any
//! failure (not logged in, server away, slow) completes nothing rather than delaying the
//! shell by more than two seconds.

use std::ffi::OsStr;
use std::future::Future;
use std::time::Duration;

use clap_complete::CompletionCandidate;
use coder_client::Client;

/// The longest a completion waits for the server.
const WAIT: Duration = Duration::from_secs(2);

/// My workspaces whose names start with `current`.
pub(crate) fn workspaces(current: &OsStr) -> Vec<CompletionCandidate> {
    names(current, |client| async move {
        let list = client.workspaces().list("owner:me").await.ok()?;
        Some(list.workspaces.into_iter().map(|w| w.name).collect())
    })
}

/// Templates whose names start with `current`.
pub(crate) fn templates(current: &OsStr) -> Vec<CompletionCandidate> {
    names(current, |client| async move {
        let list = client.templates().list().await.ok()?;
        Some(list.into_iter().map(|t| t.name).collect())
    })
}

fn names<F, Fut>(current: &OsStr, fetch: F) -> Vec<CompletionCandidate>
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = Option<Vec<String>>>,
{
    let prefix = current.to_string_lossy();
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    let found = runtime.block_on(async {
        let client = Client::from_cli_config().ok()?;
        tokio::time::timeout(WAIT, fetch(client)).await.ok()?
    });
    found
        .unwrap_or_default()
        .into_iter()
        .filter(|name| name.starts_with(prefix.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}
