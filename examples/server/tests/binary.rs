//! The `coder-server` binary: Coder's flags, the first stdout line, graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
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
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("Started HTTP listener at ")
        .expect(&first)
        .to_owned();
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
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let url = first
        .strip_prefix("Started HTTP listener at ")
        .unwrap()
        .to_owned();
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

/// A plain HTTP client; the workspace's reqwest uses rustls without a built-in provider.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
