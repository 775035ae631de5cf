//! Storage: one [`Store`] over the two native drivers, an embedded SQLite file or a
//! PostgreSQL server, each with its own types: PostgreSQL `uuid`, `timestamptz`, `boolean`,
//! `jsonb`, `bytea`, `bigserial`; SQLite what sqlx encodes for the same Rust types (UUIDs as
//! 16-byte BLOBs, times as RFC 3339 TEXT in UTC, booleans as INTEGER, JSON as TEXT).
//!
//! Each query is written once: `db` holds a pool, transaction or connection of either backend
//! and its `on!` macro (with `execute!`, `fetch!` and `fetch_scalar!` over it) runs one SQL
//! text with one bind list on whichever it is (both drivers take `$1` placeholders); helpers
//! that run inside transactions take a `Conn`, the borrowed connection of either backend.
//! Backend-specific SQL appears only where the two differ: job acquisition and recovery lock
//! rows on PostgreSQL, and the migrations' column types (`migrations`). Rows map through
//! `#[derive(sqlx::FromRow)]`, JSON columns through `sqlx::types::Json`, wire enums through
//! their text (`row`).
//!
//! Every state change is one transaction: workspace + first build + job, build + job,
//! version + job, and a job's completion with everything it produced (`completion`).
//! Names are unique case-insensitively where Coder's are (`lower(name)` unique indexes), and
//! looked up case-insensitively as Coder does.

mod completion;
mod db;
mod files;
mod jobs;
mod login_attempts;
mod migrations;
mod orgs;
mod row;
mod templates;
mod users;
mod workspaces;

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{ConnectOptions, PgPool};

pub use completion::{AgentToken, CompletedBuild, CompletedImport, HeldJob};
pub use files::FileRow;
pub use jobs::{JobInsert, JobRow};
pub use login_attempts::LoginAttempts;
pub use orgs::DEFAULT_ORG_NAME;
pub use templates::{TemplateRow, TemplateSettings, VersionRow};
pub use users::{ApiKeyRow, UserRow};
pub use workspaces::{BuildRow, TemplateSummary, ViewScope, WorkspaceRow, WorkspaceView};

use crate::error::{Error, Result};
use db::{Db, Pool, fetch_scalar, on};

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The server's storage. Cheap to clone (pool handles).
#[derive(Debug, Clone)]
pub struct Store {
    /// Writes and transactions (SQLite: the one writer connection).
    pool: Pool,
    /// Plain reads (SQLite: several connections reading a WAL snapshot concurrently with the
    /// writer; PostgreSQL: the same pool).
    read: Pool,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        let io = |e: std::io::Error| Error::Internal(format!("creating {}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            crate::private_fs::create_dir(dir).map_err(io)?;
        }
        // SQLite gives its WAL and shared-memory files the database file's permissions.
        crate::private_fs::open_append(path).map_err(io)?;
        // WAL lets the readers below see a snapshot while the writer writes; foreign keys and
        // a 5 s busy timeout are sqlx's defaults for every SQLite connection.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .disable_statement_logging();
        // One writer connection: SQLite has one writer anyway, and a single connection never
        // meets SQLITE_BUSY on lock upgrades inside transactions. Reads use their own pool.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let store = Self {
            pool: Db::Sqlite(pool),
            read: Db::Sqlite(read),
        };
        store.migrate(&path.display().to_string()).await?;
        Ok(store)
    }

    /// Connects to PostgreSQL at `url` and migrates the database.
    pub async fn open_postgres(url: &str) -> Result<Self> {
        let options = url.parse::<PgConnectOptions>()?.disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let store = Self {
            read: Db::Postgres(pool.clone()),
            pool: Db::Postgres(pool),
        };
        store.migrate("the PostgreSQL database").await?;
        Ok(store)
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The PostgreSQL pool (`LISTEN`/`NOTIFY` between replicas); `None` on SQLite.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Db::Postgres(p) => Some(p),
            Db::Sqlite(_) => None,
        }
    }

    /// Runs one SQL statement outside this module's API (tests, maintenance); returns the
    /// number of rows it changed.
    pub async fn execute_sql(&self, sql: &str) -> Result<u64> {
        Ok(on!(self.pool, |e| sqlx::raw_sql(sql)
            .execute(e)
            .await
            .map(|done| done.rows_affected()))?)
    }

    /// Runs one query outside this module's API (tests, health checks) and returns the
    /// integer in the first column of its first row, e.g. `SELECT COUNT(*) FROM users`.
    pub async fn query_i64(&self, sql: &str) -> Result<i64> {
        fetch_scalar!(self.pool, fetch_one, sql)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.read.close().await;
        self.pool.close().await;
    }
}
