//! Template versions and their import jobs (`/api/v2/templateversions...`).

use coder_core::model::{
    CreateTemplateVersionRequest, ProvisionerJobLog, Response, TemplateVersion,
    TemplateVersionParameter, WorkspaceResource,
};
use reqwest::Method;
use uuid::Uuid;

use super::segment;
use crate::stream::{LogStream, follow_logs, logs_query};
use crate::{Client, Result};

/// Template versions.
///
/// ```no_run
/// # async fn demo(client: coder_client::Client, file: uuid::Uuid) -> coder_client::Result<()> {
/// use futures_util::StreamExt;
/// use coder_core::model::{CreateTemplateVersionRequest, ProvisionerStorageMethod, ProvisionerType};
/// let version = client.template_versions().create("default", &CreateTemplateVersionRequest {
///     storage_method: ProvisionerStorageMethod::File,
///     file_id: file,
///     provisioner: ProvisionerType::Process,
///     ..Default::default()
/// }).await?;
/// let mut logs = client.template_versions().follow_logs(version.id, None)?;
/// while let Some(line) = logs.next().await {
///     println!("{}", line?.output);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TemplateVersions<'a> {
    pub(crate) client: &'a Client,
}

impl TemplateVersions<'_> {
    /// Uploads nothing: creates a version from an uploaded file and queues its import (`201`).
    pub async fn create(
        &self,
        org: &str,
        request: &CreateTemplateVersionRequest,
    ) -> Result<TemplateVersion> {
        let path = format!("/api/v2/organizations/{}/templateversions", segment(org)?);
        self.client.http.write(Method::POST, &path, request).await
    }

    /// One version with its import job.
    pub async fn get(&self, id: Uuid) -> Result<TemplateVersion> {
        self.client
            .http
            .get(&format!("/api/v2/templateversions/{id}"), &[])
            .await
    }

    /// The import's logs so far, after log id `after`.
    pub async fn logs(&self, id: Uuid, after: Option<i64>) -> Result<Vec<ProvisionerJobLog>> {
        let path = format!("/api/v2/templateversions/{id}/logs");
        self.client.http.get(&path, &logs_query(after, false)).await
    }

    /// The import's logs, live until the job ends; reconnects and resumes without loss or
    /// duplicates.
    pub fn follow_logs(&self, id: Uuid, after: Option<i64>) -> Result<LogStream> {
        follow_logs(
            self.client,
            format!("/api/v2/templateversions/{id}/logs"),
            after,
        )
    }

    /// Resources and agents a `start` of this version would create.
    pub async fn resources(&self, id: Uuid) -> Result<Vec<WorkspaceResource>> {
        self.client
            .http
            .get(&format!("/api/v2/templateversions/{id}/resources"), &[])
            .await
    }

    /// The parameters the version asks for.
    pub async fn rich_parameters(&self, id: Uuid) -> Result<Vec<TemplateVersionParameter>> {
        self.client
            .http
            .get(
                &format!("/api/v2/templateversions/{id}/rich-parameters"),
                &[],
            )
            .await
    }

    /// Cancels the import.
    pub async fn cancel(&self, id: Uuid) -> Result<Response> {
        let path = format!("/api/v2/templateversions/{id}/cancel");
        self.client
            .http
            .write(Method::PATCH, &path, &serde_json::json!({}))
            .await
    }
}
