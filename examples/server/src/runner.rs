//! The job runner inside the server: acquires pending jobs atomically, runs them through the
//! `Provisioner` trait, persists and fans out logs, honours cancellation, and moves job
//! status per `coder_core::build::next_job_status`. At start-up it fails jobs a dead process
//! left running, with a log line saying so.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use coder_core::build::JobEvent;
use coder_core::model::{
    Healthcheck, LogLevel, LogSource, ProvisionerJobStatus, ProvisionerJobType, Timestamp,
    WorkspaceAgent, WorkspaceAgentLifecycle, WorkspaceAgentLogSource, WorkspaceAgentScript,
    WorkspaceAgentStartupScriptBehavior, WorkspaceAgentStatus, WorkspaceApp, WorkspaceAppHealth,
    WorkspaceAppOpenIn, WorkspaceAppSharingLevel, WorkspaceResource, WorkspaceTransition,
};
use coder_core::provision::{
    BuildRequest, ProvisionContext, ProvisionLog, Provisioner, ResourceSpec, WorkspaceMetadata,
};
use tokio::sync::{Semaphore, watch};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::pubsub::Event;
use crate::state::AppState;
use crate::store::JobRow;

/// The log line written to jobs found running at start-up.
pub const ORPHANED_LOG: &str = "The server running this job stopped before the job finished; marking it failed. Start a new build to retry.";

/// Fails the jobs a previous (dead) server process left running or canceling.
pub async fn recover_orphaned_jobs(state: &AppState) -> Result<usize> {
    let orphans = state.store.orphaned_jobs().await?;
    let now = Utc::now();
    for job in &orphans {
        state
            .store
            .append_job_log(
                job.id,
                LogSource::ProvisionerDaemon,
                LogLevel::Error,
                "Cleaning up",
                ORPHANED_LOG,
                now,
            )
            .await?;
        state
            .store
            .job_event(
                job.id,
                JobEvent::Abandoned,
                "the server stopped while the job was running",
                now,
            )
            .await?;
        publish_job(state, job).await;
        tracing::warn!(job = %job.id, "failed a job left running by a previous server process");
    }
    Ok(orphans.len())
}

async fn publish_job(state: &AppState, job: &JobRow) {
    state.events.publish(Event::Job(job.id));
    if let Some(build_id) = job.input.workspace_build_id
        && let Ok(Some(b)) = state.store.build(build_id).await
    {
        state.events.publish(Event::Workspace(b.workspace_id));
    }
}

/// A running job runner; [`Runner::shutdown`] stops it.
pub struct Runner {
    stop: watch::Sender<bool>,
    slots: Arc<Semaphore>,
    concurrency: usize,
    task: tokio::task::JoinHandle<()>,
}

