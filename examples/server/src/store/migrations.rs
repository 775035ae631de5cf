//! Schema migrations: versioned SQL files per backend (`migrations/sqlite`,
//! `migrations/postgres`), embedded at compile time and applied by sqlx's migrator, which
//! records them in `_sqlx_migrations`, runs each in a transaction and, on PostgreSQL, holds an
//! advisory lock so replicas starting together migrate one at a time.
//!
//! A database made by the earlier hand-rolled migrator (a `schema_migrations` table, text
//! ids and times) is refused before anything is written: its schema cannot be converted in
//! place.

use sqlx::migrate::Migrator;

use super::db::{Db, fetch_scalar};
use super::{Backend, Store};
use crate::error::{Error, Result};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Applies the migrations this database has not seen yet; `what` names the database in
    /// errors.
    pub(crate) async fn migrate(&self, what: &str) -> Result<()> {
        if self.has_table("schema_migrations").await? && !self.has_table("_sqlx_migrations").await?
        {
            return Err(Error::Internal(format!(
                "{what} was created by an earlier coder-server (it has a schema_migrations table) \
                 whose schema this version cannot upgrade; nothing was changed. Start with a fresh \
                 database: a new --cache-dir for SQLite, or an empty database in --postgres-url."
            )));
        }
        let migrated = match &self.pool {
            Db::Sqlite(p) => SQLITE.run(p).await,
            Db::Postgres(p) => POSTGRES.run(p).await,
        };
        migrated.map_err(|e| Error::Internal(format!("migrating {what}: {e}")))
    }

    /// Whether a table of this name exists (in PostgreSQL's current schema).
    async fn has_table(&self, name: &str) -> Result<bool> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let n: i64 = fetch_scalar!(self.pool, fetch_one, sql, name)?;
        Ok(n > 0)
    }

    /// The versions applied so far, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>> {
        fetch_scalar!(
            self.read,
            fetch_all,
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version"
        )
    }
}
