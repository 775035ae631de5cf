//! Workspaces and their builds. Creating a workspace inserts workspace, first build and its
//! job in one transaction; a new build re-checks the latest build inside its transaction.

use coder_core::model::{
    ProvisionerJobStatus, Timestamp, WorkspaceBuildParameter, WorkspaceTransition,
};
use std::collections::HashMap;

use sqlx::types::Json;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use super::db::{Conn, execute, fetch, fetch_scalar, on};
use super::jobs::{JobRow, insert_job, job_in};
use super::row::{FromPrefixed, WireText, aliased, prefixed_row};
use super::{Store, TemplateSettings};
use crate::error::{Error, Result};

prefixed_row! {
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
        /// Name, unique per owner among live workspaces regardless of case.
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
}

prefixed_row! {
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
        #[sqlx(try_from = "WireText")]
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
        #[sqlx(json)]
        pub parameters: Vec<WorkspaceBuildParameter>,
        /// Creation time.
        pub created_at: Timestamp,
        /// Last update.
        pub updated_at: Timestamp,
    }
}

async fn insert_build(c: &mut Conn<'_>, b: &BuildRow) -> Result<()> {
    execute!(
        c,
        "INSERT INTO workspace_builds (id, workspace_id, build_number, template_version_id, transition, initiator_id, \
         job_id, reason, deadline, max_deadline, provisioner_state, parameters, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        b.id,
        b.workspace_id,
        b.build_number,
        b.template_version_id,
        b.transition.as_str(),
        b.initiator_id,
        b.job_id,
        &b.reason,
        b.deadline,
        b.max_deadline,
        &b.provisioner_state,
        Json(&b.parameters),
        b.created_at,
        b.updated_at
    )?;
    Ok(())
}

async fn latest_build_in(c: &mut Conn<'_>, workspace_id: Uuid) -> Result<Option<BuildRow>> {
    fetch!(
        c,
        fetch_optional,
        "SELECT * FROM workspace_builds WHERE workspace_id = $1 ORDER BY build_number DESC LIMIT 1",
        workspace_id
    )
}

