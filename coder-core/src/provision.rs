//! The provisioning trait: template archive -> parameters -> plan -> apply (start, stop, destroy).
//!
//! A [`Provisioner`] is what turns a template version into infrastructure. The reference server
//! ships a local-process provisioner; a Terraform provisioner fits the same trait: the archive
//! is the Terraform module, `previous_state` is the state file, the returned `state` is the new
//! one, and the `coder_agent`/`coder_app` resources become [`AgentSpec`]s and [`AppSpec`]s.
//!
//! The trait is runtime-agnostic: logs and cancellation go through [`ProvisionContext`], which
//! the server implements on top of its own runtime and log store.
//!
//! ```
//! use async_trait::async_trait;
//! use coder_core::model::{LogLevel, ProvisionerType};
//! use coder_core::provision::*;
//!
//! /// Creates one "machine" per workspace, with one agent, and remembers nothing else.
//! struct OneMachine;
//!
//! #[async_trait]
//! impl Provisioner for OneMachine {
//!     fn provisioner_type(&self) -> ProvisionerType {
//!         ProvisionerType::Process
//!     }
//!
//!     async fn parse(&self, _archive: &Archive, _ctx: &dyn ProvisionContext) -> coder_core::Result<TemplateSchema> {
//!         Ok(TemplateSchema::default())
//!     }
//!
//!     async fn plan(&self, req: &BuildRequest, _ctx: &dyn ProvisionContext) -> coder_core::Result<Plan> {
//!         Ok(Plan { resources: self.resources(req) })
//!     }
//!
//!     async fn apply(&self, req: &BuildRequest, ctx: &dyn ProvisionContext) -> coder_core::Result<Applied> {
//!         ctx.log(ProvisionLog::new(LogLevel::Info, "Applying", format!("{} {}", req.transition, req.metadata.workspace_name))).await;
//!         if ctx.is_cancelled() {
//!             return Err(coder_core::Error::Cancelled);
//!         }
//!         Ok(Applied { state: req.transition.as_str().as_bytes().to_vec(), resources: self.resources(req) })
//!     }
//! }
//!
//! impl OneMachine {
//!     fn resources(&self, req: &BuildRequest) -> Vec<ResourceSpec> {
//!         let agent = AgentSpec { name: "main".into(), auth_token: req.agent_token("main"), ..Default::default() };
//!         vec![ResourceSpec { name: "machine".into(), type_: "local_process".into(), agents: vec![agent], ..Default::default() }]
//!     }
//! }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::Result;
use crate::model::{
    DisplayApp, Healthcheck, LogLevel, ProvisionerType, TemplateVersionParameter,
    WorkspaceAgentStartupScriptBehavior, WorkspaceAppOpenIn, WorkspaceAppSharingLevel,
    WorkspaceBuildParameter, WorkspaceResourceMetadata, WorkspaceTransition,
};

/// Turns template archives into infrastructure. Implementations must be safe to call
/// concurrently for different workspaces.
#[async_trait]
pub trait Provisioner: Send + Sync {
    /// Which provisioner this is (stored on template versions).
    fn provisioner_type(&self) -> ProvisionerType;

    /// Reads a template archive (`application/x-tar`) and returns what it asks for.
    ///
    /// Runs as the template-version import job; a malformed archive is an
    /// [`Error::Provisioner`](crate::Error::Provisioner) with a message a template author can
    /// act on.
    async fn parse(&self, archive: &Archive, ctx: &dyn ProvisionContext) -> Result<TemplateSchema>;

    /// Computes what `apply` would do, without changing anything (dry runs and previews).
    async fn plan(&self, req: &BuildRequest, ctx: &dyn ProvisionContext) -> Result<Plan>;

    /// Performs `req.transition`: create/start, stop, or destroy (`Delete`) the workspace's
    /// infrastructure, starting from `req.previous_state` and returning the new state.
    ///
    /// Whatever a later build must know about (a process started, a machine created, one
    /// destroyed) is recorded with [`ProvisionContext::save_state`] as it happens, so a crash
    /// or a failure part-way leaves every piece of infrastructure reachable by the next build.
    /// On cancellation return [`Error::Cancelled`](crate::Error::Cancelled) after leaving the
    /// infrastructure in a state a later build can start from: the last saved state.
    async fn apply(&self, req: &BuildRequest, ctx: &dyn ProvisionContext) -> Result<Applied>;
}

/// What the running job offers a provisioner: streamed logs and cancellation.
#[async_trait]
pub trait ProvisionContext: Send + Sync {
    /// Appends a log line to the job. Waits when the log pipeline is full (back-pressure:
    /// a log line is never dropped).
    async fn log(&self, line: ProvisionLog);

    /// Whether cancellation was requested. Cheap; poll it between steps.
    fn is_cancelled(&self) -> bool;

    /// Resolves once cancellation is requested (for `select!`-style waiting).
    async fn cancelled(&self);

    /// Durably records the state of the infrastructure so far (the same encoding as
    /// [`Applied::state`]); returns once it is stored. The build starts from
    /// [`BuildRequest::previous_state`] already saved, and the last saved state is what the
    /// next build receives if this one fails, is cancelled or its server dies part-way.
    async fn save_state(&self, state: &[u8]) -> Result<()>;
}

/// A template archive (`application/x-tar`), shared without copying between the job and
/// the blocking threads a provisioner reads it on.
pub type Archive = Arc<[u8]>;

/// One log line written by a provisioner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionLog {
    /// Severity.
    pub level: LogLevel,
    /// Stage header, e.g. `Planning infrastructure`.
    pub stage: String,
    /// The text.
    pub output: String,
}

