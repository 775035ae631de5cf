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