impl Runner {
    /// Starts the runner loop.
    pub fn start(state: AppState) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let concurrency = state.config.job_concurrency.max(1);
        let disabled = state.config.job_concurrency == 0;
        let slots = Arc::new(Semaphore::new(concurrency));
        let worker_id = Uuid::new_v4();
        let loop_slots = Arc::clone(&slots);
        let task = tokio::spawn(async move {
            loop {
                if *stopped.borrow() {
                    break;
                }
                if disabled {
                    let _ = stopped.changed().await;
                    continue;
                }
                let Ok(permit) = Arc::clone(&loop_slots).acquire_owned().await else {
                    break;
                };
                // Register interest before looking, so a job queued in between wakes us.
                let queued = state.jobs_queued.notified();
                match state.store.acquire_job(worker_id, Utc::now()).await {
                    Ok(Some(job)) => {
                        let state = state.clone();
                        tokio::spawn(async move {
                            run_job(&state, job).await;
                            drop(permit);
                        });
                    }
                    Ok(None) => {
                        drop(permit);
                        tokio::select! {
                            () = queued => {}
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = stopped.changed() => {}
                        }
                    }
                    Err(e) => {
                        drop(permit);
                        tracing::error!(error = %e, "acquiring a job");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Self {
            stop,
            slots,
            concurrency,
            task,
        }
    }

    /// Stops acquiring jobs and waits up to `grace` for running ones to finish. Jobs still
    /// running after that are failed by the next start's recovery.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = u32::try_from(self.concurrency).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(grace, self.slots.acquire_many(all)).await;
        self.task.abort();
    }
}

/// The `ProvisionContext` of one job: logs go to the store and the event bus.
struct JobContext {
    state: AppState,
    job_id: Uuid,
    cancel: watch::Receiver<bool>,
}

#[async_trait]
impl ProvisionContext for JobContext {
    async fn log(&self, line: ProvisionLog) {
        self.write(
            LogSource::Provisioner,
            line.level,
            &line.stage,
            &line.output,
        )
        .await;
    }

    fn is_cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    async fn cancelled(&self) {
        let mut rx = self.cancel.clone();
        let _ = rx.wait_for(|c| *c).await;
    }
}

impl JobContext {
    async fn write(&self, source: LogSource, level: LogLevel, stage: &str, output: &str) {
        match self
            .state
            .store
            .append_job_log(self.job_id, source, level, stage, output, Utc::now())
            .await
        {
            Ok(_) => self.state.events.publish(Event::Job(self.job_id)),
            Err(e) => tracing::error!(error = %e, job = %self.job_id, "writing a job log"),
        }
    }
}

/// Watches the job's status and flips `cancel` once it is `canceling`.
fn watch_cancel(
    state: &AppState,
    job_id: Uuid,
) -> (watch::Receiver<bool>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(false);
    let state = state.clone();
    let mut events = state.events.subscribe();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                ev = events.recv() => {
                    if !matches!(ev, Ok(Event::Job(id)) if id == job_id) && !matches!(ev, Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) {
                        continue;
                    }
                }
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            if let Ok(Some(job)) = state.store.job(job_id).await
                && job.status == ProvisionerJobStatus::Canceling
            {
                let _ = tx.send(true);
                break;
            }
        }
    });
    (rx, task)
}

async fn run_job(state: &AppState, job: JobRow) {
    let (cancel, watcher) = watch_cancel(state, job.id);
    let ctx = JobContext {
        state: state.clone(),
        job_id: job.id,
        cancel,
    };
    publish_job(state, &job).await;
    ctx.write(
        LogSource::ProvisionerDaemon,
        LogLevel::Info,
        "Setting up",
        "Job acquired by coder-server",
    )
    .await;
    let result = match job.job_type {
        ProvisionerJobType::TemplateVersionImport => run_import(state, &job, &ctx).await,
        ProvisionerJobType::WorkspaceBuild => run_build(state, &job, &ctx).await,
        ref other => Err(Error::Internal(format!("unsupported job type {other}"))),
    };
    watcher.abort();
    let now = Utc::now();
    let outcome = match result {
        Ok(()) => {
            ctx.write(
                LogSource::ProvisionerDaemon,
                LogLevel::Info,
                "Cleaning up",
                "Job succeeded",
            )
            .await;
            state
                .store
                .job_event(job.id, JobEvent::Succeeded, "", now)
                .await
        }
        Err(Error::Cancelled) => {
            ctx.write(
                LogSource::ProvisionerDaemon,
                LogLevel::Warn,
                "Cleaning up",
                "Job canceled",
            )
            .await;
            state
                .store
                .job_event(job.id, JobEvent::CancelFinished, "", now)
                .await
        }
        Err(e) => {
            let message = match &e {
                Error::BadRequest { message, .. } => message.clone(),
                other => other.to_string(),
            };
            ctx.write(
                LogSource::ProvisionerDaemon,
                LogLevel::Error,
                "Cleaning up",
                &format!("Job failed: {message}"),
            )
            .await;
            state
                .store
                .job_event(job.id, JobEvent::Failed, &message, now)
                .await
        }
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, job = %job.id, "recording the job outcome");
    }
    publish_job(state, &job).await;
}

fn provisioner_error(e: coder_core::Error) -> Error {
    match e {
        coder_core::Error::Cancelled => Error::Cancelled,
        coder_core::Error::Provisioner(m) => Error::bad_request(m),
        other => Error::bad_request(other.to_string()),
    }
}

