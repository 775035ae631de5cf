//! Workspaces and their builds: `Workspace`, `WorkspaceBuild`, transitions, statuses, requests.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ProvisionerJob, Timestamp, WorkspaceBuildParameter, WorkspaceResource};
use crate::wire::null_as_empty;
use crate::wire_enum;

wire_enum! {
    /// What a build does to the workspace's infrastructure.
    pub enum WorkspaceTransition {
        /// Create or start the infrastructure.
        Start = "start",
        /// Stop it, keeping persistent resources.
        Stop = "stop",
        /// Destroy everything.
        Delete = "delete",
    }
}

wire_enum! {
    /// The status a workspace shows, derived from its latest build's job and transition
    /// (see [`crate::build::workspace_status`]).
    pub enum WorkspaceStatus {
        /// The build's job is queued.
        Pending = "pending",
        /// A start build is running.
        Starting = "starting",
        /// The last start build succeeded.
        Running = "running",
        /// A stop build is running.
        Stopping = "stopping",
        /// The last stop build succeeded.
        Stopped = "stopped",
        /// The last build failed.
        Failed = "failed",
        /// The active build is being cancelled.
        Canceling = "canceling",
        /// The last build was cancelled.
        Canceled = "canceled",
        /// A delete build is running.
        Deleting = "deleting",
        /// The last delete build succeeded.
        Deleted = "deleted",
    }
}

wire_enum! {
    /// Why a build was started.
    pub enum BuildReason {
        /// A user asked for it.
        Initiator = "initiator",
        /// The autostart schedule fired.
        Autostart = "autostart",
        /// The deadline passed.
        Autostop = "autostop",
        /// The workspace became dormant.
        Dormancy = "dormancy",
        /// Started from the web dashboard.
        Dashboard = "dashboard",
        /// Started from the CLI.
        Cli = "cli",
        /// Started by an SSH connection.
        SshConnection = "ssh_connection",
        /// Started by a VS Code connection.
        VscodeConnection = "vscode_connection",
        /// Started by a JetBrains connection.
        JetbrainsConnection = "jetbrains_connection",
        /// An AI task paused itself.
        TaskAutoPause = "task_auto_pause",
        /// A user paused an AI task.
        TaskManualPause = "task_manual_pause",
        /// An AI task resumed.
        TaskResume = "task_resume",
    }
}

wire_enum! {
    /// Whether a workspace follows the template's active version on start.
    pub enum AutomaticUpdates {
        /// Update to the active version on every start.
        Always = "always",
        /// Keep the build's version.
        Never = "never",
    }
}

wire_enum! {
    /// Reasons a client may give when it starts a build (a subset of [`BuildReason`]).
    pub enum CreateWorkspaceBuildReason {
        /// From the web dashboard.
        Dashboard = "dashboard",
        /// From the CLI.
        Cli = "cli",
        /// An SSH connection to a stopped workspace.
        SshConnection = "ssh_connection",
        /// A VS Code connection.
        VscodeConnection = "vscode_connection",
        /// A JetBrains connection.
        JetbrainsConnection = "jetbrains_connection",
        /// A user paused an AI task.
        TaskManualPause = "task_manual_pause",
        /// An AI task resumed.
        TaskResume = "task_resume",
    }
}

wire_enum! {
    /// Extra provisioner logging for one build.
    pub enum ProvisionerLogLevel {
        /// Debug output from the provisioner.
        Debug = "debug",
    }
}

/// Why a workspace is (un)healthy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceHealth {
    /// Whether every agent is healthy.
    pub healthy: bool,
    /// Agents that are not.
    #[serde(deserialize_with = "null_as_empty")]
    pub failing_agents: Vec<Uuid>,
}

/// A workspace (`GET /api/v2/workspaces/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Workspace {
    /// Workspace id.
    pub id: Uuid,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
    /// Owner.
    pub owner_id: Uuid,
    /// Owner's username.
    pub owner_name: String,
    /// Owner's avatar URL.
    pub owner_avatar_url: String,
    /// Organization.
    pub organization_id: Uuid,
    /// Organization name.
    pub organization_name: String,
    /// Template.
    pub template_id: Uuid,
    /// Template name.
    pub template_name: String,
    /// Template display name.
    pub template_display_name: String,
    /// Template icon.
    pub template_icon: String,
    /// Whether the owner may cancel builds.
    pub template_allow_user_cancel_workspace_jobs: bool,
    /// The template's active version.
    pub template_active_version_id: Uuid,
    /// Whether the template requires the active version.
    pub template_require_active_version: bool,
    /// The latest build (its status is the workspace's status).
    pub latest_build: WorkspaceBuild,
    /// Whether the latest build's version is not the active one.
    pub outdated: bool,
    /// Name, unique per owner.
    pub name: String,
    /// Autostart cron (`CRON_TZ=<zone> <min> <hour> * * <dow>`), if set.
    pub autostart_schedule: Option<String>,
    /// Autostop after this many milliseconds of a start build, if set.
    pub ttl_ms: Option<i64>,
    /// Last activity (drives dormancy).
    pub last_used_at: Timestamp,
    /// When a dormant workspace will be deleted.
    pub deleting_at: Option<Timestamp>,
    /// Set when the workspace is dormant.
    pub dormant_at: Option<Timestamp>,
    /// Agent health summary.
    pub health: WorkspaceHealth,
    /// Whether to update to the active version on start.
    pub automatic_updates: AutomaticUpdates,
    /// Whether the owner may rename it.
    pub allow_renames: bool,
    /// Whether the owner starred it.
    pub favorite: bool,
    /// Next autostart time, if scheduled.
    pub next_start_at: Option<Timestamp>,
    /// Whether it is an unclaimed prebuilt workspace.
    pub is_prebuild: bool,
}

