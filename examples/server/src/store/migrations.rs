//! Versioned schema migrations: numbered SQL files applied once each, in order, recorded in
//! `schema_migrations`. A migration and its record commit together.

use sqlx::Row;

use super::{Backend, Store};
use crate::error::Result;

/// Every migration, in order. Never edit a released one; add the next number.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/0001_initial.sql"),
    ),
    (
        2,
        "job_leases",
        include_str!("../../migrations/0002_job_leases.sql"),
    ),
    (
        3,
        "login_attempts",
        include_str!("../../migrations/0003_login_attempts.sql"),
    ),
];

impl Store {
    /// Applies the migrations this database has not seen yet.
    pub(crate) async fn migrate(&self) -> Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        for &(version, name, sql) in MIGRATIONS {
            let mut tx = self.pool.begin().await?;
            if self.backend == Backend::Postgres {
                // Replicas starting together migrate one at a time.
                sqlx::query("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            let done =
                sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get::<i64, _>("n")?;
            if done > 0 {
                continue;
            }
            for statement in statements(&self.dialect(sql)) {
                sqlx::query(&statement).execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(name)
            .bind(super::ts(chrono::Utc::now()))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version, name, "applied migration");
        }
        Ok(())
    }

    /// Rewrites the portable placeholders of a migration for this backend.
    fn dialect(&self, sql: &str) -> String {
        let (serial, blob) = match self.backend {
            Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
            Backend::Postgres => ("BIGSERIAL PRIMARY KEY", "BYTEA"),
        };
        sql.replace("{{serial}}", serial).replace("{{blob}}", blob)
    }

    /// The versions applied so far, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<i64, _>("version")?))
            .collect()
    }
}

/// The statements of a migration file: `--` comments dropped, split at `;`.
fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
