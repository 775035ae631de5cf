//! The local **process provisioner** (`"provisioner": "process"`): a workspace is a home
//! directory under the cache dir plus one process per agent that declares a `command`.
//!
//! - start: create the home, unpack the template next to it, start each agent's command in
//!   its own process group with `CODER_AGENT_TOKEN`/`CODER_AGENT_URL` in the environment;
//! - stop: SIGTERM each process group, SIGKILL after the configured timeout;
//! - delete: stop, then remove the workspace directory.
//!
//! The provisioner state lists the running process groups ([`group::ProcessEntry`]). It is
//! saved through [`ProvisionContext::save_state`] after every process started or stopped, so
//! a build interrupted by a crash still hands every process it started to the next build, and
//! a process is signalled only when [`group`] proves it is the one the server started.

mod archive;
pub mod group;
pub mod manifest;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use coder_core::model::{LogLevel, ProvisionerType, WorkspaceTransition};
use coder_core::provision::{
    AgentSpec, AppSpec, Applied, Archive, BuildRequest, Plan, ProvisionContext, ProvisionLog,
    Provisioner, ResourceSpec, ScriptSpec, TemplateSchema,
};
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use crate::config::TemplateLimits;
use group::{Children, Ownership, ProcessEntry};
pub use manifest::{MANIFEST, Manifest};

/// What the provisioner remembers between builds: the process groups that may be running.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessState {
    /// Process groups started and not yet seen stopped.
    pub processes: Vec<ProcessEntry>,
}

/// The local process provisioner.
#[derive(Debug)]
pub struct ProcessProvisioner {
    root: PathBuf,
    stop_timeout: Duration,
    limits: TemplateLimits,
    children: Children,
}

/// The provisioner state of a build in progress: every change is saved before the build goes
/// on, so the state never lags behind the processes.
struct Tracked<'a> {
    state: ProcessState,
    ctx: &'a dyn ProvisionContext,
}

impl Tracked<'_> {
    async fn save(&self) -> coder_core::Result<()> {
        let bytes = serde_json::to_vec(&self.state).map_err(|e| err(e.to_string()))?;
        self.ctx.save_state(&bytes).await
    }

    async fn started(&mut self, entry: ProcessEntry) -> coder_core::Result<()> {
        self.state.processes.push(entry);
        self.save().await
    }

    async fn stopped(&mut self, pid: i32) -> coder_core::Result<()> {
        self.state.processes.retain(|p| p.pid != pid);
        self.save().await
    }
}

fn err(msg: impl Into<String>) -> coder_core::Error {
    coder_core::Error::Provisioner(msg.into())
}

const STAGE_SETUP: &str = "Setting up";
const STAGE_START: &str = "Starting workspace";
const STAGE_STOP: &str = "Stopping workspace";
const STAGE_DELETE: &str = "Destroying workspace";

fn env_name(param: &str) -> String {
    let upper: String = param
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("CODER_PARAMETER_{upper}")
}

impl ProcessProvisioner {
    /// A provisioner keeping workspaces under `root` (`<cache dir>/workspaces`), giving
    /// processes `stop_timeout` between SIGTERM and SIGKILL, and unpacking templates within
    /// `limits`.
    pub fn new(root: PathBuf, stop_timeout: Duration, limits: TemplateLimits) -> Self {
        Self {
            root,
            stop_timeout,
            limits,
            children: Children::default(),
        }
    }

    /// The directory of one workspace (its home is `home/` inside).
    pub fn workspace_dir(&self, workspace_id: uuid::Uuid) -> PathBuf {
        self.root.join(workspace_id.to_string())
    }

