//! Names are unique regardless of case where Coder's are, and found by name in any case as
//! Coder finds them: usernames and emails, organization names, template names per
//! organization, workspace names per owner. Each test runs on SQLite and PostgreSQL; the
//! store-level guarantee (the `lower(name)` unique indexes) is in `tests/storage.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, TestServer};
use serde_json::json;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(crate::common::Db::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(crate::common::Db::Postgres).await;
                }
            )*
        }
    };
}

both_backends!(
    usernames_and_emails,
    organization_names,
    template_names,
    workspace_names
);

/// A template with one agent that runs nothing: builds finish at once.
const MANIFEST: &str = "[[agents]]\nname = \"main\"\n";

async fn usernames_and_emails(db: Db) {
    let s = TestServer::start(db).await;
    let owner = s.first_user().await;
    let create = |username: &str, email: &str| json!({"username": username, "email": email, "password": "MemberPassword1", "organization_ids": []});
    let (status, alice) = s
        .post(&owner, "/users", create("alice", "alice@example.com"))
        .await;
    assert_eq!(status, 201, "{alice}");
    let (status, body) = s
        .post(&owner, "/users", create("Alice", "other@example.com"))
        .await;
    assert_eq!(
        (status, &body["message"]),
        (
            409,
            &json!("A user with username \"Alice\" already exists.")
        )
    );
    let (status, body) = s
        .post(&owner, "/users", create("bob", "ALICE@example.com"))
        .await;
    assert_eq!(
        (status, &body["message"]),
        (
            409,
            &json!("A user with email \"ALICE@example.com\" already exists.")
        )
    );
    let (status, found) = s.get(&owner, "/users/ALICE").await;
    assert_eq!((status, &found["id"]), (200, &alice["id"]));
    let (status, users) = s.get(&owner, "/users").await;
    assert_eq!(status, 200);
    assert_eq!(users["count"], 2, "{users}");
}

async fn organization_names(db: Db) {
    let s = TestServer::start(db).await;
    let owner = s.first_user().await;
    let (status, org) = s.get(&owner, "/organizations/CODER").await;
    assert_eq!((status, &org["name"]), (200, &json!("coder")));
    let (status, _) = s.get(&owner, "/organizations/coders").await;
    assert_eq!(status, 404);
}

async fn template_names(db: Db) {
    let s = TestServer::start(db).await;
    let owner = s.first_user().await;
    let local = s.template_from(&owner, "local", MANIFEST).await;
    let version = s.import(&owner, common::tar_manifest(MANIFEST)).await;
    let (status, body) = s
        .post(
            &owner,
            "/organizations/default/templates",
            json!({"name": "Local", "template_version_id": version["id"]}),
        )
        .await;
    assert_eq!(
        (status, &body["message"]),
        (409, &json!("Template with name \"Local\" already exists."))
    );
    let (status, found) = s
        .get(&owner, "/organizations/default/templates/LOCAL")
        .await;
    assert_eq!((status, &found["id"]), (200, &json!(local)));
    assert_eq!(found["name"], "local");
}

async fn workspace_names(db: Db) {
    let s = TestServer::start(db).await;
    let owner = s.first_user().await;
    let template = s.template_from(&owner, "local", MANIFEST).await;
    let dev = s.create_dev(&owner, &json!(template)).await;
    let (status, body) = s
        .post(
            &owner,
            "/users/me/workspaces",
            json!({"name": "Dev", "template_id": template}),
        )
        .await;
    assert_eq!(
        (status, &body["message"]),
        (409, &json!("Workspace \"Dev\" already exists."))
    );
    let (status, found) = s.get(&owner, "/users/me/workspace/DEV").await;
    assert_eq!((status, &found["id"]), (200, &dev["id"]));
    let (status, list) = s.get(&owner, "/workspaces").await;
    assert_eq!((status, &list["count"]), (200, &json!(1)), "{list}");
}
