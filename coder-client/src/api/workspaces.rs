//! Workspaces (`/api/v2/workspaces...`, `/api/v2/users/{user}/workspace...`).

use coder_core::model::{
    CreateWorkspaceRequest, PutExtendWorkspaceRequest, Response, Timestamp,
    UpdateWorkspaceAutostartRequest, UpdateWorkspaceRequest, UpdateWorkspaceTTLRequest, Workspace,
    WorkspacesResponse,
};
use reqwest::Method;
use uuid::Uuid;

use super::segment;
use crate::stream::{WorkspaceStream, watch_workspace};
use crate::{Client, Result};

/// Workspaces.
///
/// ```no_run
/// # async fn demo(client: coder_client::Client, template: uuid::Uuid) -> coder_client::Result<()> {
/// use futures_util::StreamExt;
/// let ws = client.workspaces().create("me", &coder_core::model::CreateWorkspaceRequest {
///     name: "dev".into(),
///     template_id: Some(template),
///     ..Default::default()
/// }).await?;
/// let mut updates = client.workspaces().watch(ws.id)?;
/// while let Some(ws) = updates.next().await {
///     let ws = ws?;
///     println!("{}", ws.latest_build.status);
///     if ws.latest_build.status == coder_core::model::WorkspaceStatus::Running { break; }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Workspaces<'a> {
    pub(crate) client: &'a Client,
}

impl Workspaces<'_> {
    /// Creates a workspace and its first start build (`201`).
    pub async fn create(&self, user: &str, request: &CreateWorkspaceRequest) -> Result<Workspace> {
        let path = format!("/api/v2/users/{}/workspaces", segment(user)?);
        self.client.http.write(Method::POST, &path, request).await
    }

    /// Workspaces matching Coder's search query (`owner:me`, `name:dev`, `status:running`,
    /// `template:t`, or `owner/name`).
    pub async fn list(&self, q: &str) -> Result<WorkspacesResponse> {
        let query = if q.is_empty() {
            vec![]
        } else {
            vec![("q", q.to_owned())]
        };
        self.client.http.get("/api/v2/workspaces", &query).await
    }

    /// One workspace by id.
    pub async fn get(&self, id: Uuid) -> Result<Workspace> {
        self.client
            .http
            .get(&format!("/api/v2/workspaces/{id}"), &[])
            .await
    }

    /// One workspace by owner and name.
    pub async fn get_by_owner_and_name(&self, owner: &str, name: &str) -> Result<Workspace> {
        let path = format!(
            "/api/v2/users/{}/workspace/{}",
            segment(owner)?,
            segment(name)?
        );
        self.client.http.get(&path, &[]).await
    }

    /// Renames the workspace (`400` where the deployment does not allow renames, `409` when
    /// the owner has a workspace of that name).
    pub async fn rename(&self, id: Uuid, name: &str) -> Result<()> {
        let path = format!("/api/v2/workspaces/{id}");
        let body = UpdateWorkspaceRequest {
            name: name.to_owned(),
        };
        self.client
            .http
            .write_unit(Method::PATCH, &path, Some(&body))
            .await
    }

    /// Sets (or with `None` clears) the autostop TTL, in milliseconds.
    pub async fn set_ttl(&self, id: Uuid, ttl_ms: Option<i64>) -> Result<()> {
        let path = format!("/api/v2/workspaces/{id}/ttl");
        self.client
            .http
            .write_unit(
                Method::PUT,
                &path,
                Some(&UpdateWorkspaceTTLRequest { ttl_ms }),
            )
            .await
    }

    /// Sets (or with `None` clears) the autostart schedule
    /// (`CRON_TZ=<zone> <min> <hour> * * <dow>`).
    pub async fn set_autostart(&self, id: Uuid, schedule: Option<String>) -> Result<()> {
        let path = format!("/api/v2/workspaces/{id}/autostart");
        let body = UpdateWorkspaceAutostartRequest { schedule };
        self.client
            .http
            .write_unit(Method::PUT, &path, Some(&body))
            .await
    }

    /// Moves the running build's deadline (at least 30 minutes ahead, at most its
    /// `max_deadline`).
    pub async fn extend(&self, id: Uuid, deadline: Timestamp) -> Result<Response> {
        let path = format!("/api/v2/workspaces/{id}/extend");
        self.client
            .http
            .write(Method::PUT, &path, &PutExtendWorkspaceRequest { deadline })
            .await
    }

    /// The workspace now and after every change (Server-Sent Events), reconnecting on drops.
    pub fn watch(&self, id: Uuid) -> Result<WorkspaceStream> {
        watch_workspace(self.client, id, false)
    }

    /// The same over the one-way websocket (`watch-ws`).
    pub fn watch_ws(&self, id: Uuid) -> Result<WorkspaceStream> {
        watch_workspace(self.client, id, true)
    }
}
