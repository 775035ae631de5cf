//! Organizations, memberships, and deployment-wide settings.

use chrono::Utc;
use coder_core::model::{Organization, Timestamp};
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::Store;
use super::rows::{RowExt, ts};
use crate::error::Result;

/// The name of the organization the server creates at first start.
pub const DEFAULT_ORG_NAME: &str = "coder";

fn org_from_row(r: &AnyRow) -> Result<Organization> {
    Ok(Organization {
        id: r.uuid("id")?,
        name: r.text("name")?,
        display_name: r.text("display_name")?,
        description: r.text("description")?,
        icon: r.text("icon")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        is_default: r.flag("is_default")?,
    })
}

impl Store {
    /// The default organization, created on first call.
    pub async fn ensure_default_org(&self) -> Result<Organization> {
        if let Some(org) = self.default_org().await? {
            return Ok(org);
        }
        let now = ts(Utc::now());
        // Concurrent first starts (replicas) race here; the unique name keeps one.
        let _ = sqlx::query(
            "INSERT INTO organizations (id, name, display_name, description, icon, is_default, created_at, updated_at) \
             VALUES ($1, $2, 'Coder', 'Builtin default organization.', '', 1, $3, $3)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(DEFAULT_ORG_NAME)
        .bind(now)
        .execute(&self.pool)
        .await;
        self.default_org()
            .await?
            .ok_or_else(|| crate::error::Error::Internal("default organization missing".into()))
    }

    /// The default organization, if created.
    pub async fn default_org(&self) -> Result<Option<Organization>> {
        let r = sqlx::query("SELECT * FROM organizations WHERE is_default = 1")
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(org_from_row).transpose()
    }

    /// An organization by id or name.
    pub async fn org(&self, id_or_name: &str) -> Result<Option<Organization>> {
        let r = sqlx::query("SELECT * FROM organizations WHERE id = $1 OR name = $1")
            .bind(id_or_name)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(org_from_row).transpose()
    }

    /// Every organization, oldest first.
    pub async fn list_orgs(&self) -> Result<Vec<Organization>> {
        let rows = sqlx::query("SELECT * FROM organizations ORDER BY created_at")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(org_from_row).collect()
    }

    /// The organizations `user_id` belongs to.
    pub async fn user_org_ids(&self, user_id: Uuid) -> Result<Vec<Uuid>> {
        let rows = sqlx::query(
            "SELECT organization_id FROM organization_members WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(user_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| r.uuid("organization_id")).collect()
    }

    /// Members of an organization: `(user id, membership created, membership updated)`.
    pub async fn org_members(&self, org_id: Uuid) -> Result<Vec<(Uuid, Timestamp, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT user_id, created_at, updated_at FROM organization_members WHERE organization_id = $1 ORDER BY created_at",
        )
        .bind(org_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.uuid("user_id")?,
                    r.time("created_at")?,
                    r.time("updated_at")?,
                ))
            })
            .collect()
    }

    /// A deployment-wide setting, created with `init` on first read.
    pub async fn site_value(&self, key: &str, init: impl FnOnce() -> String) -> Result<String> {
        if let Some(v) = self.site_value_get(key).await? {
            return Ok(v);
        }
        let _ = sqlx::query("INSERT INTO site_config (key, value) VALUES ($1, $2)")
            .bind(key.to_owned())
            .bind(init())
            .execute(&self.pool)
            .await;
        self.site_value_get(key)
            .await?
            .ok_or_else(|| crate::error::Error::Internal(format!("site value {key} missing")))
    }

    async fn site_value_get(&self, key: &str) -> Result<Option<String>> {
        let r = sqlx::query("SELECT value FROM site_config WHERE key = $1")
            .bind(key.to_owned())
            .fetch_optional(&self.read)
            .await?;
        r.map(|r| r.text("value")).transpose()
    }
}
