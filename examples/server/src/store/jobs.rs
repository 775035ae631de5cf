//! Provisioner jobs and their logs: insertion, atomic acquisition, status changes, recovery.

use std::collections::BTreeMap;

use coder_core::build::{JobEvent, next_job_status};
use coder_core::model::{
    LogLevel, LogSource, ProvisionerJobInput, ProvisionerJobLog, ProvisionerJobStatus,
    ProvisionerJobType, ProvisionerType, Timestamp, WorkspaceResource,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::rows::{RowExt, to_json, ts};
use super::{Backend, Store};
use crate::error::{Error, Result};

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
    pub status: ProvisionerJobStatus,
    /// The runner that acquired it.
    pub worker_id: Option<Uuid>,
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
    /// Provisioner tags.
    pub tags: BTreeMap<String, String>,
    /// Resources the job produced (imports: what a start would create).
    pub resources: Vec<WorkspaceResource>,
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

impl JobRow {
    pub(crate) fn from_row<R: RowExt>(r: &R) -> Result<Self> {
        Ok(Self {
            id: r.uuid("id")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
            started_at: r.opt_time("started_at")?,
            completed_at: r.opt_time("completed_at")?,
            canceled_at: r.opt_time("canceled_at")?,
            error: r.text("error")?,
            status: r.text("status")?.parse().unwrap_or_default(),
            worker_id: r.opt_uuid("worker_id")?,
            organization_id: r.uuid("organization_id")?,
            initiator_id: r.uuid("initiator_id")?,
            provisioner: r.text("provisioner")?.parse().unwrap_or_default(),
            file_id: r.uuid("file_id")?,
            job_type: r.text("job_type")?.parse().unwrap_or_default(),
            input: r.json("input")?,
            tags: r.json("tags")?,
            resources: r.json("resources")?,
        })
    }
}

/// Inserts a job (inside the caller's transaction).
pub(crate) async fn insert_job(c: &mut AnyConnection, j: &JobRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO provisioner_jobs (id, created_at, updated_at, started_at, completed_at, canceled_at, error, status, worker_id, \
         organization_id, initiator_id, provisioner, file_id, job_type, input, tags, resources) \
         VALUES ($1, $2, $3, NULL, NULL, NULL, '', $4, NULL, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(j.id.to_string())
    .bind(ts(j.created_at))
    .bind(ts(j.updated_at))
    .bind(j.status.as_str().to_owned())
    .bind(j.organization_id.to_string())
    .bind(j.initiator_id.to_string())
    .bind(j.provisioner.as_str().to_owned())
    .bind(j.file_id.to_string())
    .bind(j.job_type.as_str().to_owned())
    .bind(to_json(&j.input))
    .bind(to_json(&j.tags))
    .bind(to_json(&j.resources))
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Reads a job inside a transaction.
pub(crate) async fn job_in(c: &mut AnyConnection, id: Uuid) -> Result<Option<JobRow>> {
    let r = sqlx::query("SELECT * FROM provisioner_jobs WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(JobRow::from_row).transpose()
}

/// Applies `event` to a job inside the caller's transaction. With `holder`, the change is
/// made only while that worker still holds the job ([`Error::Conflict`] otherwise).
pub(crate) async fn job_event_in(
    c: &mut AnyConnection,
    id: Uuid,
    holder: Option<Uuid>,
    event: JobEvent,
    error: &str,
    now: Timestamp,
) -> Result<JobRow> {
    let job = job_in(&mut *c, id).await?.ok_or(Error::NotFound)?;
    if let Some(worker) = holder
        && job.worker_id != Some(worker)
    {
        return Err(Error::conflict(format!(
            "job {id} is no longer held by this server (another one recovered it)"
        )));
    }
    let next = next_job_status(&job.status, &event)?;
    let completed = next.is_terminal().then(|| ts(now));
    let canceled = match event {
        JobEvent::CancelRequested => Some(ts(now)),
        _ => job.canceled_at.map(ts),
    };
    let started = match (&job.status, &next) {
        (ProvisionerJobStatus::Running, ProvisionerJobStatus::Pending) => None,
        _ => job.started_at.map(ts),
    };
    let error = if error.is_empty() {
        job.error.clone()
    } else {
        error.to_owned()
    };
    sqlx::query(
        "UPDATE provisioner_jobs SET status = $1, completed_at = $2, canceled_at = $3, started_at = $4, error = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(next.as_str().to_owned())
    .bind(completed)
    .bind(canceled)
    .bind(started)
    .bind(error)
    .bind(ts(now))
    .bind(id.to_string())
    .execute(&mut *c)
    .await?;
    job_in(&mut *c, id).await?.ok_or(Error::NotFound)
}

/// Appends a log line inside the caller's transaction.
pub(crate) async fn append_job_log_in(
    c: &mut AnyConnection,
    job_id: Uuid,
    source: LogSource,
    level: LogLevel,
    stage: &str,
    output: &str,
    now: Timestamp,
) -> Result<ProvisionerJobLog> {
    let id = sqlx::query(
        "INSERT INTO provisioner_job_logs (job_id, created_at, source, level, stage, output) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(job_id.to_string())
    .bind(ts(now))
    .bind(source.as_str().to_owned())
    .bind(level.as_str().to_owned())
    .bind(stage)
    .bind(output)
    .fetch_one(&mut *c)
    .await?
    .int("id")?;
    Ok(ProvisionerJobLog {
        id,
        created_at: now,
        log_source: source,
        log_level: level,
        stage: stage.to_owned(),
        output: output.to_owned(),
    })
}

impl Store {
    /// A job by id.
    pub async fn job(&self, id: Uuid) -> Result<Option<JobRow>> {
        let mut c = self.read.acquire().await?;
        job_in(&mut c, id).await
    }

    /// Atomically takes the oldest pending job for `worker_id`, marking it running. Two
    /// runners (or replicas) never get the same job: SQLite runs the single
    /// `UPDATE ... RETURNING` under its write lock, PostgreSQL skips rows another transaction
    /// has locked (`FOR UPDATE SKIP LOCKED`).
    pub async fn acquire_job(&self, worker_id: Uuid, now: Timestamp) -> Result<Option<JobRow>> {
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE provisioner_jobs SET status = 'running', started_at = $1, updated_at = $1, heartbeat_at = $1, worker_id = $2 \
             WHERE status = 'pending' AND id = (SELECT id FROM provisioner_jobs WHERE status = 'pending' \
             ORDER BY created_at, id LIMIT 1 {lock}) RETURNING *"
        );
        let r = sqlx::query(&sql)
            .bind(ts(now))
            .bind(worker_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(JobRow::from_row).transpose()
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
        let job = job_event_in(&mut tx, id, None, event, error, now).await?;
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
        let r = sqlx::query(
            "UPDATE provisioner_jobs SET heartbeat_at = $1 WHERE id = $2 AND worker_id = $3 \
             AND status IN ('running', 'canceling') RETURNING status",
        )
        .bind(ts(now))
        .bind(id.to_string())
        .bind(worker_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| Ok(r.text("status")?.parse().unwrap_or_default()))
            .transpose()
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
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE",
        };
        let mut tx = self.pool.begin().await?;
        let lapsed = sqlx::query(&format!(
            "SELECT id FROM provisioner_jobs WHERE id = $1 AND status IN ('running', 'canceling') \
             AND (heartbeat_at IS NULL OR heartbeat_at < $2) {lock}"
        ))
        .bind(id.to_string())
        .bind(ts(expired_before))
        .fetch_optional(&mut *tx)
        .await?;
        if lapsed.is_none() {
            return Ok(None);
        }
        append_job_log_in(
            &mut tx,
            id,
            LogSource::ProvisionerDaemon,
            LogLevel::Error,
            "Cleaning up",
            log,
            now,
        )
        .await?;
        let job = job_event_in(
            &mut tx,
            id,
            None,
            JobEvent::Abandoned,
            "the server stopped while the job was running",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(job))
    }

    /// Jobs `running` or `canceling` whose lease lapsed before `expired_before`: their runner
    /// stopped renewing it, so it is gone. A job whose runner is alive is never listed.
    pub async fn lapsed_jobs(&self, expired_before: Timestamp) -> Result<Vec<JobRow>> {
        let rows = sqlx::query(
            "SELECT * FROM provisioner_jobs WHERE status IN ('running', 'canceling') \
             AND (heartbeat_at IS NULL OR heartbeat_at < $1) ORDER BY created_at",
        )
        .bind(ts(expired_before))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(JobRow::from_row).collect()
    }

    /// `(position, size)` of a pending job in the queue (1-based; 0 when not pending).
    pub async fn queue_position(&self, job: &JobRow) -> Result<(i64, i64)> {
        let size =
            sqlx::query("SELECT COUNT(*) AS n FROM provisioner_jobs WHERE status = 'pending'")
                .fetch_one(&self.read)
                .await?
                .int("n")?;
        if job.status != ProvisionerJobStatus::Pending {
            return Ok((0, size));
        }
        let ahead = sqlx::query(
            "SELECT COUNT(*) AS n FROM provisioner_jobs WHERE status = 'pending' AND created_at <= $1",
        )
        .bind(ts(job.created_at))
        .fetch_one(&self.read)
        .await?
        .int("n")?;
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
        append_job_log_in(&mut c, job_id, source, level, stage, output, now).await
    }

    /// The job's log lines with id greater than `after`, in order.
    pub async fn job_logs_after(&self, job_id: Uuid, after: i64) -> Result<Vec<ProvisionerJobLog>> {
        let rows = sqlx::query(
            "SELECT * FROM provisioner_job_logs WHERE job_id = $1 AND id > $2 ORDER BY id",
        )
        .bind(job_id.to_string())
        .bind(after)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ProvisionerJobLog {
                    id: r.int("id")?,
                    created_at: r.time("created_at")?,
                    log_source: r.text("source")?.parse().unwrap_or_default(),
                    log_level: r.text("level")?.parse().unwrap_or_default(),
                    stage: r.text("stage")?,
                    output: r.text("output")?,
                })
            })
            .collect()
    }
}