    fn resources(&self, manifest: &Manifest, req: &BuildRequest) -> Vec<ResourceSpec> {
        let home = self.workspace_dir(req.metadata.workspace_id).join("home");
        let mut home_resource = ResourceSpec {
            name: "home".to_owned(),
            type_: "local_directory".to_owned(),
            icon: "/icon/folder.svg".to_owned(),
            metadata: vec![coder_core::model::WorkspaceResourceMetadata {
                key: "path".to_owned(),
                value: home.display().to_string(),
                sensitive: false,
            }],
            ..Default::default()
        };
        if req.transition == WorkspaceTransition::Delete {
            return Vec::new();
        }
        if req.transition == WorkspaceTransition::Stop {
            return vec![home_resource];
        }
        home_resource.hide = true;
        let agents = manifest
            .agents
            .iter()
            .map(|a| AgentSpec {
                name: a.name.clone(),
                auth_token: req.agent_token(&a.name),
                operating_system: std::env::consts::OS.to_owned(),
                architecture: match std::env::consts::ARCH {
                    "x86_64" => "amd64".to_owned(),
                    "aarch64" => "arm64".to_owned(),
                    other => other.to_owned(),
                },
                directory: home.join(&a.directory).display().to_string(),
                env: a.env.clone(),
                scripts: if a.startup_script.is_empty() {
                    Vec::new()
                } else {
                    vec![ScriptSpec {
                        display_name: "Startup Script".to_owned(),
                        script: a.startup_script.clone(),
                        run_on_start: true,
                        start_blocks_login: a.startup_script_blocks_login,
                        ..Default::default()
                    }]
                },
                apps: a
                    .apps
                    .iter()
                    .map(|app| AppSpec {
                        slug: app.slug.clone(),
                        display_name: if app.display_name.is_empty() {
                            app.slug.clone()
                        } else {
                            app.display_name.clone()
                        },
                        url: app.url.clone(),
                        command: app.command.clone(),
                        icon: app.icon.clone(),
                        ..Default::default()
                    })
                    .collect(),
                connection_timeout_seconds: 120,
                ..Default::default()
            })
            .collect();
        vec![
            ResourceSpec {
                name: "workspace".to_owned(),
                type_: "local_process".to_owned(),
                icon: "/icon/terminal.svg".to_owned(),
                agents,
                ..Default::default()
            },
            home_resource,
        ]
    }

    fn is_running(&self, p: &ProcessEntry) -> bool {
        group::ownership(p, &self.children) == Ownership::Running
    }

