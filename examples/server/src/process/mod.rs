//! The local **process provisioner** (`"provisioner": "process"`): a workspace is a home
//! directory under the cache dir plus one process per agent that declares a `command`.
//!
//! - start: create the home, unpack the template next to it, start each agent's command in
//!   its own process group with `CODER_AGENT_TOKEN`/`CODER_AGENT_URL` in the environment;
//! - stop: SIGTERM each process group, SIGKILL after the configured timeout;
//! - delete: stop, then remove the workspace directory.
//!
//! The provisioner state (returned by `apply`, passed back on the next build) lists the
//! process ids, so a restarted server can still stop what an earlier one started.

pub mod manifest;

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use coder_core::model::{LogLevel, ProvisionerType, WorkspaceTransition};
use coder_core::provision::{
    AgentSpec, AppSpec, Applied, BuildRequest, Plan, ProvisionContext, ProvisionLog, Provisioner,
    ResourceSpec, ScriptSpec, TemplateSchema,
};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

pub use manifest::{MANIFEST, Manifest};

/// What the provisioner remembers between builds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessState {
    /// Processes started by the last start build.
    pub processes: Vec<ProcessEntry>,
}

/// One started process (its pid is also its process-group id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessEntry {
    /// The agent it belongs to.
    pub agent: String,
    /// Process id.
    pub pid: i32,
}

/// The local process provisioner.
#[derive(Debug)]
pub struct ProcessProvisioner {
    root: PathBuf,
    stop_timeout: Duration,
    /// Pids of our children that have exited (reaped by their waiter task).
    exited: Arc<Mutex<HashSet<i32>>>,
}

fn err(msg: impl Into<String>) -> coder_core::Error {
    coder_core::Error::Provisioner(msg.into())
}

const STAGE_SETUP: &str = "Setting up";
const STAGE_START: &str = "Starting workspace";
const STAGE_STOP: &str = "Stopping workspace";
const STAGE_DELETE: &str = "Destroying workspace";