impl Store {
    /// Creates a workspace with its first build and that build's job, in one transaction.
    /// A live workspace of the same owner and name (regardless of case) is a conflict.
    pub async fn create_workspace(
        &self,
        w: &WorkspaceRow,
        b: &BuildRow,
        job: &JobRow,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let mut c = tx.conn();
        execute!(
            c,
            "INSERT INTO workspaces (id, owner_id, organization_id, template_id, name, autostart_schedule, ttl_ms, \
             automatic_updates, deleted, last_used_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $10, $11)",
            w.id,
            w.owner_id,
            w.organization_id,
            w.template_id,
            &w.name,
            &w.autostart_schedule,
            w.ttl_ms,
            &w.automatic_updates,
            w.last_used_at,
            w.created_at,
            w.updated_at
        )
        .map_err(|e| {
            if e.is_unique_violation() {
                Error::conflict(format!("Workspace {:?} already exists.", w.name))
            } else {
                e
            }
        })?;
        insert_job(&mut c, job).await?;
        insert_build(&mut c, b).await?;
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
        let mut c = tx.conn();
        let latest = latest_build_in(&mut c, b.workspace_id).await?;
        let latest_job = match &latest {
            Some(l) => job_in(&mut c, l.job_id).await?,
            None => None,
        };
        check(latest.as_ref().zip(latest_job.as_ref().map(|j| &j.status)))?;
        b.build_number = latest.map_or(1, |l| l.build_number + 1);
        insert_job(&mut c, job).await?;
        if let Err(e) = insert_build(&mut c, b).await {
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
        fetch!(
            self.read,
            fetch_optional,
            "SELECT * FROM workspaces WHERE id = $1",
            id
        )
    }

    /// A workspace by owner and name (case-insensitive, as Coder's): the live one, or else
    /// the most recent deleted one.
    pub async fn workspace_by_name(
        &self,
        owner_id: Uuid,
        name: &str,
    ) -> Result<Option<WorkspaceRow>> {
        fetch!(
            self.read,
            fetch_optional,
            "SELECT * FROM workspaces WHERE owner_id = $1 AND lower(name) = lower($2) \
             ORDER BY deleted, created_at DESC LIMIT 1",
            owner_id,
            name
        )
    }

    /// Live workspaces, optionally of one owner, by name.
    pub async fn list_workspaces(&self, owner_id: Option<Uuid>) -> Result<Vec<WorkspaceRow>> {
        fetch!(
            self.read,
            fetch_all,
            "SELECT * FROM workspaces WHERE NOT deleted AND ($1 IS NULL OR owner_id = $1) ORDER BY name, id",
            owner_id
        )
    }

    /// Live workspaces of a template.
    pub async fn count_template_workspaces(&self, template_id: Uuid) -> Result<i64> {
        fetch_scalar!(
            self.read,
            fetch_one,
            "SELECT COUNT(*) FROM workspaces WHERE NOT deleted AND template_id = $1",
            template_id
        )
    }

    /// Saves the schedule fields of a workspace.
    pub async fn update_workspace_schedule(
        &self,
        id: Uuid,
        autostart_schedule: Option<&str>,
        ttl_ms: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        execute!(
            self.pool,
            "UPDATE workspaces SET autostart_schedule = $1, ttl_ms = $2, updated_at = $3 WHERE id = $4",
            autostart_schedule,
            ttl_ms,
            now,
            id
        )?;
        Ok(())
    }

    /// Renames a workspace; a live workspace of the owner already named so is a conflict.
    pub async fn rename_workspace(&self, id: Uuid, name: &str, now: Timestamp) -> Result<()> {
        execute!(
            self.pool,
            "UPDATE workspaces SET name = $1, updated_at = $2 WHERE id = $3",
            name,
            now,
            id
        )
        .map_err(|e| {
            if e.is_unique_violation() {
                Error::conflict(format!("Workspace {name:?} already exists."))
            } else {
                e
            }
        })?;
        Ok(())
    }

    /// The latest build of a workspace.
    pub async fn latest_build(&self, workspace_id: Uuid) -> Result<Option<BuildRow>> {
        latest_build_in(&mut self.read.acquire().await?.conn(), workspace_id).await
    }

    /// A build by id.
    pub async fn build(&self, id: Uuid) -> Result<Option<BuildRow>> {
        self.build_where("id", id).await
    }

    /// The build run by job `job_id`.
    pub async fn build_by_job(&self, job_id: Uuid) -> Result<Option<BuildRow>> {
        self.build_where("job_id", job_id).await
    }

    /// The build whose `column` (a unique one) is `value`.
    async fn build_where(&self, column: &str, value: Uuid) -> Result<Option<BuildRow>> {
        let sql = format!("SELECT * FROM workspace_builds WHERE {column} = $1");
        fetch!(self.read, fetch_optional, &sql, value)
    }

    /// A workspace's builds, newest first.
    pub async fn list_builds(&self, workspace_id: Uuid) -> Result<Vec<BuildRow>> {
        fetch!(
            self.read,
            fetch_all,
            "SELECT * FROM workspace_builds WHERE workspace_id = $1 ORDER BY build_number DESC",
            workspace_id
        )
    }

    /// Durably records the provisioner state of a build in progress (what it has created so
    /// far); the next build starts from it if this one does not finish.
    pub async fn save_build_state(&self, id: Uuid, state: &[u8], now: Timestamp) -> Result<()> {
        execute!(
            self.pool,
            "UPDATE workspace_builds SET provisioner_state = $1, updated_at = $2 WHERE id = $3",
            state,
            now,
            id
        )?;
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
        let state: Option<Vec<u8>> = fetch_scalar!(
            self.read,
            fetch_optional,
            "SELECT b.provisioner_state FROM workspace_builds b JOIN provisioner_jobs j ON j.id = b.job_id \
             WHERE b.workspace_id = $1 AND b.build_number < $2 AND j.started_at IS NOT NULL \
             AND (j.status = 'succeeded' OR length(b.provisioner_state) > 0) \
             ORDER BY b.build_number DESC LIMIT 1",
            workspace_id,
            build_number
        )?;
        Ok(state.unwrap_or_default())
    }

    /// Moves a build's deadline (extend).
    pub async fn set_build_deadline(
        &self,
        id: Uuid,
        deadline: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        execute!(
            self.pool,
            "UPDATE workspace_builds SET deadline = $1, updated_at = $2 WHERE id = $3",
            deadline,
            now,
            id
        )?;
        Ok(())
    }

    /// The latest build of each of `workspace_ids`, by workspace id (one query).
    pub async fn latest_builds(&self, workspace_ids: &[Uuid]) -> Result<HashMap<Uuid, BuildRow>> {
        let sql = format!(
            "SELECT b.* FROM workspace_builds b JOIN (SELECT workspace_id, MAX(build_number) AS n FROM workspace_builds \
             WHERE workspace_id IN ({}) GROUP BY workspace_id) m ON b.workspace_id = m.workspace_id AND b.build_number = m.n",
            placeholders(workspace_ids.len())
        );
        let builds: Vec<BuildRow> = self.fetch_by_ids(&sql, workspace_ids).await?;
        Ok(builds.into_iter().map(|b| (b.workspace_id, b)).collect())
    }

    /// The jobs with the given ids, by id (one query).
    pub async fn jobs(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, JobRow>> {
        let sql = format!(
            "SELECT * FROM provisioner_jobs WHERE id IN ({})",
            placeholders(ids.len())
        );
        let jobs: Vec<JobRow> = self.fetch_by_ids(&sql, ids).await?;
        Ok(jobs.into_iter().map(|j| (j.id, j)).collect())
    }

    /// Rows of `sql`, whose placeholders take `ids` in order; none without ids.
    async fn fetch_by_ids<T>(&self, sql: &str, ids: &[Uuid]) -> Result<Vec<T>>
    where
        T: for<'r> FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on!(self.read, |e| {
            let mut q = sqlx::query_as(sql);
            for id in ids {
                q = q.bind(id);
            }
            q.fetch_all(e).await
        })?)
    }
}

