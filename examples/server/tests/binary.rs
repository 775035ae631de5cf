//! The `coder-server` binary: Coder's flags, the first stdout line, graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Lines, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn binary_prints_its_url_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coder-server"))
        .args(["--http-address", "127.0.0.1:0"])
        .env("CODER_CACHE_DIRECTORY", dir.path())
        .env_remove("CODER_PG_CONNECTION_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (url, mut lines) = listener_url(&mut child);
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let rest: Vec<String> = lines.by_ref().take(3).map(Result::unwrap).collect();
    assert!(
        rest.iter().any(|l| l.contains("/api/v2/users/first")),
        "{rest:?}"
    );
    // Only what exists: there is no web UI to point at.
    assert_eq!(rest[0], format!("Access URL (API under /api/v2): {url}"));
    assert!(!rest.iter().any(|l| l.contains("Web UI")), "{rest:?}");

    let client = http_client();
    let mut status = 0;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{url}/api/v2/users/first")).send().await {
            status = r.status().as_u16();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 404, "a fresh server has no first user");
    assert!(
        dir.path().join("coder.db").exists(),
        "SQLite lives in the cache dir"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let started = Instant::now();
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "{exit}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn open_log_streams_end_on_sigterm_and_the_server_exits() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coder-server"))
        .args([
            "--http-address",
            "127.0.0.1:0",
            "--provisioner-daemons",
            "0",
        ])
        .arg("--cache-dir")
        .arg(dir.path())
        .env_remove("CODER_PG_CONNECTION_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (url, _) = listener_url(&mut child);
    let http = http_client();
    let api = |p: &str| format!("{url}/api/v2{p}");
    let r = http
        .post(api("/users/first"))
        .json(&serde_json::json!({"email":"a@example.com","username":"admin","password":"ShutdownPassword1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let login: serde_json::Value = http
        .post(api("/users/login"))
        .json(&serde_json::json!({"email":"a@example.com","password":"ShutdownPassword1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["session_token"].as_str().unwrap().to_owned();
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(0);
    h.set_cksum();
    tar.append_data(&mut h, "coder-template.toml", std::io::empty())
        .unwrap();
    let file: serde_json::Value = http
        .post(api("/files"))
        .header("Coder-Session-Token", &token)
        .header("Content-Type", "application/x-tar")
        .body(tar.into_inner().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let version: serde_json::Value = http
        .post(api("/organizations/default/templateversions"))
        .header("Coder-Session-Token", &token)
        .json(&serde_json::json!({"storage_method":"file","provisioner":"process","file_id": file["hash"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // No runner: the import stays pending and the log stream stays open.
    let ws_url = format!(
        "{}/templateversions/{}/logs?follow=true&coder_session_token={token}",
        api("").replace("http://", "ws://"),
        version["id"].as_str().unwrap()
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let started = Instant::now();
    let close = loop {
        match socket.next().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let frame = close.unwrap();
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (1001, "server shutting down")
    );
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "{exit}");
            break;
        }
        // Well inside the 10 s hard stop: the stream ended itself.
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "server did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The URL of the first stdout line (`Started HTTP listener at <url>`), and the lines after.
fn listener_url(child: &mut Child) -> (String, Lines<BufReader<ChildStdout>>) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("Started HTTP listener at ")
        .expect(&first)
        .to_owned();
    (url, lines)
}

/// A plain HTTP client; the workspace's reqwest uses rustls without a built-in provider.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// The soft and hard open-file limits of a process, from `/proc/<pid>/limits`.
fn nofile_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<_> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

/// The binary's connection hygiene: 80 silent connections against a server started with a soft limit of 64 open files and a
/// cap of 16 connections: the server raises its soft limit to the hard one, a normal request
/// is still answered, a silent connection is closed after the 1 s header timeout, and the cap
/// is logged once, not once per connection.
#[tokio::test]
async fn silent_connections_do_not_lock_out_other_clients() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Under a soft limit of 64 open files (the hard one stays).
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -Sn 64 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_coder-server"))
        .args([
            "--http-address",
            "127.0.0.1:0",
            "--provisioner-daemons",
            "0",
        ])
        .env("CODER_CACHE_DIRECTORY", dir.path())
        .env("CODER_HTTP_MAX_CONNECTIONS", "16")
        .env("CODER_HTTP_READ_HEADER_TIMEOUT", "1s")
        .env_remove("CODER_PG_CONNECTION_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (url, _) = listener_url(&mut child);
    let (soft, hard) = nofile_limits(child.id());
    let addr = url.strip_prefix("http://").unwrap().to_owned();
    let mut silent = Vec::new();
    for _ in 0..80 {
        silent.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let client = http_client();
    let started = std::time::Instant::now();
    let answer = client
        .get(format!("{url}/api/v2/buildinfo"))
        .timeout(Duration::from_secs(30))
        .send()
        .await;
    println!(
        "normal request answered after {:?} behind 80 silent connections",
        started.elapsed()
    );
    let status = answer
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string());

    // The first silent connection was accepted and then closed by the header timeout: the
    // server sends nothing and closes it.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), silent[0].read_to_end(&mut buf))
        .await
        .map(|r| r.map_err(|e| e.kind()));
    drop(silent);
    // A keep-alive connection left idle after its response is closed the same way.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /api/v2/buildinfo HTTP/1.1\r\nHost: coder\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let idle_read = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut response))
        .await
        .map(|r| r.map_err(|e| e.kind()));
    let response = String::from_utf8_lossy(&response).into_owned();

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    assert_eq!(soft, hard, "soft open-file limit raised to the hard one");
    assert_eq!(status, Ok(200));
    assert_eq!(read, Ok(Ok(0)), "silent connection: {buf:?}");
    assert!(
        matches!(idle_read, Ok(Ok(_))),
        "idle connection: {idle_read:?}"
    );
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let warnings: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("connection limit reached"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("max_connections=16"), "{stderr}");
}
