//! Templates and template versions.

use coder_core::model::{
    ProvisionerType, TemplateAutostartRequirement, TemplateAutostopRequirement,
    TemplateVersionParameter, Timestamp,
};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use super::Store;
use super::db::{Conn, execute, fetch};
use super::jobs::{JobRow, insert_job};
use super::row::WireText;
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
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TemplateRow {
    /// Id.
    pub id: Uuid,
    /// Organization.
    pub organization_id: Uuid,
    /// Name, unique in the organization regardless of case.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Icon.
    pub icon: String,
    /// Provisioner of its versions.
    #[sqlx(try_from = "WireText")]
    pub provisioner: ProvisionerType,
    /// Version new workspaces use.
    pub active_version_id: Uuid,
    /// Creator.
    pub created_by: Uuid,
    /// Schedule and policy.
    #[sqlx(json)]
    pub settings: TemplateSettings,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
}

/// A stored template version.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    #[sqlx(json)]
    pub parameters: Vec<TemplateVersionParameter>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
}

/// Records what an import read from the archive (inside the caller's transaction, or on a
/// pooled connection).
pub(crate) async fn set_version_schema_in(
    c: &mut Conn<'_>,
    id: Uuid,
    readme: &str,
    parameters: &[TemplateVersionParameter],
    now: Timestamp,
) -> Result<()> {
    execute!(
        c,
        "UPDATE template_versions SET readme = $1, parameters = $2, updated_at = $3 WHERE id = $4",
        readme,
        Json(parameters),
        now,
        id
    )?;
    Ok(())
}

/// The error a template name taken (regardless of case) in its organization answers.
fn name_taken(e: Error, name: &str) -> Error {
    if e.is_unique_violation() {
        Error::conflict(format!("Template with name {name:?} already exists."))
    } else {
        e
    }
}

impl Store {
    /// Creates a template version and its import job in one transaction.
    pub async fn create_version(&self, v: &VersionRow, job: &JobRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let mut c = tx.conn();
        insert_job(&mut c, job).await?;
        execute!(
            c,
            "INSERT INTO template_versions (id, template_id, organization_id, name, message, readme, job_id, created_by, \
             archived, parameters, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            v.id,
            v.template_id,
            v.organization_id,
            &v.name,
            &v.message,
            &v.readme,
            v.job_id,
            v.created_by,
            v.archived,
            Json(&v.parameters),
            v.created_at,
            v.updated_at
        )?;
        tx.commit().await?;
        Ok(())
    }

    /// A version by id.
    pub async fn version(&self, id: Uuid) -> Result<Option<VersionRow>> {
        self.version_where("id", id).await
    }

    /// The version whose import job is `job_id`.
    pub async fn version_by_job(&self, job_id: Uuid) -> Result<Option<VersionRow>> {
        self.version_where("job_id", job_id).await
    }

    /// The version whose `column` (a unique one) is `value`.
    async fn version_where(&self, column: &str, value: Uuid) -> Result<Option<VersionRow>> {
        let sql = format!("SELECT * FROM template_versions WHERE {column} = $1");
        fetch!(self.read, fetch_optional, &sql, value)
    }

    /// A template's versions, oldest first.
    pub async fn list_versions(&self, template_id: Uuid) -> Result<Vec<VersionRow>> {
        fetch!(
            self.read,
            fetch_all,
            "SELECT * FROM template_versions WHERE template_id = $1 ORDER BY created_at, id",
            template_id
        )
    }

    /// Records what the import job read from the archive.
    pub async fn set_version_schema(
        &self,
        id: Uuid,
        readme: &str,
        parameters: &[TemplateVersionParameter],
        now: Timestamp,
    ) -> Result<()> {
        let mut c = self.pool.acquire().await?;
        set_version_schema_in(&mut c.conn(), id, readme, parameters, now).await
    }

    /// Creates a template and attaches its first version, in one transaction. A name taken
    /// in the organization (regardless of case) is a conflict; a version already attached
    /// elsewhere is a validation error.
    pub async fn create_template(&self, t: &TemplateRow) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let mut c = tx.conn();
        execute!(
            c,
            "INSERT INTO templates (id, organization_id, name, display_name, description, icon, \
             provisioner, active_version_id, created_by, settings, deleted, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, FALSE, $11, $12)",
            t.id,
            t.organization_id,
            &t.name,
            &t.display_name,
            &t.description,
            &t.icon,
            t.provisioner.as_str(),
            t.active_version_id,
            t.created_by,
            Json(&t.settings),
            t.created_at,
            t.updated_at
        )
        .map_err(|e| name_taken(e, &t.name))?;
        let attached = execute!(
            c,
            "UPDATE template_versions SET template_id = $1 WHERE id = $2 AND template_id IS NULL",
            t.id,
            t.active_version_id
        )?;
        if attached != 1 {
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
        fetch!(
            self.read,
            fetch_optional,
            "SELECT * FROM templates WHERE id = $1 AND NOT deleted",
            id
        )
    }

    /// A live template by organization and name (case-insensitive, as Coder's).
    pub async fn template_by_name(&self, org_id: Uuid, name: &str) -> Result<Option<TemplateRow>> {
        fetch!(
            self.read,
            fetch_optional,
            "SELECT * FROM templates WHERE organization_id = $1 AND lower(name) = lower($2) AND NOT deleted",
            org_id,
            name
        )
    }

    /// Live templates, optionally of one organization, by name.
    pub async fn list_templates(&self, org_id: Option<Uuid>) -> Result<Vec<TemplateRow>> {
        fetch!(
            self.read,
            fetch_all,
            "SELECT * FROM templates WHERE NOT deleted AND ($1 IS NULL OR organization_id = $1) ORDER BY name",
            org_id
        )
    }

    /// Saves a template's editable fields. A name taken in the organization (regardless of
    /// case) is a conflict.
    pub async fn update_template(&self, t: &TemplateRow) -> Result<()> {
        execute!(
            self.pool,
            "UPDATE templates SET name = $1, display_name = $2, description = $3, icon = $4, \
             active_version_id = $5, settings = $6, updated_at = $7 WHERE id = $8",
            &t.name,
            &t.display_name,
            &t.description,
            &t.icon,
            t.active_version_id,
            Json(&t.settings),
            t.updated_at,
            t.id
        )
        .map_err(|e| name_taken(e, &t.name))?;
        Ok(())
    }

    /// Soft-deletes a template (its name becomes free).
    pub async fn delete_template(&self, id: Uuid, now: Timestamp) -> Result<()> {
        execute!(
            self.pool,
            "UPDATE templates SET deleted = TRUE, updated_at = $1 WHERE id = $2",
            now,
            id
        )?;
        Ok(())
    }
}
