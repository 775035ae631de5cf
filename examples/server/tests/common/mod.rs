//! Test harness: real SQLite files in temporary directories, a real PostgreSQL server (a fresh
//! database per test), and the server started in-process on `127.0.0.1:0`.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::time::Duration;

use coder_server::Config;
use coder_server::store::Store;
use tokio::sync::oneshot;

/// The admin URL of the test PostgreSQL server (see `coder_server::testing`).
pub fn pg_admin_url() -> &'static str {
    coder_server::testing::pg_admin_url().unwrap_or_else(|e| panic!("{e}"))
}

/// Creates an empty database for one test and returns its URL.
pub async fn fresh_pg_url() -> String {
    coder_server::testing::fresh_pg_url()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A store on a fresh SQLite file; keep the directory alive as long as the store.
pub async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_sqlite(&dir.path().join("coder.db"))
        .await
        .expect("open sqlite");
    (store, dir)
}

/// A store on a fresh PostgreSQL database.
pub async fn pg_store() -> Store {
    Store::open_postgres(&fresh_pg_url().await)
        .await
        .expect("open postgres")
}

/// Which backend a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A server running in-process on a free loopback port.
pub struct TestServer {
    pub url: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    /// The server's password checks, to read their counters (in-process servers only).
    password_checks: Option<std::sync::Arc<coder_server::passwords::PasswordChecks>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Workspace processes are real: a test that ends with workspaces still running must not
/// leave them behind. Kills every process whose working directory is under this server's
/// cache directory (the process provisioner runs each workspace in its home there).
impl Drop for TestServer {
    fn drop(&mut self) {
        let Ok(root) = self.dir.path().canonicalize() else {
            return;
        };
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let in_tree = std::fs::read_link(entry.path().join("cwd"))
                .is_ok_and(|cwd| cwd.starts_with(&root));
            if in_tree {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

impl TestServer {
    pub async fn start(db: Db) -> Self {
        Self::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: Db, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new(dir.path().join("cache"));
        config.stop_timeout = Duration::from_secs(2);
        if db == Db::Postgres {
            config.postgres_url = Some(fresh_pg_url().await);
        }
        tweak(&mut config);
        Self::start_config(config, dir).await
    }

    pub async fn start_config(config: Config, dir: tempfile::TempDir) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let state = coder_server::server::build_state(&listener, config)
            .await
            .expect("server state");
        let password_checks = state.password_checks.clone();
        let task = tokio::spawn(async move {
            coder_server::server::serve_state(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("server failed");
        });
        let client = http_client();
        // Wait until it answers.
        for _ in 0..200 {
            if client
                .get(format!("{url}/api/v2/buildinfo"))
                .send()
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Self {
            url,
            client,
            dir,
            password_checks: Some(password_checks),
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A handle on a server running elsewhere (another process); dropping it stops nothing.
    pub fn attach(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            client: http_client(),
            dir: tempfile::tempdir().expect("tempdir"),
            password_checks: None,
            stop: None,
            task: None,
        }
    }

    /// The counters of an in-process server's password checks.
    pub fn password_stats(&self) -> coder_server::passwords::PasswordCheckStats {
        self.password_checks
            .as_ref()
            .expect("an in-process server")
            .stats()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        tempfile::tempdir()
            .map(|d| std::mem::replace(&mut self.dir, d))
            .expect("tempdir")
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v2{path}", self.url)
    }

    /// Creates the first user (owner) and logs in; returns the session token.
    pub async fn first_user(&self) -> String {
        let r = self
            .client
            .post(self.api("/users/first"))
            .json(&serde_json::json!({"email":"admin@example.com","username":"admin","password":"SomeSecurePassword!"}))
            .send()
            .await
            .expect("first user");
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        self.login("admin@example.com", "SomeSecurePassword!").await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .client
            .post(self.api("/users/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await.expect("json");
        body["session_token"].as_str().expect("token").to_owned()
    }

    /// Creates a member and logs them in; returns their token.
    pub async fn member(&self, owner: &str, username: &str) -> String {
        let email = format!("{username}@example.com");
        let r = self
            .client
            .post(self.api("/users"))
            .header("Coder-Session-Token", owner)
            .json(&serde_json::json!({"email": email, "username": username, "password": "MemberPassword1", "organization_ids": []}))
            .send()
            .await
            .expect("create member");
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        self.login(&email, "MemberPassword1").await
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .client
            .get(self.api(path))
            .header("Coder-Session-Token", token)
            .send()
            .await
            .expect("get");
        decode(r).await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let r = self
            .client
            .request(method, self.api(path))
            .header("Coder-Session-Token", token)
            .json(&body)
            .send()
            .await
            .expect("send");
        decode(r).await
    }

    pub async fn post(
        &self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, token, path, body).await
    }
}

pub async fn decode(r: reqwest::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    (status, body)
}

/// The tar of a template directory (paths relative to it), as `coder templates push` sends.
pub fn tar_dir(dir: &std::path::Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_dir_all(".", dir).expect("tar");
    builder.into_inner().expect("tar")
}

/// The tar of a template made of a manifest text.
pub fn tar_manifest(manifest: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "coder-template.toml", manifest.as_bytes())
        .expect("tar");
    builder.into_inner().expect("tar")
}

/// The shipped example template's directory.
pub fn example_template_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/local")
}

impl TestServer {
    /// Uploads the archive of `manifest` as a new file; returns its id.
    pub async fn upload_manifest(&self, token: &str, manifest: &str) -> String {
        let (status, file) = self.upload(token, tar_manifest(manifest)).await;
        assert_eq!(status, 201);
        file
    }

    /// Uploads a tar; returns (status, file id).
    pub async fn upload(&self, token: &str, tar: Vec<u8>) -> (u16, String) {
        let r = self
            .client
            .post(self.api("/files"))
            .header("Coder-Session-Token", token)
            .header("Content-Type", "application/x-tar")
            .body(tar)
            .send()
            .await
            .expect("upload");
        let (status, body) = decode(r).await;
        (status, body["hash"].as_str().unwrap_or_default().to_owned())
    }

    /// Polls `path` until `pred` holds on the JSON body (30 s at most: the machine may be busy).
    pub async fn wait_for(
        &self,
        token: &str,
        path: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        for _ in 0..1200 {
            let (_, body) = self.get(token, path).await;
            if pred(&body) {
                return body;
            }
            last = body;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting on {path}; last body: {last}");
    }

    /// Uploads `tar`, creates a version and waits for its import to end; returns the version.
    pub async fn import(&self, token: &str, tar: Vec<u8>) -> serde_json::Value {
        let (status, file_id) = self.upload(token, tar).await;
        assert!(status == 201 || status == 200, "upload: {status}");
        let (status, version) = self
            .post(
                token,
                "/organizations/default/templateversions",
                serde_json::json!({"storage_method":"file","provisioner":"process","file_id": file_id}),
            )
            .await;
        assert_eq!(status, 201, "{version}");
        let id = version["id"].as_str().expect("id").to_owned();
        self.wait_for(token, &format!("/templateversions/{id}"), |v| {
            matches!(
                v["job"]["status"].as_str(),
                Some("succeeded" | "failed" | "canceled")
            )
        })
        .await
    }

    /// Imports the example template and creates template `name` from it.
    pub async fn example_template(&self, token: &str, name: &str) -> serde_json::Value {
        self.template_from_tar(token, name, tar_dir(&example_template_dir()))
            .await
    }

    /// Creates template `name` from the archive of `manifest`; returns its id.
    pub async fn template_from(&self, token: &str, name: &str, manifest: &str) -> String {
        let template = self
            .template_from_tar(token, name, tar_manifest(manifest))
            .await;
        template["id"].as_str().expect("id").to_owned()
    }

    /// Imports `tar` and creates template `name` from it; returns the template.
    pub async fn template_from_tar(
        &self,
        token: &str,
        name: &str,
        tar: Vec<u8>,
    ) -> serde_json::Value {
        let version = self.import(token, tar).await;
        assert_eq!(version["job"]["status"], "succeeded", "{version}");
        let (status, template) = self
            .post(
                token,
                "/organizations/default/templates",
                serde_json::json!({"name": name, "template_version_id": version["id"]}),
            )
            .await;
        assert_eq!(status, 201, "{template}");
        template
    }

    /// Creates workspace `dev` from `template_id`; returns the workspace as created.
    pub async fn create_dev(
        &self,
        token: &str,
        template_id: &serde_json::Value,
    ) -> serde_json::Value {
        let (status, ws) = self
            .post(
                token,
                "/users/me/workspaces",
                serde_json::json!({"name": "dev", "template_id": template_id}),
            )
            .await;
        assert_eq!(status, 201, "{ws}");
        ws
    }

    /// Starts a `transition` build of workspace `id`; returns the build.
    pub async fn build(&self, token: &str, id: &str, transition: &str) -> serde_json::Value {
        let (status, build) = self
            .post(
                token,
                &format!("/workspaces/{id}/builds"),
                serde_json::json!({"transition": transition}),
            )
            .await;
        assert_eq!(status, 201, "{build}");
        build
    }

    /// Waits until the workspace's latest build reaches `status`.
    pub async fn wait_status(
        &self,
        token: &str,
        workspace_id: &str,
        status: &str,
    ) -> serde_json::Value {
        self.wait_for(
            token,
            &format!("/workspaces/{workspace_id}?include_deleted=true"),
            |w| w["latest_build"]["status"] == status,
        )
        .await
    }
}

/// The `coder-server` binary, started on a free loopback port with `envs`.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub url: String,
}

impl ServerProcess {
    pub fn spawn(envs: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_coder-server"));
        cmd.args(["--http-address", "127.0.0.1:0"])
            .env_remove("CODER_PG_CONNECTION_URL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn coder-server");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("first line").expect("first line");
        let url = first
            .strip_prefix("Started HTTP listener at ")
            .unwrap_or_else(|| panic!("{first}"))
            .to_owned();
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, url }
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Follows a build's logs over the websocket until the server closes it.
pub async fn follow_logs(
    s: &TestServer,
    token: &str,
    build_id: &str,
    after: i64,
) -> (Vec<serde_json::Value>, Option<(u16, String)>) {
    let ws_url = format!(
        "{}/workspacebuilds/{build_id}/logs?follow=true&after={after}&coder_session_token={token}",
        s.api("").replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let mut followed = Vec::new();
    let mut close = None;
    while let Some(msg) = futures_util::StreamExt::next(&mut socket).await {
        match msg.unwrap() {
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                followed.push(serde_json::from_str::<serde_json::Value>(&t).unwrap())
            }
            tokio_tungstenite::tungstenite::Message::Close(frame) => {
                close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                break;
            }
            _ => {}
        }
    }
    (followed, close)
}

/// Pids from a build log's "started process N" lines.
pub fn started_pids(logs: &serde_json::Value) -> Vec<i32> {
    logs.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|l| {
            let rest = l["output"].as_str()?.split("started process ").nth(1)?;
            rest.split(' ').next()?.parse().ok()
        })
        .collect()
}

/// Whether `pid` is a process that still runs (not gone, not a zombie).
pub fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 1..].trim_start().to_owned()))
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

/// A plain HTTP client for tests. The workspace's reqwest uses rustls without a built-in
/// provider (the SDK picks `ring`), so the provider is installed once here.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A process's `VmHWM` (peak resident memory) in KiB, from `/proc/<pid>/status`.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    line.split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse().ok())
        .expect("VmHWM in kB")
}
