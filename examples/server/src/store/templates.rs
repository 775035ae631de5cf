//! Templates and template versions.

use coder_core::model::{
    ProvisionerType, TemplateAutostartRequirement, TemplateAutostopRequirement,
    TemplateVersionParameter, Timestamp,
};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::Store;
use super::jobs::{JobRow, insert_job};
use super::rows::{RowExt, to_json, ts};
use crate::error::{Error, Result};

/// A template's schedule and policy settings (stored as one JSON column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateSettings {
    /// Default autostop, ms.
    pub default_ttl_ms: i64,
    /// Activity bump, ms.
    pub activity_bump_ms: i64,
    /// Forced-stop rule.
    pub autostop_requirement: TemplateAutostopRequirement,
    /// Autostart days.
    pub autostart_requirement: TemplateAutostartRequirement,
    /// Users may set autostart.
    pub allow_user_autostart: bool,
    /// Users may set their TTL.
    pub allow_user_autostop: bool,
    /// Users may cancel their builds.
    pub allow_user_cancel_workspace_jobs: bool,
    /// Failure TTL, ms.
    pub failure_ttl_ms: i64,
    /// Dormancy threshold, ms.
    pub time_til_dormant_ms: i64,
    /// Dormant auto-delete, ms.
    pub time_til_dormant_autodelete_ms: i64,
    /// Autostop reminder lead time, ms.
    pub time_til_autostop_notify_ms: i64,
    /// Workspaces must use the active version.
    pub require_active_version: bool,
    /// Non-empty when deprecated.
    pub deprecation_message: String,
}

impl Default for TemplateSettings {
    fn default() -> Self {
        Self {
            default_ttl_ms: 0,
            activity_bump_ms: 3_600_000,
            autostop_requirement: TemplateAutostopRequirement {
                days_of_week: Vec::new(),
                weeks: 1,
            },
            autostart_requirement: TemplateAutostartRequirement {
                days_of_week: [
                    "monday",
                    "tuesday",
                    "wednesday",
                    "thursday",
                    "friday",
                    "saturday",
                    "sunday",
                ]
                .map(str::to_owned)
                .to_vec(),
            },
            allow_user_autostart: true,
            allow_user_autostop: true,
            allow_user_cancel_workspace_jobs: true,
            failure_ttl_ms: 0,
            time_til_dormant_ms: 0,
            time_til_dormant_autodelete_ms: 0,
            time_til_autostop_notify_ms: 0,
            require_active_version: false,
            deprecation_message: String::new(),
        }
    }
}

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    /// Id.
    pub id: Uuid,
    /// Organization.
    pub organization_id: Uuid,
    /// Unique name in the organization.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Icon.
    pub icon: String,
    /// Provisioner of its versions.
    pub provisioner: ProvisionerType,
    /// Version new workspaces use.
    pub active_version_id: Uuid,
    /// Creator.
    pub created_by: Uuid,
    /// Schedule and policy.
    pub settings: TemplateSettings,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
}

impl TemplateRow {
    fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: r.uuid("id")?,
            organization_id: r.uuid("organization_id")?,
            name: r.text("name")?,
            display_name: r.text("display_name")?,
            description: r.text("description")?,
            icon: r.text("icon")?,
            provisioner: r.text("provisioner")?.parse().unwrap_or_default(),
            active_version_id: r.uuid("active_version_id")?,
            created_by: r.uuid("created_by")?,
            settings: r.json("settings")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

/// A stored template version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// Id.
    pub id: Uuid,
    /// Template, once attached.
    pub template_id: Option<Uuid>,
    /// Organization.
    pub organization_id: Uuid,
    /// Name, unique per template.
    pub name: String,
    /// Message.
    pub message: String,
    /// README from the archive.
    pub readme: String,
    /// Import job.
    pub job_id: Uuid,
    /// Creator.
    pub created_by: Uuid,
    /// Archived.
    pub archived: bool,
    /// Parameters parsed from the archive.
    pub parameters: Vec<TemplateVersionParameter>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
}

