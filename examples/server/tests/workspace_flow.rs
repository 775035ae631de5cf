//! From first user to a running workspace and back to deleted, on both backends, with the
//! shipped example template and the process provisioner.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, TestServer};
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn pid_alive(pid: i64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn started_pid(logs: &serde_json::Value) -> i64 {
    logs.as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["output"].as_str())
        .find_map(|o| {
            o.strip_prefix("Agent main: started process ")
                .and_then(|r| r.split(' ').next())
        })
        .expect("a 'started process' log line")
        .parse()
        .unwrap()
}

async fn first_user_to_running_workspace_and_back(db: Db) {
    let s = TestServer::start(db).await;
    let token = s.first_user().await;

    // Files: raw tar, 201 then 200 with the same id for the same content.
    let tar = common::tar_dir(&common::example_template_dir());
    let (status, file_id) = s.upload(&token, tar.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(s.upload(&token, tar.clone()).await, (200, file_id.clone()));
    let r = s
        .client
        .get(s.api(&format!("/files/{file_id}")))
        .header("Coder-Session-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/x-tar");
    assert_eq!(r.bytes().await.unwrap().to_vec(), tar);

    // Template version import through the process provisioner.
    let version = s.import(&token, tar).await;
    assert_eq!(version["job"]["status"], "succeeded", "{version}");
    assert_eq!(version["job"]["type"], "template_version_import");
    let vid = version["id"].as_str().unwrap().to_owned();
    let (_, params) = s
        .get(&token, &format!("/templateversions/{vid}/rich-parameters"))
        .await;
    let names: Vec<_> = params
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["greeting", "port"]);
    assert_eq!(params[1]["validation_min"], 1024);
    assert_eq!(params[0]["default_value"], "hello");
    let (_, resources) = s
        .get(&token, &format!("/templateversions/{vid}/resources"))
        .await;
    assert_eq!(resources[0]["type"], "local_process");
    assert_eq!(resources[0]["agents"][0]["name"], "main");
    assert_eq!(resources[0]["agents"][0]["apps"][0]["slug"], "web");
    let (_, logs) = s
        .get(&token, &format!("/templateversions/{vid}/logs"))
        .await;
    let outputs: Vec<_> = logs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["output"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        outputs.contains(&"Found 2 parameter(s) and 1 agent(s)".to_owned()),
        "{outputs:?}"
    );

    // Template.
    let (status, template) = s
        .post(
            &token,
            "/organizations/default/templates",
            json!({"name":"local","template_version_id": vid}),
        )
        .await;
    assert_eq!(status, 201, "{template}");
    assert_eq!(template["provisioner"], "process");
    assert_eq!(template["active_version_id"], vid.as_str());
    let (status, body) = s
        .post(
            &token,
            "/organizations/default/templates",
            json!({"name":"local","template_version_id": vid}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (_, templates) = s.get(&token, "/templates").await;
    assert_eq!(templates.as_array().unwrap().len(), 1);

    // Bad parameter values are refused and create nothing.
    let (status, body) = s
        .post(
            &token,
            "/users/me/workspaces",
            json!({"name":"dev","template_id": template["id"], "rich_parameter_values":[{"name":"port","value":"80"}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["validations"],
        json!([{"field":"port","detail":"port: 80 is below the minimum 1024"}])
    );

    // Workspace: 201, first build queued.
    let (status, ws) = s
        .post(
            &token,
            "/users/me/workspaces",
            json!({"name":"dev","template_id": template["id"], "rich_parameter_values":[{"name":"greeting","value":"hi there"}]}),
        )
        .await;
    assert_eq!(status, 201, "{ws}");
    assert_eq!(ws["name"], "dev");
    assert_eq!(ws["owner_name"], "admin");
    assert_eq!(ws["template_name"], "local");
    assert_eq!(ws["latest_build"]["build_number"], 1);
    assert_eq!(ws["latest_build"]["transition"], "start");
    let wid = ws["id"].as_str().unwrap().to_owned();
    let (status, body) = s
        .post(
            &token,
            "/users/me/workspaces",
            json!({"name":"dev","template_id": template["id"]}),
        )
        .await;
    assert_eq!(
        (status, &body["message"]),
        (409, &json!("Workspace \"dev\" already exists."))
    );

    // Follow the first build's logs while it runs: every line once, then 1000 "done".
    let first_build = ws["latest_build"]["id"].as_str().unwrap().to_owned();
    let live = common::follow_logs(&s, &token, &first_build, 0).await;
    let ws = s.wait_status(&token, &wid, "running").await;
    let (_, stored) = s
        .get(&token, &format!("/workspacebuilds/{first_build}/logs"))
        .await;
    assert_eq!(json!(live.0), stored);
    assert_eq!(live.1, Some((1000, "done".to_owned())));
    let build_id = ws["latest_build"]["id"].as_str().unwrap().to_owned();
    assert_eq!(ws["latest_build"]["job"]["status"], "succeeded");
    assert_eq!(ws["outdated"], false);
    let agent = &ws["latest_build"]["resources"][0]["agents"][0];
    assert_eq!(agent["name"], "main");
    assert_eq!(agent["status"], "connecting");
    assert_eq!(agent["lifecycle_state"], "created");
    assert_eq!(
        agent["scripts"][0]["script"],
        "echo \"workspace $CODER_WORKSPACE_NAME is ready\""
    );
    let home = s
        .dir
        .path()
        .join("cache/workspaces")
        .join(&wid)
        .join("home");
    assert_eq!(
        std::fs::read_to_string(home.join("greeting.txt")).unwrap(),
        "hi there from dev\n"
    );
    let (_, params) = s
        .get(&token, &format!("/workspacebuilds/{build_id}/parameters"))
        .await;
    assert_eq!(
        params,
        json!([{"name":"greeting","value":"hi there"},{"name":"port","value":"8080"}])
    );

    let (_, logs) = s
        .get(&token, &format!("/workspacebuilds/{build_id}/logs"))
        .await;
    let pid = started_pid(&logs);
    assert!(pid_alive(pid));
    let first_id = logs[0]["id"].as_i64().unwrap();
    let (_, rest) = s
        .get(
            &token,
            &format!("/workspacebuilds/{build_id}/logs?after={first_id}"),
        )
        .await;
    assert_eq!(
        rest.as_array().unwrap().len(),
        logs.as_array().unwrap().len() - 1
    );

    // Following a finished build's logs replays them and closes with 1000 "done".
    let ws_url = format!(
        "{}/workspacebuilds/{build_id}/logs?follow=true&after={first_id}&coder_session_token={token}",
        s.api("").replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let mut followed = Vec::new();
    let mut close = None;
    while let Some(msg) = socket.next().await {
        match msg.unwrap() {
            Message::Text(t) => {
                followed.push(serde_json::from_str::<serde_json::Value>(&t).unwrap())
            }
            Message::Close(frame) => {
                close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(json!(followed), rest);
    assert_eq!(close, Some((1000, "done".to_owned())));
    let (status, body) = s
        .get(
            &token,
            &format!("/workspacebuilds/{build_id}/logs?follow=true"),
        )
        .await;
    assert_eq!(
        (status, &body["message"]),
        (400, &json!("Failed to accept websocket."))
    );

    // Search.
    for (q, n) in [
        ("owner:me", 1),
        ("status:running", 1),
        ("status:stopped", 0),
        ("admin/dev", 1),
        ("template:local", 1),
        ("name:de", 1),
        ("nobody/dev", 0),
    ] {
        let (status, list) = s.get(&token, &format!("/workspaces?q={q}")).await;
        assert_eq!(status, 200);
        assert_eq!(list["count"], n, "q={q}");
    }
    let (status, by_name) = s.get(&token, "/users/admin/workspace/dev").await;
    assert_eq!((status, &by_name["id"]), (200, &json!(wid)));

    // Stop: the process gets SIGTERM and is gone.
    let (status, build) = s
        .post(
            &token,
            &format!("/workspaces/{wid}/builds"),
            json!({"transition":"stop"}),
        )
        .await;
    assert_eq!(status, 201, "{build}");
    assert_eq!(build["build_number"], 2);
    s.wait_status(&token, &wid, "stopped").await;
    assert!(!pid_alive(pid), "process {pid} still alive after stop");
    assert!(home.join("greeting.txt").exists(), "stop keeps the home");

    // Start again, then delete: the directory goes away.
    let (status, _) = s
        .post(
            &token,
            &format!("/workspaces/{wid}/builds"),
            json!({"transition":"start"}),
        )
        .await;
    assert_eq!(status, 201);
    let ws = s.wait_status(&token, &wid, "running").await;
    let (_, logs) = s
        .get(
            &token,
            &format!(
                "/workspacebuilds/{}/logs",
                ws["latest_build"]["id"].as_str().unwrap()
            ),
        )
        .await;
    let pid2 = started_pid(&logs);
    assert!(pid_alive(pid2));
    let (status, _) = s
        .post(
            &token,
            &format!("/workspaces/{wid}/builds"),
            json!({"transition":"delete"}),
        )
        .await;
    assert_eq!(status, 201);
    s.wait_status(&token, &wid, "deleted").await;
    assert!(!pid_alive(pid2));
    assert!(!home.exists(), "delete removes the workspace directory");
    let (status, body) = s.get(&token, &format!("/workspaces/{wid}")).await;
    assert_eq!(status, 410, "{body}");
    let (_, list) = s.get(&token, "/workspaces?q=owner:me").await;
    assert_eq!(list["count"], 0);
    let (_, builds) = s.get(&token, &format!("/workspaces/{wid}/builds")).await;
    let numbers: Vec<_> = builds
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["build_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [4, 3, 2, 1]);
    // The name is free again.
    let (status, _) = s
        .post(
            &token,
            "/users/me/workspaces",
            json!({"name":"dev","template_id": template["id"]}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, list) = s.get(&token, "/workspaces").await;
    let id = list["workspaces"][0]["id"].as_str().unwrap().to_owned();
    s.wait_status(&token, &id, "running").await;
    let (status, _) = s
        .post(
            &token,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"delete"}),
        )
        .await;
    assert_eq!(status, 201);
    s.wait_status(&token, &id, "deleted").await;
    s.stop().await;
}

#[tokio::test]
async fn sqlite_first_user_to_running_workspace_and_back() {
    first_user_to_running_workspace_and_back(Db::Sqlite).await;
}

#[tokio::test]
async fn postgres_first_user_to_running_workspace_and_back() {
    first_user_to_running_workspace_and_back(Db::Postgres).await;
}
