//! The storage suite: every test runs against SQLite (a real file) and PostgreSQL (a real
//! server, fresh database per test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use chrono::Utc;
use coder_core::build::JobEvent;
use coder_core::model::{
    LogLevel, LogSource, ProvisionerJobInput, ProvisionerJobStatus, ProvisionerJobType,
    ProvisionerType, WorkspaceTransition,
};
use coder_server::store::{
    ApiKeyRow, Backend, BuildRow, FileRow, JobInsert, JobRow, Store, TemplateRow, TemplateSettings,
    UserRow, VersionRow, WorkspaceRow,
};
use sqlx::Connection;
use uuid::Uuid;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = crate::common::sqlite_store().await;
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let store = crate::common::pg_store().await;
                    super::$name(store).await;
                }
            )*
        }
    };
}

both_backends!(
    migrations_are_versioned_and_applied_once,
    first_user_is_created_only_once,
    api_keys_store_only_hashes_and_token_names_are_unique,
    files_are_deduplicated_per_uploader,
    concurrent_acquisition_hands_each_job_out_once,
    job_events_follow_the_core_state_machine,
    job_logs_are_ordered_and_resumable,
    workspace_creation_is_one_transaction,
    a_build_cannot_start_while_one_is_active,
    only_jobs_past_their_lease_are_recovered,
    names_are_unique_regardless_of_case,
    columns_have_the_backends_native_types,
    login_attempts_are_counted_per_hashed_key_and_expire,
);

fn user(name: &str) -> UserRow {
    let now = Utc::now();
    UserRow {
        id: Uuid::new_v4(),
        username: name.to_owned(),
        email: format!("{name}@example.com"),
        name: String::new(),
        hashed_password: "x".to_owned(),
        status: "active".to_owned(),
        login_type: "password".to_owned(),
        roles: vec!["owner".to_owned()],
        created_at: now,
        updated_at: now,
        last_seen_at: now,
    }
}

struct Fixture {
    user: UserRow,
    org: Uuid,
    file: Uuid,
    version: Uuid,
    template: Uuid,
}

fn job(f: &Fixture, job_type: ProvisionerJobType, input: ProvisionerJobInput) -> JobRow {
    JobInsert {
        id: Uuid::new_v4(),
        organization_id: f.org,
        initiator_id: f.user.id,
        provisioner: ProvisionerType::Process,
        file_id: f.file,
        job_type,
        input,
    }
    .into_row(Utc::now())
}

async fn fixture(store: &Store) -> Fixture {
    let org = store.ensure_default_org().await.expect("org").id;
    let u = user("alice");
    assert!(store.create_user(&u, org, false).await.expect("user"));
    let now = Utc::now();
    let (file, _) = store
        .insert_file(FileRow {
            id: Uuid::new_v4(),
            hash: "abc".to_owned(),
            created_by: u.id,
            mimetype: "application/x-tar".to_owned(),
            data: vec![1, 2, 3],
            created_at: now,
        })
        .await
        .expect("file");
    let mut f = Fixture {
        user: u,
        org,
        file,
        version: Uuid::nil(),
        template: Uuid::nil(),
    };
    f.version = new_version(store, &f).await;
    let t = template_row(&f, "local");
    store.create_template(&t).await.expect("template");
    f.template = t.id;
    f
}

/// Creates a template version (and its pending import job) not yet attached to a template.
async fn new_version(store: &Store, f: &Fixture) -> Uuid {
    let version = Uuid::new_v4();
    let import = job(
        f,
        ProvisionerJobType::TemplateVersionImport,
        ProvisionerJobInput {
            template_version_id: Some(version),
            ..Default::default()
        },
    );
    let now = Utc::now();
    store
        .create_version(
            &VersionRow {
                id: version,
                template_id: None,
                organization_id: f.org,
                name: version.to_string(),
                message: String::new(),
                readme: String::new(),
                job_id: import.id,
                created_by: f.user.id,
                archived: false,
                parameters: Vec::new(),
                created_at: now,
                updated_at: now,
            },
            &import,
        )
        .await
        .expect("version");
    version
}