    /// Stops every process group in `tracked` the server can prove is its own: SIGTERM, then
    /// SIGKILL after the timeout. Each group leaves the saved state once it is gone, or once
    /// it is shown not to be ours (never signalled).
    async fn stop_processes(
        &self,
        tracked: &mut Tracked<'_>,
        stage: &str,
    ) -> coder_core::Result<()> {
        let ctx = tracked.ctx;
        let log = |level, text: String| ctx.log(ProvisionLog::new(level, stage, text));
        for p in tracked.state.processes.clone() {
            let skip = match group::ownership(&p, &self.children) {
                Ownership::Running => None,
                Ownership::Gone => Some((LogLevel::Info, "is not running")),
                Ownership::Recycled => Some((
                    LogLevel::Warn,
                    "exited earlier and its id now belongs to another process; not signalling it",
                )),
                Ownership::Unproven => Some((
                    LogLevel::Warn,
                    "cannot be proven to be the one this server started; not signalling it",
                )),
            };
            if let Some((level, why)) = skip {
                log(level, format!("Agent {}: process {} {why}", p.agent, p.pid)).await;
                tracked.stopped(p.pid).await?;
                continue;
            }
            log(
                LogLevel::Info,
                format!(
                    "Agent {}: sending SIGTERM to process group {}",
                    p.agent, p.pid
                ),
            )
            .await;
            group::signal(&p, Signal::SIGTERM);
            let deadline = tokio::time::Instant::now() + self.stop_timeout;
            while self.is_running(&p) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if self.is_running(&p) {
                log(
                    LogLevel::Warn,
                    format!(
                        "Agent {}: process {} still running after {}s; sending SIGKILL",
                        p.agent,
                        p.pid,
                        self.stop_timeout.as_secs_f64()
                    ),
                )
                .await;
                group::signal(&p, Signal::SIGKILL);
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                while self.is_running(&p) && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            if self.is_running(&p) {
                return Err(err(format!(
                    "agent {}: process group {} survived SIGKILL",
                    p.agent, p.pid
                )));
            }
            log(
                LogLevel::Info,
                format!("Agent {}: process {} stopped", p.agent, p.pid),
            )
            .await;
            tracked.stopped(p.pid).await?;
        }
        Ok(())
    }

    /// Starts each agent's command as a group leader, saving each one in the state as soon as
    /// it runs. On failure or cancellation the ones started so far are stopped again.
    async fn start(
        &self,
        manifest: &Manifest,
        req: &BuildRequest,
        tracked: &mut Tracked<'_>,
    ) -> coder_core::Result<()> {
        let ctx = tracked.ctx;
        let dir = self.workspace_dir(req.metadata.workspace_id);
        let home = dir.join("home");
        ctx.log(ProvisionLog::new(
            LogLevel::Info,
            STAGE_SETUP,
            format!("Creating workspace home {}", home.display()),
        ))
        .await;
        crate::private_fs::create_dir(&home)
            .map_err(|e| err(format!("creating {}: {e}", home.display())))?;
        let template_dir = dir.join("template");
        archive::unpack(&req.archive, template_dir.clone(), self.limits)
            .await
            .map_err(|e| err(format!("unpacking the template: {e}")))?;
        let params: BTreeMap<String, String> = req
            .parameters
            .iter()
            .map(|p| (env_name(&p.name), p.value.clone()))
            .collect();
        for agent in &manifest.agents {
            if ctx.is_cancelled() {
                self.stop_processes(tracked, STAGE_START).await?;
                return Err(coder_core::Error::Cancelled);
            }
            if agent.command.trim().is_empty() {
                ctx.log(ProvisionLog::new(
                    LogLevel::Info,
                    STAGE_START,
                    format!("Agent {}: no command to start", agent.name),
                ))
                .await;
                continue;
            }
            if let Err(e) = self
                .start_agent(agent, req, &dir, &template_dir, &params, tracked)
                .await
            {
                self.stop_processes(tracked, STAGE_START).await?;
                return Err(e);
            }
        }
        Ok(())
    }

    async fn start_agent(
        &self,
        agent: &manifest::AgentDecl,
        req: &BuildRequest,
        dir: &std::path::Path,
        template_dir: &std::path::Path,
        params: &BTreeMap<String, String>,
        tracked: &mut Tracked<'_>,
    ) -> coder_core::Result<()> {
        let ctx = tracked.ctx;
        let home = dir.join("home");
        let cwd = home.join(&agent.directory);
        tokio::fs::create_dir_all(&cwd)
            .await
            .map_err(|e| err(format!("creating {}: {e}", cwd.display())))?;
        let log_path = dir.join(format!("{}.log", agent.name));
        let log = crate::private_fs::open_append(&log_path)
            .map_err(|e| err(format!("opening {}: {e}", log_path.display())))?;
        let log2 = log.try_clone().map_err(|e| err(e.to_string()))?;
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(&agent.command)
            .current_dir(&cwd)
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0)
            .kill_on_drop(false)
            .envs(&agent.env)
            .envs(params)
            .env("HOME", &home)
            .env("CODER_AGENT_TOKEN", req.agent_token(&agent.name))
            .env(
                "CODER_AGENT_URL",
                format!("{}/", req.metadata.access_url.trim_end_matches('/')),
            )
            .env("CODER_AGENT_NAME", &agent.name)
            .env("CODER_WORKSPACE_ID", req.metadata.workspace_id.to_string())
            .env("CODER_WORKSPACE_NAME", &req.metadata.workspace_name)
            .env("CODER_WORKSPACE_OWNER", &req.metadata.owner_name)
            .env("CODER_TEMPLATE_DIR", template_dir);
        ctx.log(ProvisionLog::new(
            LogLevel::Info,
            STAGE_START,
            format!(
                "Agent {}: starting `{}` in {}",
                agent.name,
                agent.command,
                cwd.display()
            ),
        ))
        .await;
        let mut child = cmd
            .spawn()
            .map_err(|e| err(format!("agent {}: starting sh: {e}", agent.name)))?;
        let pid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| err("the process exited at once"))?;
        self.children.started(pid);
        // Saved before anything else can fail: from here on the next build can reach it.
        tracked.started(group::entry(&agent.name, pid)).await?;
        // A command that fails at once (typo, missing binary) fails the build.
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(Some(status)) = child.try_wait() {
            self.children.reaped(pid);
            let tail = tokio::fs::read_to_string(&log_path)
                .await
                .unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            for line in tail.iter().rev() {
                ctx.log(ProvisionLog::new(
                    LogLevel::Error,
                    STAGE_START,
                    format!("{}: {line}", agent.name),
                ))
                .await;
            }
            return Err(err(format!(
                "agent {}: the command exited at once with {status}",
                agent.name
            )));
        }
        let children = self.children.clone();
        tokio::spawn(async move {
            let _ = child.wait().await;
            children.reaped(pid);
        });
        ctx.log(ProvisionLog::new(
            LogLevel::Info,
            STAGE_START,
            format!(
                "Agent {}: started process {pid} (output in {})",
                agent.name,
                log_path.display()
            ),
        ))
        .await;
        Ok(())
    }
}

