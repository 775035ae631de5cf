//! What the route registry (`coder_server::api::routes`) declares is what the server and its
//! README do: the README's endpoint table is the one the registry renders, so it cannot drift
//! from the routes (`UPDATE_README=1 cargo test -p coder-server --test routes` rewrites it),
//! and a route's declared body limit is the one it enforces.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use coder_server::api::routes::{AREAS, BodyLimit, markdown_table, routes};
use common::{Db, TestServer};
use serde_json::json;

const BEGIN: &str =
    "<!-- endpoints: generated from src/api/routes.rs, checked by tests/routes.rs -->\n";
const END: &str = "<!-- end of endpoints -->\n";

#[test]
fn readme_endpoint_table_is_the_one_the_route_registry_renders() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = readme
        .split_once(BEGIN)
        .unwrap_or_else(|| panic!("README.md has no line {BEGIN:?} before the endpoint table"));
    let (table, after) = rest
        .split_once(END)
        .unwrap_or_else(|| panic!("README.md has no line {END:?} after the endpoint table"));
    let expected = markdown_table(AREAS);
    if table == expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, format!("{before}{BEGIN}{expected}{END}{after}")).unwrap();
        return;
    }
    let (line, ours, theirs) = table
        .lines()
        .map(Some)
        .chain(std::iter::repeat(None))
        .zip(expected.lines().map(Some).chain(std::iter::repeat(None)))
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| (i + 1, a.unwrap_or("(nothing)"), b.unwrap_or("(nothing)")))
        .unwrap_or((0, "(same lines)", "(same lines, different line ends)"));
    panic!(
        "README.md's endpoint table differs from the route registry (src/api/routes.rs).\n\
         First difference, line {line} of the table:\n  README:   {ours}\n  registry: {theirs}\n\
         Run `UPDATE_README=1 cargo test -p coder-server --test routes`, or replace the lines \
         between the two markers with:\n\n{expected}"
    );
}

#[tokio::test]
async fn the_upload_limit_applies_to_the_routes_declared_with_it_and_the_json_limit_elsewhere() {
    let uploads: Vec<String> = routes()
        .filter(|r| r.body_limit == BodyLimit::Upload)
        .map(|r| format!("{} {}", r.method.as_str(), r.path))
        .collect();
    assert_eq!(uploads, ["post /files"]);
    let s = TestServer::start_with(Db::Sqlite, |c| {
        c.max_json_body = 4096;
        c.max_file_size = 64 * 1024;
    })
    .await;
    let token = s.first_user().await;
    let upload = |bytes: usize| {
        s.client
            .post(s.api("/files"))
            .header("Coder-Session-Token", &token)
            .header("Content-Type", "application/x-tar")
            .body(vec![0u8; bytes])
            .send()
    };
    let (status, _) = common::decode(upload(10_000).await.unwrap()).await;
    assert_eq!(
        status, 201,
        "an upload over the JSON limit but under the file limit"
    );
    let (status, body) = common::decode(upload(64 * 1024 + 1).await.unwrap()).await;
    assert_eq!(
        (status, body["message"].clone()),
        (413, json!("File is too large: the limit is 65536 bytes."))
    );
    let (status, body) = s
        .post(&token, "/users", json!({"email": "x".repeat(10_000)}))
        .await;
    assert_eq!(
        (status, body["message"].clone()),
        (413, json!("Request body is too large."))
    );
}
