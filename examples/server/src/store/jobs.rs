//! Provisioner jobs and their logs: insertion, atomic acquisition, status changes, recovery.

use std::collections::BTreeMap;

use coder_core::build::{JobEvent, next_job_status};
use coder_core::model::{
    LogLevel, LogSource, ProvisionerJobInput, ProvisionerJobLog, ProvisionerJobStatus,
    ProvisionerJobType, ProvisionerType, Timestamp, WorkspaceResource,
};
use sqlx::types::Json;
use uuid::Uuid;

use super::db::{Conn, execute, fetch, fetch_scalar};
use super::row::{WireText, prefixed_row};
use super::{Backend, Store};
use crate::error::{Error, Result};

prefixed_row! {
    /// A stored provisioner job.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct JobRow {
        /// Id.
        pub id: Uuid,
        /// Creation time.
        pub created_at: Timestamp,
        /// Last update.
        pub updated_at: Timestamp,
        /// Acquisition time.
        pub started_at: Option<Timestamp>,
        /// Completion time.
        pub completed_at: Option<Timestamp>,
        /// Cancel request time.
        pub canceled_at: Option<Timestamp>,
        /// Failure message.
        pub error: String,
        /// Status.
        #[sqlx(try_from = "WireText")]
        pub status: ProvisionerJobStatus,
        /// The runner that acquired it.
        pub worker_id: Option<Uuid>,
        /// Organization.
        pub organization_id: Uuid,
        /// Who created it.
        pub initiator_id: Uuid,
        /// Which provisioner runs it.
        #[sqlx(try_from = "WireText")]
        pub provisioner: ProvisionerType,
        /// The template archive.
        pub file_id: Uuid,
        /// Import or build.
        #[sqlx(try_from = "WireText")]
        pub job_type: ProvisionerJobType,
        /// What it is for.
        #[sqlx(json)]
        pub input: ProvisionerJobInput,
        /// Provisioner tags.
        #[sqlx(json)]
        pub tags: BTreeMap<String, String>,
        /// Resources the job produced (imports: what a start would create).
        #[sqlx(json)]
        pub resources: Vec<WorkspaceResource>,
    }
}

/// What a new job needs; the rest starts empty/pending.
#[derive(Debug, Clone)]
pub struct JobInsert {
    /// Id.
    pub id: Uuid,
    /// Organization.
    pub organization_id: Uuid,
    /// Who created it.
    pub initiator_id: Uuid,
    /// Which provisioner runs it.
    pub provisioner: ProvisionerType,
    /// The template archive.
    pub file_id: Uuid,
    /// Import or build.
    pub job_type: ProvisionerJobType,
    /// What it is for.
    pub input: ProvisionerJobInput,
}

impl JobInsert {
    /// A pending job row created at `now`.
    pub fn into_row(self, now: Timestamp) -> JobRow {
        let mut tags = BTreeMap::new();
        tags.insert("scope".to_owned(), "organization".to_owned());
        tags.insert("owner".to_owned(), String::new());
        JobRow {
            id: self.id,
            created_at: now,
            updated_at: now,
            started_at: None,
            completed_at: None,
            canceled_at: None,
            error: String::new(),
            status: ProvisionerJobStatus::Pending,
            worker_id: None,
            organization_id: self.organization_id,
            initiator_id: self.initiator_id,
            provisioner: self.provisioner,
            file_id: self.file_id,
            job_type: self.job_type,
            input: self.input,
            tags,
            resources: Vec::new(),
        }
    }
}

/// Inserts a job (inside the caller's transaction).
pub(crate) async fn insert_job(c: &mut Conn<'_>, j: &JobRow) -> Result<()> {
    execute!(
        c,
        "INSERT INTO provisioner_jobs (id, created_at, updated_at, error, status, organization_id, initiator_id, \
         provisioner, file_id, job_type, input, tags, resources) \
         VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        j.id,
        j.created_at,
        j.updated_at,
        j.status.as_str(),
        j.organization_id,
        j.initiator_id,
        j.provisioner.as_str(),
        j.file_id,
        j.job_type.as_str(),
        Json(&j.input),
        Json(&j.tags),
        Json(&j.resources)
    )?;
    Ok(())
}

