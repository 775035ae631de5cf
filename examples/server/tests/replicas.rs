//! Two server replicas on one PostgreSQL database: sessions work on both, a job queued on one
//! runs on the other, and a watcher on the first sees the other's progress.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn a_build_queued_on_one_replica_runs_on_another() {
    let url = common::fresh_pg_url().await;
    let dir_a = tempfile::tempdir().unwrap();
    let mut config_a = coder_server::Config::new(dir_a.path().join("cache"));
    config_a.postgres_url = Some(url.clone());
    config_a.job_concurrency = 0; // A only serves the API
    let a = TestServer::start_config(config_a, dir_a).await;
    let dir_b = tempfile::tempdir().unwrap();
    let mut config_b = coder_server::Config::new(dir_b.path().join("cache"));
    config_b.postgres_url = Some(url);
    let b = TestServer::start_config(config_b, dir_b).await;

    let token = a.first_user().await;
    let (status, me) = b.get(&token, "/users/me").await;
    assert_eq!((status, &me["username"]), (200, &json!("admin")));

    // The import queued on A runs on B.
    let template = a.example_template(&token, "local").await;
    let (status, ws) = a
        .post(
            &token,
            "/users/me/workspaces",
            json!({"name":"dev","template_id": template["id"]}),
        )
        .await;
    assert_eq!(status, 201);
    let id = ws["id"].as_str().unwrap().to_owned();
    let ws = a.wait_status(&token, &id, "running").await;
    assert_eq!(ws["latest_build"]["job"]["worker_name"], "coder-server");

    // A watcher on A sees B stop the workspace.
    let mut watch = a
        .client
        .get(a.api(&format!("/workspaces/{id}/watch")))
        .header("Coder-Session-Token", &token)
        .send()
        .await
        .unwrap();
    let (status, _) = a
        .post(
            &token,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"stop"}),
        )
        .await;
    assert_eq!(status, 201);
    let mut text = String::new();
    let mut last = String::new();
    while last != "stopped" {
        let chunk = tokio::time::timeout(Duration::from_secs(20), watch.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(data) = event.strip_prefix("event: data\ndata: ") {
                let w: serde_json::Value = serde_json::from_str(data.trim_end()).unwrap();
                last = w["latest_build"]["status"].as_str().unwrap().to_owned();
            }
        }
    }
    let (status, _) = a
        .post(
            &token,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"delete"}),
        )
        .await;
    assert_eq!(status, 201);
    b.wait_status(&token, &id, "deleted").await;
}

fn replica(url: &str, concurrency: usize) -> (coder_server::Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = coder_server::Config::new(dir.path().join("cache"));
    config.postgres_url = Some(url.to_owned());
    config.job_concurrency = concurrency;
    (config, dir)
}

#[tokio::test]
async fn each_job_runs_exactly_once_across_replicas() {
    let url = common::fresh_pg_url().await;
    let (config, dir) = replica(&url, 3);
    let a = TestServer::start_config(config, dir).await;
    let (config, dir) = replica(&url, 3);
    let b = TestServer::start_config(config, dir).await;
    let token = a.first_user().await;
    let file = a
        .upload_manifest(&token, "[[agents]]\nname = \"main\"\n")
        .await;
    // Twelve imports queued alternately on both replicas, both runners polling.
    let mut ids = Vec::new();
    for i in 0..12 {
        let on = if i % 2 == 0 { &a } else { &b };
        let (status, version) = on
            .post(
                &token,
                "/organizations/default/templateversions",
                json!({"storage_method": "file", "provisioner": "process", "file_id": file}),
            )
            .await;
        assert_eq!(status, 201, "{version}");
        ids.push(version["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let v = a
            .wait_for(&token, &format!("/templateversions/{id}"), |v| {
                v["job"]["status"] == "succeeded"
            })
            .await;
        let (_, logs) = b
            .get(
                &token,
                &format!("/templateversions/{}/logs", v["id"].as_str().unwrap()),
            )
            .await;
        let acquired = logs
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["output"] == "Job acquired by coder-server")
            .count();
        assert_eq!(acquired, 1, "{logs}");
    }
}

#[tokio::test]
async fn build_logs_stream_from_the_replica_that_does_not_run_the_build() {
    let url = common::fresh_pg_url().await;
    let (config, dir) = replica(&url, 0);
    let a = TestServer::start_config(config, dir).await;
    let (config, dir) = replica(&url, 3);
    let b = TestServer::start_config(config, dir).await;
    let token = a.first_user().await;
    let template = a.example_template(&token, "local").await;
    let ws = a.create_dev(&token, &template["id"]).await;
    let build = ws["latest_build"]["id"].as_str().unwrap().to_owned();
    // Followed on A (which runs nothing) from the start until the job ends on B.
    let (followed, close) = common::follow_logs(&a, &token, &build, 0).await;
    assert_eq!(close, Some((1000, "done".to_owned())));
    let (_, stored) = b
        .get(&token, &format!("/workspacebuilds/{build}/logs"))
        .await;
    let outputs = |logs: &[serde_json::Value]| -> Vec<String> {
        logs.iter()
            .map(|l| l["output"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(outputs(&followed), outputs(stored.as_array().unwrap()));
    assert_eq!(
        outputs(&followed).last().map(String::as_str),
        Some("Job succeeded")
    );
}
