//! `coder-client` against the reference server, started in-process on `127.0.0.1:0` on
//! SQLite and on PostgreSQL: every sub-client, every stream (including a connection cut
//! mid-stream that resumes without loss or duplicates), and every error kind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

mod support;

use coder_client::{Client, Error};
use coder_core::model::{
    CreateFirstUserRequest, CreateTokenRequest, CreateWorkspaceRequest, UpdateTemplateMeta,
    WorkspaceBuildParameter, WorkspaceStatus, WorkspaceTransition,
};
use futures_util::StreamExt;
use support::{example_template, push, tar_of};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use uuid::Uuid;

const EMAIL: &str = "admin@example.com";
const PASSWORD: &str = "correct horse battery";

/// The reference server on a free port; stops when dropped.
struct Server {
    url: String,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn start_server(tweak: impl FnOnce(&mut coder_server::Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = coder_server::Config::new(dir.path().join("cache"));
    tweak(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(coder_server::serve_with_shutdown(
        listener,
        config,
        async move {
            let _ = stopped.await;
        },
    ));
    Server {
        url,
        _stop: stop,
        _dir: dir,
    }
}

/// A server with its first user, and a client logged in as that user.
async fn owner(server: &Server) -> Client {
    let client = Client::new(&server.url).unwrap();
    assert!(!client.users().first_user_exists().await.unwrap());
    client
        .users()
        .create_first_user(&CreateFirstUserRequest {
            email: EMAIL.into(),
            username: "admin".into(),
            password: PASSWORD.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(client.users().first_user_exists().await.unwrap());
    client.login(EMAIL, PASSWORD).await.unwrap();
    client
}

/// A template whose process ignores SIGTERM: stopping it takes the server's grace period.
fn stubborn_template(grace_dir: &Path) -> Vec<u8> {
    std::fs::write(
        grace_dir.join("coder-template.toml"),
        "[[agents]]\nname = \"main\"\ncommand = \"trap '' TERM; while true; do sleep 1; done\"\n",
    )
    .unwrap();
    tar_of(grace_dir)
}

async fn wait_for(client: &Client, workspace: Uuid, status: WorkspaceStatus) {
    for _ in 0..400 {
        let ws = client.workspaces().get(workspace).await.unwrap();
        if ws.latest_build.status == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("workspace never became {status}");
}

/// Waits until the workspace is gone: Coder answers `410 Gone` for a deleted workspace.
async fn wait_deleted(client: &Client, workspace: Uuid) {
    for _ in 0..400 {
        match client.workspaces().get(workspace).await {
            Err(Error::NotFound(e)) if e.status == 410 => return,
            Ok(_) => tokio::time::sleep(Duration::from_millis(25)).await,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("workspace never deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sub_client_against_the_reference_server_on_sqlite() {
    every_sub_client(start_server(|_| {}).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sub_client_against_the_reference_server_on_postgres() {
    let url = coder_server::testing::fresh_pg_url()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    every_sub_client(start_server(|c| c.postgres_url = Some(url)).await).await;
}

async fn every_sub_client(server: Server) {
    let client = owner(&server).await;

    // Session, users, organizations.
    assert!(!client.build_info().await.unwrap().version.is_empty());
    let me = client.users().me().await.unwrap();
    assert_eq!((me.username.as_str(), me.email.as_str()), ("admin", EMAIL));
    assert_eq!(client.users().get("admin").await.unwrap().id, me.id);
    assert_eq!(client.users().list("").await.unwrap().count, 1);
    let org = client.organizations().get("default").await.unwrap();
    assert!(org.is_default);
    assert_eq!(client.organizations().list().await.unwrap().len(), 1);
    let members = client.organizations().members("default").await.unwrap();
    assert_eq!(
        members
            .iter()
            .map(|m| m.username.as_str())
            .collect::<Vec<_>>(),
        ["admin"]
    );

    // Files: content-addressed, downloadable byte for byte.
    let tar = example_template();
    let first = client.files().upload(tar.clone()).await.unwrap();
    assert_eq!(
        client.files().upload(tar.clone()).await.unwrap().hash,
        first.hash
    );
    assert_eq!(client.files().download(first.hash).await.unwrap(), tar);

    // Template versions and templates.
    let template = push(&client, "local", tar).await;
    let version = template.active_version_id;
    let params = client
        .template_versions()
        .rich_parameters(version)
        .await
        .unwrap();
    assert_eq!(
        params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["greeting", "port"]
    );
    let resources = client.template_versions().resources(version).await.unwrap();
    assert_eq!(resources[0].agents[0].name, "main");
    assert_eq!(
        client
            .templates()
            .get_by_name("default", "local")
            .await
            .unwrap()
            .id,
        template.id
    );
    assert_eq!(client.templates().list().await.unwrap().len(), 1);
    assert_eq!(
        client
            .templates()
            .versions(template.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let updated = client
        .templates()
        .update(
            template.id,
            &UpdateTemplateMeta {
                default_ttl_ms: Some(3_600_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.map(|t| t.default_ttl_ms), Some(3_600_000));
    assert_eq!(
        client
            .templates()
            .get(template.id)
            .await
            .unwrap()
            .default_ttl_ms,
        3_600_000
    );

    // Workspaces and builds.
    let ws = client
        .workspaces()
        .create(
            "me",
            &CreateWorkspaceRequest {
                name: "dev".into(),
                template_id: Some(template.id),
                rich_parameter_values: vec![WorkspaceBuildParameter {
                    name: "greeting".into(),
                    value: "hi there".into(),
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_for(&client, ws.id, WorkspaceStatus::Running).await;
    assert_eq!(
        client
            .workspaces()
            .get_by_owner_and_name("me", "dev")
            .await
            .unwrap()
            .id,
        ws.id
    );
    let listed = client.workspaces().list("owner:me").await.unwrap();
    assert_eq!(
        (listed.count, listed.workspaces[0].name.as_str()),
        (1, "dev")
    );
    assert_eq!(
        client.workspaces().list("name:nosuch").await.unwrap().count,
        0
    );
    let builds = client.builds().list(ws.id).await.unwrap();
    assert_eq!(builds.len(), 1);
    let build = client.builds().get(builds[0].id).await.unwrap();
    assert_eq!(
        (build.build_number, build.transition),
        (1, WorkspaceTransition::Start)
    );
    // Following a finished build replays every line once, then ends.
    let stored = client.builds().logs(build.id, None).await.unwrap();
    let followed: Vec<_> = client
        .builds()
        .follow_logs(build.id, None)
        .unwrap()
        .map(|l| l.unwrap())
        .collect()
        .await;
    assert_eq!(followed, stored);
    let after = stored[1].id;
    assert_eq!(
        client.builds().logs(build.id, Some(after)).await.unwrap(),
        stored[2..].to_vec()
    );

    // Schedule.
    client
        .workspaces()
        .set_ttl(ws.id, Some(2 * 3_600_000))
        .await
        .unwrap();
    client
        .workspaces()
        .set_autostart(ws.id, Some("CRON_TZ=Europe/London 30 8 * * 1-5".into()))
        .await
        .unwrap();
    let ws_now = client.workspaces().get(ws.id).await.unwrap();
    assert_eq!(ws_now.ttl_ms, Some(2 * 3_600_000));
    assert_eq!(
        ws_now.autostart_schedule.as_deref(),
        Some("CRON_TZ=Europe/London 30 8 * * 1-5")
    );
    client
        .workspaces()
        .set_autostart(ws.id, None)
        .await
        .unwrap();
    assert_eq!(
        client
            .workspaces()
            .get(ws.id)
            .await
            .unwrap()
            .autostart_schedule,
        None
    );

    // Watch (SSE and websocket): the current state first, then each change of a stop build.
    for websocket in [false, true] {
        let mut updates = if websocket {
            client.workspaces().watch_ws(ws.id).unwrap()
        } else {
            client.workspaces().watch(ws.id).unwrap()
        };
        let first = updates.next().await.unwrap().unwrap();
        let (transition, target) = if first.latest_build.status == WorkspaceStatus::Running {
            (WorkspaceTransition::Stop, WorkspaceStatus::Stopped)
        } else {
            (WorkspaceTransition::Start, WorkspaceStatus::Running)
        };
        client.builds().transition(ws.id, transition).await.unwrap();
        loop {
            let seen = updates.next().await.unwrap().unwrap();
            if seen.latest_build.status == target {
                break;
            }
        }
        updates.subscription().cancel();
    }

    // Tokens: create, use, list, revoke.
    let token = client
        .tokens()
        .create(
            "me",
            &CreateTokenRequest {
                token_name: "ci".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let key_id = token.key.split('-').next().unwrap().to_owned();
    let bot = Client::builder(&server.url)
        .session_token(token.key.clone())
        .build()
        .unwrap();
    assert_eq!(bot.users().me().await.unwrap().username, "admin");
    let listed = client.tokens().list("me").await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|k| k.token_name.as_str())
            .collect::<Vec<_>>(),
        ["ci"]
    );
    assert_eq!(
        client.tokens().get("me", &key_id).await.unwrap().token_name,
        "ci"
    );
    client.tokens().delete("me", &key_id).await.unwrap();
    assert!(matches!(
        bot.users().me().await,
        Err(Error::Unauthorized(_))
    ));

    // Delete, then log out: the session is gone server-side too.
    let gone = client
        .builds()
        .transition(ws.id, WorkspaceTransition::Delete)
        .await
        .unwrap();
    let _: Vec<_> = client
        .builds()
        .follow_logs(gone.id, None)
        .unwrap()
        .collect()
        .await;
    wait_deleted(&client, ws.id).await;
    let session = client.session_token().unwrap();
    client.logout().await.unwrap();
    let stale = Client::builder(&server.url)
        .session_token(session)
        .build()
        .unwrap();
    assert!(matches!(
        stale.users().me().await,
        Err(Error::Unauthorized(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_kind_carries_coders_message() {
    let server = start_server(|c| c.max_file_size = 64 * 1024).await;
    let client = owner(&server).await;

    let Err(Error::NotFound(e)) = client.workspaces().get(Uuid::new_v4()).await else {
        panic!()
    };
    assert_eq!((e.status, e.method.as_str()), (404, "GET"));
    assert_eq!(
        e.message,
        "Resource not found or you do not have access to this resource"
    );

    let Err(Error::Conflict(e)) = client
        .users()
        .create_first_user(&CreateFirstUserRequest {
            email: "x@example.com".into(),
            username: "x".into(),
            password: PASSWORD.into(),
            ..Default::default()
        })
        .await
    else {
        panic!()
    };
    assert_eq!(e.status, 409);

    let template = push(&client, "local", example_template()).await;
    let bad = CreateWorkspaceRequest {
        name: "dev".into(),
        template_id: Some(template.id),
        rich_parameter_values: vec![WorkspaceBuildParameter {
            name: "port".into(),
            value: "80".into(),
        }],
        ..Default::default()
    };
    let Err(Error::Validation(e)) = client.workspaces().create("me", &bad).await else {
        panic!()
    };
    assert_eq!(e.status, 400);
    assert_eq!(
        e.validations
            .iter()
            .map(|v| v.field.as_str())
            .collect::<Vec<_>>(),
        ["port"]
    );

    let Err(Error::TooLarge(e)) = client.files().upload(vec![0; 65 * 1024]).await else {
        panic!()
    };
    assert_eq!(e.status, 413);

    let anonymous = Client::new(&server.url).unwrap();
    assert!(matches!(
        anonymous.users().me().await,
        Err(Error::Unauthorized(_))
    ));
    let mut kinds = Vec::new();
    for _ in 0..8 {
        match anonymous.login(EMAIL, "wrong password").await {
            Err(Error::Unauthorized(_)) => kinds.push(401),
            Err(Error::RateLimited(e)) => kinds.push(e.status),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(kinds, [401, 401, 401, 401, 401, 429, 429, 429]);
}

/// A TCP forwarder in front of the server whose connections can be cut at will.
struct Cutter {
    url: String,
    cut: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

async fn cutter(target: &str) -> Cutter {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let target = target.trim_start_matches("http://").to_owned();
    let cut = Arc::new(AtomicBool::new(false));
    let flag = cut.clone();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            let flag = flag.clone();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(&target).await else {
                    return;
                };
                let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                let cut = async {
                    while !flag.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                };
                tokio::select! { _ = copy => {}, () = cut => {} }
            });
        }
    });
    Cutter { url, cut, accepted }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_stream_cut_mid_build_resumes_without_loss_or_duplicates() {
    let server = start_server(|c| c.stop_timeout = Duration::from_secs(3)).await;
    let client = owner(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let template = push(&client, "stubborn", stubborn_template(dir.path())).await;
    let ws = client
        .workspaces()
        .create(
            "me",
            &CreateWorkspaceRequest {
                name: "slow".into(),
                template_id: Some(template.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_for(&client, ws.id, WorkspaceStatus::Running).await;

    // Follow the stop build through a connection we cut while the process ignores SIGTERM.
    let proxy = cutter(&server.url).await;
    let via_proxy = Client::builder(&proxy.url)
        .session_token(client.session_token().unwrap())
        .build()
        .unwrap();
    let stop = client
        .builds()
        .transition(ws.id, WorkspaceTransition::Stop)
        .await
        .unwrap();
    let mut logs = via_proxy.builds().follow_logs(stop.id, None).unwrap();
    let mut seen = vec![logs.next().await.unwrap().unwrap()];
    proxy.cut.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.cut.store(false, Ordering::SeqCst);
    while let Some(line) = logs.next().await {
        seen.push(line.unwrap());
    }

    let stored = client.builds().logs(stop.id, None).await.unwrap();
    assert_eq!(seen, stored, "every line exactly once, in order");
    assert_eq!(
        proxy.accepted.load(Ordering::SeqCst),
        2,
        "one cut, one resumed connection"
    );
    assert!(
        stored.iter().any(|l| l.output.contains("SIGKILL")),
        "{stored:?}"
    );
    assert_eq!(
        client.builds().get(stop.id).await.unwrap().status,
        WorkspaceStatus::Stopped
    );
    client
        .builds()
        .transition(ws.id, WorkspaceTransition::Delete)
        .await
        .unwrap();
    wait_deleted(&client, ws.id).await;
}
