//! Uploaded files: template archives, addressed by the id the upload returns.

use coder_core::model::UploadResponse;
use reqwest::Method;
use uuid::Uuid;

use crate::http::Body;
use crate::{Client, Result};

/// The content type of a template archive.
pub(crate) const TAR: &str = "application/x-tar";

/// Files.
///
/// ```no_run
/// # async fn demo(client: coder_client::Client, archive: Vec<u8>) -> coder_client::Result<()> {
/// let uploaded = client.files().upload(archive).await?;
/// println!("file id {}", uploaded.hash);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Files<'a> {
    pub(crate) client: &'a Client,
}

impl Files<'_> {
    /// Uploads a tar archive (the raw body, as Coder expects); uploading the same bytes again
    /// returns the same id.
    pub async fn upload(&self, tar: Vec<u8>) -> Result<UploadResponse> {
        let body = Body::Raw {
            content_type: TAR,
            bytes: tar,
        };
        self.client
            .http
            .json(Method::POST, "/api/v2/files", &[], body)
            .await
    }

    /// Downloads a file's bytes.
    pub async fn download(&self, id: Uuid) -> Result<Vec<u8>> {
        let path = format!("/api/v2/files/{id}");
        let url = self.client.http.url(&path)?;
        let response = self
            .client
            .http
            .send(Method::GET, &path, &[], Body::None)
            .await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|e| crate::http::transport(&Method::GET, &url, &e))?;
        Ok(bytes.to_vec())
    }
}
