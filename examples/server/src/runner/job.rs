//! Running one job: the provisioner registered for its type parses (imports) or applies
//! (builds) while the job is held under its lease; logs are stored and announced as they come;
//! a build saves its provisioner state as the provisioner reports progress, starting from the
//! state the previous build left, so nothing it creates is ever unreachable. The outcome and
//! everything the job produced commit in one transaction, then the change is published.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use coder_core::build::JobEvent;
use coder_core::model::{LogLevel, LogSource, ProvisionerJobType, WorkspaceTransition};
use coder_core::provision::{
    Archive, BuildRequest, ProvisionContext, ProvisionLog, Provisioner, WorkspaceMetadata,
};
use tokio::sync::watch;
use uuid::Uuid;

use super::lease::{self, Stop};
use super::resources::to_resources;
use crate::error::{Error, Result};
use crate::pubsub::Event;
use crate::state::AppState;
use crate::store::{AgentToken, CompletedBuild, CompletedImport, HeldJob, JobRow};

/// Announces a job's change (and its workspace's, for a build) to watchers.
pub(super) async fn publish(state: &AppState, job: &JobRow) {
    state.events.publish(Event::Job(job.id));
    if let Some(build_id) = job.input.workspace_build_id
        && let Ok(Some(b)) = state.store.build(build_id).await
    {
        state.events.publish(Event::Workspace(b.workspace_id));
    }
}

