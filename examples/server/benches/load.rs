//! Load benchmark of the reference server (a benchmark, not a timed test).
//!
//! The server runs as its own process (the `coder-server` binary, release build); this
//! process is the client, on loopback. For each backend (SQLite; PostgreSQL when
//! `CODER_TEST_PG_URL` names a server whose role may create databases):
//!
//! 1. 50 users with 40 workspaces each (2,000), from a template without processes;
//! 2. create-to-running time of workspaces of the example template (`examples/templates/local`);
//! 3. an open-loop mix of `GET /workspaces?q=owner:me` and `GET /workspaces/{id}` at a fixed
//!    rate (default 1,000 requests/s for 10 s) over 64 connections, latency measured from each
//!    request's scheduled start (as wrk2 does); then the same mix closed-loop (32 connections
//!    back to back) to find the throughput ceiling.
//!
//! `cargo bench -p coder-server --bench load` (env: `LOAD_RATE`, `LOAD_SECONDS`, `LOAD_USERS`,
//! `LOAD_WORKSPACES_PER_USER`, `LOAD_MIX` = `mixed` | `list` | `get`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system) the process has used, from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    // After the command: state is field 3; utime and stime are fields 14 and 15 (clock ticks).
    let ticks = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let hz = 100; // USER_HZ on Linux
    Duration::from_millis((ticks(14) + ticks(15)) * 1000 / hz)
}

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = self.child.wait();
    }
}

