//! Workspace rules over HTTP: visibility, conflicts, cancel, schedule, watch streams,
//! template settings, provisioning failures, forced stop, restart recovery.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Db, TestServer};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

async fn create_ws(
    s: &TestServer,
    token: &str,
    template: &serde_json::Value,
    name: &str,
) -> serde_json::Value {
    let (status, ws) = s
        .post(
            token,
            "/users/me/workspaces",
            json!({"name": name, "template_id": template["id"], "ttl_ms": 3_600_000}),
        )
        .await;
    assert_eq!(status, 201, "{ws}");
    ws
}

#[tokio::test]
async fn members_see_and_touch_only_their_own_workspaces() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    let template = s.example_template(&owner, "local").await;
    let bob = s.member(&owner, "bob").await;
    let carol = s.member(&owner, "carol").await;
    let ws = create_ws(&s, &bob, &template, "bobs").await;
    let id = ws["id"].as_str().unwrap();
    s.wait_status(&bob, id, "running").await;

    let (status, body) = s.get(&carol, &format!("/workspaces/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        "Resource not found or you do not have access to this resource"
    );
    let (status, _) = s
        .post(
            &carol,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"stop"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = s.get(&carol, "/users/bob/workspace/bobs").await;
    assert_eq!(status, 404);
    let build_id = ws["latest_build"]["id"].as_str().unwrap();
    let (status, _) = s
        .get(&carol, &format!("/workspacebuilds/{build_id}/logs"))
        .await;
    assert_eq!(status, 404);
    let (_, list) = s.get(&carol, "/workspaces").await;
    assert_eq!(list, json!({"workspaces": [], "count": 0}));
    let (_, list) = s.get(&carol, "/workspaces?q=owner:bob").await;
    assert_eq!(list["count"], 0);
    // A member cannot create a workspace for someone else.
    let (status, _) = s
        .post(
            &carol,
            "/users/bob/workspaces",
            json!({"name":"x","template_id": template["id"]}),
        )
        .await;
    assert_eq!(status, 404);
    // Members cannot manage templates.
    let (status, body) = s
        .send(
            Method::PATCH,
            &carol,
            &format!("/templates/{}", template["id"].as_str().unwrap()),
            json!({"default_ttl_ms": 1}),
        )
        .await;
    assert_eq!((status, &body["message"]), (403, &json!("Forbidden.")));

    let (_, list) = s.get(&bob, "/workspaces").await;
    assert_eq!(list["count"], 1);
    let (_, list) = s.get(&owner, "/workspaces?q=owner:bob").await;
    assert_eq!(list["count"], 1);
    let (status, _) = s.get(&owner, &format!("/workspaces/{id}")).await;
    assert_eq!(status, 200);
    let (status, _) = s
        .post(
            &bob,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"delete"}),
        )
        .await;
    assert_eq!(status, 201);
    s.wait_status(&bob, id, "deleted").await;
}