/// A template named `name` of the fixture's organization, with the fixture's version.
fn template_row(f: &Fixture, name: &str) -> TemplateRow {
    let now = Utc::now();
    TemplateRow {
        id: Uuid::new_v4(),
        organization_id: f.org,
        name: name.to_owned(),
        display_name: String::new(),
        description: String::new(),
        icon: String::new(),
        provisioner: ProvisionerType::Process,
        active_version_id: f.version,
        created_by: f.user.id,
        settings: TemplateSettings::default(),
        created_at: now,
        updated_at: now,
    }
}

fn workspace_rows(f: &Fixture, name: &str) -> (WorkspaceRow, BuildRow, JobRow) {
    let now = Utc::now();
    let ws = WorkspaceRow {
        id: Uuid::new_v4(),
        owner_id: f.user.id,
        organization_id: f.org,
        template_id: f.template,
        name: name.to_owned(),
        autostart_schedule: None,
        ttl_ms: Some(3_600_000),
        automatic_updates: "never".to_owned(),
        deleted: false,
        last_used_at: now,
        created_at: now,
        updated_at: now,
    };
    let build_id = Uuid::new_v4();
    let j = job(
        f,
        ProvisionerJobType::WorkspaceBuild,
        ProvisionerJobInput {
            workspace_build_id: Some(build_id),
            ..Default::default()
        },
    );
    let b = BuildRow {
        id: build_id,
        workspace_id: ws.id,
        build_number: 1,
        template_version_id: f.version,
        transition: WorkspaceTransition::Start,
        initiator_id: f.user.id,
        job_id: j.id,
        reason: "initiator".to_owned(),
        deadline: None,
        max_deadline: None,
        provisioner_state: Vec::new(),
        parameters: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    (ws, b, j)
}

async fn count(store: &Store, table: &str) -> i64 {
    store
        .query_i64(&format!("SELECT COUNT(*) FROM {table}"))
        .await
        .expect("count")
}

async fn migrations_are_versioned_and_applied_once(store: Store) {
    assert_eq!(
        store.applied_migrations().await.expect("migrations"),
        vec![1]
    );
    // Running them again (as a restart does) changes nothing.
    store.ensure_default_org().await.expect("org");
    assert_eq!(
        store.applied_migrations().await.expect("migrations"),
        vec![1]
    );
    assert_eq!(count(&store, "organizations").await, 1);
    store.ensure_default_org().await.expect("org again");
    assert_eq!(count(&store, "organizations").await, 1);
}

async fn first_user_is_created_only_once(store: Store) {
    let org = store.ensure_default_org().await.expect("org").id;
    assert!(
        store
            .create_user(&user("first"), org, true)
            .await
            .expect("first")
    );
    assert!(
        !store
            .create_user(&user("second"), org, true)
            .await
            .expect("second")
    );
    assert_eq!(store.count_users().await.expect("count"), 1);
    let found = store
        .user_by_username("FIRST")
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(found.email, "first@example.com");
    assert!(found.is_owner());
    assert_eq!(store.user_org_ids(found.id).await.expect("orgs"), vec![org]);
}

async fn api_keys_store_only_hashes_and_token_names_are_unique(store: Store) {
    let f = fixture(&store).await;
    let now = Utc::now();
    let (id, secret, token) = coder_server::auth::generate_api_key();
    assert_eq!(token, format!("{id}-{secret}"));
    assert_eq!((id.len(), secret.len()), (10, 22));
    let key = ApiKeyRow {
        id: id.clone(),
        hashed_secret: coder_server::auth::hash_secret(&secret),
        user_id: f.user.id,
        login_type: "token".to_owned(),
        token_name: "ci".to_owned(),
        scope: "all".to_owned(),
        lifetime_seconds: 60,
        expires_at: now,
        last_used: now,
        created_at: now,
        updated_at: now,
    };
    store.insert_api_key(&key).await.expect("insert");
    let stored = store.api_key(&id).await.expect("get").expect("found");
    assert_ne!(stored.hashed_secret, secret);
    assert_eq!(stored.hashed_secret.len(), 64);
    let dup = ApiKeyRow {
        id: "otherid123".to_owned(),
        ..key.clone()
    };
    let err = store
        .insert_api_key(&dup)
        .await
        .expect_err("duplicate name");
    assert!(err.is_unique_violation(), "{err}");
    assert_eq!(store.list_tokens(f.user.id).await.expect("list").len(), 1);
    assert!(store.delete_api_key(&id).await.expect("delete"));
    assert!(!store.delete_api_key(&id).await.expect("delete again"));
}

async fn files_are_deduplicated_per_uploader(store: Store) {
    let f = fixture(&store).await;
    let again = FileRow {
        id: Uuid::new_v4(),
        hash: "abc".to_owned(),
        created_by: f.user.id,
        mimetype: "application/x-tar".to_owned(),
        data: vec![1, 2, 3],
        created_at: Utc::now(),
    };
    assert_eq!(
        store.insert_file(again).await.expect("insert"),
        (f.file, false)
    );
    let stored = store.file(f.file).await.expect("get").expect("found");
    assert_eq!(stored.data, vec![1, 2, 3]);
    assert!(store.file(Uuid::new_v4()).await.expect("get").is_none());
}

async fn concurrent_acquisition_hands_each_job_out_once(store: Store) {
    let f = fixture(&store).await;
    // The fixture's import job is pending too: 1 + 20 jobs.
    for _ in 0..20 {
        new_version(&store, &f).await;
    }
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let worker = Uuid::new_v4();
            let mut got = Vec::new();
            while let Some(j) = store
                .acquire_job(worker, Utc::now())
                .await
                .expect("acquire")
            {
                assert_eq!(j.status, ProvisionerJobStatus::Running);
                assert_eq!(j.worker_id, Some(worker));
                got.push(j.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 21);
    assert_eq!(unique.len(), 21);
    assert!(
        store
            .acquire_job(Uuid::new_v4(), Utc::now())
            .await
            .expect("acquire")
            .is_none()
    );
}

async fn job_events_follow_the_core_state_machine(store: Store) {
    let f = fixture(&store).await;
    let version = store.version(f.version).await.expect("v").expect("found");
    let now = Utc::now();
    // Pending -> cancel goes straight to canceled.
    let j = store
        .job_event(version.job_id, JobEvent::CancelRequested, "", now)
        .await
        .expect("cancel");
    assert_eq!(j.status, ProvisionerJobStatus::Canceled);
    assert!(j.completed_at.is_some() && j.canceled_at.is_some());
    // A terminal job refuses further events and stays unchanged.
    let err = store
        .job_event(version.job_id, JobEvent::Acquired, "", now)
        .await
        .expect_err("terminal");
    assert_eq!(err.status(), 400);
    let (ws, b, j) = workspace_rows(&f, "dev");
    store.create_workspace(&ws, &b, &j).await.expect("create");
    let running = store
        .acquire_job(Uuid::new_v4(), now)
        .await
        .expect("acquire")
        .expect("job");
    assert_eq!(running.id, j.id);
    let j2 = store
        .job_event(j.id, JobEvent::CancelRequested, "", now)
        .await
        .expect("cancel");
    assert_eq!(j2.status, ProvisionerJobStatus::Canceling);
    let j3 = store
        .job_event(j.id, JobEvent::Failed, "boom", now)
        .await
        .expect("fail");
    assert_eq!(j3.status, ProvisionerJobStatus::Failed);
    assert_eq!(j3.error, "boom");
}

async fn job_logs_are_ordered_and_resumable(store: Store) {
    let f = fixture(&store).await;
    let v = store.version(f.version).await.expect("v").expect("found");
    let mut ids = Vec::new();
    for i in 0..5 {
        let log = store
            .append_job_log(
                v.job_id,
                LogSource::Provisioner,
                LogLevel::Info,
                "Stage",
                &format!("line {i}"),
                Utc::now(),
            )
            .await
            .expect("log");
        ids.push(log.id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let all = store.job_logs_after(v.job_id, 0).await.expect("logs");
    assert_eq!(
        all.iter().map(|l| l.output.as_str()).collect::<Vec<_>>(),
        ["line 0", "line 1", "line 2", "line 3", "line 4"]
    );
    let rest = store.job_logs_after(v.job_id, ids[2]).await.expect("logs");
    assert_eq!(
        rest.iter().map(|l| l.id).collect::<Vec<_>>(),
        ids[3..].to_vec()
    );
}

async fn workspace_creation_is_one_transaction(store: Store) {
    let f = fixture(&store).await;
    let (ws, b, j) = workspace_rows(&f, "dev");
    store.create_workspace(&ws, &b, &j).await.expect("create");
    let jobs_before = count(&store, "provisioner_jobs").await;
    let (ws2, b2, j2) = workspace_rows(&f, "dev");
    let err = store
        .create_workspace(&ws2, &b2, &j2)
        .await
        .expect_err("duplicate");
    assert_eq!(err.status(), 409);
    assert_eq!(err.to_string(), "Workspace \"dev\" already exists.");
    // Nothing of the failed create remains.
    assert_eq!(count(&store, "provisioner_jobs").await, jobs_before);
    assert_eq!(count(&store, "workspace_builds").await, 1);
    assert!(store.workspace(ws2.id).await.expect("get").is_none());
    let latest = store
        .latest_build(ws.id)
        .await
        .expect("latest")
        .expect("build");
    assert_eq!((latest.id, latest.build_number), (b.id, 1));
}

async fn a_build_cannot_start_while_one_is_active(store: Store) {
    let f = fixture(&store).await;
    let (ws, b, j) = workspace_rows(&f, "dev");
    store.create_workspace(&ws, &b, &j).await.expect("create");
    let (_, mut b2, j2) = workspace_rows(&f, "ignored");
    b2.workspace_id = ws.id;
    b2.transition = WorkspaceTransition::Stop;
    let refuse = |latest: Option<(&BuildRow, &ProvisionerJobStatus)>| {
        let (_, status) = latest.expect("latest build");
        if status.is_terminal() {
            Ok(())
        } else {
            Err(coder_server::error::Error::conflict(
                "A workspace build is already active.",
            ))
        }
    };
    let err = store
        .create_build(&mut b2.clone(), &j2, refuse)
        .await
        .expect_err("active");
    assert_eq!(err.status(), 409);
    assert_eq!(count(&store, "workspace_builds").await, 1);
    // Once the first job is done the stop build gets number 2.
    let now = Utc::now();
    store
        .acquire_job(Uuid::new_v4(), now)
        .await
        .expect("acquire");
    store
        .acquire_job(Uuid::new_v4(), now)
        .await
        .expect("acquire");
    store
        .job_event(j.id, JobEvent::Succeeded, "", now)
        .await
        .expect("succeed");
    store
        .create_build(&mut b2, &j2, refuse)
        .await
        .expect("stop build");
    assert_eq!(b2.build_number, 2);
    let builds = store.list_builds(ws.id).await.expect("builds");
    assert_eq!(
        builds.iter().map(|b| b.build_number).collect::<Vec<_>>(),
        vec![2, 1]
    );
}

async fn only_jobs_past_their_lease_are_recovered(store: Store) {
    let f = fixture(&store).await;
    let t0 = Utc::now();
    let secs = chrono::Duration::seconds;
    assert!(store.lapsed_jobs(t0).await.expect("lapsed").is_empty());
    let worker = Uuid::new_v4();
    let j = store
        .acquire_job(worker, t0)
        .await
        .expect("acquire")
        .expect("job");
    let ids = |jobs: Vec<JobRow>| jobs.iter().map(|j| j.id).collect::<Vec<_>>();
    // Acquisition starts the lease.
    assert_eq!(
        ids(store.lapsed_jobs(t0).await.expect("lapsed")),
        Vec::<Uuid>::new()
    );
    assert_eq!(
        ids(store.lapsed_jobs(t0 + secs(1)).await.expect("lapsed")),
        vec![j.id]
    );
    // A renewal by its holder moves it; another worker cannot renew it.
    assert_eq!(
        store
            .renew_job_lease(j.id, worker, t0 + secs(2))
            .await
            .expect("renew"),
        Some(ProvisionerJobStatus::Running)
    );
    assert_eq!(
        store
            .renew_job_lease(j.id, Uuid::new_v4(), t0 + secs(9))
            .await
            .expect("renew"),
        None
    );
    assert_eq!(
        ids(store.lapsed_jobs(t0 + secs(1)).await.expect("lapsed")),
        Vec::<Uuid>::new()
    );
    assert!(
        store
            .abandon_job(j.id, t0 + secs(1), "gone", t0 + secs(3))
            .await
            .expect("abandon")
            .is_none(),
        "a job whose holder renewed its lease is left alone"
    );
    // Past the lease, recovery fails it with its log line, and the old holder has lost it.
    let failed = store
        .abandon_job(j.id, t0 + secs(3), "gone", t0 + secs(4))
        .await
        .expect("abandon")
        .expect("lapsed job");
    assert_eq!(
        (failed.status, failed.error.as_str()),
        (
            ProvisionerJobStatus::Failed,
            "the server stopped while the job was running"
        )
    );
    let logs = store.job_logs_after(j.id, 0).await.expect("logs");
    assert_eq!(
        logs.iter().map(|l| l.output.as_str()).collect::<Vec<_>>(),
        vec!["gone"]
    );
    assert_eq!(
        store
            .renew_job_lease(j.id, worker, t0 + secs(5))
            .await
            .expect("renew"),
        None
    );
    let _ = f;
}

async fn names_are_unique_regardless_of_case(store: Store) {
    let f = fixture(&store).await;
    // Users: username and email, each refused in another case.
    let username = UserRow {
        email: "other@example.com".to_owned(),
        ..user("Alice")
    };
    let email = UserRow {
        email: "ALICE@example.com".to_owned(),
        ..user("bob")
    };
    for taken in [username, email] {
        let err = store
            .create_user(&taken, f.org, false)
            .await
            .expect_err("taken");
        assert!(err.is_unique_violation(), "{err}");
    }
    assert_eq!(store.count_users().await.expect("count"), 1);
    assert_eq!(
        store
            .user_by_username("ALICE")
            .await
            .expect("get")
            .map(|u| u.id),
        Some(f.user.id)
    );
    // Organizations (the server creates only the default one, `coder`).
    let sql = match store.backend() {
        Backend::Sqlite => {
            "INSERT INTO organizations (id, name, display_name, description, icon, is_default, created_at, updated_at) \
             VALUES (randomblob(16), 'CODER', '', '', '', FALSE, '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')"
        }
        Backend::Postgres => {
            "INSERT INTO organizations (id, name, display_name, description, icon, is_default, created_at, updated_at) \
             VALUES (gen_random_uuid(), 'CODER', '', '', '', FALSE, now(), now())"
        }
    };
    let err = store.execute_sql(sql).await.expect_err("taken");
    assert!(err.is_unique_violation(), "{err}");
    assert_eq!(
        store.org("CODER").await.expect("get").map(|o| o.id),
        Some(f.org)
    );
    // Templates, per organization: the same error as an exact duplicate.
    let other = Fixture {
        version: new_version(&store, &f).await,
        ..f
    };
    let err = store
        .create_template(&template_row(&other, "LOCAL"))
        .await
        .expect_err("taken");
    assert_eq!(
        (err.status().as_u16(), err.to_string()),
        (
            409,
            "Template with name \"LOCAL\" already exists.".to_owned()
        )
    );
    assert_eq!(
        store
            .template_by_name(other.org, "Local")
            .await
            .expect("get")
            .map(|t| t.id),
        Some(other.template)
    );
    // Workspaces, per owner: the same error as an exact duplicate.
    let (ws, b, j) = workspace_rows(&other, "dev");
    store.create_workspace(&ws, &b, &j).await.expect("create");
    let (ws2, b2, j2) = workspace_rows(&other, "DEV");
    let err = store
        .create_workspace(&ws2, &b2, &j2)
        .await
        .expect_err("taken");
    assert_eq!(
        (err.status().as_u16(), err.to_string()),
        (409, "Workspace \"DEV\" already exists.".to_owned())
    );
    assert_eq!(
        store
            .workspace_by_name(other.user.id, "Dev")
            .await
            .expect("get")
            .map(|w| w.id),
        Some(ws.id)
    );
}

async fn columns_have_the_backends_native_types(store: Store) {
    let f = fixture(&store).await;
    let (ws, b, j) = workspace_rows(&f, "dev");
    store.create_workspace(&ws, &b, &j).await.expect("create");
    store
        .append_job_log(
            j.id,
            LogSource::Provisioner,
            LogLevel::Info,
            "",
            "x",
            Utc::now(),
        )
        .await
        .expect("log");
    // (table, column, PostgreSQL type, SQLite storage class of the stored value)
    let columns = [
        ("workspaces", "id", "uuid", "blob"),
        ("workspaces", "deleted", "boolean", "integer"),
        (
            "workspaces",
            "created_at",
            "timestamp with time zone",
            "text",
        ),
        ("workspace_builds", "provisioner_state", "bytea", "blob"),
        ("workspace_builds", "parameters", "jsonb", "text"),
        ("provisioner_jobs", "input", "jsonb", "text"),
        ("provisioner_job_logs", "id", "bigint", "integer"),
        ("users", "rbac_roles", "jsonb", "text"),
    ];
    for (table, column, pg, sqlite) in columns {
        let sql = match store.backend() {
            Backend::Postgres => format!(
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND table_name = '{table}' AND column_name = '{column}' AND data_type = '{pg}'"
            ),
            // 1 when every stored value (and at least one) has that storage class.
            Backend::Sqlite => format!(
                "SELECT COUNT(*) > 0 AND COUNT(*) = SUM(typeof({column}) = '{sqlite}') FROM {table}"
            ),
        };
        assert_eq!(
            store.query_i64(&sql).await.expect("type"),
            1,
            "{table}.{column}"
        );
    }
}

/// The schema the hand-rolled migrator of earlier versions left (in part): text ids.
const OLD_SCHEMA: &str = "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL); \
    INSERT INTO schema_migrations VALUES (1, 'initial', '2026-11-01T00:00:00.000000Z'); \
    CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE); \
    INSERT INTO users VALUES ('8d0d6f5e-4c59-4c8e-9a55-0f3e6d3c2a11', 'alice')";

/// What opening such a database says.
fn refused(what: &str) -> String {
    format!(
        "{what} was created by an earlier coder-server (it has a schema_migrations table) whose \
         schema this version cannot upgrade; nothing was changed. Start with a fresh database: a \
         new --cache-dir for SQLite, or an empty database in --postgres-url."
    )
}

/// Asserts that the database behind connection `$c` holds what [`OLD_SCHEMA`] made and nothing
/// else; `$tables` lists its tables' names in order.
macro_rules! assert_old_schema_untouched {
    ($c:ident, $tables:expr) => {
        let tables: Vec<String> = sqlx::query_scalar($tables)
            .fetch_all(&mut $c)
            .await
            .expect("tables");
        assert_eq!(tables, ["schema_migrations", "users"]);
        let users: Vec<String> = sqlx::query_scalar("SELECT username FROM users")
            .fetch_all(&mut $c)
            .await
            .expect("users");
        assert_eq!(users, ["alice"]);
    };
}

#[tokio::test]
async fn sqlite_database_of_the_old_migrator_is_refused_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("coder.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let mut c = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("connect");
    sqlx::raw_sql(OLD_SCHEMA)
        .execute(&mut c)
        .await
        .expect("old");
    let err = Store::open_sqlite(&path).await.expect_err("refused");
    assert_eq!(err.to_string(), refused(&path.display().to_string()));
    assert_old_schema_untouched!(
        c,
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    );
}

#[tokio::test]
async fn postgres_database_of_the_old_migrator_is_refused_unchanged() {
    let url = common::fresh_pg_url().await;
    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql(OLD_SCHEMA)
        .execute(&mut c)
        .await
        .expect("old");
    let err = Store::open_postgres(&url).await.expect_err("refused");
    assert_eq!(err.to_string(), refused("the PostgreSQL database"));
    assert_old_schema_untouched!(
        c,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
    );
}

/// Replicas starting together on an empty database: sqlx's migrator holds an advisory lock,
/// so each migration runs once and every replica opens.
#[tokio::test]
async fn postgres_replicas_starting_together_migrate_once() {
    let url = common::fresh_pg_url().await;
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::open_postgres(&url).await })
        })
        .collect();
    for open in opens {
        let store = open.await.expect("task").expect("open");
        assert_eq!(store.applied_migrations().await.expect("migrations"), [1]);
        store.close().await;
    }
}