fn start_server(postgres_url: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder-server"));
    cmd.args([
        "--http-address",
        "127.0.0.1:0",
        "--provisioner-daemons",
        "3",
    ])
    .arg("--cache-dir")
    .arg(dir.path())
    .env_remove("CODER_PG_CONNECTION_URL")
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if let Some(url) = postgres_url {
        cmd.args(["--postgres-url", url]);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("Started HTTP listener at ")
        .unwrap()
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        url,
        _dir: dir,
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v2{path}", self.base))
            .header("Coder-Session-Token", token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, token, path, None).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self
            .post(
                "",
                "/users/login",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["session_token"].as_str().unwrap().to_owned()
    }

    async fn template(&self, token: &str, name: &str, tar: Vec<u8>) -> String {
        let r = self
            .http
            .post(format!("{}/api/v2/files", self.base))
            .header("Coder-Session-Token", token)
            .header("Content-Type", "application/x-tar")
            .body(tar)
            .send()
            .await
            .unwrap();
        let file: Value = r.json().await.unwrap();
        let (_, version) = self
            .post(
                token,
                "/organizations/default/templateversions",
                json!({"storage_method":"file","provisioner":"process","file_id": file["hash"]}),
            )
            .await;
        let vid = version["id"].as_str().unwrap().to_owned();
        loop {
            let (_, v) = self.get(token, &format!("/templateversions/{vid}")).await;
            match v["job"]["status"].as_str() {
                Some("succeeded") => break,
                Some("failed" | "canceled") => panic!("import failed: {v}"),
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        let (status, t) = self
            .post(
                token,
                "/organizations/default/templates",
                json!({"name": name, "template_version_id": vid}),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        t["id"].as_str().unwrap().to_owned()
    }
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct User {
    token: String,
    workspaces: Vec<String>,
}

async fn setup(api: &Api, users: usize, per_user: usize) -> (String, Vec<User>) {
    let (status, _) = api
        .post(
            "",
            "/users/first",
            json!({"email":"admin@example.com","username":"admin","password":"BenchPassword1"}),
        )
        .await;
    assert_eq!(status, 201);
    let owner = api.login("admin@example.com", "BenchPassword1").await;
    let template = api
        .template(
            &owner,
            "bench",
            tar_of(&[("coder-template.toml", b"[[agents]]\nname = \"main\"\n")]),
        )
        .await;
    let mut out = Vec::new();
    for i in 0..users {
        let name = format!("user{i}");
        let (status, body) = api
            .post(&owner, "/users", json!({"email": format!("{name}@example.com"), "username": name, "password": "BenchPassword1"}))
            .await;
        assert_eq!(status, 201, "{body}");
        let token = api
            .login(&format!("{name}@example.com"), "BenchPassword1")
            .await;
        out.push(User {
            token,
            workspaces: Vec::new(),
        });
    }
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(8));
    let api = Arc::new(Api {
        http: api.http.clone(),
        base: api.base.clone(),
    });
    let mut tasks = Vec::new();
    for (i, _) in out.iter().enumerate() {
        for w in 0..per_user {
            let (api, gate, owner, template) = (
                Arc::clone(&api),
                Arc::clone(&gate),
                owner.clone(),
                template.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire().await.unwrap();
                let (status, ws) = api
                    .post(
                        &owner,
                        &format!("/users/user{i}/workspaces"),
                        json!({"name": format!("ws{w}"), "template_id": template}),
                    )
                    .await;
                assert_eq!(status, 201, "{ws}");
                (i, ws["id"].as_str().unwrap().to_owned())
            }));
        }
    }
    for t in tasks {
        let (i, id) = t.await.unwrap();
        out[i].workspaces.push(id);
    }
    let total = users * per_user;
    loop {
        let (_, list) = api
            .get(&owner, "/workspaces?q=status:running&limit=1")
            .await;
        if list["count"].as_u64() == Some(total as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "  setup: {users} users, {total} workspaces running in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (owner, out)
}

async fn create_to_running(api: &Api, owner: &str, n: usize) -> Vec<Duration> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/local");
    let manifest = std::fs::read(dir.join("coder-template.toml")).unwrap();
    let template = api
        .template(
            owner,
            "local",
            tar_of(&[("coder-template.toml", &manifest)]),
        )
        .await;
    let mut times = Vec::new();
    for i in 0..n {
        let started = Instant::now();
        let (status, ws) = api
            .post(
                owner,
                "/users/me/workspaces",
                json!({"name": format!("local{i}"), "template_id": template}),
            )
            .await;
        assert_eq!(status, 201, "{ws}");
        let id = ws["id"].as_str().unwrap().to_owned();
        loop {
            let (_, w) = api.get(owner, &format!("/workspaces/{id}")).await;
            match w["latest_build"]["status"].as_str() {
                Some("running") => break,
                Some("failed" | "canceled") => panic!("build failed: {w}"),
                _ => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
        times.push(started.elapsed());
        // Delete and wait, so no workspace process outlives the benchmark.
        api.post(
            owner,
            &format!("/workspaces/{id}/builds"),
            json!({"transition":"delete"}),
        )
        .await;
        loop {
            let (_, w) = api
                .get(owner, &format!("/workspaces/{id}?include_deleted=true"))
                .await;
            if w["latest_build"]["status"] == "deleted" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    times.sort();
    times
}

/// Which requests the mix sends (`LOAD_MIX`: `mixed` (default), `list` or `get`).
fn is_list(n: u64) -> bool {
    match std::env::var("LOAD_MIX").as_deref() {
        Ok("list") => true,
        Ok("get") => false,
        _ => n.is_multiple_of(2),
    }
}

fn request(api: &Api, users: &[User], n: u64) -> reqwest::RequestBuilder {
    let user = &users[(n as usize * 7919) % users.len()];
    let path = if is_list(n) {
        "/workspaces?q=owner:me".to_owned()
    } else {
        format!(
            "/workspaces/{}",
            user.workspaces[(n as usize / 2) % user.workspaces.len()]
        )
    };
    api.http
        .get(format!("{}/api/v2{path}", api.base))
        .header("Coder-Session-Token", &user.token)
}

/// Latencies split by operation.
#[derive(Default)]
struct Samples {
    list: Vec<Duration>,
    get: Vec<Duration>,
    errors: usize,
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        self.list.extend(other.list);
        self.get.extend(other.get);
        self.errors += other.errors;
    }

    fn report(mut self, label: &str, elapsed: Duration) {
        self.list.sort();
        self.get.sort();
        let mut all: Vec<Duration> = self.list.iter().chain(&self.get).copied().collect();
        all.sort();
        println!(
            "  {label}: {} requests ({} errors), {:.0} req/s; all p50 {:.2} ms p99 {:.2} ms; list p50 {:.2} p99 {:.2}; get p50 {:.2} p99 {:.2}",
            all.len(),
            self.errors,
            all.len() as f64 / elapsed.as_secs_f64(),
            ms(percentile(&all, 0.5)),
            ms(percentile(&all, 0.99)),
            ms(percentile(&self.list, 0.5)),
            ms(percentile(&self.list, 0.99)),
            ms(percentile(&self.get, 0.5)),
            ms(percentile(&self.get, 0.99)),
        );
    }
}

/// Drives the mix with `workers` connections. With `rate`, request `n` is scheduled at
/// `n / rate` seconds and its latency counts from then (open loop: a slow server cannot hide
/// queueing, as in wrk2); without, each worker sends back to back (closed loop).
async fn drive(
    api: Arc<Api>,
    users: Arc<Vec<User>>,
    workers: u64,
    rate: Option<u64>,
    seconds: u64,
) -> (Samples, Duration) {
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (api, users, next) = (Arc::clone(&api), Arc::clone(&users), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let begin = match rate {
                    Some(r) => {
                        if n >= r * seconds {
                            break;
                        }
                        let at = started + Duration::from_secs_f64(n as f64 / r as f64);
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => {
                        if Instant::now() >= deadline {
                            break;
                        }
                        Instant::now()
                    }
                };
                let ok = match request(&api, &users, n).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if !ok {
                    samples.errors += 1;
                }
                if is_list(n) {
                    samples.list.push(begin.elapsed());
                } else {
                    samples.get.push(begin.elapsed());
                }
            }
            samples
        }));
    }
    let mut samples = Samples::default();
    for t in tasks {
        samples.merge(t.await.unwrap());
    }
    (samples, started.elapsed())
}

async fn fresh_pg_database(admin: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    let name = format!("coder_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    format!("{base}/{name}")
}

async fn drop_database(admin: &str, url: &str) {
    use sqlx::Connection;
    let name = url.rsplit('/').next().unwrap_or_default();
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

async fn run(label: &str, postgres: Option<String>) {
    println!("{label}:");
    let server = start_server(postgres.as_deref());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let api = Api {
        http,
        base: server.url.clone(),
    };
    for _ in 0..100 {
        if api
            .http
            .get(format!("{}/api/v2/buildinfo", api.base))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let users = env_num("LOAD_USERS", 50) as usize;
    let per_user = env_num("LOAD_WORKSPACES_PER_USER", 40) as usize;
    let (owner, users) = setup(&api, users, per_user).await;
    let c2r = create_to_running(&api, &owner, 20).await;
    println!(
        "  create-to-running (example template, n={}): median {:.1} ms, p90 {:.1} ms",
        c2r.len(),
        ms(percentile(&c2r, 0.5)),
        ms(percentile(&c2r, 0.9))
    );
    let api = Arc::new(api);
    let users = Arc::new(users);
    let rate = env_num("LOAD_RATE", 1000);
    let seconds = env_num("LOAD_SECONDS", 10);
    let pid = server.child.id();
    let cpu_before = cpu_time(pid);
    let (samples, elapsed) = drive(
        Arc::clone(&api),
        Arc::clone(&users),
        64,
        Some(rate),
        seconds,
    )
    .await;
    let requests = samples.list.len() + samples.get.len();
    samples.report(
        &format!("open loop at {rate}/s for {seconds} s, 64 connections"),
        elapsed,
    );
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    println!(
        "  server CPU: {:.3} ms per request ({:.0} % of one core), whatever else the machine runs",
        ms(cpu) / requests.max(1) as f64,
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64()
    );
    let (samples, elapsed) = drive(api, users, 32, None, 5).await;
    samples.report("closed loop, 32 connections for 5 s", elapsed);
    drop(server);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("coder-server load benchmark: 50/50 mix of GET /workspaces?q=owner:me and GET /workspaces/{{id}}");
        run("sqlite", None).await;
        match std::env::var("CODER_TEST_PG_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin) => {
                let url = fresh_pg_database(&admin).await;
                run("postgres", Some(url.clone())).await;
                drop_database(&admin, &url).await;
            }
            None => println!("postgres: skipped (set CODER_TEST_PG_URL to a role that may create databases)"),
        }
    });
}