async fn run_import(state: &AppState, job: &JobRow, ctx: &JobContext) -> Result<()> {
    let file = state
        .store
        .file(job.file_id)
        .await?
        .ok_or(Error::NotFound)?;
    let version = state
        .store
        .version_by_job(job.id)
        .await?
        .ok_or(Error::NotFound)?;
    let provisioner = state.process.as_ref();
    let schema = provisioner
        .parse(&file.data, ctx)
        .await
        .map_err(provisioner_error)?;
    if ctx.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let plan = provisioner
        .plan(
            &BuildRequest {
                archive: file.data.clone(),
                transition: WorkspaceTransition::Start,
                ..Default::default()
            },
            ctx,
        )
        .await
        .map_err(provisioner_error)?;
    let now = Utc::now();
    let resources = to_resources(
        &plan.resources,
        job.id,
        &WorkspaceTransition::Start,
        &BTreeMap::new(),
        now,
    );
    state
        .store
        .set_version_schema(version.id, &schema.readme, &schema.parameters, now)
        .await?;
    state.store.set_job_resources(job.id, &resources).await?;
    Ok(())
}

async fn run_build(state: &AppState, job: &JobRow, ctx: &JobContext) -> Result<()> {
    let build = state
        .store
        .build_by_job(job.id)
        .await?
        .ok_or(Error::NotFound)?;
    let ws = state
        .store
        .workspace(build.workspace_id)
        .await?
        .ok_or(Error::NotFound)?;
    let owner = state
        .store
        .user_by_id(ws.owner_id)
        .await?
        .ok_or(Error::NotFound)?;
    let version = state
        .store
        .version(build.template_version_id)
        .await?
        .ok_or(Error::NotFound)?;
    let template = state.store.template(ws.template_id).await?;
    let file = state
        .store
        .file(job.file_id)
        .await?
        .ok_or(Error::NotFound)?;
    // The state of the newest earlier build that succeeded.
    let mut previous_state = Vec::new();
    for b in state.store.list_builds(ws.id).await? {
        if b.build_number >= build.build_number {
            continue;
        }
        if let Some(j) = state.store.job(b.job_id).await?
            && j.status == ProvisionerJobStatus::Succeeded
        {
            previous_state = b.provisioner_state;
            break;
        }
    }
    let mut req = BuildRequest {
        archive: file.data.clone(),
        transition: build.transition.clone(),
        metadata: WorkspaceMetadata {
            access_url: state.access_url.clone(),
            workspace_id: ws.id,
            workspace_name: ws.name.clone(),
            owner_id: owner.id,
            owner_name: owner.username.clone(),
            owner_email: owner.email.clone(),
            template_id: ws.template_id,
            template_name: template
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            template_version_name: version.name.clone(),
            build_number: build.build_number,
        },
        parameters: build.parameters.clone(),
        variables: BTreeMap::new(),
        previous_state,
        agent_tokens: BTreeMap::new(),
    };
    let provisioner = state.process.as_ref();
    // Mint one token per agent before applying, so agents can authenticate at once.
    let mut agent_ids = BTreeMap::new();
    if build.transition == WorkspaceTransition::Start {
        let plan = provisioner
            .plan(&req, ctx)
            .await
            .map_err(provisioner_error)?;
        let now = Utc::now();
        for agent in plan.resources.iter().flat_map(|r| &r.agents) {
            let agent_id = Uuid::new_v4();
            let token = Uuid::new_v4().to_string();
            state
                .store
                .insert_agent_token(
                    agent_id,
                    &crate::auth::hash_secret(&token),
                    ws.id,
                    build.id,
                    &agent.name,
                    now,
                )
                .await?;
            req.agent_tokens.insert(agent.name.clone(), token);
            agent_ids.insert(agent.name.clone(), agent_id);
        }
    }
    if ctx.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let applied = provisioner
        .apply(&req, ctx)
        .await
        .map_err(provisioner_error)?;
    let now = Utc::now();
    let resources = to_resources(
        &applied.resources,
        job.id,
        &build.transition,
        &agent_ids,
        now,
    );
    let deadline = match (&build.transition, &template) {
        (WorkspaceTransition::Start, Some(t)) => {
            crate::schedule::initial_deadline(ws.ttl_ms, &t.settings, now)
        }
        _ => None,
    };
    state
        .store
        .finish_build(build.id, &applied.state, deadline, now)
        .await?;
    state.store.set_job_resources(job.id, &resources).await?;
    if build.transition == WorkspaceTransition::Delete {
        state.store.mark_workspace_deleted(ws.id, now).await?;
    }
    Ok(())
}