async fn login_attempts_are_counted_per_hashed_key_and_expire(store: Store) {
    use chrono::TimeZone;
    use sha2::Digest;
    let key = coder_server::auth::login_attempt_key("Admin@Example.COM");
    let expected: String = sha2::Sha256::digest(b"admin@example.com")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(key, expected);
    let window = std::time::Duration::from_secs(60);
    let t0 = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let at = |s: i64| t0 + chrono::Duration::seconds(s);
    let count = |now| store.count_login_attempt(&key, now, window);
    let seen: Vec<_> = [
        count(at(0)).await.unwrap(),
        count(at(10)).await.unwrap(),
        count(at(59)).await.unwrap(),
        // The window has passed: a new one starts.
        count(at(60)).await.unwrap(),
        count(at(61)).await.unwrap(),
    ]
    .iter()
    .map(|a| (a.attempts, a.window_start))
    .collect();
    assert_eq!(
        seen,
        [(1, at(0)), (2, at(0)), (3, at(0)), (1, at(60)), (2, at(60))]
    );
    store
        .count_login_attempt("other", at(61), window)
        .await
        .unwrap();
    // Only hashes are stored: the two keys are the only rows.
    let stored =
        format!("SELECT COUNT(*) FROM login_attempts WHERE key_hash IN ('{key}', 'other')");
    assert_eq!(store.query_i64(&stored).await.unwrap(), 2);
    assert_eq!(crate::count(&store, "login_attempts").await, 2);
    // Expiry deletes a key once its window has ended, and a reset forgets it at once.
    assert_eq!(
        store
            .delete_expired_login_attempts(at(119), window)
            .await
            .unwrap(),
        0
    );
    store.reset_login_attempts("other").await.unwrap();
    assert_eq!(
        store
            .delete_expired_login_attempts(at(120), window)
            .await
            .unwrap(),
        1
    );
    assert_eq!(count(at(120)).await.unwrap().attempts, 1);
}
