//! What a build creates: resources, the agents inside them, and the apps agents expose.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{LogLevel, Timestamp, WorkspaceTransition};
use crate::wire::{null_as_default, null_as_empty};
use crate::wire_enum;

wire_enum! {
    /// Whether the agent is connected to the control plane.
    pub enum WorkspaceAgentStatus {
        /// Not connected yet, within the connection timeout.
        Connecting = "connecting",
        /// Connected and sending heartbeats.
        Connected = "connected",
        /// Was connected, heartbeats stopped.
        Disconnected = "disconnected",
        /// Never connected within the timeout.
        Timeout = "timeout",
    }
}

wire_enum! {
    /// Where the agent is in running its startup and shutdown scripts.
    pub enum WorkspaceAgentLifecycle {
        /// Agent created, not yet started.
        Created = "created",
        /// Startup scripts running.
        Starting = "starting",
        /// Startup scripts exceeded their timeout.
        StartTimeout = "start_timeout",
        /// A startup script failed.
        StartError = "start_error",
        /// Ready for use.
        Ready = "ready",
        /// Shutdown scripts running.
        ShuttingDown = "shutting_down",
        /// Shutdown scripts exceeded their timeout.
        ShutdownTimeout = "shutdown_timeout",
        /// A shutdown script failed.
        ShutdownError = "shutdown_error",
        /// Stopped.
        Off = "off",
    }
}

wire_enum! {
    /// Whether logins wait for the startup script.
    pub enum WorkspaceAgentStartupScriptBehavior {
        /// Logins wait until startup scripts finish.
        Blocking = "blocking",
        /// Logins are allowed at once.
        NonBlocking = "non-blocking",
    }
}

wire_enum! {
    /// How a script run ended.
    pub enum WorkspaceAgentScriptStatus {
        /// Exit code 0.
        Ok = "ok",
        /// Non-zero exit.
        ExitFailure = "exit_failure",
        /// Killed after its timeout.
        TimedOut = "timed_out",
        /// Exited but left output pipes open.
        PipesLeftOpen = "pipes_left_open",
    }
}

wire_enum! {
    /// Built-in apps the dashboard offers for an agent.
    pub enum DisplayApp {
        /// VS Code desktop.
        Vscode = "vscode",
        /// VS Code Insiders desktop.
        VscodeInsiders = "vscode_insiders",
        /// Browser terminal.
        WebTerminal = "web_terminal",
        /// Port-forwarding helper.
        PortForwardingHelper = "port_forwarding_helper",
        /// SSH helper.
        SshHelper = "ssh_helper",
    }
}

wire_enum! {
    /// Health of a workspace app.
    pub enum WorkspaceAppHealth {
        /// No health check configured.
        Disabled = "disabled",
        /// Not checked yet.
        Initializing = "initializing",
        /// Passing.
        Healthy = "healthy",
        /// Failing.
        Unhealthy = "unhealthy",
    }
}

wire_enum! {
    /// Who may open a workspace app.
    pub enum WorkspaceAppSharingLevel {
        /// The workspace owner only.
        Owner = "owner",
        /// Any logged-in user.
        Authenticated = "authenticated",
        /// Members of the workspace's organization.
        Organization = "organization",
        /// Anyone.
        Public = "public",
    }
}

wire_enum! {
    /// How the dashboard opens an app.
    pub enum WorkspaceAppOpenIn {
        /// A slim browser window.
        SlimWindow = "slim-window",
        /// A new tab.
        Tab = "tab",
    }
}

/// A key/value shown on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceResourceMetadata {
    /// Key.
    pub key: String,
    /// Value (hidden by the dashboard when sensitive).
    pub value: String,
    /// Whether the value is secret.
    pub sensitive: bool,
}

/// An infrastructure object a build created (a container, a VM, a volume).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceResource {
    /// Resource id.
    pub id: Uuid,
    /// Creation time.
    pub created_at: Timestamp,
    /// The job that created it.
    pub job_id: Uuid,
    /// The transition that created it.
    pub workspace_transition: WorkspaceTransition,
    /// Provider type, e.g. `docker_container`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Name in the template.
    pub name: String,
    /// Whether the dashboard hides it.
    pub hide: bool,
    /// Icon URL.
    pub icon: String,
    /// Agents running inside it.
    #[serde(deserialize_with = "null_as_empty")]
    pub agents: Vec<WorkspaceAgent>,
    /// Extra key/values.
    #[serde(deserialize_with = "null_as_empty")]
    pub metadata: Vec<WorkspaceResourceMetadata>,
    /// Cost per day in quota units.
    pub daily_cost: i64,
}

