//! A build's completion is one transaction: an error injected between any two of its steps
//! (failpoints) leaves the build failed with nothing of it recorded (no resources, no agent
//! tokens, the workspace not deleted), and, after a restart, the next build still reaches
//! every process the failed one started. Both backends; failpoints are process-wide, so the
//! scenarios run one after another in one test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use coder_server::Config;
use coder_server::store::Store;
use common::{Db, TestServer, running, started_pids};
use serde_json::json;

const START_STEPS: [&str; 4] = [
    "complete_build::state",
    "complete_build::resources",
    "complete_build::agent_tokens",
    "complete_build::job",
];

async fn config(db: Db, dir: &tempfile::TempDir) -> Config {
    let mut config = Config::new(dir.path().join("cache"));
    config.stop_timeout = std::time::Duration::from_secs(2);
    if db == Db::Postgres {
        config.postgres_url = Some(common::fresh_pg_url().await);
    }
    config
}

async fn open(config: &Config) -> Store {
    match &config.postgres_url {
        Some(url) => Store::open_postgres(url).await.unwrap(),
        None => Store::open_sqlite(&config.sqlite_path()).await.unwrap(),
    }
}

async fn count(store: &Store, sql: &str) -> i64 {
    store.query_i64(sql).await.unwrap()
}

/// A start whose completion fails at `step`: nothing of it is recorded; after a restart the
/// delete stops the process it started.
async fn start_fails_at(db: Db, step: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = config(db, &dir).await;
    let server = TestServer::start_config(config.clone(), dir).await;
    let token = server.first_user().await;
    let template = server.example_template(&token, "local").await;
    fail::cfg(step, "return").unwrap();
    let ws = server.create_dev(&token, &template["id"]).await;
    let id = ws["id"].as_str().unwrap().to_owned();
    let failed = server.wait_status(&token, &id, "failed").await;
    fail::remove(step);
    let latest = &failed["latest_build"];
    assert_eq!(
        latest["job"]["error"], "recording the job's outcome: failpoint",
        "{step}"
    );
    assert_eq!(latest["resources"], json!([]), "{step}");
    let (_, logs) = server
        .get(
            &token,
            &format!("/workspacebuilds/{}/logs", latest["id"].as_str().unwrap()),
        )
        .await;
    let started = started_pids(&logs);
    assert_eq!(started.len(), 1, "{step}: {logs}");
    let outputs: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["output"].as_str())
        .collect();
    assert!(!outputs.contains(&"Job succeeded"), "{step}: {outputs:?}");
    assert_eq!(
        outputs.last().copied(),
        Some("Job failed: recording the job's outcome: failpoint")
    );

    let dir = server.stop().await;
    let store = open(&config).await;
    assert_eq!(
        count(&store, "SELECT COUNT(*) AS n FROM workspace_agent_tokens").await,
        0,
        "{step}: tokens of a failed build"
    );
    store.close().await;
    let server = TestServer::start_config(config, dir).await;
    assert!(running(started[0]), "{step}");
    server.build(&token, &id, "delete").await;
    server.wait_status(&token, &id, "deleted").await;
    assert!(
        !running(started[0]),
        "{step}: the failed start's process leaked"
    );
}

/// A delete whose completion fails before the commit leaves the workspace in place; the
/// next delete, after a restart, removes it.
async fn delete_fails_before_commit(db: Db) {
    let step = "complete_build::workspace";
    let dir = tempfile::tempdir().unwrap();
    let config = config(db, &dir).await;
    let server = TestServer::start_config(config.clone(), dir).await;
    let token = server.first_user().await;
    let template = server.example_template(&token, "local").await;
    let ws = server.create_dev(&token, &template["id"]).await;
    let id = ws["id"].as_str().unwrap().to_owned();
    server.wait_status(&token, &id, "running").await;
    fail::cfg(step, "return").unwrap();
    server.build(&token, &id, "delete").await;
    server.wait_status(&token, &id, "failed").await;
    fail::remove(step);
    let (status, after) = server.get(&token, &format!("/workspaces/{id}")).await;
    assert_eq!(
        (status, &after["latest_build"]["status"]),
        (200, &json!("failed")),
        "the workspace is still there"
    );
    let dir = server.stop().await;
    let server = TestServer::start_config(config, dir).await;
    server.build(&token, &id, "delete").await;
    server.wait_status(&token, &id, "deleted").await;
    let (status, _) = server.get(&token, &format!("/workspaces/{id}")).await;
    assert_eq!(status, 410);
}

#[tokio::test]
async fn a_build_whose_commit_fails_leaves_nothing_half_recorded() {
    let scenario = fail::FailScenario::setup();
    for db in [Db::Sqlite, Db::Postgres] {
        for step in START_STEPS {
            start_fails_at(db, step).await;
        }
        delete_fails_before_commit(db).await;
    }
    scenario.teardown();
}
