//! Organizations, memberships, and deployment-wide settings.

use chrono::Utc;
use coder_core::model::{Organization, Timestamp};
use uuid::Uuid;

use super::Store;
use super::db::{execute, fetch, fetch_scalar};
use crate::error::{Error, Result};

/// The name of the organization the server creates at first start.
pub const DEFAULT_ORG_NAME: &str = "coder";

/// A stored organization (the wire type is `coder_core`'s, so it maps through this).
#[derive(sqlx::FromRow)]
struct OrgRow {
    id: Uuid,
    name: String,
    display_name: String,
    description: String,
    icon: String,
    is_default: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<OrgRow> for Organization {
    fn from(r: OrgRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            display_name: r.display_name,
            description: r.description,
            icon: r.icon,
            created_at: r.created_at,
            updated_at: r.updated_at,
            is_default: r.is_default,
        }
    }
}

/// A membership as [`Store::org_members`] lists it.
#[derive(sqlx::FromRow)]
struct MemberRow {
    user_id: Uuid,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl Store {
    /// The default organization, created on first call.
    pub async fn ensure_default_org(&self) -> Result<Organization> {
        if let Some(org) = self.default_org().await? {
            return Ok(org);
        }
        // Concurrent first starts (replicas) race here; the unique name keeps one.
        let _ = execute!(
            self.pool,
            "INSERT INTO organizations (id, name, display_name, description, icon, is_default, created_at, updated_at) \
             VALUES ($1, $2, 'Coder', 'Builtin default organization.', '', TRUE, $3, $3)",
            Uuid::new_v4(),
            DEFAULT_ORG_NAME,
            Utc::now()
        );
        self.default_org()
            .await?
            .ok_or_else(|| Error::Internal("default organization missing".into()))
    }

    /// The default organization, if created.
    pub async fn default_org(&self) -> Result<Option<Organization>> {
        let row: Option<OrgRow> = fetch!(
            self.read,
            fetch_optional,
            "SELECT * FROM organizations WHERE is_default"
        )?;
        Ok(row.map(Organization::from))
    }

    /// An organization by id, or by name (case-insensitive, as Coder's).
    pub async fn org(&self, id_or_name: &str) -> Result<Option<Organization>> {
        let id = Uuid::parse_str(id_or_name).ok();
        let row: Option<OrgRow> = fetch!(
            self.read,
            fetch_optional,
            "SELECT * FROM organizations WHERE id = $1 OR ($1 IS NULL AND lower(name) = lower($2))",
            id,
            id_or_name
        )?;
        Ok(row.map(Organization::from))
    }

    /// Every organization, oldest first.
    pub async fn list_orgs(&self) -> Result<Vec<Organization>> {
        let rows: Vec<OrgRow> = fetch!(
            self.read,
            fetch_all,
            "SELECT * FROM organizations ORDER BY created_at"
        )?;
        Ok(rows.into_iter().map(Organization::from).collect())
    }

    /// The organizations `user_id` belongs to.
    pub async fn user_org_ids(&self, user_id: Uuid) -> Result<Vec<Uuid>> {
        fetch_scalar!(
            self.read,
            fetch_all,
            "SELECT organization_id FROM organization_members WHERE user_id = $1 ORDER BY created_at",
            user_id
        )
    }

    /// Members of an organization: `(user id, membership created, membership updated)`.
    pub async fn org_members(&self, org_id: Uuid) -> Result<Vec<(Uuid, Timestamp, Timestamp)>> {
        let rows: Vec<MemberRow> = fetch!(
            self.read,
            fetch_all,
            "SELECT user_id, created_at, updated_at FROM organization_members WHERE organization_id = $1 ORDER BY created_at",
            org_id
        )?;
        Ok(rows
            .into_iter()
            .map(|m| (m.user_id, m.created_at, m.updated_at))
            .collect())
    }

    /// A deployment-wide setting, created with `init` on first read.
    pub async fn site_value(&self, key: &str, init: impl FnOnce() -> String) -> Result<String> {
        if let Some(v) = self.site_value_get(key).await? {
            return Ok(v);
        }
        // Concurrent first starts race here; the primary key keeps the first value.
        let value = init();
        let _ = execute!(
            self.pool,
            "INSERT INTO site_config (key, value) VALUES ($1, $2)",
            key,
            &value
        );
        self.site_value_get(key)
            .await?
            .ok_or_else(|| Error::Internal(format!("site value {key} missing")))
    }

    async fn site_value_get(&self, key: &str) -> Result<Option<String>> {
        fetch_scalar!(
            self.read,
            fetch_optional,
            "SELECT value FROM site_config WHERE key = $1",
            key
        )
    }
}
