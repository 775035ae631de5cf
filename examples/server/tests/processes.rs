//! Workspace processes are never leaked and never someone else's: a start killed part-way
//! (SIGKILL, real server processes) leaves every started process reachable by the next stop,
//! on SQLite after a restart and on PostgreSQL through another replica once the lease lapses;
//! a starting replica leaves a live replica's job alone; a recycled pid is never signalled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use coder_core::model::WorkspaceTransition;
use coder_core::provision::{BuildRequest, ProvisionContext, ProvisionLog, Provisioner};
use coder_server::config::TemplateLimits;
use coder_server::process::group::{self, ProcessEntry};
use coder_server::process::{ProcessProvisioner, ProcessState};
use common::{Db, ServerProcess, TestServer, running, started_pids};
use serde_json::json;

const AGENTS: usize = 8;

fn many_agents() -> String {
    (1..=AGENTS)
        .map(|i| format!("[[agents]]\nname = \"a{i}\"\ncommand = \"sleep 600\"\n"))
        .collect()
}

async fn answering(server: &TestServer) {
    for _ in 0..400 {
        if server
            .client
            .get(server.api("/buildinfo"))
            .send()
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} never answered", server.url);
}

async fn interrupted_start_leaks_nothing(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache").display().to_string();
    let pg = match db {
        Db::Postgres => Some(common::fresh_pg_url().await),
        Db::Sqlite => None,
    };
    let mut envs = vec![
        ("CODER_CACHE_DIRECTORY", cache.as_str()),
        ("CODER_PROVISIONER_JOB_LEASE", "2s"),
    ];
    if let Some(url) = &pg {
        envs.push(("CODER_PG_CONNECTION_URL", url.as_str()));
    }
    let a = ServerProcess::spawn(&envs);
    let api = TestServer::attach(&a.url);
    answering(&api).await;
    let token = api.first_user().await;
    let template = api.template_from(&token, "many", &many_agents()).await;
    let ws = api.create_dev(&token, &json!(template)).await;
    let ws_id = ws["id"].as_str().unwrap().to_owned();
    let build_id = ws["latest_build"]["id"].as_str().unwrap().to_owned();
    let logs_path = format!("/workspacebuilds/{build_id}/logs");
    // SIGKILL as soon as the first agent process runs.
    api.wait_for(&token, &logs_path, |logs| !started_pids(logs).is_empty())
        .await;
    a.kill();

    // Another server on the same database recovers the job: a restart on SQLite, the other
    // replica once the lease lapsed on PostgreSQL.
    let b = ServerProcess::spawn(&envs);
    let api = TestServer::attach(&b.url);
    answering(&api).await;
    let failed = api.wait_status(&token, &ws_id, "failed").await;
    assert_eq!(
        failed["latest_build"]["job"]["error"],
        "the server stopped while the job was running"
    );
    let (_, logs) = api.get(&token, &logs_path).await;
    let pids = started_pids(&logs);
    assert!(!pids.is_empty() && pids.len() <= AGENTS, "{pids:?}");
    assert!(
        pids.iter().all(|&p| running(p)),
        "the killed server's processes outlive it: {pids:?}"
    );

    // Stop reaches every process the interrupted start launched; delete succeeds after it.
    api.build(&token, &ws_id, "stop").await;
    api.wait_status(&token, &ws_id, "stopped").await;
    let left: Vec<i32> = pids.iter().copied().filter(|&p| running(p)).collect();
    assert_eq!(left, Vec::<i32>::new(), "processes left running after stop");
    api.build(&token, &ws_id, "delete").await;
    api.wait_status(&token, &ws_id, "deleted").await;
    b.kill();
}

#[tokio::test]
async fn a_start_killed_part_way_leaks_no_process_sqlite() {
    interrupted_start_leaks_nothing(Db::Sqlite).await;
}

#[tokio::test]
async fn a_start_killed_part_way_leaks_no_process_postgres() {
    interrupted_start_leaks_nothing(Db::Postgres).await;
}

