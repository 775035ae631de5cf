//! Provisioner jobs (template imports and workspace builds) and their logs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Timestamp, WorkspaceTransition};
use crate::wire::{null_as_default, null_as_empty};
use crate::wire_enum;

wire_enum! {
    /// Where a provisioner job is in its life.
    pub enum ProvisionerJobStatus {
        /// Queued, not yet acquired by a provisioner.
        Pending = "pending",
        /// A provisioner is working on it.
        Running = "running",
        /// Finished successfully.
        Succeeded = "succeeded",
        /// Cancellation requested; the provisioner is stopping.
        Canceling = "canceling",
        /// Cancelled.
        Canceled = "canceled",
        /// Finished with an error.
        Failed = "failed",
    }
}

impl ProvisionerJobStatus {
    /// Whether the job has finished (successfully or not).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Succeeded | Self::Canceled | Self::Failed)
    }
}

wire_enum! {
    /// What a provisioner job does.
    pub enum ProvisionerJobType {
        /// Parse a template version's archive.
        TemplateVersionImport = "template_version_import",
        /// Run a workspace build.
        WorkspaceBuild = "workspace_build",
        /// Plan a build without applying it.
        TemplateVersionDryRun = "template_version_dry_run",
    }
}

wire_enum! {
    /// Machine-readable reason a job failed.
    pub enum JobErrorCode {
        /// The template needs variables that were not given.
        RequiredTemplateVariables = "REQUIRED_TEMPLATE_VARIABLES",
        /// The user's quota is exhausted.
        InsufficientQuota = "INSUFFICIENT_QUOTA",
    }
}

wire_enum! {
    /// Severity of a log line.
    pub enum LogLevel {
        /// Very verbose.
        Trace = "trace",
        /// Verbose.
        Debug = "debug",
        /// Normal output.
        Info = "info",
        /// Something looks wrong.
        Warn = "warn",
        /// Something failed.
        Error = "error",
    }
}

wire_enum! {
    /// Who wrote a provisioner log line.
    pub enum LogSource {
        /// The daemon running the job (stage headers, setup).
        ProvisionerDaemon = "provisioner_daemon",
        /// The provisioner itself (e.g. Terraform's output).
        Provisioner = "provisioner",
    }
}

/// What the job was created for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProvisionerJobInput {
    /// For imports and dry runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_version_id: Option<Uuid>,
    /// For workspace builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_build_id: Option<Uuid>,
    /// Error decoding the input, if any.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// Denormalised names shown next to a job.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProvisionerJobMetadata {
    /// Template id.
    pub template_id: Uuid,
    /// Template name.
    pub template_name: String,
    /// Template display name.
    pub template_display_name: String,
    /// Template icon.
    pub template_icon: String,
    /// Template version name.
    pub template_version_name: String,
    /// Workspace id, for builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<Uuid>,
    /// Workspace name, for builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_name: Option<String>,
    /// Build transition, for builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_build_transition: Option<WorkspaceTransition>,
}

/// A provisioner job.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProvisionerJob {
    /// Job id.
    pub id: Uuid,
    /// Creation time.
    pub created_at: Timestamp,
    /// When a provisioner acquired it.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub completed_at: Option<Timestamp>,
    /// When cancellation was requested.
    pub canceled_at: Option<Timestamp>,
    /// Failure message (empty on success).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// Machine-readable failure reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<JobErrorCode>,
    /// Current status.
    pub status: ProvisionerJobStatus,
    /// The provisioner daemon working on it.
    pub worker_id: Option<Uuid>,
    /// That daemon's name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub worker_name: String,
    /// The archive it works on.
    pub file_id: Uuid,
    /// Tags that select a daemon.
    #[serde(deserialize_with = "null_as_default")]
    pub tags: BTreeMap<String, String>,
    /// Position in the queue (0 once acquired).
    pub queue_position: i64,
    /// Length of the queue.
    pub queue_size: i64,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Who created the job.
    pub initiator_id: Uuid,
    /// What the job is for.
    pub input: ProvisionerJobInput,
    /// What kind of job.
    #[serde(rename = "type")]
    pub type_: ProvisionerJobType,
    /// Daemons that could take it.
    #[serde(deserialize_with = "null_as_empty")]
    pub available_workers: Vec<Uuid>,
    /// Names for display.
    pub metadata: ProvisionerJobMetadata,
    /// Whether logs were truncated for size.
    pub logs_overflowed: bool,
}

/// One line of a provisioner job's log (`GET .../logs`, or one websocket message with `follow`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProvisionerJobLog {
    /// Monotonic per job: the `after` cursor for resuming.
    pub id: i64,
    /// When it was written.
    pub created_at: Timestamp,
    /// Who wrote it.
    pub log_source: LogSource,
    /// Severity.
    pub log_level: LogLevel,
    /// Stage header it belongs to (e.g. `Planning infrastructure`).
    pub stage: String,
    /// The text.
    pub output: String,
}
