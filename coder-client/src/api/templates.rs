//! Templates (`/api/v2/templates...`, `/api/v2/organizations/{org}/templates...`).

use coder_core::model::{
    CreateTemplateRequest, Response, Template, TemplateVersion, UpdateActiveTemplateVersion,
    UpdateTemplateMeta,
};
use reqwest::{Method, StatusCode};
use uuid::Uuid;

use super::segment;
use crate::http::Body;
use crate::{Client, Error, Result};

/// Templates.
///
/// ```no_run
/// # async fn demo(client: coder_client::Client, version: uuid::Uuid) -> coder_client::Result<()> {
/// let template = client.templates().create("default", &coder_core::model::CreateTemplateRequest {
///     name: "local".into(),
///     template_version_id: version,
///     default_ttl_ms: Some(8 * 3_600_000),
///     ..Default::default()
/// }).await?;
/// println!("{} uses version {}", template.name, template.active_version_id);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Templates<'a> {
    pub(crate) client: &'a Client,
}

impl Templates<'_> {
    /// Creates a template from an imported version (`201`).
    pub async fn create(&self, org: &str, request: &CreateTemplateRequest) -> Result<Template> {
        let path = format!("/api/v2/organizations/{}/templates", segment(org)?);
        self.client.http.write(Method::POST, &path, request).await
    }

    /// Every template the user can see.
    pub async fn list(&self) -> Result<Vec<Template>> {
        self.client.http.get("/api/v2/templates", &[]).await
    }

    /// One template by id.
    pub async fn get(&self, id: Uuid) -> Result<Template> {
        self.client
            .http
            .get(&format!("/api/v2/templates/{id}"), &[])
            .await
    }

    /// One template by organization and name.
    pub async fn get_by_name(&self, org: &str, name: &str) -> Result<Template> {
        let path = format!(
            "/api/v2/organizations/{}/templates/{}",
            segment(org)?,
            segment(name)?
        );
        self.client.http.get(&path, &[]).await
    }

    /// Updates metadata and schedule settings; `None` when nothing changed (`304`).
    pub async fn update(&self, id: Uuid, meta: &UpdateTemplateMeta) -> Result<Option<Template>> {
        let path = format!("/api/v2/templates/{id}");
        let value = serde_json::to_value(meta).map_err(|e| Error::InvalidInput(e.to_string()))?;
        let url = self.client.http.url(&path)?;
        let response = self
            .client
            .http
            .send(Method::PATCH, &path, &[], Body::Json(value))
            .await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| crate::http::transport(&Method::PATCH, &url, &e))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Decode {
                method: "PATCH".into(),
                url: url.to_string(),
                message: e.to_string(),
            })
    }

    /// The template's versions, oldest first.
    pub async fn versions(&self, id: Uuid) -> Result<Vec<TemplateVersion>> {
        self.client
            .http
            .get(&format!("/api/v2/templates/{id}/versions"), &[])
            .await
    }

    /// One version of the template, by its name.
    pub async fn version_by_name(&self, id: Uuid, name: &str) -> Result<TemplateVersion> {
        let path = format!("/api/v2/templates/{id}/versions/{}", super::segment(name)?);
        self.client.http.get(&path, &[]).await
    }

    /// Makes `version` the one new workspaces use (its import must have succeeded).
    pub async fn set_active_version(&self, id: Uuid, version: Uuid) -> Result<Response> {
        let path = format!("/api/v2/templates/{id}/versions");
        self.client
            .http
            .write(
                Method::PATCH,
                &path,
                &UpdateActiveTemplateVersion { id: version },
            )
            .await
    }

    /// Deletes a template that no workspace uses.
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.client
            .http
            .write_unit(
                Method::DELETE,
                &format!("/api/v2/templates/{id}"),
                None::<&()>,
            )
            .await
    }
}
