//! Support for test suites built on this server (its own, the client's, the CLI's): a real
//! PostgreSQL server, a fresh database per test.

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::{Connection, PgConnection};

/// The admin URL of the test PostgreSQL server (a role that may create databases).
///
/// `CODER_TEST_PG_URL` wins (the test command sets it). Otherwise the local Debian cluster is
/// started and a `coder_test` role is created through the `postgres` superuser. Without
/// PostgreSQL installed this is an error saying how to get it: tests never silently skip.
pub fn pg_admin_url() -> Result<&'static str, String> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("CODER_TEST_PG_URL")
            && !url.is_empty()
        {
            return Ok(url);
        }
        let has_pg = Command::new("sh")
            .args(["-c", "command -v pg_ctlcluster"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_pg {
            return Err("PostgreSQL is not installed: run scripts/test-all.sh (it installs Debian's \
                        postgresql) or set CODER_TEST_PG_URL=postgres://user:password@127.0.0.1:5432/db"
                .to_owned());
        }
        let _ = Command::new("pg_ctlcluster").args(["15", "main", "start"]).status();
        let sql = "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'coder_test') THEN \
                   CREATE ROLE coder_test LOGIN PASSWORD 'coder_test' CREATEDB; END IF; END $$;";
        let status = Command::new("su")
            .args(["postgres", "-c", "psql -q -v ON_ERROR_STOP=1"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(sql.as_bytes())?;
                }
                child.wait()
            });
        if !status.is_ok_and(|s| s.success()) {
            return Err("could not create the coder_test role with `su postgres -c psql`; set \
                        CODER_TEST_PG_URL"
                .to_owned());
        }
        Ok("postgres://coder_test:coder_test@127.0.0.1:5432/postgres".to_owned())
    })
    .as_deref()
    .map_err(Clone::clone)
}

/// Creates an empty database for one test and returns its URL. The first call in a process
/// drops the test databases earlier runs left behind.
pub async fn fresh_pg_url() -> Result<String, String> {
    let admin = pg_admin_url()?;
    let name = format!(
        "coder_test_{}_{}",
        unix_secs(),
        uuid::Uuid::new_v4().simple()
    );
    let mut conn = None;
    for _ in 0..50 {
        match PgConnection::connect(admin).await {
            Ok(c) => {
                conn = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let mut conn = conn.ok_or_else(|| format!("cannot connect to PostgreSQL at {admin}"))?;
    drop_stale_databases(&mut conn).await;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("create test database: {e}"))?;
    let _ = conn.close().await;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    let base = base.split('?').next().unwrap_or(base);
    Ok(format!("{base}/{name}"))
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Once per process: drops the databases earlier runs left behind: those created over an hour
/// ago (their name says when), so suites running side by side keep theirs.
async fn drop_stale_databases(conn: &mut PgConnection) {
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    CLEANED
        .get_or_init(|| async {
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT datname::text FROM pg_database WHERE datname LIKE 'coder\\_test\\_%'",
            )
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
            let cutoff = unix_secs().saturating_sub(3600);
            for name in names {
                let created = name
                    .strip_prefix("coder_test_")
                    .and_then(|rest| rest.split('_').next())
                    .and_then(|secs| secs.parse::<u64>().ok())
                    .unwrap_or(0);
                if created >= cutoff {
                    continue;
                }
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut *conn)
                    .await;
            }
        })
        .await;
}