/// Reads a job (inside the caller's transaction, or on a pooled connection).
pub(crate) async fn job_in(c: &mut Conn<'_>, id: Uuid) -> Result<Option<JobRow>> {
    fetch!(
        c,
        fetch_optional,
        "SELECT * FROM provisioner_jobs WHERE id = $1",
        id
    )
}

/// Applies `event` to a job inside the caller's transaction. With `holder`, the change is
/// made only while that worker still holds the job ([`Error::Conflict`] otherwise).
pub(crate) async fn job_event_in(
    c: &mut Conn<'_>,
    id: Uuid,
    holder: Option<Uuid>,
    event: JobEvent,
    error: &str,
    now: Timestamp,
) -> Result<JobRow> {
    let job = job_in(c, id).await?.ok_or(Error::NotFound)?;
    if let Some(worker) = holder
        && job.worker_id != Some(worker)
    {
        return Err(Error::conflict(format!(
            "job {id} is no longer held by this server (another one recovered it)"
        )));
    }
    let next = next_job_status(&job.status, &event)?;
    let completed = next.is_terminal().then_some(now);
    let canceled = match event {
        JobEvent::CancelRequested => Some(now),
        _ => job.canceled_at,
    };
    let started = match (&job.status, &next) {
        (ProvisionerJobStatus::Running, ProvisionerJobStatus::Pending) => None,
        _ => job.started_at,
    };
    let error = if error.is_empty() { &job.error } else { error };
    fetch!(
        c,
        fetch_one,
        "UPDATE provisioner_jobs SET status = $1, completed_at = $2, canceled_at = $3, started_at = $4, \
         error = $5, updated_at = $6 WHERE id = $7 RETURNING *",
        next.as_str(),
        completed,
        canceled,
        started,
        error,
        now,
        id
    )
}

/// A stored log line.
#[derive(sqlx::FromRow)]
struct LogRow {
    id: i64,
    created_at: Timestamp,
    #[sqlx(try_from = "WireText")]
    source: LogSource,
    #[sqlx(try_from = "WireText")]
    level: LogLevel,
    stage: String,
    output: String,
}

impl From<LogRow> for ProvisionerJobLog {
    fn from(r: LogRow) -> Self {
        Self {
            id: r.id,
            created_at: r.created_at,
            log_source: r.source,
            log_level: r.level,
            stage: r.stage,
            output: r.output,
        }
    }
}

/// Appends a log line inside the caller's transaction.
pub(crate) async fn append_job_log_in(
    c: &mut Conn<'_>,
    job_id: Uuid,
    source: LogSource,
    level: LogLevel,
    stage: &str,
    output: &str,
    now: Timestamp,
) -> Result<ProvisionerJobLog> {
    let row: LogRow = fetch!(
        c,
        fetch_one,
        "INSERT INTO provisioner_job_logs (job_id, created_at, source, level, stage, output) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        job_id,
        now,
        source.as_str(),
        level.as_str(),
        stage,
        output
    )?;
    Ok(row.into())
}

impl Store {
    /// A job by id.
    pub async fn job(&self, id: Uuid) -> Result<Option<JobRow>> {
        job_in(&mut self.read.acquire().await?.conn(), id).await
    }