#[async_trait]
impl Provisioner for ProcessProvisioner {
    fn provisioner_type(&self) -> ProvisionerType {
        ProvisionerType::Process
    }

    async fn parse(
        &self,
        archive: &Archive,
        ctx: &dyn ProvisionContext,
    ) -> coder_core::Result<TemplateSchema> {
        ctx.log(ProvisionLog::new(
            LogLevel::Info,
            "Parsing template",
            format!("Reading {MANIFEST}"),
        ))
        .await;
        let (manifest, readme) = archive::read(archive, self.limits).await?;
        ctx.log(ProvisionLog::new(
            LogLevel::Info,
            "Parsing template",
            format!(
                "Found {} parameter(s) and {} agent(s)",
                manifest.parameters.len(),
                manifest.agents.len()
            ),
        ))
        .await;
        Ok(TemplateSchema {
            parameters: manifest.parameters(),
            variables: Vec::new(),
            readme,
        })
    }

    async fn plan(
        &self,
        req: &BuildRequest,
        _ctx: &dyn ProvisionContext,
    ) -> coder_core::Result<Plan> {
        let (manifest, _) = archive::read(&req.archive, self.limits).await?;
        Ok(Plan {
            resources: self.resources(&manifest, req),
        })
    }

    async fn apply(
        &self,
        req: &BuildRequest,
        ctx: &dyn ProvisionContext,
    ) -> coder_core::Result<Applied> {
        let (manifest, _) = archive::read(&req.archive, self.limits).await?;
        let previous: ProcessState = if req.previous_state.is_empty() {
            ProcessState::default()
        } else {
            serde_json::from_slice(&req.previous_state)
                .map_err(|e| err(format!("reading the previous build's state: {e}")))?
        };
        let mut tracked = Tracked {
            state: previous,
            ctx,
        };
        match &req.transition {
            WorkspaceTransition::Start => {
                // Restarting a running workspace replaces its processes.
                self.stop_processes(&mut tracked, STAGE_START).await?;
                self.start(&manifest, req, &mut tracked).await?;
            }
            WorkspaceTransition::Stop => {
                self.stop_processes(&mut tracked, STAGE_STOP).await?;
            }
            WorkspaceTransition::Delete => {
                self.stop_processes(&mut tracked, STAGE_DELETE).await?;
                let dir = self.workspace_dir(req.metadata.workspace_id);
                ctx.log(ProvisionLog::new(
                    LogLevel::Info,
                    STAGE_DELETE,
                    format!("Removing {}", dir.display()),
                ))
                .await;
                match tokio::fs::remove_dir_all(&dir).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(err(format!("removing {}: {e}", dir.display()))),
                }
            }
            other => return Err(err(format!("unknown transition {other}"))),
        }
        let state = tracked.state;
        let state_bytes = serde_json::to_vec(&state).map_err(|e| err(e.to_string()))?;
        Ok(Applied {
            state: state_bytes,
            resources: self.resources(&manifest, req),
        })
    }
}
