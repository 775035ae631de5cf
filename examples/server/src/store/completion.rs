//! Finishing a job: its status and everything it produced (resources, build state, agent
//! tokens, a template version's schema, a deleted workspace) commit in one transaction, and
//! only while the finishing worker still holds the job. A crash before the commit leaves the
//! job running, for lease recovery to fail; nothing is ever half recorded.

use coder_core::build::JobEvent;
use coder_core::model::{
    LogLevel, LogSource, TemplateVersionParameter, Timestamp, WorkspaceResource,
};
use sqlx::types::Json;
use uuid::Uuid;

use super::Store;
use super::db::{Conn, execute};
use super::jobs::{JobRow, append_job_log_in, job_event_in};
use crate::error::{Error, Result};

/// The job being finished and the worker that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldJob {
    /// The job.
    pub id: Uuid,
    /// The runner that acquired it.
    pub worker_id: Uuid,
}

/// What a successful template-version import produced.
#[derive(Debug, Clone, Default)]
pub struct CompletedImport {
    /// The version the import was for.
    pub version_id: Uuid,
    /// The template's README.
    pub readme: String,
    /// Its rich parameters.
    pub parameters: Vec<TemplateVersionParameter>,
    /// What a start would create.
    pub resources: Vec<WorkspaceResource>,
}

/// An agent's token, minted for one build and valid once that build completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentToken {
    /// The agent.
    pub agent_id: Uuid,
    /// The agent's name in the template.
    pub agent_name: String,
    /// SHA-256 of the token (the token itself is never stored).
    pub hashed_token: String,
}

/// What a successful workspace build produced.
#[derive(Debug, Clone, Default)]
pub struct CompletedBuild {
    /// The build.
    pub build_id: Uuid,
    /// Its workspace.
    pub workspace_id: Uuid,
    /// The provisioner state the apply returned.
    pub state: Vec<u8>,
    /// The autostop deadline, for a start.
    pub deadline: Option<Timestamp>,
    /// The workspace's resources after the build.
    pub resources: Vec<WorkspaceResource>,
    /// Tokens of the agents in `resources`.
    pub agent_tokens: Vec<AgentToken>,
    /// A delete build: the workspace is gone once the build commits.
    pub delete_workspace: bool,
}

impl Store {
    /// Marks an import succeeded with what it read from the archive, in one transaction.
    pub async fn complete_import(
        &self,
        job: HeldJob,
        done: &CompletedImport,
        now: Timestamp,
    ) -> Result<JobRow> {
        let mut tx = self.pool.begin().await?;
        let mut c = tx.conn();
        let (readme, parameters) = (&done.readme, &done.parameters);
        super::templates::set_version_schema_in(&mut c, done.version_id, readme, parameters, now)
            .await?;
        fail::fail_point!("complete_import::schema", |_| Err(failpoint()));
        set_job_resources(&mut c, job.id, &done.resources).await?;
        fail::fail_point!("complete_import::resources", |_| Err(failpoint()));
        let row = succeed(&mut c, job, now).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Marks a build succeeded with its state, deadline, resources, agent tokens and (for a
    /// delete) the workspace's deletion, in one transaction.
    pub async fn complete_build(
        &self,
        job: HeldJob,
        done: &CompletedBuild,
        now: Timestamp,
    ) -> Result<JobRow> {
        let mut tx = self.pool.begin().await?;
        let mut c = tx.conn();
        execute!(
            c,
            "UPDATE workspace_builds SET provisioner_state = $1, deadline = $2, updated_at = $3 WHERE id = $4",
            &done.state,
            done.deadline,
            now,
            done.build_id
        )?;
        fail::fail_point!("complete_build::state", |_| Err(failpoint()));
        set_job_resources(&mut c, job.id, &done.resources).await?;
        fail::fail_point!("complete_build::resources", |_| Err(failpoint()));
        for token in &done.agent_tokens {
            execute!(
                c,
                "INSERT INTO workspace_agent_tokens (agent_id, hashed_token, workspace_id, build_id, agent_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                token.agent_id,
                &token.hashed_token,
                done.workspace_id,
                done.build_id,
                &token.agent_name,
                now
            )?;
        }
        fail::fail_point!("complete_build::agent_tokens", |_| Err(failpoint()));
        if done.delete_workspace {
            execute!(
                c,
                "UPDATE workspaces SET deleted = TRUE, updated_at = $1 WHERE id = $2",
                now,
                done.workspace_id
            )?;
        }
        fail::fail_point!("complete_build::workspace", |_| Err(failpoint()));
        let row = succeed(&mut c, job, now).await?;
        fail::fail_point!("complete_build::job", |_| Err(failpoint()));
        tx.commit().await?;
        Ok(row)
    }

    /// Ends a job without success (`Failed` or `CancelFinished`) while `job`'s worker holds
    /// it, with its last log line, in one transaction.
    pub async fn end_job(
        &self,
        job: HeldJob,
        event: JobEvent,
        error: &str,
        (level, log): (LogLevel, &str),
        now: Timestamp,
    ) -> Result<JobRow> {
        let mut tx = self.pool.begin().await?;
        let mut c = tx.conn();
        log_outcome(&mut c, job.id, level, log, now).await?;
        let row = job_event_in(&mut c, job.id, Some(job.worker_id), event, error, now).await?;
        tx.commit().await?;
        Ok(row)
    }
}

/// Writes a job's last log line and marks it succeeded, inside the caller's transaction.
async fn succeed(c: &mut Conn<'_>, job: HeldJob, now: Timestamp) -> Result<JobRow> {
    log_outcome(c, job.id, LogLevel::Info, "Job succeeded", now).await?;
    let event = JobEvent::Succeeded;
    job_event_in(c, job.id, Some(job.worker_id), event, "", now).await
}

async fn log_outcome(
    c: &mut Conn<'_>,
    id: Uuid,
    level: LogLevel,
    output: &str,
    now: Timestamp,
) -> Result<()> {
    let source = LogSource::ProvisionerDaemon;
    append_job_log_in(c, id, source, level, "Cleaning up", output, now).await?;
    Ok(())
}

async fn set_job_resources(
    c: &mut Conn<'_>,
    id: Uuid,
    resources: &[WorkspaceResource],
) -> Result<()> {
    execute!(
        c,
        "UPDATE provisioner_jobs SET resources = $1 WHERE id = $2",
        Json(resources),
        id
    )?;
    Ok(())
}

/// The error an armed failpoint injects (tests only: failpoints compile to nothing otherwise).
#[allow(
    dead_code,
    reason = "armed only where failpoints are compiled in: tests"
)]
fn failpoint() -> Error {
    Error::Internal("failpoint".to_owned())
}