/// One build of a workspace (`GET /api/v2/workspacebuilds/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceBuild {
    /// Build id.
    pub id: Uuid,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
    /// Workspace.
    pub workspace_id: Uuid,
    /// Workspace name.
    pub workspace_name: String,
    /// Workspace owner.
    pub workspace_owner_id: Uuid,
    /// Owner's username.
    pub workspace_owner_name: String,
    /// Owner's avatar URL.
    pub workspace_owner_avatar_url: String,
    /// Template version built.
    pub template_version_id: Uuid,
    /// Its name.
    pub template_version_name: String,
    /// 1 for the first build, then +1.
    pub build_number: i64,
    /// What it does.
    pub transition: WorkspaceTransition,
    /// Who started it.
    pub initiator_id: Uuid,
    /// Their username.
    pub initiator_name: String,
    /// The provisioner job doing the work.
    pub job: ProvisionerJob,
    /// Why it was started.
    pub reason: BuildReason,
    /// What it created.
    #[serde(deserialize_with = "null_as_empty")]
    pub resources: Vec<WorkspaceResource>,
    /// When the workspace will be stopped (absent or null: no autostop).
    pub deadline: Option<Timestamp>,
    /// Ceiling the deadline can never pass (absent or null: none).
    pub max_deadline: Option<Timestamp>,
    /// Status derived from job status and transition.
    pub status: WorkspaceStatus,
    /// Quota cost per day.
    pub daily_cost: i64,
}

/// `GET /api/v2/workspaces`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspacesResponse {
    /// One page of workspaces.
    #[serde(deserialize_with = "null_as_empty")]
    pub workspaces: Vec<Workspace>,
    /// Total matching workspaces.
    pub count: i64,
}

/// `POST /api/v2/users/{user}/workspaces` (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateWorkspaceRequest {
    /// Name (required), unique per owner.
    pub name: String,
    /// Build from this template's active version...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<Uuid>,
    /// ...or from this exact version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_version_id: Option<Uuid>,
    /// Autostart cron.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autostart_schedule: Option<String>,
    /// Autostop, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<i64>,
    /// Parameter values for the first build.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub rich_parameter_values: Vec<WorkspaceBuildParameter>,
    /// Whether to follow the active version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatic_updates: Option<AutomaticUpdates>,
}

/// `POST /api/v2/workspaces/{id}/builds` (`201`; `409` while a build is active).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateWorkspaceBuildRequest {
    /// What to do (required).
    pub transition: WorkspaceTransition,
    /// Build this version instead of the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_version_id: Option<Uuid>,
    /// Plan only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Replace the provisioner state (owners only).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub state: Vec<u8>,
    /// Delete without destroying resources (owners only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub orphan: bool,
    /// Parameter values to change.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub rich_parameter_values: Vec<WorkspaceBuildParameter>,
    /// Extra provisioner logging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<ProvisionerLogLevel>,
    /// Why the client starts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<CreateWorkspaceBuildReason>,
}

/// `PATCH /api/v2/workspaces/{id}` (`204`): renames the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateWorkspaceRequest {
    /// The new name.
    pub name: String,
}

/// `PUT /api/v2/workspaces/{id}/ttl`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateWorkspaceTTLRequest {
    /// Autostop in milliseconds; `null` turns autostop off.
    pub ttl_ms: Option<i64>,
}

/// `PUT /api/v2/workspaces/{id}/autostart`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateWorkspaceAutostartRequest {
    /// Cron schedule; `null` or empty turns autostart off.
    pub schedule: Option<String>,
}

/// `PUT /api/v2/workspaces/{id}/extend`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PutExtendWorkspaceRequest {
    /// The new deadline.
    pub deadline: Timestamp,
}
