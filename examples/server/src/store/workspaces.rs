//! Workspaces and their builds. Creating a workspace inserts workspace, first build and its
//! job in one transaction; a new build re-checks the latest build inside its transaction.

use coder_core::model::{
    ProvisionerJobStatus, Timestamp, WorkspaceBuildParameter, WorkspaceTransition,
};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::Store;
use super::jobs::{JobRow, insert_job, job_in};
use super::rows::{Prefixed, RowExt, aliased, to_json, ts};
use crate::error::{Error, Result};

/// A stored workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRow {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub owner_id: Uuid,
    /// Organization (the template's).
    pub organization_id: Uuid,
    /// Template.
    pub template_id: Uuid,
    /// Name, unique per owner among live workspaces.
    pub name: String,
    /// Autostart cron.
    pub autostart_schedule: Option<String>,
    /// Autostop TTL, ms.
    pub ttl_ms: Option<i64>,
    /// `always` or `never`.
    pub automatic_updates: String,
    /// Set once a delete build succeeded.
    pub deleted: bool,
    /// Last activity.
    pub last_used_at: Timestamp,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
}

impl WorkspaceRow {
    pub(crate) fn from_row<R: RowExt>(r: &R) -> Result<Self> {
        Ok(Self {
            id: r.uuid("id")?,
            owner_id: r.uuid("owner_id")?,
            organization_id: r.uuid("organization_id")?,
            template_id: r.uuid("template_id")?,
            name: r.text("name")?,
            autostart_schedule: r.opt_text("autostart_schedule")?,
            ttl_ms: r.opt_int("ttl_ms")?,
            automatic_updates: r.text("automatic_updates")?,
            deleted: r.flag("deleted")?,
            last_used_at: r.time("last_used_at")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

/// A stored build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRow {
    /// Id.
    pub id: Uuid,
    /// Workspace.
    pub workspace_id: Uuid,
    /// 1, 2, ...
    pub build_number: i64,
    /// Version built.
    pub template_version_id: Uuid,
    /// What it does.
    pub transition: WorkspaceTransition,
    /// Who asked.
    pub initiator_id: Uuid,
    /// Its job.
    pub job_id: Uuid,
    /// Why.
    pub reason: String,
    /// Autostop deadline.
    pub deadline: Option<Timestamp>,
    /// Ceiling for the deadline.
    pub max_deadline: Option<Timestamp>,
    /// Provisioner state after this build.
    pub provisioner_state: Vec<u8>,
    /// Parameter values.
    pub parameters: Vec<WorkspaceBuildParameter>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
}

impl BuildRow {
    pub(crate) fn from_row<R: RowExt>(r: &R) -> Result<Self> {
        Ok(Self {
            id: r.uuid("id")?,
            workspace_id: r.uuid("workspace_id")?,
            build_number: r.int("build_number")?,
            template_version_id: r.uuid("template_version_id")?,
            transition: r.text("transition")?.parse().unwrap_or_default(),
            initiator_id: r.uuid("initiator_id")?,
            job_id: r.uuid("job_id")?,
            reason: r.text("reason")?,
            deadline: r.opt_time("deadline")?,
            max_deadline: r.opt_time("max_deadline")?,
            provisioner_state: r.bytes("provisioner_state")?,
            parameters: r.json("parameters")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

async fn insert_build(c: &mut AnyConnection, b: &BuildRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO workspace_builds (id, workspace_id, build_number, template_version_id, transition, initiator_id, job_id, reason, deadline, max_deadline, provisioner_state, parameters, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(b.id.to_string())
    .bind(b.workspace_id.to_string())
    .bind(b.build_number)
    .bind(b.template_version_id.to_string())
    .bind(b.transition.as_str().to_owned())
    .bind(b.initiator_id.to_string())
    .bind(b.job_id.to_string())
    .bind(&b.reason)
    .bind(b.deadline.map(ts))
    .bind(b.max_deadline.map(ts))
    .bind(b.provisioner_state.clone())
    .bind(to_json(&b.parameters))
    .bind(ts(b.created_at))
    .bind(ts(b.updated_at))
    .execute(&mut *c)
    .await?;
    Ok(())
}

async fn latest_build_in(c: &mut AnyConnection, workspace_id: Uuid) -> Result<Option<BuildRow>> {
    let r = sqlx::query(
        "SELECT * FROM workspace_builds WHERE workspace_id = $1 ORDER BY build_number DESC LIMIT 1",
    )
    .bind(workspace_id.to_string())
    .fetch_optional(&mut *c)
    .await?;
    r.as_ref().map(BuildRow::from_row).transpose()
}

impl Store {
    /// Creates a workspace with its first build and that build's job, in one transaction.
    /// A live workspace of the same owner and name is a conflict.
    pub async fn create_workspace(
        &self,
        w: &WorkspaceRow,
        b: &BuildRow,
        job: &JobRow,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO workspaces (id, owner_id, organization_id, template_id, name, autostart_schedule, ttl_ms, automatic_updates, deleted, last_used_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11)",
        )
        .bind(w.id.to_string())
        .bind(w.owner_id.to_string())
        .bind(w.organization_id.to_string())
        .bind(w.template_id.to_string())
        .bind(&w.name)
        .bind(w.autostart_schedule.clone())
        .bind(w.ttl_ms)
        .bind(&w.automatic_updates)
        .bind(ts(w.last_used_at))
        .bind(ts(w.created_at))
        .bind(ts(w.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(Error::from);
        if let Err(e) = inserted {
            return Err(if e.is_unique_violation() {
                Error::conflict(format!("Workspace {:?} already exists.", w.name))
            } else {
                e
            });
        }
        insert_job(&mut tx, job).await?;
        insert_build(&mut tx, b).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a build (and its job) to a workspace in one transaction. `check` sees the latest
    /// build and its job status as read inside the transaction and may refuse; the build
    /// number is assigned here (`b.build_number` is overwritten). A concurrent insert of the
    /// same number fails on the unique key and is reported as a conflict.
    pub async fn create_build(
        &self,
        b: &mut BuildRow,
        job: &JobRow,
        check: impl FnOnce(Option<(&BuildRow, &ProvisionerJobStatus)>) -> Result<()>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let latest = latest_build_in(&mut tx, b.workspace_id).await?;
        let latest_job = match &latest {
            Some(l) => job_in(&mut tx, l.job_id).await?,
            None => None,
        };
        check(latest.as_ref().zip(latest_job.as_ref().map(|j| &j.status)))?;
        b.build_number = latest.map_or(1, |l| l.build_number + 1);
        insert_job(&mut tx, job).await?;
        if let Err(e) = insert_build(&mut tx, b).await {
            return Err(if e.is_unique_violation() {
                Error::conflict("A workspace build is already active.")
            } else {
                e
            });
        }
        tx.commit().await?;
        Ok(())
    }

    /// A workspace by id (deleted ones included; callers decide).
    pub async fn workspace(&self, id: Uuid) -> Result<Option<WorkspaceRow>> {
        let r = sqlx::query("SELECT * FROM workspaces WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(WorkspaceRow::from_row).transpose()
    }

    /// A workspace by owner and name: the live one, or else the most recent deleted one.
    pub async fn workspace_by_name(
        &self,
        owner_id: Uuid,
        name: &str,
    ) -> Result<Option<WorkspaceRow>> {
        let r = sqlx::query(
            "SELECT * FROM workspaces WHERE owner_id = $1 AND LOWER(name) = LOWER($2) ORDER BY deleted, created_at DESC LIMIT 1",
        )
        .bind(owner_id.to_string())
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        r.as_ref().map(WorkspaceRow::from_row).transpose()
    }

    /// Live workspaces, optionally of one owner, by name.
    pub async fn list_workspaces(&self, owner_id: Option<Uuid>) -> Result<Vec<WorkspaceRow>> {
        let rows = sqlx::query(
            "SELECT * FROM workspaces WHERE deleted = 0 AND ($1 = '' OR owner_id = $1) ORDER BY name, id",
        )
        .bind(owner_id.map(|o| o.to_string()).unwrap_or_default())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(WorkspaceRow::from_row).collect()
    }

    /// Live workspaces of a template.
    pub async fn count_template_workspaces(&self, template_id: Uuid) -> Result<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM workspaces WHERE deleted = 0 AND template_id = $1")
            .bind(template_id.to_string())
            .fetch_one(&self.read)
            .await?
            .int("n")
    }

    /// Saves the schedule fields of a workspace.
    pub async fn update_workspace_schedule(
        &self,
        id: Uuid,
        autostart_schedule: Option<&str>,
        ttl_ms: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE workspaces SET autostart_schedule = $1, ttl_ms = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(autostart_schedule.map(str::to_owned))
        .bind(ttl_ms)
        .bind(ts(now))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest build of a workspace.
    pub async fn latest_build(&self, workspace_id: Uuid) -> Result<Option<BuildRow>> {
        let mut c = self.read.acquire().await?;
        latest_build_in(&mut c, workspace_id).await
    }

    /// A build by id.
    pub async fn build(&self, id: Uuid) -> Result<Option<BuildRow>> {
        let r = sqlx::query("SELECT * FROM workspace_builds WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(BuildRow::from_row).transpose()
    }

    /// The build run by job `job_id`.
    pub async fn build_by_job(&self, job_id: Uuid) -> Result<Option<BuildRow>> {
        let r = sqlx::query("SELECT * FROM workspace_builds WHERE job_id = $1")
            .bind(job_id.to_string())
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(BuildRow::from_row).transpose()
    }

    /// A workspace's builds, newest first.
    pub async fn list_builds(&self, workspace_id: Uuid) -> Result<Vec<BuildRow>> {
        let rows = sqlx::query(
            "SELECT * FROM workspace_builds WHERE workspace_id = $1 ORDER BY build_number DESC",
        )
        .bind(workspace_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(BuildRow::from_row).collect()
    }

    /// Durably records the provisioner state of a build in progress (what it has created so
    /// far); the next build starts from it if this one does not finish.
    pub async fn save_build_state(&self, id: Uuid, state: &[u8], now: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE workspace_builds SET provisioner_state = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(state.to_vec())
        .bind(ts(now))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The state a new build of `workspace_id` numbered `build_number` starts from: that of
    /// the newest earlier build whose job ran and either succeeded or saved some state. A build
    /// that failed part-way left what it saved; one canceled before it ran left nothing.
    pub async fn previous_build_state(
        &self,
        workspace_id: Uuid,
        build_number: i64,
    ) -> Result<Vec<u8>> {
        let r = sqlx::query(
            "SELECT b.provisioner_state FROM workspace_builds b JOIN provisioner_jobs j ON j.id = b.job_id \
             WHERE b.workspace_id = $1 AND b.build_number < $2 AND j.started_at IS NOT NULL \
             AND (j.status = 'succeeded' OR LENGTH(b.provisioner_state) > 0) \
             ORDER BY b.build_number DESC LIMIT 1",
        )
        .bind(workspace_id.to_string())
        .bind(build_number)
        .fetch_optional(&self.read)
        .await?;
        r.map(|r| r.bytes("provisioner_state"))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Moves a build's deadline (extend).
    pub async fn set_build_deadline(
        &self,
        id: Uuid,
        deadline: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("UPDATE workspace_builds SET deadline = $1, updated_at = $2 WHERE id = $3")
            .bind(ts(deadline))
            .bind(ts(now))
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The latest build of each of `workspace_ids`, by workspace id (one query).
    pub async fn latest_builds(
        &self,
        workspace_ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, BuildRow>> {
        if workspace_ids.is_empty() {
            return Ok(Default::default());
        }
        let sql = format!(
            "SELECT b.* FROM workspace_builds b JOIN (SELECT workspace_id, MAX(build_number) AS n FROM workspace_builds \
             WHERE workspace_id IN ({}) GROUP BY workspace_id) m ON b.workspace_id = m.workspace_id AND b.build_number = m.n",
            placeholders(workspace_ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in workspace_ids {
            q = q.bind(id.to_string());
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| BuildRow::from_row(r).map(|b| (b.workspace_id, b)))
            .collect()
    }

    /// The jobs with the given ids, by id (one query).
    pub async fn jobs(&self, ids: &[Uuid]) -> Result<std::collections::HashMap<Uuid, JobRow>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let sql = format!(
            "SELECT * FROM provisioner_jobs WHERE id IN ({})",
            placeholders(ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id.to_string());
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| JobRow::from_row(r).map(|j| (j.id, j)))
            .collect()
    }
}

const WORKSPACE_COLS: &[&str] = &[
    "id",
    "owner_id",
    "organization_id",
    "template_id",
    "name",
    "autostart_schedule",
    "ttl_ms",
    "automatic_updates",
    "deleted",
    "last_used_at",
    "created_at",
    "updated_at",
];
const BUILD_COLS: &[&str] = &[
    "id",
    "workspace_id",
    "build_number",
    "template_version_id",
    "transition",
    "initiator_id",
    "job_id",
    "reason",
    "deadline",
    "max_deadline",
    "provisioner_state",
    "parameters",
    "created_at",
    "updated_at",
];
const JOB_COLS: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
    "canceled_at",
    "error",
    "status",
    "worker_id",
    "organization_id",
    "initiator_id",
    "provisioner",
    "file_id",
    "job_type",
    "input",
    "tags",
    "resources",
];

/// A workspace with everything its API view needs, read in one joined query.
#[derive(Debug, Clone)]
pub struct WorkspaceView {
    /// The workspace.
    pub workspace: WorkspaceRow,
    /// Its latest build.
    pub build: BuildRow,
    /// That build's job.
    pub job: JobRow,
    /// Owner's username.
    pub owner_name: String,
    /// Build initiator's username.
    pub initiator_name: String,
    /// Name of the build's template version.
    pub version_name: String,
    /// The template, unless deleted.
    pub template: Option<crate::store::TemplateSummary>,
    /// Organization name.
    pub organization_name: String,
}

/// The template fields a workspace view shows.
#[derive(Debug, Clone)]
pub struct TemplateSummary {
    /// Name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Icon.
    pub icon: String,
    /// Active version.
    pub active_version_id: Uuid,
    /// Schedule and policy settings.
    pub settings: crate::store::TemplateSettings,
}

/// Which workspaces [`Store::workspace_views`] reads.
#[derive(Debug, Clone, Copy)]
pub enum ViewScope {
    /// One workspace (deleted or not).
    Id(Uuid),
    /// Live workspaces of one owner.
    Owner(Uuid),
    /// Every live workspace.
    All,
}

impl Store {
    /// Workspaces with their latest build, job and names, in one query, ordered by name.
    pub async fn workspace_views(&self, scope: ViewScope) -> Result<Vec<WorkspaceView>> {
        let filter = match scope {
            ViewScope::Id(_) => "w.id = $1",
            ViewScope::Owner(_) => "w.deleted = 0 AND w.owner_id = $1",
            ViewScope::All => "w.deleted = 0 AND $1 = ''",
        };
        let sql = format!(
            "SELECT {}, {}, {}, o.username AS owner_name, i.username AS initiator_name, v.name AS version_name, \
             t.name AS t_name, t.display_name AS t_display_name, t.icon AS t_icon, t.active_version_id AS t_active_version_id, \
             t.settings AS t_settings, g.name AS org_name \
             FROM workspaces w \
             JOIN workspace_builds b ON b.workspace_id = w.id \
               AND b.build_number = (SELECT MAX(build_number) FROM workspace_builds WHERE workspace_id = w.id) \
             JOIN provisioner_jobs j ON j.id = b.job_id \
             JOIN users o ON o.id = w.owner_id \
             JOIN users i ON i.id = b.initiator_id \
             JOIN template_versions v ON v.id = b.template_version_id \
             JOIN organizations g ON g.id = w.organization_id \
             LEFT JOIN templates t ON t.id = w.template_id AND t.deleted = 0 \
             WHERE {filter} ORDER BY w.name, w.id",
            aliased("w", "w_", WORKSPACE_COLS),
            aliased("b", "b_", BUILD_COLS),
            aliased("j", "j_", JOB_COLS),
        );
        let arg = match scope {
            ViewScope::Id(id) | ViewScope::Owner(id) => id.to_string(),
            ViewScope::All => String::new(),
        };
        let rows = sqlx::query(&sql).bind(arg).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let template = match r.opt_text("t_name")? {
                    Some(name) => Some(TemplateSummary {
                        name,
                        display_name: r.text("t_display_name")?,
                        icon: r.text("t_icon")?,
                        active_version_id: r.uuid("t_active_version_id")?,
                        settings: r.json("t_settings")?,
                    }),
                    None => None,
                };
                Ok(WorkspaceView {
                    workspace: WorkspaceRow::from_row(&Prefixed {
                        row: r,
                        prefix: "w_",
                    })?,
                    build: BuildRow::from_row(&Prefixed {
                        row: r,
                        prefix: "b_",
                    })?,
                    job: JobRow::from_row(&Prefixed {
                        row: r,
                        prefix: "j_",
                    })?,
                    owner_name: r.text("owner_name")?,
                    initiator_name: r.text("initiator_name")?,
                    version_name: r.text("version_name")?,
                    template,
                    organization_name: r.text("org_name")?,
                })
            })
            .collect()
    }
}
