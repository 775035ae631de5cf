//! What a template and its workspaces may take: archives within the configured limits, jobs
//! only for provisioners the server has, files on disk readable by the server's user only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Db, TestServer};
use serde_json::json;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_database_and_workspace_files_are_private() {
    let server = TestServer::start(Db::Sqlite).await;
    let token = server.first_user().await;
    let template = server.example_template(&token, "local").await;
    let ws = server.create_dev(&token, &template["id"]).await;
    let id = ws["id"].as_str().unwrap().to_owned();
    server.wait_status(&token, &id, "running").await;
    let cache = server.dir.path().join("cache");
    let workspace = cache.join("workspaces").join(&id);
    assert_eq!(
        [
            mode(&cache),
            mode(&cache.join("coder.db")),
            mode(&cache.join("workspaces")),
            mode(&workspace.join("home")),
            mode(&workspace.join("main.log")),
        ],
        [0o700, 0o600, 0o700, 0o700, 0o600]
    );
}

/// A GNU sparse tar entry declaring `real` bytes, only its last 512 stored.
fn sparse_entry(name: &str, real: u64) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_path(name).unwrap();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_size(512);
    h.set_mode(0o644);
    let gnu = h.as_gnu_mut().unwrap();
    gnu.set_real_size(real);
    gnu.sparse[0].set_offset(real - 512);
    gnu.sparse[0].set_length(512);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(&[b'x'; 512]);
    out
}

#[tokio::test]
async fn an_archive_over_the_limits_fails_its_import_naming_the_limit() {
    for db in [Db::Sqlite, Db::Postgres] {
        let server = TestServer::start_with(db, |c| {
            c.template_limits.max_unpacked_bytes = 64 << 20;
        })
        .await;
        let token = server.first_user().await;
        // A 10 KiB upload declaring a 256 MiB file next to a valid manifest.
        let manifest = common::tar_manifest("[[agents]]\nname = \"main\"\n");
        let mut tar = sparse_entry("disk.img", 256 << 20);
        tar.extend_from_slice(&manifest);
        let version = server.import(&token, tar).await;
        assert_eq!(
            (&version["job"]["status"], &version["job"]["error"]),
            (
                &json!("failed"),
                &json!(
                    "the template unpacks to more than 67108864 bytes (--template-max-unpacked-size); disk.img alone is 268435456 bytes"
                )
            )
        );
    }
}

#[tokio::test]
async fn a_job_for_a_provisioner_the_server_lacks_fails_saying_which_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = coder_server::Config::new(dir.path().join("cache"));
    config.job_concurrency = 0;
    let server = TestServer::start_config(config.clone(), dir).await;
    let token = server.first_user().await;
    let file = server
        .upload_manifest(&token, "[[agents]]\nname = \"main\"\n")
        .await;
    // The API only takes registered types.
    let (status, refused) = server
        .post(
            &token,
            "/organizations/default/templateversions",
            json!({"storage_method": "file", "provisioner": "terraform", "file_id": file}),
        )
        .await;
    assert_eq!(
        (status, &refused["validations"][0]["detail"]),
        (
            400,
            &json!(
                "provisioner \"terraform\" is not available on this server; available: \"process\""
            )
        )
    );
    // A job queued for a type the server does not have (another replica's, or one that was
    // removed) fails with the same sentence instead of running on the wrong provisioner.
    let (status, version) = server
        .post(
            &token,
            "/organizations/default/templateversions",
            json!({"storage_method": "file", "provisioner": "process", "file_id": file}),
        )
        .await;
    assert_eq!(status, 201, "{version}");
    let dir = server.stop().await;
    let store = coder_server::store::Store::open_sqlite(&config.sqlite_path())
        .await
        .unwrap();
    store
        .execute_sql("UPDATE provisioner_jobs SET provisioner = 'terraform'")
        .await
        .unwrap();
    store.close().await;
    config.job_concurrency = 1;
    let server = TestServer::start_config(config, dir).await;
    let id = version["id"].as_str().unwrap();
    let done = server
        .wait_for(&token, &format!("/templateversions/{id}"), |v| {
            v["job"]["status"] == "failed"
        })
        .await;
    assert_eq!(
        done["job"]["error"],
        "provisioner \"terraform\" is not available on this server; available: \"process\""
    );
}