#[tokio::test]
async fn a_starting_replica_leaves_a_live_replicas_job_alone() {
    let url = common::fresh_pg_url().await;
    let config = |dir: &tempfile::TempDir| {
        let mut c = coder_server::Config::new(dir.path().join("cache"));
        c.postgres_url = Some(url.clone());
        c.job_lease = Duration::from_millis(1500);
        // The stop below outlasts two leases: the process ignores SIGTERM.
        c.stop_timeout = Duration::from_secs(4);
        c
    };
    let dir_a = tempfile::tempdir().unwrap();
    let a = TestServer::start_config(config(&dir_a), dir_a).await;
    let token = a.first_user().await;
    let manifest =
        "[[agents]]\nname = \"main\"\ncommand = \"trap '' TERM; while true; do sleep 0.1; done\"\n";
    let template = a.template_from(&token, "stubborn", manifest).await;
    let ws = a.create_dev(&token, &json!(template)).await;
    let ws_id = ws["id"].as_str().unwrap().to_owned();
    a.wait_status(&token, &ws_id, "running").await;
    let build = a.build(&token, &ws_id, "stop").await;
    let logs_path = format!("/workspacebuilds/{}/logs", build["id"].as_str().unwrap());
    a.wait_for(&token, &logs_path, |logs| {
        logs.to_string().contains("sending SIGTERM")
    })
    .await;

    // B starts (and recovers) while A's stop is running, and keeps checking for lapsed jobs.
    let dir_b = tempfile::tempdir().unwrap();
    let b = TestServer::start_config(config(&dir_b), dir_b).await;
    let stopped = b.wait_status(&token, &ws_id, "stopped").await;
    let job = &stopped["latest_build"]["job"];
    assert_eq!(
        (&job["status"], &job["error"]),
        (&json!("succeeded"), &json!(null))
    );
    let (_, logs) = b.get(&token, &logs_path).await;
    assert!(
        !logs
            .to_string()
            .contains(coder_server::runner::ORPHANED_LOG),
        "{logs}"
    );
    drop(b);
    drop(a);
}

/// Records what a provisioner logs and saves.
#[derive(Default)]
struct Recorder {
    logs: Mutex<Vec<String>>,
    saved: Mutex<Vec<Vec<u8>>>,
}

#[async_trait]
impl ProvisionContext for Recorder {
    async fn log(&self, line: ProvisionLog) {
        self.logs.lock().unwrap().push(line.output);
    }
    fn is_cancelled(&self) -> bool {
        false
    }
    async fn cancelled(&self) {
        std::future::pending::<()>().await;
    }
    async fn save_state(&self, state: &[u8]) -> coder_core::Result<()> {
        self.saved.lock().unwrap().push(state.to_vec());
        Ok(())
    }
}

#[tokio::test]
async fn a_recycled_pid_is_never_signalled() {
    let dir = tempfile::tempdir().unwrap();
    let provisioner = ProcessProvisioner::new(
        dir.path().to_owned(),
        Duration::from_secs(2),
        TemplateLimits::default(),
    );
    // An unrelated group leader that happens to hold the pid a workspace process once had.
    let mut other = std::process::Command::new("sleep")
        .arg("600")
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = i32::try_from(other.id()).unwrap();
    let genuine = group::entry("main", pid);
    assert!(genuine.start_time.is_some());
    let stale = ProcessEntry {
        start_time: genuine.start_time.map(|t| t - 1),
        ..genuine.clone()
    };
    let stop = |entry: ProcessEntry| BuildRequest {
        archive: Arc::from(common::tar_manifest("[[agents]]\nname = \"main\"\n")),
        transition: WorkspaceTransition::Stop,
        previous_state: serde_json::to_vec(&ProcessState {
            processes: vec![entry],
        })
        .unwrap(),
        ..Default::default()
    };
    let ctx = Recorder::default();
    let applied = provisioner.apply(&stop(stale), &ctx).await.unwrap();
    assert!(running(pid), "an unrelated process was signalled");
    assert_eq!(
        ctx.logs.lock().unwrap().as_slice(),
        [format!(
            "Agent main: process {pid} exited earlier and its id now belongs to another process; not signalling it"
        )]
    );
    let empty = serde_json::to_vec(&ProcessState::default()).unwrap();
    assert_eq!(applied.state, empty);
    assert_eq!(ctx.saved.lock().unwrap().last(), Some(&empty));

    // The same pid with its true start time is ours: it is stopped.
    let ctx = Recorder::default();
    provisioner.apply(&stop(genuine), &ctx).await.unwrap();
    let _ = other.wait();
    assert!(!running(pid));
    assert_eq!(
        ctx.logs.lock().unwrap().first().cloned(),
        Some(format!(
            "Agent main: sending SIGTERM to process group {pid}"
        ))
    );
}
