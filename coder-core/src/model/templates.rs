//! Templates and template versions, with their schedule settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ProvisionerJob, Timestamp};
use crate::wire::{null_as_default, null_as_empty};
use crate::wire_enum;

wire_enum! {
    /// Which provisioner turns a template version into infrastructure.
    pub enum ProvisionerType {
        /// HashiCorp Terraform.
        Terraform = "terraform",
        /// Coder's test provisioner that replays canned responses.
        Echo = "echo",
        /// This SDK's local-process provisioner (an addition; see [`super::contract`]).
        Process = "process",
    }
}

wire_enum! {
    /// Where a template version's source lives.
    pub enum ProvisionerStorageMethod {
        /// An uploaded file (`POST /api/v2/files`).
        File = "file",
    }
}

wire_enum! {
    /// Warnings attached to a template version.
    pub enum TemplateVersionWarning {
        /// The version cannot be used by existing workspaces.
        UnsupportedWorkspaces = "UNSUPPORTED_WORKSPACES",
    }
}

/// Days on which autostart may fire (lowercase English day names).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateAutostartRequirement {
    /// Allowed days, e.g. `["monday", "friday"]`; empty means every day.
    #[serde(deserialize_with = "null_as_empty")]
    pub days_of_week: Vec<String>,
}

/// The template's forced-stop rule: stop on these days every `weeks` weeks, in quiet hours.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateAutostopRequirement {
    /// Days on which workspaces must stop; empty disables the requirement.
    #[serde(deserialize_with = "null_as_empty")]
    pub days_of_week: Vec<String>,
    /// Every how many weeks the requirement applies (1 = every week).
    pub weeks: i64,
}

/// A template (`GET /api/v2/templates/{id}`), including its schedule settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Template {
    /// Template id.
    pub id: Uuid,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Owning organization's name.
    pub organization_name: String,
    /// Owning organization's display name.
    pub organization_display_name: String,
    /// Owning organization's icon.
    pub organization_icon: String,
    /// URL-safe name, unique in the organization.
    pub name: String,
    /// Human-readable name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Icon URL.
    pub icon: String,
    /// Provisioner of its versions.
    pub provisioner: ProvisionerType,
    /// The version new workspaces use.
    pub active_version_id: Uuid,
    /// Users with a workspace of this template active recently.
    pub active_user_count: i64,
    /// Creator.
    pub created_by_id: Uuid,
    /// Creator's username.
    pub created_by_name: String,
    /// Whether the template is deprecated (no new workspaces).
    pub deprecated: bool,
    /// Why it is deprecated.
    pub deprecation_message: String,
    /// Default autostop, milliseconds (0 = none).
    pub default_ttl_ms: i64,
    /// How far activity pushes the deadline, milliseconds (0 disables the bump).
    pub activity_bump_ms: i64,
    /// Forced-stop rule.
    pub autostop_requirement: TemplateAutostopRequirement,
    /// Days autostart may fire.
    pub autostart_requirement: TemplateAutostartRequirement,
    /// Whether users may set an autostart schedule.
    pub allow_user_autostart: bool,
    /// Whether users may set their own TTL.
    pub allow_user_autostop: bool,
    /// Whether users may cancel their own builds.
    pub allow_user_cancel_workspace_jobs: bool,
    /// Failed workspaces are stopped after this long, milliseconds (0 = never).
    pub failure_ttl_ms: i64,
    /// Unused workspaces become dormant after this long, milliseconds (0 = never).
    pub time_til_dormant_ms: i64,
    /// Dormant workspaces are deleted after this long, milliseconds (0 = never).
    pub time_til_dormant_autodelete_ms: i64,
    /// Lead time for the autostop reminder, milliseconds.
    pub time_til_autostop_notify_ms: i64,
    /// Whether workspaces must run the active version.
    pub require_active_version: bool,
}