#[tokio::test]
async fn builds_conflict_while_active_and_pending_jobs_cancel() {
    // No job runner: jobs stay pending, so the conflict and the cancel are deterministic.
    let s = TestServer::start_with(Db::Sqlite, |c| c.job_concurrency = 0).await;
    let owner = s.first_user().await;
    let tar = common::tar_dir(&common::example_template_dir());
    let (_, file_id) = s.upload(&owner, tar).await;
    let (status, version) = s
        .post(
            &owner,
            "/organizations/default/templateversions",
            json!({"storage_method":"file","provisioner":"process","file_id": file_id}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(version["job"]["status"], "pending");
    assert_eq!(version["job"]["queue_position"], 1);
    let vid = version["id"].as_str().unwrap();
    let (status, body) = s
        .get(&owner, &format!("/templateversions/{vid}/rich-parameters"))
        .await;
    assert_eq!(
        (status, &body["message"]),
        (400, &json!("Job hasn't completed!"))
    );
    let (status, body) = s
        .post(
            &owner,
            "/organizations/default/templates",
            json!({"name":"t","template_version_id": vid}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["validations"][0]["field"], "template_version_id");
    let (status, body) = s
        .send(
            Method::PATCH,
            &owner,
            &format!("/templateversions/{vid}/cancel"),
            json!(null),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"message": "Job has been marked as canceled..."})
        )
    );
    let (_, v) = s.get(&owner, &format!("/templateversions/{vid}")).await;
    assert_eq!(v["job"]["status"], "canceled");
    let (status, body) = s
        .send(
            Method::PATCH,
            &owner,
            &format!("/templateversions/{vid}/cancel"),
            json!(null),
        )
        .await;
    assert_eq!(
        (status, body),
        (400, json!({"message": "Job has already completed!"}))
    );
    s.stop().await;

    // A server with a runner imports the template; then builds stay pending on one without.
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    let template = s.example_template(&owner, "local").await;
    let cache = s.dir.path().join("cache");
    let dir = s.stop().await;
    let mut config = coder_server::Config::new(cache);
    config.job_concurrency = 0;
    let s = TestServer::start_config(config, dir).await;
    let ws = create_ws(&s, &owner, &template, "dev").await;
    assert_eq!(ws["latest_build"]["status"], "pending");
    let id = ws["id"].as_str().unwrap();
    let (status, body) = s
        .post(
            &owner,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"stop"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"message": "A workspace build is already active."})
        )
    );
    let (status, body) = s
        .post(
            &owner,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"explode"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["validations"][0]["field"], "transition");
    let build_id = ws["latest_build"]["id"].as_str().unwrap();
    let (status, _) = s
        .send(
            Method::PATCH,
            &owner,
            &format!("/workspacebuilds/{build_id}/cancel?expect_status=running"),
            json!(null),
        )
        .await;
    assert_eq!(status, 412);
    let (status, _) = s
        .send(
            Method::PATCH,
            &owner,
            &format!("/workspacebuilds/{build_id}/cancel?expect_status=pending"),
            json!(null),
        )
        .await;
    assert_eq!(status, 200);
    let (_, ws) = s.get(&owner, &format!("/workspaces/{id}")).await;
    assert_eq!(ws["latest_build"]["status"], "canceled");
    assert!(ws["latest_build"]["job"]["canceled_at"].is_string());
    // Settled again: a new build is accepted.
    let (status, build) = s
        .post(
            &owner,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"start"}),
        )
        .await;
    assert_eq!((status, &build["build_number"]), (201, &json!(2)));
}

