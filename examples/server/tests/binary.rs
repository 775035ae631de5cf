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

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
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