impl VersionRow {
    fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: r.uuid("id")?,
            template_id: r.opt_uuid("template_id")?,
            organization_id: r.uuid("organization_id")?,
            name: r.text("name")?,
            message: r.text("message")?,
            readme: r.text("readme")?,
            job_id: r.uuid("job_id")?,
            created_by: r.uuid("created_by")?,
            archived: r.flag("archived")?,
            parameters: r.json("parameters")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

impl Store {
    /// Creates a template version and its import job in one transaction.
    pub async fn create_version(&self, v: &VersionRow, job: &JobRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_job(&mut tx, job).await?;
        sqlx::query(
            "INSERT INTO template_versions (id, template_id, organization_id, name, message, readme, job_id, created_by, archived, parameters, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(v.id.to_string())
        .bind(v.template_id.map(|t| t.to_string()))
        .bind(v.organization_id.to_string())
        .bind(&v.name)
        .bind(&v.message)
        .bind(&v.readme)
        .bind(v.job_id.to_string())
        .bind(v.created_by.to_string())
        .bind(i64::from(v.archived))
        .bind(to_json(&v.parameters))
        .bind(ts(v.created_at))
        .bind(ts(v.updated_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A version by id.
    pub async fn version(&self, id: Uuid) -> Result<Option<VersionRow>> {
        let r = sqlx::query("SELECT * FROM template_versions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(VersionRow::from_row).transpose()
    }

    /// The version whose import job is `job_id`.
    pub async fn version_by_job(&self, job_id: Uuid) -> Result<Option<VersionRow>> {
        let r = sqlx::query("SELECT * FROM template_versions WHERE job_id = $1")
            .bind(job_id.to_string())
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(VersionRow::from_row).transpose()
    }

    /// A template's versions, oldest first.
    pub async fn list_versions(&self, template_id: Uuid) -> Result<Vec<VersionRow>> {
        let rows = sqlx::query(
            "SELECT * FROM template_versions WHERE template_id = $1 ORDER BY created_at, id",
        )
        .bind(template_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(VersionRow::from_row).collect()
    }

    /// Records what the import job read from the archive.
    pub async fn set_version_schema(
        &self,
        id: Uuid,
        readme: &str,
        parameters: &[TemplateVersionParameter],
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE template_versions SET readme = $1, parameters = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(readme)
        .bind(to_json(&parameters))
        .bind(ts(now))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Creates a template and attaches its first version, in one transaction. A duplicate
    /// name is a conflict; a version already attached elsewhere is a validation error.
    pub async fn create_template(&self, t: &TemplateRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO templates (id, organization_id, name, display_name, description, icon, provisioner, active_version_id, created_by, settings, deleted, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12)",
        )
        .bind(t.id.to_string())
        .bind(t.organization_id.to_string())
        .bind(&t.name)
        .bind(&t.display_name)
        .bind(&t.description)
        .bind(&t.icon)
        .bind(t.provisioner.as_str().to_owned())
        .bind(t.active_version_id.to_string())
        .bind(t.created_by.to_string())
        .bind(to_json(&t.settings))
        .bind(ts(t.created_at))
        .bind(ts(t.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(Error::from);
        if let Err(e) = inserted {
            return Err(if e.is_unique_violation() {
                Error::conflict(format!("Template with name {:?} already exists.", t.name))
            } else {
                e
            });
        }
        let attached = sqlx::query(
            "UPDATE template_versions SET template_id = $1 WHERE id = $2 AND template_id IS NULL",
        )
        .bind(t.id.to_string())
        .bind(t.active_version_id.to_string())
        .execute(&mut *tx)
        .await?;
        if attached.rows_affected() != 1 {
            return Err(Error::validation(
                "template_version_id",
                "the template version is already used by a template",
            ));
        }
        tx.commit().await?;
        Ok(())
    }

    /// A live template by id.
    pub async fn template(&self, id: Uuid) -> Result<Option<TemplateRow>> {
        let r = sqlx::query("SELECT * FROM templates WHERE id = $1 AND deleted = 0")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(TemplateRow::from_row).transpose()
    }

    /// A live template by organization and name.
    pub async fn template_by_name(&self, org_id: Uuid, name: &str) -> Result<Option<TemplateRow>> {
        let r = sqlx::query(
            "SELECT * FROM templates WHERE organization_id = $1 AND name = $2 AND deleted = 0",
        )
        .bind(org_id.to_string())
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        r.as_ref().map(TemplateRow::from_row).transpose()
    }

    /// Live templates, optionally of one organization, by name.
    pub async fn list_templates(&self, org_id: Option<Uuid>) -> Result<Vec<TemplateRow>> {
        let rows = sqlx::query(
            "SELECT * FROM templates WHERE deleted = 0 AND ($1 = '' OR organization_id = $1) ORDER BY name",
        )
        .bind(org_id.map(|o| o.to_string()).unwrap_or_default())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(TemplateRow::from_row).collect()
    }

    /// Saves a template's editable fields.
    pub async fn update_template(&self, t: &TemplateRow) -> Result<()> {
        let r = sqlx::query(
            "UPDATE templates SET name = $1, display_name = $2, description = $3, icon = $4, active_version_id = $5, settings = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(&t.name)
        .bind(&t.display_name)
        .bind(&t.description)
        .bind(&t.icon)
        .bind(t.active_version_id.to_string())
        .bind(to_json(&t.settings))
        .bind(ts(t.updated_at))
        .bind(t.id.to_string())
        .execute(&self.pool)
        .await
        .map_err(Error::from);
        match r {
            Err(e) if e.is_unique_violation() => Err(Error::conflict(format!(
                "Template with name {:?} already exists.",
                t.name
            ))),
            other => other.map(drop),
        }
    }
}

impl Store {
    /// Soft-deletes a template (its name becomes free).
    pub async fn delete_template(&self, id: Uuid, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE templates SET deleted = 1, updated_at = $1 WHERE id = $2")
            .bind(ts(now))
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