#[tokio::test]
async fn schedule_ttl_autostart_and_extend() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    let template = s.example_template(&owner, "local").await;
    let (status, manual) = s
        .post(
            &owner,
            "/users/me/workspaces",
            json!({"name":"manual","template_id": template["id"]}),
        )
        .await;
    assert_eq!(status, 201);
    assert!(manual.get("ttl_ms").is_none() || manual["ttl_ms"].is_null());
    let ws = create_ws(&s, &owner, &template, "dev").await;
    assert_eq!(ws["ttl_ms"], 3_600_000);
    let id = ws["id"].as_str().unwrap();
    let ws = s.wait_status(&owner, id, "running").await;
    let deadline =
        chrono::DateTime::parse_from_rfc3339(ws["latest_build"]["deadline"].as_str().unwrap())
            .unwrap();
    let left = deadline.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        left > chrono::Duration::minutes(59) && left <= chrono::Duration::minutes(60),
        "{left}"
    );

    let (status, body) = s
        .send(
            Method::PUT,
            &owner,
            &format!("/workspaces/{id}/ttl"),
            json!({"ttl_ms": 30_000}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["validations"],
        json!([{"field":"ttl_ms","detail":"time until shutdown must be at least one minute"}])
    );
    let (status, _) = s
        .send(
            Method::PUT,
            &owner,
            &format!("/workspaces/{id}/ttl"),
            json!({"ttl_ms": 7_230_000}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, ws) = s.get(&owner, &format!("/workspaces/{id}")).await;
    assert_eq!(ws["ttl_ms"], 7_200_000);

    let (status, body) = s
        .send(
            Method::PUT,
            &owner,
            &format!("/workspaces/{id}/autostart"),
            json!({"schedule": "CRON_TZ=Europe/Berlin 0 8 1 * *"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "Invalid autostart schedule.");
    assert_eq!(body["validations"][0]["field"], "schedule");
    let (status, _) = s
        .send(
            Method::PUT,
            &owner,
            &format!("/workspaces/{id}/autostart"),
            json!({"schedule": "CRON_TZ=Europe/Berlin 0 8 * * 1-5"}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, ws) = s.get(&owner, &format!("/workspaces/{id}")).await;
    assert_eq!(
        ws["autostart_schedule"],
        "CRON_TZ=Europe/Berlin 0 8 * * 1-5"
    );

    let soon = chrono::Utc::now() + chrono::Duration::minutes(10);
    let (status, body) = s
        .send(
            Method::PUT,
            &owner,
            &format!("/workspaces/{id}/extend"),
            json!({"deadline": soon}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Cannot extend workspace: new deadline must be at least 30 minutes in the future"
    );
    let later = (chrono::Utc::now() + chrono::Duration::hours(3))
        .with_nanosecond(0)
        .unwrap();
    let (status, body) = s
        .send(
            Method::PUT,
            &owner,
            &format!("/workspaces/{id}/extend"),
            json!({"deadline": later}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["message"],
        format!(
            "Deadline updated to {}.",
            later.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    );
    let (_, ws) = s.get(&owner, &format!("/workspaces/{id}")).await;
    let deadline =
        chrono::DateTime::parse_from_rfc3339(ws["latest_build"]["deadline"].as_str().unwrap())
            .unwrap();
    assert_eq!(deadline, later);

    let manual_id = manual["id"].as_str().unwrap();
    s.wait_status(&owner, manual_id, "running").await;
    let (status, body) = s
        .send(
            Method::PUT,
            &owner,
            &format!("/workspaces/{manual_id}/extend"),
            json!({"deadline": later}),
        )
        .await;
    assert_eq!(
        (status, body),
        (409, json!({"message": "Workspace shutdown is manual."}))
    );
    for w in [id, manual_id] {
        s.post(
            &owner,
            &format!("/workspaces/{w}/builds"),
            json!({"transition":"delete"}),
        )
        .await;
        s.wait_status(&owner, w, "deleted").await;
    }
}

use chrono::Timelike;

#[tokio::test]
async fn watch_streams_push_the_workspace_on_every_change() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    let template = s.example_template(&owner, "local").await;
    let ws = create_ws(&s, &owner, &template, "dev").await;
    let id = ws["id"].as_str().unwrap().to_owned();
    s.wait_status(&owner, &id, "running").await;

    let r = s
        .client
        .get(s.api(&format!("/workspaces/{id}/watch")))
        .header("Coder-Session-Token", &owner)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let mut body = r;
    let mut text = String::new();
    let mut next_event = async || -> String {
        loop {
            if let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                return event;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), body.chunk())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    };
    assert_eq!(next_event().await, "event: ping\n\n");
    let first = next_event().await;
    let data = first
        .strip_prefix("event: data\ndata: ")
        .expect(&first)
        .trim_end();
    let pushed: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(pushed["id"], id.as_str());
    assert_eq!(pushed["latest_build"]["status"], "running");

    // watch-ws: ping first, then the workspace.
    let url = format!(
        "{}/workspaces/{id}/watch-ws?coder_session_token={owner}",
        s.api("").replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut texts = Vec::new();
    while texts.len() < 2 {
        if let Message::Text(t) = socket.next().await.unwrap().unwrap() {
            texts.push(serde_json::from_str::<serde_json::Value>(&t).unwrap());
        }
    }
    assert_eq!(texts[0], json!({"type":"ping","data":null}));
    assert_eq!(texts[1]["type"], "data");
    assert_eq!(texts[1]["data"]["latest_build"]["status"], "running");

    // A stop build is seen by both streams, up to "stopped".
    let (status, _) = s
        .post(
            &owner,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"stop"}),
        )
        .await;
    assert_eq!(status, 201);
    let mut sse_statuses = Vec::new();
    while sse_statuses.last().map(String::as_str) != Some("stopped") {
        let event = next_event().await;
        if let Some(data) = event.strip_prefix("event: data\ndata: ") {
            let w: serde_json::Value = serde_json::from_str(data.trim_end()).unwrap();
            sse_statuses.push(w["latest_build"]["status"].as_str().unwrap().to_owned());
        }
    }
    // Intermediate states may be coalesced (each push is a fresh read), never invented.
    assert!(
        sse_statuses
            .iter()
            .all(|s| ["pending", "stopping", "stopped"].contains(&s.as_str())),
        "{sse_statuses:?}"
    );
    let mut ws_statuses = Vec::new();
    while ws_statuses.last().map(String::as_str) != Some("stopped") {
        if let Message::Text(t) = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "data" {
                ws_statuses.push(
                    v["data"]["latest_build"]["status"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
    }
    // A client message closes a one-way websocket with 1002.
    socket.send(Message::Text("hello".into())).await.unwrap();
    loop {
        match socket.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1002);
                assert_eq!(
                    frame.reason.as_str(),
                    "Clients cannot send messages for one-way WebSockets"
                );
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

use futures_util::SinkExt;

#[tokio::test]
async fn template_settings_update_and_delete_rules() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    let template = s.example_template(&owner, "local").await;
    let tid = template["id"].as_str().unwrap();
    assert_eq!(template["activity_bump_ms"], 3_600_000);
    assert_eq!(template["allow_user_autostop"], true);
    let (status, body) = s
        .send(
            Method::PATCH,
            &owner,
            &format!("/templates/{tid}"),
            json!({}),
        )
        .await;
    assert_eq!((status, body), (304, json!(null)));
    let (status, body) = s
        .send(
            Method::PATCH,
            &owner,
            &format!("/templates/{tid}"),
            json!({"default_ttl_ms": -5}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["validations"],
        json!([{"field":"default_ttl_ms","detail":"Must be a positive integer."}])
    );
    let (status, t) = s
        .send(Method::PATCH, &owner, &format!("/templates/{tid}"), json!({"default_ttl_ms": 7_200_000, "allow_user_autostop": false, "display_name": "Local"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            t["default_ttl_ms"].clone(),
            t["allow_user_autostop"].clone(),
            t["display_name"].clone()
        ),
        (json!(7_200_000), json!(false), json!("Local"))
    );
    // With user autostop forbidden, the template default TTL applies.
    let (status, ws) = s
        .post(
            &owner,
            "/users/me/workspaces",
            json!({"name":"dev","template_id": tid, "ttl_ms": 60_000}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(ws["ttl_ms"], 7_200_000);
    let id = ws["id"].as_str().unwrap();
    let (status, body) = s
        .send(
            Method::PUT,
            &owner,
            &format!("/workspaces/{id}/ttl"),
            json!({"ttl_ms": 3_600_000}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["validations"][0]["field"], "ttl_ms");
    s.wait_status(&owner, id, "running").await;
    let (status, body) = s
        .send(
            Method::DELETE,
            &owner,
            &format!("/templates/{tid}"),
            json!(null),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"message": "All workspaces must be deleted before a template can be removed."})
        )
    );
    s.post(
        &owner,
        &format!("/workspaces/{id}/builds"),
        json!({"transition":"delete"}),
    )
    .await;
    s.wait_status(&owner, id, "deleted").await;
    let (status, body) = s
        .send(
            Method::DELETE,
            &owner,
            &format!("/templates/{tid}"),
            json!(null),
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({"message": "Template has been deleted!"}))
    );
    let (status, _) = s.get(&owner, &format!("/templates/{tid}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn provisioning_failures_say_what_went_wrong() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    // A malformed manifest fails the import with a message naming the problem.
    let v = s
        .import(
            &owner,
            common::tar_manifest("[[parameters]]\nname = \"x\"\ntype = \"float\"\n"),
        )
        .await;
    assert_eq!(v["job"]["status"], "failed");
    assert_eq!(
        v["job"]["error"],
        "coder-template.toml: parameter \"x\" has type \"float\"; use string, number, bool or list(string)"
    );
    // No manifest at all.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(2);
    h.set_cksum();
    b.append_data(&mut h, "main.tf", &b"{}"[..]).unwrap();
    let v = s.import(&owner, b.into_inner().unwrap()).await;
    assert_eq!(v["job"]["status"], "failed");
    assert!(
        v["job"]["error"]
            .as_str()
            .unwrap()
            .starts_with("the template has no coder-template.toml"),
        "{v}"
    );
    let (_, logs) = s
        .get(
            &owner,
            &format!("/templateversions/{}/logs", v["id"].as_str().unwrap()),
        )
        .await;
    let last = logs.as_array().unwrap().last().unwrap();
    assert_eq!(last["log_level"], "error");
    assert!(
        last["output"]
            .as_str()
            .unwrap()
            .starts_with("Job failed: the template has no")
    );
    // Not a tar upload.
    let r = s
        .client
        .post(s.api("/files"))
        .header("Coder-Session-Token", &owner)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, body) = common::decode(r).await;
    assert_eq!(
        (status, &body["message"]),
        (
            400,
            &json!("Unsupported content type header \"application/json\".")
        )
    );
    // Terraform is not available here.
    let (_, file_id) = s.upload(&owner, common::tar_manifest("")).await;
    let (status, body) = s
        .post(
            &owner,
            "/organizations/default/templateversions",
            json!({"storage_method":"file","provisioner":"terraform","file_id": file_id}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["validations"][0]["field"], "provisioner");

    // A command that exits at once fails the build with its output in the logs.
    let v = s
        .import(
            &owner,
            common::tar_manifest(
                "[[agents]]\nname = \"main\"\ncommand = \"echo no such thing >&2; exit 3\"\n",
            ),
        )
        .await;
    assert_eq!(v["job"]["status"], "succeeded");
    let (_, t) = s
        .post(
            &owner,
            "/organizations/default/templates",
            json!({"name":"broken","template_version_id": v["id"]}),
        )
        .await;
    let (_, ws) = s
        .post(
            &owner,
            "/users/me/workspaces",
            json!({"name":"dev","template_id": t["id"]}),
        )
        .await;
    let ws = s
        .wait_status(&owner, ws["id"].as_str().unwrap(), "failed")
        .await;
    assert_eq!(
        ws["latest_build"]["job"]["error"],
        "agent main: the command exited at once with exit status: 3"
    );
    let (_, logs) = s
        .get(
            &owner,
            &format!(
                "/workspacebuilds/{}/logs",
                ws["latest_build"]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert!(
        logs.as_array()
            .unwrap()
            .iter()
            .any(|l| l["output"] == "main: no such thing"),
        "{logs}"
    );
}

#[tokio::test]
async fn stop_kills_a_process_that_ignores_sigterm() {
    let s =
        TestServer::start_with(Db::Sqlite, |c| c.stop_timeout = Duration::from_millis(300)).await;
    let owner = s.first_user().await;
    let v = s
        .import(
            &owner,
            common::tar_manifest(
                "[[agents]]\nname = \"main\"\ncommand = \"trap '' TERM; echo $CODER_AGENT_TOKEN > token; echo $CODER_AGENT_URL > url; while true; do sleep 0.1; done\"\n",
            ),
        )
        .await;
    let (_, t) = s
        .post(
            &owner,
            "/organizations/default/templates",
            json!({"name":"stubborn","template_version_id": v["id"]}),
        )
        .await;
    let (_, ws) = s
        .post(
            &owner,
            "/users/me/workspaces",
            json!({"name":"dev","template_id": t["id"]}),
        )
        .await;
    let id = ws["id"].as_str().unwrap();
    s.wait_status(&owner, id, "running").await;
    let home = s.dir.path().join("cache/workspaces").join(id).join("home");
    for _ in 0..100 {
        if home.join("url").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        std::fs::read_to_string(home.join("url")).unwrap().trim(),
        format!("{}/", s.url)
    );
    let token = std::fs::read_to_string(home.join("token")).unwrap();
    assert!(
        uuid::Uuid::parse_str(token.trim()).is_ok(),
        "agent token {token:?}"
    );
    let (_, build) = s
        .post(
            &owner,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"stop"}),
        )
        .await;
    s.wait_status(&owner, id, "stopped").await;
    let (_, logs) = s
        .get(
            &owner,
            &format!("/workspacebuilds/{}/logs", build["id"].as_str().unwrap()),
        )
        .await;
    let outputs: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["output"].as_str().unwrap())
        .collect();
    assert!(
        outputs
            .iter()
            .any(|o| o.starts_with("Agent main: sending SIGTERM to process group")),
        "{outputs:?}"
    );
    assert!(
        outputs
            .iter()
            .any(|o| o.ends_with("still running after 0.3s; sending SIGKILL")),
        "{outputs:?}"
    );
    assert!(
        outputs
            .iter()
            .any(|o| o.starts_with("Agent main: process") && o.ends_with("stopped")),
        "{outputs:?}"
    );
}

#[tokio::test]
async fn jobs_left_running_by_a_dead_server_are_failed_on_start() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    let template = s.example_template(&owner, "local").await;
    let cache = s.dir.path().join("cache");
    let dir = s.stop().await;
    // A server without a runner queues the build...
    let mut config = coder_server::Config::new(cache.clone());
    config.job_concurrency = 0;
    let s = TestServer::start_config(config, dir).await;
    let ws = create_ws(&s, &owner, &template, "dev").await;
    let dir = s.stop().await;
    // ...a runner that then dies takes it...
    let store = coder_server::store::Store::open_sqlite(&cache.join("coder.db"))
        .await
        .unwrap();
    let job = store
        .acquire_job(uuid::Uuid::new_v4(), chrono::Utc::now())
        .await
        .unwrap()
        .unwrap();
    store.close().await;
    // ...and the next start fails it, saying why.
    let s = TestServer::start_config(coder_server::Config::new(cache), dir).await;
    let id = ws["id"].as_str().unwrap();
    let ws = s.wait_status(&owner, id, "failed").await;
    assert_eq!(ws["latest_build"]["job"]["id"], job.id.to_string());
    assert_eq!(
        ws["latest_build"]["job"]["error"],
        "the server stopped while the job was running"
    );
    let (_, logs) = s
        .get(
            &owner,
            &format!(
                "/workspacebuilds/{}/logs",
                ws["latest_build"]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(logs[0]["output"], coder_server::runner::ORPHANED_LOG);
    // And the workspace can be built again.
    let (status, _) = s
        .post(
            &owner,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"start"}),
        )
        .await;
    assert_eq!(status, 201);
    s.wait_status(&owner, id, "running").await;
    s.post(
        &owner,
        &format!("/workspaces/{id}/builds"),
        json!({"transition":"delete"}),
    )
    .await;
    s.wait_status(&owner, id, "deleted").await;
}

#[tokio::test]
async fn a_running_build_honours_cancel() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    // Twenty agents take about two seconds to start: long enough to cancel in the middle.
    let manifest: String = (0..20)
        .map(|i| format!("[[agents]]\nname = \"a{i}\"\ncommand = \"sleep 30\"\n"))
        .collect();
    let v = s.import(&owner, common::tar_manifest(&manifest)).await;
    assert_eq!(v["job"]["status"], "succeeded", "{v}");
    let (_, t) = s
        .post(
            &owner,
            "/organizations/default/templates",
            json!({"name":"slow","template_version_id": v["id"]}),
        )
        .await;
    let (_, ws) = s
        .post(
            &owner,
            "/users/me/workspaces",
            json!({"name":"dev","template_id": t["id"]}),
        )
        .await;
    let id = ws["id"].as_str().unwrap();
    let build_id = ws["latest_build"]["id"].as_str().unwrap();
    s.wait_status(&owner, id, "starting").await;
    let (status, body) = s
        .send(
            Method::PATCH,
            &owner,
            &format!("/workspacebuilds/{build_id}/cancel?expect_status=running"),
            json!(null),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"message": "Job has been marked as canceled..."})
        )
    );
    let ws = s.wait_status(&owner, id, "canceled").await;
    assert_eq!(ws["latest_build"]["job"]["status"], "canceled");
    let (_, logs) = s
        .get(&owner, &format!("/workspacebuilds/{build_id}/logs"))
        .await;
    let outputs: Vec<&str> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["output"].as_str().unwrap())
        .collect();
    assert_eq!(outputs.last(), Some(&"Job canceled"));
    let started = outputs
        .iter()
        .filter(|o| o.contains(": started process "))
        .count();
    let stopped = outputs
        .iter()
        .filter(|o| o.starts_with("Agent a") && o.ends_with(" stopped"))
        .count();
    assert!(started < 20, "the build was not interrupted: {outputs:?}");
    assert_eq!(
        started, stopped,
        "processes started before the cancel are stopped: {outputs:?}"
    );
}

#[tokio::test]
async fn new_versions_are_promoted_and_workspaces_update() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    let template = s.example_template(&owner, "local").await;
    let tid = template["id"].as_str().unwrap();
    let ws = create_ws(&s, &owner, &template, "dev").await;
    let id = ws["id"].as_str().unwrap();
    s.wait_status(&owner, id, "running").await;

    // A second version of the same template, as `coder templates push` makes it.
    let manifest = "[[parameters]]\nname = \"greeting\"\ndefault = \"v2\"\n[[agents]]\nname = \"main\"\ncommand = \"sleep 30\"\n";
    let (_, file_id) = s.upload(&owner, common::tar_manifest(manifest)).await;
    let body = json!({"storage_method":"file","provisioner":"process","file_id": file_id, "template_id": tid, "name": "v2"});
    let (status, v2) = s
        .post(
            &owner,
            "/organizations/default/templateversions",
            body.clone(),
        )
        .await;
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["template_id"], tid);
    let (status, dup) = s
        .post(&owner, "/organizations/default/templateversions", body)
        .await;
    assert_eq!(
        (status, &dup["message"]),
        (
            409,
            &json!("A template version with name \"v2\" already exists for this template.")
        )
    );
    let v2id = v2["id"].as_str().unwrap();
    s.wait_for(&owner, &format!("/templateversions/{v2id}"), |v| {
        v["job"]["status"] == "succeeded"
    })
    .await;
    let (status, found) = s
        .get(&owner, &format!("/templates/{tid}/versions/v2"))
        .await;
    assert_eq!((status, &found["id"]), (200, &json!(v2id)));
    let (_, versions) = s.get(&owner, &format!("/templates/{tid}/versions")).await;
    assert_eq!(versions.as_array().unwrap().len(), 2);

    let (status, body) = s
        .send(
            Method::PATCH,
            &owner,
            &format!("/templates/{tid}/versions"),
            json!({"id": v2id}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"message": "Updated the active template version!"})
        )
    );
    let (_, t) = s.get(&owner, &format!("/templates/{tid}")).await;
    assert_eq!(t["active_version_id"], v2id);
    let (_, w) = s.get(&owner, &format!("/workspaces/{id}")).await;
    assert_eq!(w["outdated"], true);
    assert_eq!(w["template_active_version_id"], v2id);

    // Updating: a start build on the active version; the port parameter is gone, greeting kept.
    let (status, build) = s
        .post(
            &owner,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"start","template_version_id": v2id}),
        )
        .await;
    assert_eq!(status, 201, "{build}");
    let w = s.wait_status(&owner, id, "running").await;
    assert_eq!(w["outdated"], false);
    let (_, params) = s
        .get(
            &owner,
            &format!(
                "/workspacebuilds/{}/parameters",
                build["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(params, json!([{"name":"greeting","value":"hello"}]));
    s.post(
        &owner,
        &format!("/workspaces/{id}/builds"),
        json!({"transition":"delete"}),
    )
    .await;
    s.wait_status(&owner, id, "deleted").await;
}

async fn renames_are_refused_unless_allowed(db: Db) {
    for allowed in [false, true] {
        let s = TestServer::start_with(db, |c| c.allow_workspace_renames = allowed).await;
        let token = s.first_user().await;
        let template = s.example_template(&token, "local").await;
        let dev = create_ws(&s, &token, &template, "dev").await;
        create_ws(&s, &token, &template, "other").await;
        assert_eq!(
            dev["allow_renames"], allowed,
            "the workspace says what the deployment allows"
        );
        let id = dev["id"].as_str().unwrap().to_owned();
        let path = format!("/workspaces/{id}");
        let (status, body) = s
            .send(Method::PATCH, &token, &path, json!({"name": "renamed"}))
            .await;
        if !allowed {
            assert_eq!(
                (status, &body["message"]),
                (400, &json!("Workspace renames are not allowed."))
            );
            let (_, ws) = s.get(&token, &path).await;
            assert_eq!(ws["name"], "dev");
            continue;
        }
        assert_eq!(status, 204, "{body}");
        let (_, ws) = s.get(&token, &path).await;
        assert_eq!(ws["name"], "renamed");
        let (status, body) = s
            .send(Method::PATCH, &token, &path, json!({"name": "OTHER"}))
            .await;
        assert_eq!(
            (status, &body["message"]),
            (409, &json!("Workspace \"OTHER\" already exists."))
        );
        let (status, body) = s
            .send(Method::PATCH, &token, &path, json!({"name": "no spaces"}))
            .await;
        assert_eq!(
            (status, &body["validations"][0]["field"]),
            (400, &json!("name"))
        );
    }
}

#[tokio::test]
async fn renames_are_refused_unless_allowed_sqlite() {
    renames_are_refused_unless_allowed(Db::Sqlite).await;
}

#[tokio::test]
async fn renames_are_refused_unless_allowed_postgres() {
    renames_are_refused_unless_allowed(Db::Postgres).await;
}
