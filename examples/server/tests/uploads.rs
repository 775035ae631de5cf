//! `POST /files`: the size cap on fixed-length and chunked bodies, content-addressed
//! deduplication however the body was chunked, and (ignored, run by hand) the server's peak
//! memory under concurrent large uploads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, TestServer};
use serde_json::json;

const LIMIT: usize = 1 << 20;

/// Uploads `data` as a chunked body (no Content-Length) in `chunk`-byte pieces.
async fn upload_chunked(
    s: &TestServer,
    token: &str,
    data: Vec<u8>,
    chunk: usize,
) -> (u16, serde_json::Value) {
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
    let r = s
        .client
        .post(s.api("/files"))
        .header("Coder-Session-Token", token)
        .header("Content-Type", "application/x-tar")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )))
        .send()
        .await
        .unwrap();
    common::decode(r).await
}

/// `n` bytes that differ from upload to upload (`seed`).
fn content(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8 ^ seed).collect()
}

async fn uploads_are_capped_and_deduplicated(db: Db) {
    let s = TestServer::start_with(db, |c| c.max_file_size = LIMIT).await;
    let token = s.first_user().await;
    let data = content(LIMIT, 7);
    let (status, id) = s.upload(&token, data.clone()).await;
    assert_eq!(status, 201);
    let r = s
        .client
        .get(s.api(&format!("/files/{id}")))
        .header("Coder-Session-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), data.as_slice());
    // The same content in other chunks has the same hash: the same file.
    let (status, body) = upload_chunked(&s, &token, data.clone(), 1000).await;
    assert_eq!((status, &body["hash"]), (200, &json!(id)));
    let (status, body) = upload_chunked(&s, &token, content(1000, 9), 7).await;
    assert_eq!(status, 201, "{body}");

    let too_large = json!({"message": format!("File is too large: the limit is {LIMIT} bytes.")});
    let (status, _) = s.upload(&token, content(LIMIT + 1, 8)).await;
    assert_eq!(status, 413);
    let (status, body) = upload_chunked(&s, &token, content(LIMIT + 1, 8), 64 << 10).await;
    assert_eq!((status, body), (413, too_large.clone()));
    let r = s
        .client
        .post(s.api("/files"))
        .header("Coder-Session-Token", &token)
        .header("Content-Type", "application/x-tar")
        .body(content(LIMIT + 1, 8))
        .send()
        .await
        .unwrap();
    assert_eq!(common::decode(r).await, (413, too_large));
}

#[tokio::test]
async fn uploads_are_capped_and_deduplicated_sqlite() {
    uploads_are_capped_and_deduplicated(Db::Sqlite).await;
}

#[tokio::test]
async fn uploads_are_capped_and_deduplicated_postgres() {
    uploads_are_capped_and_deduplicated(Db::Postgres).await;
}

/// Peak memory of the real binary while 8 clients upload 16 MiB each at once, on SQLite
/// and (with `CODER_TEST_PG_URL`) PostgreSQL. Prints the figures; run with
/// `cargo test -p coder-server --test uploads -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement: run by hand and read the output"]
async fn upload_peak_memory() {
    const CLIENTS: usize = 8;
    const SIZE: usize = 16 << 20;
    let mut backends = vec![("sqlite", None)];
    if std::env::var("CODER_TEST_PG_URL").is_ok() {
        backends.push(("postgres", Some(common::fresh_pg_url().await)));
    }
    for (name, pg) in backends {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_coder-server"));
        cmd.args([
            "--http-address",
            "127.0.0.1:0",
            "--provisioner-daemons",
            "0",
        ])
        .env("CODER_CACHE_DIRECTORY", dir.path())
        .env_remove("CODER_PG_CONNECTION_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
        if let Some(url) = &pg {
            cmd.args(["--postgres-url", url]);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines =
            std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
        let first = lines.next().unwrap().unwrap();
        let url = first.strip_prefix("Started HTTP listener at ").unwrap();
        let s = TestServer::attach(url);
        let token = s.first_user().await;
        let before = common::peak_rss_kib(child.id());
        let uploads = (0..CLIENTS).map(|i| s.upload(&token, content(SIZE, i as u8)));
        let statuses: Vec<_> = futures_util::future::join_all(uploads)
            .await
            .into_iter()
            .map(|(status, _)| status)
            .collect();
        assert_eq!(statuses, vec![201; CLIENTS]);
        let after = common::peak_rss_kib(child.id());
        let grown = after.saturating_sub(before) as f64 / 1024.0;
        let body = (CLIENTS * SIZE) as f64 / f64::from(1 << 20);
        println!(
            "{name}: {CLIENTS} concurrent uploads of {} MiB: server VmHWM {:.0} MiB -> {:.0} MiB \
             (+{grown:.0} MiB = {:.2}x the {body:.0} MiB uploaded)",
            SIZE >> 20,
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            grown / body
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}