/// Reads `coder-template.toml` and `README.md` from a tar archive (at its root or under `./`).
pub fn read_archive(archive: &[u8]) -> Result<(Manifest, String), coder_core::Error> {
    let mut manifest = None;
    let mut readme = String::new();
    let mut tar = tar::Archive::new(archive);
    let entries = tar
        .entries()
        .map_err(|e| err(format!("the upload is not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| err(format!("reading the tar archive: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| err(format!("reading the tar archive: {e}")))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_owned();
        if path == MANIFEST || path == "README.md" {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| err(format!("{path} is not UTF-8 text: {e}")))?;
            if path == MANIFEST {
                manifest = Some(text);
            } else {
                readme = text;
            }
        }
    }
    let text = manifest.ok_or_else(|| {
        err(format!(
            "the template has no {MANIFEST} at its root; see examples/templates/local for the format"
        ))
    })?;
    Ok((Manifest::parse(&text).map_err(err)?, readme))
}

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
    /// A provisioner keeping workspaces under `root` (`<cache dir>/workspaces`).
    pub fn new(root: PathBuf, stop_timeout: Duration) -> Self {
        Self {
            root,
            stop_timeout,
            exited: Arc::new(Mutex::new(HashSet::new())),
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

    fn is_alive(&self, pid: i32) -> bool {
        if self
            .exited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&pid)
        {
            return false;
        }
        nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok()
    }

    /// Stops the processes in `state`: SIGTERM to each group, SIGKILL after the timeout.
    async fn stop_processes(&self, state: &ProcessState, ctx: &dyn ProvisionContext, stage: &str) {
        for p in &state.processes {
            if !self.is_alive(p.pid) {
                ctx.log(ProvisionLog::new(
                    LogLevel::Info,
                    stage,
                    format!("Agent {}: process {} is not running", p.agent, p.pid),
                ))
                .await;
                continue;
            }
            ctx.log(ProvisionLog::new(
                LogLevel::Info,
                stage,
                format!(
                    "Agent {}: sending SIGTERM to process group {}",
                    p.agent, p.pid
                ),
            ))
            .await;
            let _ = killpg(Pid::from_raw(p.pid), Signal::SIGTERM);
            let deadline = tokio::time::Instant::now() + self.stop_timeout;
            while self.is_alive(p.pid) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if self.is_alive(p.pid) {
                ctx.log(ProvisionLog::new(
                    LogLevel::Warn,
                    stage,
                    format!(
                        "Agent {}: process {} still running after {}s; sending SIGKILL",
                        p.agent,
                        p.pid,
                        self.stop_timeout.as_secs_f64()
                    ),
                ))
                .await;
                let _ = killpg(Pid::from_raw(p.pid), Signal::SIGKILL);
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                while self.is_alive(p.pid) && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            ctx.log(ProvisionLog::new(
                LogLevel::Info,
                stage,
                format!("Agent {}: process {} stopped", p.agent, p.pid),
            ))
            .await;
        }
    }

    async fn start(
        &self,
        manifest: &Manifest,
        req: &BuildRequest,
        ctx: &dyn ProvisionContext,
    ) -> coder_core::Result<ProcessState> {
        let dir = self.workspace_dir(req.metadata.workspace_id);
        let home = dir.join("home");
        ctx.log(ProvisionLog::new(
            LogLevel::Info,
            STAGE_SETUP,
            format!("Creating workspace home {}", home.display()),
        ))
        .await;
        tokio::fs::create_dir_all(&home)
            .await
            .map_err(|e| err(format!("creating {}: {e}", home.display())))?;
        let template_dir = dir.join("template");
        let _ = tokio::fs::remove_dir_all(&template_dir).await;
        unpack(&req.archive, &template_dir)
            .map_err(|e| err(format!("unpacking the template: {e}")))?;
        let params: BTreeMap<String, String> = req
            .parameters
            .iter()
            .map(|p| (env_name(&p.name), p.value.clone()))
            .collect();
        let mut state = ProcessState::default();
        for agent in &manifest.agents {
            if ctx.is_cancelled() {
                self.stop_processes(&state, ctx, STAGE_START).await;
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
            let cwd = home.join(&agent.directory);
            tokio::fs::create_dir_all(&cwd)
                .await
                .map_err(|e| err(format!("creating {}: {e}", cwd.display())))?;
            let log_path = dir.join(format!("{}.log", agent.name));
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
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
                .envs(&params)
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
                .env("CODER_TEMPLATE_DIR", &template_dir);
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
            // A command that fails at once (typo, missing binary) fails the build.
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Ok(Some(status)) = child.try_wait() {
                self.stop_processes(&state, ctx, STAGE_START).await;
                let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
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
            let exited = Arc::clone(&self.exited);
            tokio::spawn(async move {
                let _ = child.wait().await;
                exited.lock().unwrap_or_else(|e| e.into_inner()).insert(pid);
            });
            self.exited
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&pid);
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
            state.processes.push(ProcessEntry {
                agent: agent.name.clone(),
                pid,
            });
        }
        Ok(state)
    }
}

fn unpack(archive: &[u8], to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    tar::Archive::new(archive).unpack(to)
}

#[async_trait]
impl Provisioner for ProcessProvisioner {
    fn provisioner_type(&self) -> ProvisionerType {
        ProvisionerType::Process
    }

    async fn parse(
        &self,
        archive: &[u8],
        ctx: &dyn ProvisionContext,
    ) -> coder_core::Result<TemplateSchema> {
        ctx.log(ProvisionLog::new(
            LogLevel::Info,
            "Parsing template",
            format!("Reading {MANIFEST}"),
        ))
        .await;
        let (manifest, readme) = read_archive(archive)?;
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
        let (manifest, _) = read_archive(&req.archive)?;
        Ok(Plan {
            resources: self.resources(&manifest, req),
        })
    }

    async fn apply(
        &self,
        req: &BuildRequest,
        ctx: &dyn ProvisionContext,
    ) -> coder_core::Result<Applied> {
        let (manifest, _) = read_archive(&req.archive)?;
        let previous: ProcessState = if req.previous_state.is_empty() {
            ProcessState::default()
        } else {
            serde_json::from_slice(&req.previous_state).unwrap_or_default()
        };
        let state = match &req.transition {
            WorkspaceTransition::Start => {
                // Restarting a running workspace replaces its processes.
                self.stop_processes(&previous, ctx, STAGE_START).await;
                self.start(&manifest, req, ctx).await?
            }
            WorkspaceTransition::Stop => {
                self.stop_processes(&previous, ctx, STAGE_STOP).await;
                ProcessState::default()
            }
            WorkspaceTransition::Delete => {
                self.stop_processes(&previous, ctx, STAGE_DELETE).await;
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
                ProcessState::default()
            }
            other => return Err(err(format!("unknown transition {other}"))),
        };
        let state_bytes = serde_json::to_vec(&state).map_err(|e| err(e.to_string()))?;
        Ok(Applied {
            state: state_bytes,
            resources: self.resources(&manifest, req),
        })
    }
}