    /// Atomically takes the oldest pending job for `worker_id`, marking it running. Two
    /// runners (or replicas) never get the same job: SQLite runs the single
    /// `UPDATE ... RETURNING` under its write lock, PostgreSQL skips rows another transaction
    /// has locked (`FOR UPDATE SKIP LOCKED`).
    pub async fn acquire_job(&self, worker_id: Uuid, now: Timestamp) -> Result<Option<JobRow>> {
        let lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE provisioner_jobs SET status = 'running', started_at = $1, updated_at = $1, heartbeat_at = $1, worker_id = $2 \
             WHERE status = 'pending' AND id = (SELECT id FROM provisioner_jobs WHERE status = 'pending' \
             ORDER BY created_at, id LIMIT 1 {lock}) RETURNING *"
        );
        fetch!(self.pool, fetch_optional, &sql, now, worker_id)
    }

    /// Applies `event` to the job's status (per `coder_core::build::next_job_status`) in one
    /// transaction; returns the updated job. `error` is recorded when non-empty.
    pub async fn job_event(
        &self,
        id: Uuid,
        event: JobEvent,
        error: &str,
        now: Timestamp,
    ) -> Result<JobRow> {
        let mut tx = self.pool.begin().await?;
        let job = job_event_in(&mut tx.conn(), id, None, event, error, now).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Renews the lease of a job `worker_id` holds and returns the job's status; `None` once
    /// the worker no longer holds it (the job ended, or another process recovered it after the
    /// lease lapsed).
    pub async fn renew_job_lease(
        &self,
        id: Uuid,
        worker_id: Uuid,
        now: Timestamp,
    ) -> Result<Option<ProvisionerJobStatus>> {
        let status: Option<WireText> = fetch_scalar!(
            self.pool,
            fetch_optional,
            "UPDATE provisioner_jobs SET heartbeat_at = $1 WHERE id = $2 AND worker_id = $3 \
             AND status IN ('running', 'canceling') RETURNING status",
            now,
            id,
            worker_id
        )?;
        Ok(status.map(ProvisionerJobStatus::from))
    }

    /// Fails a running or canceling job whose lease lapsed before `expired_before` (its runner
    /// is gone), with `log` as its last log line, in one transaction. `None` when the job is
    /// not such a job (any more): its runner renewed the lease, or it ended.
    pub async fn abandon_job(
        &self,
        id: Uuid,
        expired_before: Timestamp,
        log: &str,
        now: Timestamp,
    ) -> Result<Option<JobRow>> {
        let lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE",
        };
        let sql = format!(
            "SELECT id FROM provisioner_jobs WHERE id = $1 AND status IN ('running', 'canceling') \
             AND (heartbeat_at IS NULL OR heartbeat_at < $2) {lock}"
        );
        let mut tx = self.pool.begin().await?;
        let mut c = tx.conn();
        let lapsed: Option<Uuid> = fetch_scalar!(c, fetch_optional, &sql, id, expired_before)?;
        if lapsed.is_none() {
            return Ok(None);
        }
        let (source, level) = (LogSource::ProvisionerDaemon, LogLevel::Error);
        append_job_log_in(&mut c, id, source, level, "Cleaning up", log, now).await?;
        let error = "the server stopped while the job was running";
        let job = job_event_in(&mut c, id, None, JobEvent::Abandoned, error, now).await?;
        tx.commit().await?;
        Ok(Some(job))
    }

    /// Jobs `running` or `canceling` whose lease lapsed before `expired_before`: their runner
    /// stopped renewing it, so it is gone. A job whose runner is alive is never listed.
    pub async fn lapsed_jobs(&self, expired_before: Timestamp) -> Result<Vec<JobRow>> {
        fetch!(
            self.read,
            fetch_all,
            "SELECT * FROM provisioner_jobs WHERE status IN ('running', 'canceling') \
             AND (heartbeat_at IS NULL OR heartbeat_at < $1) ORDER BY created_at",
            expired_before
        )
    }

    /// `(position, size)` of a pending job in the queue (1-based; 0 when not pending).
    pub async fn queue_position(&self, job: &JobRow) -> Result<(i64, i64)> {
        let size: i64 = fetch_scalar!(
            self.read,
            fetch_one,
            "SELECT COUNT(*) FROM provisioner_jobs WHERE status = 'pending'"
        )?;
        if job.status != ProvisionerJobStatus::Pending {
            return Ok((0, size));
        }
        let ahead: i64 = fetch_scalar!(
            self.read,
            fetch_one,
            "SELECT COUNT(*) FROM provisioner_jobs WHERE status = 'pending' AND created_at <= $1",
            job.created_at
        )?;
        Ok((ahead, size))
    }

    /// Appends a log line to a job; returns it with its id.
    pub async fn append_job_log(
        &self,
        job_id: Uuid,
        source: LogSource,
        level: LogLevel,
        stage: &str,
        output: &str,
        now: Timestamp,
    ) -> Result<ProvisionerJobLog> {
        let mut c = self.pool.acquire().await?;
        append_job_log_in(&mut c.conn(), job_id, source, level, stage, output, now).await
    }

    /// The job's log lines with id greater than `after`, in order.
    pub async fn job_logs_after(&self, job_id: Uuid, after: i64) -> Result<Vec<ProvisionerJobLog>> {
        let rows: Vec<LogRow> = fetch!(
            self.read,
            fetch_all,
            "SELECT * FROM provisioner_job_logs WHERE job_id = $1 AND id > $2 ORDER BY id",
            job_id,
            after
        )?;
        Ok(rows.into_iter().map(ProvisionerJobLog::from).collect())
    }
}
