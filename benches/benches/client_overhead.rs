//! `coder-client` overhead: the same 1,000 `GET /api/v2/workspaces/{id}` through the SDK and
//! through bare reqwest (same connection reuse, same decode into `Workspace`), alternated in
//! one run against the reference server on loopback. Target: at most 1.10x.
//!
//! `cargo bench -p coder-benches --bench client_overhead`

use std::time::{Duration, Instant};

use coder_core::model::{
    CreateFirstUserRequest, CreateTemplateRequest, CreateTemplateVersionRequest,
    CreateWorkspaceRequest, ProvisionerStorageMethod, ProvisionerType, Workspace,
};

const REQUESTS: usize = 1_000;
const ROUNDS: usize = 7;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let config = coder_server::Config::new(dir.path().join("cache"));
    tokio::spawn(coder_server::serve(listener, config));

    let (client, workspace) = setup(&url).await;
    let token = client.session_token().unwrap_or_default();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bare = reqwest::Client::new();
    let path = format!("{url}/api/v2/workspaces/{workspace}");

    let sdk_round = || async {
        let start = Instant::now();
        for _ in 0..REQUESTS {
            let ws = client
                .workspaces()
                .get(workspace)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            std::hint::black_box(ws);
        }
        start.elapsed()
    };
    let bare_round = || async {
        let start = Instant::now();
        for _ in 0..REQUESTS {
            let response = bare
                .get(&path)
                .header("Coder-Session-Token", &token)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let ws: Workspace = response.json().await.unwrap_or_else(|e| panic!("{e}"));
            std::hint::black_box(ws);
        }
        start.elapsed()
    };
    // Warm both connection pools, then alternate rounds so drift hits both equally.
    sdk_round().await;
    bare_round().await;
    let (mut sdk, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        sdk.push(sdk_round().await);
        raw.push(bare_round().await);
    }
    let (sdk, raw) = (median(sdk), median(raw));
    let ratio = sdk.as_secs_f64() / raw.as_secs_f64();
    println!(
        "bare reqwest: {REQUESTS} GET /workspaces/{{id}} in {raw:?} ({:?} each)",
        raw / REQUESTS as u32
    );
    println!(
        "coder-client: {REQUESTS} GET /workspaces/{{id}} in {sdk:?} ({:?} each)",
        sdk / REQUESTS as u32
    );
    println!(
        "coder-client / bare reqwest = {ratio:.3} (target <= 1.10: {})",
        if ratio <= 1.10 { "met" } else { "NOT met" }
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// First user, the example template, one running workspace.
async fn setup(url: &str) -> (coder_client::Client, uuid::Uuid) {
    let client = coder_client::Client::new(url).unwrap_or_else(|e| panic!("{e}"));
    let password = "correct horse battery";
    let first = CreateFirstUserRequest {
        email: "bench@example.com".into(),
        username: "bench".into(),
        password: password.into(),
        ..Default::default()
    };
    client
        .users()
        .create_first_user(&first)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .login("bench@example.com", password)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tar = tar::Builder::new(Vec::new());
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/templates/local");
    tar.append_dir_all(".", example)
        .unwrap_or_else(|e| panic!("{e}"));
    let file = client
        .files()
        .upload(tar.into_inner().unwrap_or_default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let request = CreateTemplateVersionRequest {
        storage_method: ProvisionerStorageMethod::File,
        file_id: file.hash,
        provisioner: ProvisionerType::Process,
        ..Default::default()
    };
    let version = client
        .template_versions()
        .create("default", &request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    while !client
        .template_versions()
        .get(version.id)
        .await
        .map(|v| v.job.status.is_terminal())
        .unwrap_or(false)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let template = CreateTemplateRequest {
        name: "local".into(),
        template_version_id: version.id,
        ..Default::default()
    };
    let template = client
        .templates()
        .create("default", &template)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ws = CreateWorkspaceRequest {
        name: "dev".into(),
        template_id: Some(template.id),
        ..Default::default()
    };
    let ws = client
        .workspaces()
        .create("me", &ws)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (client, ws.id)
}