impl ProvisionLog {
    /// A log line.
    pub fn new(level: LogLevel, stage: impl Into<String>, output: impl Into<String>) -> Self {
        Self {
            level,
            stage: stage.into(),
            output: output.into(),
        }
    }
}

/// What a template asks for, read from its archive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateSchema {
    /// Rich parameters, in display order.
    pub parameters: Vec<TemplateVersionParameter>,
    /// Template variables (Terraform `variable` blocks) and whether each is required.
    pub variables: Vec<TemplateVariable>,
    /// README shown on the template page.
    pub readme: String,
}

/// A template-level variable set by the template author at import.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateVariable {
    /// Name.
    pub name: String,
    /// Default value.
    pub default_value: String,
    /// Whether a value must be supplied.
    pub required: bool,
    /// Whether the value is secret.
    pub sensitive: bool,
}

/// Everything a plan or apply needs to know about the build.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildRequest {
    /// The template archive.
    pub archive: Archive,
    /// What to do.
    pub transition: WorkspaceTransition,
    /// Facts about the workspace (Terraform's `coder_workspace` data source).
    pub metadata: WorkspaceMetadata,
    /// Parameter values, validated against the template's schema.
    pub parameters: Vec<WorkspaceBuildParameter>,
    /// Template variable values.
    pub variables: BTreeMap<String, String>,
    /// The workspace's state as the previous build left it: what its last apply returned or,
    /// if that build stopped part-way, what it last saved (empty for the first build).
    pub previous_state: Vec<u8>,
    /// Auth tokens for each agent the template declares, by agent name. They are valid once
    /// the build completes; an agent that starts sooner retries until then.
    pub agent_tokens: BTreeMap<String, String>,
}

impl BuildRequest {
    /// The token minted for agent `name`, or empty when the server minted none.
    pub fn agent_token(&self, name: &str) -> String {
        self.agent_tokens.get(name).cloned().unwrap_or_default()
    }
}

/// Facts about the workspace being built.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkspaceMetadata {
    /// The control plane's URL, for agents to call home.
    pub access_url: String,
    /// Workspace id.
    pub workspace_id: Uuid,
    /// Workspace name.
    pub workspace_name: String,
    /// Owner id.
    pub owner_id: Uuid,
    /// Owner's username.
    pub owner_name: String,
    /// Owner's email.
    pub owner_email: String,
    /// Template id.
    pub template_id: Uuid,
    /// Template name.
    pub template_name: String,
    /// Template version name.
    pub template_version_name: String,
    /// Build number (1 for the first build).
    pub build_number: i64,
}

/// The outcome of [`Provisioner::plan`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Resources that would exist after applying.
    pub resources: Vec<ResourceSpec>,
}

/// The outcome of [`Provisioner::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Applied {
    /// New provisioner state, passed back as `previous_state` to the next build.
    pub state: Vec<u8>,
    /// Resources that now exist.
    pub resources: Vec<ResourceSpec>,
}

/// A resource as a provisioner describes it (becomes a `WorkspaceResource`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceSpec {
    /// Name in the template.
    pub name: String,
    /// Provider type, e.g. `docker_container`.
    pub type_: String,
    /// Hidden from the dashboard.
    pub hide: bool,
    /// Icon URL.
    pub icon: String,
    /// Quota cost per day.
    pub daily_cost: i64,
    /// Extra key/values.
    pub metadata: Vec<WorkspaceResourceMetadata>,
    /// Agents inside it.
    pub agents: Vec<AgentSpec>,
}

/// An agent as a provisioner describes it (becomes a `WorkspaceAgent`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentSpec {
    /// Name, unique per workspace.
    pub name: String,
    /// The token the agent authenticates with (see [`BuildRequest::agent_token`]).
    pub auth_token: String,
    /// `linux`, `darwin` or `windows`.
    pub operating_system: String,
    /// `amd64` or `arm64`.
    pub architecture: String,
    /// Working directory.
    pub directory: String,
    /// Environment for sessions.
    pub env: BTreeMap<String, String>,
    /// Scripts the agent runs.
    pub scripts: Vec<ScriptSpec>,
    /// Whether logins wait for startup scripts.
    pub startup_script_behavior: Option<WorkspaceAgentStartupScriptBehavior>,
    /// Apps it exposes.
    pub apps: Vec<AppSpec>,
    /// Built-in apps to show.
    pub display_apps: Vec<DisplayApp>,
    /// Seconds before a never-connected agent is `timeout`.
    pub connection_timeout_seconds: i64,
    /// Link shown on connection problems.
    pub troubleshooting_url: String,
}

/// A script an agent runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScriptSpec {
    /// Name shown in logs.
    pub display_name: String,
    /// The script text.
    pub script: String,
    /// Cron schedule for periodic scripts.
    pub cron: String,
    /// Run at agent start.
    pub run_on_start: bool,
    /// Run at agent stop.
    pub run_on_stop: bool,
    /// Whether logins wait for it.
    pub start_blocks_login: bool,
    /// Timeout in seconds (0 = none).
    pub timeout_seconds: i64,
}

/// An app an agent exposes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppSpec {
    /// URL-safe name, unique per agent.
    pub slug: String,
    /// Name shown in the dashboard.
    pub display_name: String,
    /// Local URL to proxy to.
    pub url: String,
    /// Or a command to run in a terminal.
    pub command: String,
    /// Icon URL.
    pub icon: String,
    /// Serve on a subdomain.
    pub subdomain: bool,
    /// Who may open it.
    pub sharing_level: Option<WorkspaceAppSharingLevel>,
    /// Health check.
    pub healthcheck: Option<Healthcheck>,
    /// Opened by the browser directly.
    pub external: bool,
    /// Hidden from the dashboard.
    pub hidden: bool,
    /// How to open it.
    pub open_in: Option<WorkspaceAppOpenIn>,
}