/// Provisioner resources -> stored `WorkspaceResource`s (with agents, apps, scripts).
pub fn to_resources(
    specs: &[ResourceSpec],
    job_id: Uuid,
    transition: &WorkspaceTransition,
    agent_ids: &BTreeMap<String, Uuid>,
    now: Timestamp,
) -> Vec<WorkspaceResource> {
    specs
        .iter()
        .map(|r| {
            let resource_id = Uuid::new_v4();
            WorkspaceResource {
                id: resource_id,
                created_at: now,
                job_id,
                workspace_transition: transition.clone(),
                type_: r.type_.clone(),
                name: r.name.clone(),
                hide: r.hide,
                icon: r.icon.clone(),
                metadata: r.metadata.clone(),
                daily_cost: r.daily_cost,
                agents: r
                    .agents
                    .iter()
                    .map(|a| {
                        let agent_id = agent_ids.get(&a.name).copied().unwrap_or_else(Uuid::new_v4);
                        let scripts: Vec<(WorkspaceAgentLogSource, WorkspaceAgentScript)> = a
                            .scripts
                            .iter()
                            .map(|s| {
                                let source = WorkspaceAgentLogSource {
                                    id: Uuid::new_v4(),
                                    workspace_agent_id: agent_id,
                                    created_at: now,
                                    display_name: s.display_name.clone(),
                                    icon: "/emojis/25b6.png".to_owned(),
                                };
                                let script = WorkspaceAgentScript {
                                    id: Uuid::new_v4(),
                                    log_source_id: source.id,
                                    log_path: String::new(),
                                    script: s.script.clone(),
                                    cron: s.cron.clone(),
                                    run_on_start: s.run_on_start,
                                    run_on_stop: s.run_on_stop,
                                    start_blocks_login: s.start_blocks_login,
                                    timeout: s.timeout_seconds,
                                    display_name: s.display_name.clone(),
                                };
                                (source, script)
                            })
                            .collect();
                        let blocking = scripts.iter().any(|(_, s)| s.start_blocks_login);
                        WorkspaceAgent {
                            id: agent_id,
                            parent_id: None,
                            name: a.name.clone(),
                            created_at: now,
                            updated_at: now,
                            status: WorkspaceAgentStatus::Connecting,
                            lifecycle_state: WorkspaceAgentLifecycle::Created,
                            resource_id,
                            architecture: a.architecture.clone(),
                            operating_system: a.operating_system.clone(),
                            environment_variables: a.env.clone(),
                            directory: a.directory.clone(),
                            expanded_directory: a.directory.clone(),
                            apps: a
                                .apps
                                .iter()
                                .map(|app| WorkspaceApp {
                                    id: Uuid::new_v4(),
                                    slug: app.slug.clone(),
                                    display_name: app.display_name.clone(),
                                    url: app.url.clone(),
                                    command: app.command.clone(),
                                    icon: app.icon.clone(),
                                    subdomain: app.subdomain,
                                    sharing_level: app
                                        .sharing_level
                                        .clone()
                                        .unwrap_or(WorkspaceAppSharingLevel::Owner),
                                    healthcheck: app
                                        .healthcheck
                                        .clone()
                                        .unwrap_or(Healthcheck::default()),
                                    health: if app.healthcheck.is_some() {
                                        WorkspaceAppHealth::Initializing
                                    } else {
                                        WorkspaceAppHealth::Disabled
                                    },
                                    external: app.external,
                                    hidden: app.hidden,
                                    open_in: app
                                        .open_in
                                        .clone()
                                        .unwrap_or(WorkspaceAppOpenIn::SlimWindow),
                                    ..Default::default()
                                })
                                .collect(),
                            log_sources: scripts.iter().map(|(s, _)| s.clone()).collect(),
                            scripts: scripts.into_iter().map(|(_, s)| s).collect(),
                            connection_timeout_seconds: a.connection_timeout_seconds,
                            troubleshooting_url: a.troubleshooting_url.clone(),
                            startup_script_behavior: a.startup_script_behavior.clone().unwrap_or(
                                if blocking {
                                    WorkspaceAgentStartupScriptBehavior::Blocking
                                } else {
                                    WorkspaceAgentStartupScriptBehavior::NonBlocking
                                },
                            ),
                            display_apps: a.display_apps.clone(),
                            ..Default::default()
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}
