//! Workspaces and their builds: `Workspace`, `WorkspaceBuild`, transitions, statuses, requests.

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