/// The `ProvisionContext` of one job: logs go to the store and the event bus, state to the
/// build's row.
struct JobContext {
    state: AppState,
    job_id: Uuid,
    build_id: Option<Uuid>,
    stop: watch::Receiver<Option<Stop>>,
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
        self.stop.borrow().is_some()
    }

    async fn cancelled(&self) {
        let mut rx = self.stop.clone();
        let _ = rx.wait_for(Option::is_some).await;
    }

    async fn save_state(&self, provisioner_state: &[u8]) -> coder_core::Result<()> {
        let Some(build_id) = self.build_id else {
            return Err(coder_core::Error::Provisioner(
                "a template import has no workspace state to save".to_owned(),
            ));
        };
        self.state
            .store
            .save_build_state(build_id, provisioner_state, Utc::now())
            .await
            .map_err(|e| coder_core::Error::Provisioner(format!("saving the build's state: {e}")))
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

    fn check_cancelled(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// What a job that succeeded produced, recorded with its outcome.
enum Done {
    Import(CompletedImport),
    Build(CompletedBuild),
}

/// Runs `job`, acquired by `worker_id`, to its end.
pub(super) async fn run(state: &AppState, job: JobRow, worker_id: Uuid) {
    let holder = lease::hold(state, job.id, worker_id);
    let held = HeldJob {
        id: job.id,
        worker_id,
    };
    let ctx = JobContext {
        state: state.clone(),
        job_id: job.id,
        build_id: job.input.workspace_build_id,
        stop: holder.stop.clone(),
    };
    publish(state, &job).await;
    ctx.write(
        LogSource::ProvisionerDaemon,
        LogLevel::Info,
        "Setting up",
        "Job acquired by coder-server",
    )
    .await;
    let result = match state.provisioners.get(&job.provisioner) {
        Err(message) => Err(Error::bad_request(message)),
        Ok(provisioner) => match job.job_type {
            ProvisionerJobType::TemplateVersionImport => {
                run_import(state, &job, provisioner.as_ref(), &ctx).await
            }
            ProvisionerJobType::WorkspaceBuild => {
                run_build(state, &job, provisioner.as_ref(), &ctx).await
            }
            ref other => Err(Error::Internal(format!("unsupported job type {other}"))),
        },
    };
    let now = Utc::now();
    let recorded = match result {
        Ok(Done::Import(done)) => state.store.complete_import(held, &done, now).await,
        Ok(Done::Build(done)) => state.store.complete_build(held, &done, now).await,
        Err(Error::Cancelled) if *holder.stop.borrow() == Some(Stop::Cancel) => {
            let log = (LogLevel::Warn, "Job canceled");
            let event = JobEvent::CancelFinished;
            state.store.end_job(held, event, "", log, now).await
        }
        Err(e) => fail(state, held, &e).await,
    };
    let recorded = match recorded {
        Err(e) if *holder.stop.borrow() != Some(Stop::Lost) => {
            // Recording the outcome failed (the database, or a failpoint in tests): the job
            // fails and keeps the state its build saved, so the next build starts from it.
            let e = Error::Internal(format!("recording the job's outcome: {e}"));
            fail(state, held, &e).await
        }
        other => other,
    };
    drop(holder);
    match recorded {
        Ok(job) => publish(state, &job).await,
        Err(e) => tracing::error!(error = %e, job = %job.id, "recording the job outcome"),
    }
}

async fn fail(state: &AppState, held: HeldJob, e: &Error) -> Result<JobRow> {
    let message = match e {
        Error::BadRequest { message, .. } => message.clone(),
        other => other.to_string(),
    };
    let log = format!("Job failed: {message}");
    let now = Utc::now();
    let event = JobEvent::Failed;
    state
        .store
        .end_job(held, event, &message, (LogLevel::Error, &log), now)
        .await
}

fn provisioner_error(e: coder_core::Error) -> Error {
    match e {
        coder_core::Error::Cancelled => Error::Cancelled,
        coder_core::Error::Provisioner(m) => Error::bad_request(m),
        other => Error::bad_request(other.to_string()),
    }
}

async fn archive(state: &AppState, job: &JobRow) -> Result<Archive> {
    let file = state
        .store
        .file(job.file_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Arc::from(file.data))
}

async fn run_import(
    state: &AppState,
    job: &JobRow,
    provisioner: &dyn Provisioner,
    ctx: &JobContext,
) -> Result<Done> {
    let archive = archive(state, job).await?;
    let version = state
        .store
        .version_by_job(job.id)
        .await?
        .ok_or(Error::NotFound)?;
    let schema = provisioner
        .parse(&archive, ctx)
        .await
        .map_err(provisioner_error)?;
    ctx.check_cancelled()?;
    let plan = provisioner
        .plan(
            &BuildRequest {
                archive,
                transition: WorkspaceTransition::Start,
                ..Default::default()
            },
            ctx,
        )
        .await
        .map_err(provisioner_error)?;
    let resources = to_resources(
        &plan.resources,
        job.id,
        &WorkspaceTransition::Start,
        &BTreeMap::new(),
        Utc::now(),
    );
    Ok(Done::Import(CompletedImport {
        version_id: version.id,
        readme: schema.readme,
        parameters: schema.parameters,
        resources,
    }))
}

async fn run_build(
    state: &AppState,
    job: &JobRow,
    provisioner: &dyn Provisioner,
    ctx: &JobContext,
) -> Result<Done> {
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
    // The build starts from the state the previous one left, saved as its own first, so a
    // crash before the apply reports anything still leaves the workspace reachable.
    let previous_state = state
        .store
        .previous_build_state(ws.id, build.build_number)
        .await?;
    state
        .store
        .save_build_state(build.id, &previous_state, Utc::now())
        .await?;
    let mut req = BuildRequest {
        archive: archive(state, job).await?,
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
    // One token per agent, handed to the apply; stored (hashed) when the build completes.
    let mut agent_ids = BTreeMap::new();
    let mut agent_tokens = Vec::new();
    if build.transition == WorkspaceTransition::Start {
        let plan = provisioner
            .plan(&req, ctx)
            .await
            .map_err(provisioner_error)?;
        for agent in plan.resources.iter().flat_map(|r| &r.agents) {
            let agent_id = Uuid::new_v4();
            let token = Uuid::new_v4().to_string();
            agent_tokens.push(AgentToken {
                agent_id,
                agent_name: agent.name.clone(),
                hashed_token: crate::auth::hash_secret(&token),
            });
            req.agent_tokens.insert(agent.name.clone(), token);
            agent_ids.insert(agent.name.clone(), agent_id);
        }
    }
    ctx.check_cancelled()?;
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
    Ok(Done::Build(CompletedBuild {
        build_id: build.id,
        workspace_id: ws.id,
        state: applied.state,
        deadline,
        resources,
        agent_tokens,
        delete_workspace: build.transition == WorkspaceTransition::Delete,
    }))
}
