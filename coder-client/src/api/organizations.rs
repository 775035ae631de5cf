//! Organizations and their members (`/api/v2/organizations...`).

use coder_core::model::{Organization, OrganizationMemberWithUserData};

use super::segment;
use crate::{Client, Result};

/// Organizations. `org` arguments accept a UUID, a name, or `default`.
///
/// ```no_run
/// # async fn demo(client: coder_client::Client) -> coder_client::Result<()> {
/// let org = client.organizations().get("default").await?;
/// for member in client.organizations().members(&org.id.to_string()).await? {
///     println!("{}", member.username);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Organizations<'a> {
    pub(crate) client: &'a Client,
}

impl Organizations<'_> {
    /// Every organization the user can see.
    pub async fn list(&self) -> Result<Vec<Organization>> {
        self.client.http.get("/api/v2/organizations", &[]).await
    }

    /// One organization.
    pub async fn get(&self, org: &str) -> Result<Organization> {
        self.client
            .http
            .get(&format!("/api/v2/organizations/{}", segment(org)?), &[])
            .await
    }

    /// Its members with their user data.
    pub async fn members(&self, org: &str) -> Result<Vec<OrganizationMemberWithUserData>> {
        let path = format!("/api/v2/organizations/{}/members", segment(org)?);
        self.client.http.get(&path, &[]).await
    }
}
