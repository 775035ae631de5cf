//! Storage: one [`Store`] over `sqlx::Any`, serving both backends (SQLite file, PostgreSQL)
//! with portable SQL; backend-specific SQL only where the two differ (job acquisition,
//! column types in migrations).
//!
//! Conventions: ids are UUID text, times RFC 3339 text in UTC with microseconds (so text order
//! is time order), booleans 0/1 `BIGINT`s, structured values JSON text. Every multi-row change
//! (workspace + build + job, version + job) is one transaction.

mod completion;
mod files;
mod jobs;
mod login_attempts;
mod migrations;
mod orgs;
mod rows;
mod templates;
mod users;
mod workspaces;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

pub use completion::{AgentToken, CompletedBuild, CompletedImport, HeldJob};
pub use files::FileRow;
pub use jobs::{JobInsert, JobRow};
pub use login_attempts::LoginAttempts;
pub use orgs::DEFAULT_ORG_NAME;
pub use rows::{parse_ts, ts};
pub use templates::{TemplateRow, TemplateSettings, VersionRow};
pub use users::{ApiKeyRow, UserRow};
pub use workspaces::{BuildRow, TemplateSummary, ViewScope, WorkspaceRow, WorkspaceView};

use crate::error::{Error, Result};

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The server's storage. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    /// Writes and transactions (SQLite: the one writer connection).
    pool: AnyPool,
    /// Plain reads (SQLite: several connections reading a WAL snapshot concurrently with the
    /// writer; PostgreSQL: the same pool).
    read: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let io = |e: std::io::Error| Error::Internal(format!("creating {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            crate::private_fs::create_dir(dir).map_err(io)?;
        }
        // SQLite gives its WAL and shared-memory files the database file's permissions.
        crate::private_fs::open_append(path).map_err(io)?;
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        // One writer connection: SQLite has one writer anyway, and a single connection never
        // meets SQLITE_BUSY on lock upgrades inside transactions. Reads use their own pool.
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        // WAL is a property of the file (persistent); sqlx turns on foreign keys and a 5 s
        // busy timeout for every SQLite connection by default.
        sqlx::raw_sql("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
        let read = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(AnyConnectOptions::from_str(&url)?.disable_statement_logging())
            .await?;
        let store = Self {
            pool,
            read,
            backend: Backend::Sqlite,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to PostgreSQL at `url` and migrates the database.
    pub async fn open_postgres(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let store = Self {
            read: pool.clone(),
            pool,
            backend: Backend::Postgres,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for queries outside this module's API (tests, health checks).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.read.close().await;
        self.pool.close().await;
    }
}