/// `POST /api/v2/organizations/{org}/templates` (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateTemplateRequest {
    /// URL-safe name (required).
    pub name: String,
    /// Human-readable name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    /// Description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Icon URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon: String,
    /// The first version (required; its import job must have succeeded).
    pub template_version_id: Uuid,
    /// Default autostop, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_ttl_ms: Option<i64>,
    /// Activity bump, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_bump_ms: Option<i64>,
    /// Forced-stop rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autostop_requirement: Option<TemplateAutostopRequirement>,
    /// Days autostart may fire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autostart_requirement: Option<TemplateAutostartRequirement>,
    /// Whether users may set autostart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_user_autostart: Option<bool>,
    /// Whether users may set their own TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_user_autostop: Option<bool>,
    /// Whether users may cancel their own builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_user_cancel_workspace_jobs: Option<bool>,
    /// Failure TTL, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_ttl_ms: Option<i64>,
    /// Dormancy threshold, milliseconds (Coder's create request calls it `dormant_ttl_ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dormant_ttl_ms: Option<i64>,
    /// Dormant auto-delete delay, milliseconds (`delete_ttl_ms` on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_ttl_ms: Option<i64>,
    /// Whether workspaces must run the active version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_active_version: Option<bool>,
}

/// `PATCH /api/v2/templates/{id}`: update metadata and schedule settings.
///
/// Coder's handler treats the body as a full replacement of the settings it carries; fields left
/// `None` here are simply not sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateTemplateMeta {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New icon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Default autostop, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_ttl_ms: Option<i64>,
    /// Activity bump, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_bump_ms: Option<i64>,
    /// Forced-stop rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autostop_requirement: Option<TemplateAutostopRequirement>,
    /// Days autostart may fire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autostart_requirement: Option<TemplateAutostartRequirement>,
    /// Whether users may set autostart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_user_autostart: Option<bool>,
    /// Whether users may set their own TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_user_autostop: Option<bool>,
    /// Whether users may cancel their own builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_user_cancel_workspace_jobs: Option<bool>,
    /// Failure TTL, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_ttl_ms: Option<i64>,
    /// Dormancy threshold, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_til_dormant_ms: Option<i64>,
    /// Dormant auto-delete delay, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_til_dormant_autodelete_ms: Option<i64>,
    /// Lead time for the autostop reminder, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_til_autostop_notify_ms: Option<i64>,
    /// Whether workspaces must run the active version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_active_version: Option<bool>,
    /// Deprecate the template with this message (empty un-deprecates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecation_message: Option<String>,
}

/// The user who created a template version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MinimalUser {
    /// User id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Avatar URL.
    pub avatar_url: String,
}

/// How many provisioner daemons can take a job.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MatchedProvisioners {
    /// Daemons whose tags match.
    pub count: i64,
    /// Matching daemons seen recently.
    pub available: i64,
    /// When a matching daemon was last seen.
    pub most_recently_seen: Option<Timestamp>,
}

/// A template version (`GET /api/v2/templateversions/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateVersion {
    /// Version id.
    pub id: Uuid,
    /// The template, once the version is attached to one.
    pub template_id: Option<Uuid>,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Name (generated when not given).
    pub name: String,
    /// Commit-style message.
    pub message: String,
    /// README from the archive.
    pub readme: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
    /// The import job that parsed the archive.
    pub job: ProvisionerJob,
    /// Creator.
    pub created_by: MinimalUser,
    /// Whether the version is archived.
    pub archived: bool,
    /// Warnings about the version.
    #[serde(deserialize_with = "null_as_empty")]
    pub warnings: Vec<TemplateVersionWarning>,
    /// Provisioner daemons that can take its jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_provisioners: Option<MatchedProvisioners>,
}

/// `POST /api/v2/organizations/{org}/templateversions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateTemplateVersionRequest {
    /// Optional name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Optional message.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Attach to this template right away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<Uuid>,
    /// Always `file`.
    pub storage_method: ProvisionerStorageMethod,
    /// The uploaded archive.
    pub file_id: Uuid,
    /// Which provisioner parses it.
    pub provisioner: ProvisionerType,
    /// Provisioner tags that select a daemon.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub tags: BTreeMap<String, String>,
}

/// `PATCH /api/v2/templates/{id}/versions`: make a version active.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateActiveTemplateVersion {
    /// The version to activate.
    pub id: Uuid,
}
