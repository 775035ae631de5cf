//! The runnable examples under `examples/`, run against the reference server (in-process, on
//! SQLite): the same functions their `main` calls, with a session as `coder login` stores it
//! (read back through `Client::from_cli_config`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[allow(dead_code)]
#[path = "../examples/create_workspace.rs"]
mod create_workspace;
#[allow(dead_code)]
#[path = "../examples/list_workspaces.rs"]
mod list_workspaces;
#[allow(dead_code)]
#[path = "../examples/watch_workspace.rs"]
mod watch_workspace;

use coder_client::model::{
    CreateFirstUserRequest, ProvisionerJobStatus, WorkspaceStatus, WorkspaceTransition,
};
use coder_client::{CliConfig, Client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_run_against_the_reference_server() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = coder_server::Config::new(dir.path().join("cache"));
    tokio::spawn(coder_server::serve(listener, config));

    // What `coder login` leaves behind, found through CODER_CONFIG_DIR.
    let setup = Client::new(&url).unwrap();
    setup
        .users()
        .create_first_user(&CreateFirstUserRequest {
            email: "admin@example.com".into(),
            username: "admin".into(),
            password: "correct horse battery".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    setup
        .login("admin@example.com", "correct horse battery")
        .await
        .unwrap();
    let config_dir = dir.path().join("coderv2");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(config_dir.join(CliConfig::URL_FILE), &url).unwrap();
    std::fs::write(
        config_dir.join(CliConfig::SESSION_FILE),
        setup.session_token().unwrap(),
    )
    .unwrap();
    let client = Client::from_cli(&CliConfig::locate(Some(config_dir)).unwrap()).unwrap();
    assert_eq!(client.users().me().await.unwrap().username, "admin");

    support::push(&client, "local", support::example_template()).await;

    // create_workspace: the build's log lines, then its outcome.
    let mut lines = Vec::new();
    let status = create_workspace::create(&client, "local", "dev", |l| lines.push(l))
        .await
        .unwrap();
    assert_eq!(status, ProvisionerJobStatus::Succeeded);
    assert_eq!(
        lines.first().map(String::as_str),
        Some("[Setting up] Job acquired by coder-server")
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("[Cleaning up] Job succeeded")
    );

    // list_workspaces.
    assert_eq!(
        list_workspaces::list(&client).await.unwrap(),
        vec!["admin/dev  running  local".to_owned()]
    );

    // watch_workspace: running, then a stop's statuses until stopped.
    let ws = client
        .workspaces()
        .get_by_owner_and_name("me", "dev")
        .await
        .unwrap();
    let stopper = client.clone();
    let mut seen = Vec::new();
    watch_workspace::watch(&client, "dev", |status| {
        seen.push(status.clone());
        if *status == WorkspaceStatus::Running {
            let stopper = stopper.clone();
            tokio::spawn(async move {
                stopper
                    .builds()
                    .transition(ws.id, WorkspaceTransition::Stop)
                    .await
                    .unwrap();
            });
        }
        *status != WorkspaceStatus::Stopped
    })
    .await
    .unwrap();
    assert_eq!(seen.first(), Some(&WorkspaceStatus::Running));
    assert_eq!(seen.last(), Some(&WorkspaceStatus::Stopped));
}