/// Agent health as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceAgentHealth {
    /// Whether the agent is healthy.
    pub healthy: bool,
    /// Why not, when unhealthy.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// A script the agent runs (startup, shutdown or on a cron).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceAgentScript {
    /// Script id.
    pub id: Uuid,
    /// Log source its output is written to.
    pub log_source_id: Uuid,
    /// Where the agent writes its log file.
    pub log_path: String,
    /// The script text.
    pub script: String,
    /// Cron schedule, for periodic scripts.
    pub cron: String,
    /// Run when the agent starts.
    pub run_on_start: bool,
    /// Run when the agent stops.
    pub run_on_stop: bool,
    /// Whether logins wait for it.
    pub start_blocks_login: bool,
    /// Timeout in seconds (0 = none).
    pub timeout: i64,
    /// Name shown in the dashboard.
    pub display_name: String,
}

/// A named stream of agent logs (one per script, plus the agent's own).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceAgentLogSource {
    /// Source id.
    pub id: Uuid,
    /// The agent.
    pub workspace_agent_id: Uuid,
    /// Creation time.
    pub created_at: Timestamp,
    /// Name shown in the dashboard.
    pub display_name: String,
    /// Icon URL.
    pub icon: String,
}

/// One line of an agent's log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceAgentLog {
    /// Monotonic per agent: the `after` cursor.
    pub id: i64,
    /// When it was written.
    pub created_at: Timestamp,
    /// The text.
    pub output: String,
    /// Severity.
    pub level: LogLevel,
    /// The log source.
    pub source_id: Uuid,
}

/// An app's health check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Healthcheck {
    /// URL probed by the agent.
    pub url: String,
    /// Seconds between probes.
    pub interval: i64,
    /// Failures before unhealthy.
    pub threshold: i64,
}

/// An app exposed by an agent (a web IDE, a dev server, a command).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceApp {
    /// App id.
    pub id: Uuid,
    /// URL-safe name, unique per agent.
    pub slug: String,
    /// Name shown in the dashboard.
    pub display_name: String,
    /// Local URL the agent proxies to.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Command run in a terminal instead of a URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// Icon URL.
    pub icon: String,
    /// Served on its own subdomain.
    pub subdomain: bool,
    /// The subdomain, when served on one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subdomain_name: String,
    /// Who may open it.
    pub sharing_level: WorkspaceAppSharingLevel,
    /// Health check.
    pub healthcheck: Healthcheck,
    /// Current health.
    pub health: WorkspaceAppHealth,
    /// Whether the URL is opened directly by the browser.
    pub external: bool,
    /// Hidden from the dashboard.
    pub hidden: bool,
    /// How to open it.
    pub open_in: WorkspaceAppOpenIn,
    /// Group name in the dashboard.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Tooltip.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tooltip: String,
}

/// The agent process inside a workspace resource.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspaceAgent {
    /// Agent id.
    pub id: Uuid,
    /// Parent agent, for dev-container sub-agents.
    pub parent_id: Option<Uuid>,
    /// Name, unique per workspace.
    pub name: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
    /// First connection.
    pub first_connected_at: Option<Timestamp>,
    /// Latest connection.
    pub last_connected_at: Option<Timestamp>,
    /// When it disconnected.
    pub disconnected_at: Option<Timestamp>,
    /// When its lifecycle started.
    pub started_at: Option<Timestamp>,
    /// When it became ready.
    pub ready_at: Option<Timestamp>,
    /// Connection status.
    pub status: WorkspaceAgentStatus,
    /// Script lifecycle.
    pub lifecycle_state: WorkspaceAgentLifecycle,
    /// The resource it runs in.
    pub resource_id: Uuid,
    /// Cloud instance id, for instance-identity auth.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance_id: String,
    /// CPU architecture (`amd64`, `arm64`).
    pub architecture: String,
    /// Operating system (`linux`, `darwin`, `windows`).
    pub operating_system: String,
    /// Environment variables set for sessions.
    #[serde(deserialize_with = "null_as_default")]
    pub environment_variables: BTreeMap<String, String>,
    /// Working directory as configured.
    pub directory: String,
    /// Working directory with `~` and variables expanded.
    pub expanded_directory: String,
    /// Agent version.
    pub version: String,
    /// Agent API version.
    pub api_version: String,
    /// Apps it exposes.
    #[serde(deserialize_with = "null_as_empty")]
    pub apps: Vec<WorkspaceApp>,
    /// Log sources.
    #[serde(deserialize_with = "null_as_empty")]
    pub log_sources: Vec<WorkspaceAgentLogSource>,
    /// Scripts.
    #[serde(deserialize_with = "null_as_empty")]
    pub scripts: Vec<WorkspaceAgentScript>,
    /// Total log bytes.
    pub logs_length: i64,
    /// Whether logs were truncated for size.
    pub logs_overflowed: bool,
    /// Seconds before `connecting` becomes `timeout`.
    pub connection_timeout_seconds: i64,
    /// Documentation link shown on connection problems.
    pub troubleshooting_url: String,
    /// Whether logins wait for startup scripts.
    pub startup_script_behavior: WorkspaceAgentStartupScriptBehavior,
    /// Built-in apps to show.
    #[serde(deserialize_with = "null_as_empty")]
    pub display_apps: Vec<DisplayApp>,
    /// Health.
    pub health: WorkspaceAgentHealth,
}