/// `$1, $2, ..., $n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

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
    pub template: Option<TemplateSummary>,
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
    pub settings: TemplateSettings,
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

/// The columns of a workspace view beside its three rows (`t_*`: NULL once the template is
/// deleted).
#[derive(FromRow)]
struct ViewNames {
    owner_name: String,
    initiator_name: String,
    version_name: String,
    org_name: String,
    t_name: Option<String>,
    t_display_name: Option<String>,
    t_icon: Option<String>,
    t_active_version_id: Option<Uuid>,
    #[sqlx(json(nullable))]
    t_settings: Option<TemplateSettings>,
}

/// A workspace view from one row of the joined query: the workspace, build and job under
/// the prefixes `w_`, `b_`, `j_`, and [`ViewNames`].
fn view_from_row<R: Row>(row: &R) -> sqlx::Result<WorkspaceView>
where
    WorkspaceRow: FromPrefixed<R>,
    BuildRow: FromPrefixed<R>,
    JobRow: FromPrefixed<R>,
    for<'r> ViewNames: FromRow<'r, R>,
{
    let names = ViewNames::from_row(row)?;
    let template = match (names.t_name, names.t_active_version_id, names.t_settings) {
        (Some(name), Some(active_version_id), Some(settings)) => Some(TemplateSummary {
            name,
            display_name: names.t_display_name.unwrap_or_default(),
            icon: names.t_icon.unwrap_or_default(),
            active_version_id,
            settings,
        }),
        _ => None,
    };
    Ok(WorkspaceView {
        workspace: WorkspaceRow::from_prefixed(row, "w_")?,
        build: BuildRow::from_prefixed(row, "b_")?,
        job: JobRow::from_prefixed(row, "j_")?,
        owner_name: names.owner_name,
        initiator_name: names.initiator_name,
        version_name: names.version_name,
        template,
        organization_name: names.org_name,
    })
}

/// The joined query of [`Store::workspace_views`] for each [`ViewScope`] (by id, by owner,
/// all), written out once.
static VIEW_SQL: std::sync::LazyLock<[String; 3]> = std::sync::LazyLock::new(|| {
    [
        "w.id = $1",
        "NOT w.deleted AND w.owner_id = $1",
        "NOT w.deleted AND $1 IS NULL",
    ]
    .map(|filter| {
        format!(
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
             LEFT JOIN templates t ON t.id = w.template_id AND NOT t.deleted \
             WHERE {filter} ORDER BY w.name, w.id",
            aliased("w", "w_", WorkspaceRow::COLUMNS),
            aliased("b", "b_", BuildRow::COLUMNS),
            aliased("j", "j_", JobRow::COLUMNS),
        )
    })
});

impl Store {
    /// Workspaces with their latest build, job and names, in one query, ordered by name.
    pub async fn workspace_views(&self, scope: ViewScope) -> Result<Vec<WorkspaceView>> {
        let (index, arg) = match scope {
            ViewScope::Id(id) => (0, Some(id)),
            ViewScope::Owner(id) => (1, Some(id)),
            ViewScope::All => (2, None),
        };
        let sql = VIEW_SQL[index].as_str();
        Ok(on!(self.read, |e| {
            let rows = sqlx::query(sql).bind(arg).fetch_all(e).await?;
            rows.iter()
                .map(view_from_row)
                .collect::<sqlx::Result<Vec<_>>>()
        })?)
    }
}
