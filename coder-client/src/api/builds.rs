//! Workspace builds: start, stop, delete, cancel, and their logs.

use coder_core::model::{
    CreateWorkspaceBuildRequest, ProvisionerJobLog, Response, WorkspaceBuild, WorkspaceTransition,
};
use reqwest::Method;
use uuid::Uuid;

use crate::stream::{LogStream, follow_logs, logs_query};
use crate::{Client, Result};

/// Builds.
///
/// ```no_run
/// # async fn demo(client: coder_client::Client, workspace: uuid::Uuid) -> coder_client::Result<()> {
/// use futures_util::StreamExt;
/// use coder_core::model::WorkspaceTransition;
/// let build = client.builds().transition(workspace, WorkspaceTransition::Stop).await?;
/// let mut logs = client.builds().follow_logs(build.id, None)?;
/// while let Some(line) = logs.next().await {
///     let line = line?;
///     println!("[{}] {}", line.stage, line.output);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Builds<'a> {
    pub(crate) client: &'a Client,
}

impl Builds<'_> {
    /// Starts a build (`201`; a [`crate::Error::Conflict`] while another one is active).
    pub async fn create(
        &self,
        workspace: Uuid,
        request: &CreateWorkspaceBuildRequest,
    ) -> Result<WorkspaceBuild> {
        let path = format!("/api/v2/workspaces/{workspace}/builds");
        self.client.http.write(Method::POST, &path, request).await
    }

    /// Starts a plain start, stop or delete build.
    pub async fn transition(
        &self,
        workspace: Uuid,
        transition: WorkspaceTransition,
    ) -> Result<WorkspaceBuild> {
        self.create(
            workspace,
            &CreateWorkspaceBuildRequest {
                transition,
                ..Default::default()
            },
        )
        .await
    }

    /// The workspace's builds, newest first.
    pub async fn list(&self, workspace: Uuid) -> Result<Vec<WorkspaceBuild>> {
        self.client
            .http
            .get(&format!("/api/v2/workspaces/{workspace}/builds"), &[])
            .await
    }

    /// One build.
    pub async fn get(&self, build: Uuid) -> Result<WorkspaceBuild> {
        self.client
            .http
            .get(&format!("/api/v2/workspacebuilds/{build}"), &[])
            .await
    }

    /// Asks the provisioner to stop the build.
    pub async fn cancel(&self, build: Uuid) -> Result<Response> {
        let path = format!("/api/v2/workspacebuilds/{build}/cancel");
        self.client
            .http
            .write(Method::PATCH, &path, &serde_json::json!({}))
            .await
    }

    /// The build's logs so far, after log id `after`.
    pub async fn logs(&self, build: Uuid, after: Option<i64>) -> Result<Vec<ProvisionerJobLog>> {
        let path = format!("/api/v2/workspacebuilds/{build}/logs");
        self.client.http.get(&path, &logs_query(after, false)).await
    }

    /// Waits for the build's job to end and returns the build as it ended (its `job.status`
    /// is `succeeded`, `failed` or `canceled`). Follows the logs to their end, handing each
    /// line to `on_log` (pass `|_| {}` to ignore them), then reads the final state, polling
    /// briefly if the server has not recorded it yet; survives dropped connections as the
    /// log stream does.
    ///
    /// ```no_run
    /// # async fn demo(client: coder_client::Client, workspace: uuid::Uuid) -> coder_client::Result<()> {
    /// use coder_client::model::{ProvisionerJobStatus, WorkspaceTransition};
    /// let build = client.builds().transition(workspace, WorkspaceTransition::Start).await?;
    /// let done = client.builds().wait(build.id, |line| println!("{}", line.output)).await?;
    /// assert_eq!(done.job.status, ProvisionerJobStatus::Succeeded, "{}", done.job.error);
    /// # Ok(()) }
    /// ```
    pub async fn wait(
        &self,
        build: Uuid,
        mut on_log: impl FnMut(&ProvisionerJobLog),
    ) -> Result<WorkspaceBuild> {
        let mut logs = self.follow_logs(build, None)?;
        while let Some(line) = futures_util::StreamExt::next(&mut logs).await {
            on_log(&line?);
        }
        let mut delay = std::time::Duration::from_millis(50);
        loop {
            let current = self.get(build).await?;
            if current.job.status.is_terminal() {
                return Ok(current);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(std::time::Duration::from_secs(1));
        }
    }

    /// The build's logs, live until the job ends; reconnects and resumes without loss or
    /// duplicates.
    pub fn follow_logs(&self, build: Uuid, after: Option<i64>) -> Result<LogStream> {
        follow_logs(
            self.client,
            format!("/api/v2/workspacebuilds/{build}/logs"),
            after,
        )
    }
}
