//! Users, authentication, tokens, organizations and error shapes over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, TestServer};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn first_user_bootstrap_then_login() {
    let s = TestServer::start(Db::Sqlite).await;
    let r = s.client.get(s.api("/users/first")).send().await.unwrap();
    let (status, body) = common::decode(r).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"message": "The initial user has not been created!"})
    );
    // Weak password and bad fields are refused without creating anything.
    let (status, body) = s
        .post(
            "",
            "/users/first",
            json!({"email":"admin@example.com","username":"admin","password":"short"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "Password not strong enough!");
    let (status, body) = s
        .post(
            "",
            "/users/first",
            json!({"email":"nope","username":"Bad Name","password":"long enough pw"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "Validation failed.");
    let fields: Vec<_> = body["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "username"]);
    let r = s.client.get(s.api("/users/first")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let token = s.first_user().await;
    let (status, body) = s.get("", "/users/first").await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"message": "The initial user has already been created!"})
        )
    );
    let (status, body) = s
        .post(
            "",
            "/users/first",
            json!({"email":"b@example.com","username":"b","password":"SomeSecurePassword!"}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["message"],
        "The initial user has already been created."
    );

    let (status, me) = s.get(&token, "/users/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "admin");
    assert_eq!(me["email"], "admin@example.com");
    assert_eq!(me["status"], "active");
    assert_eq!(me["login_type"], "password");
    assert_eq!(
        me["roles"],
        json!([{"name":"owner","display_name":"Owner"}])
    );
    let (_, org) = s.get(&token, "/organizations/default").await;
    assert_eq!(org["name"], "coder");
    assert_eq!(org["is_default"], true);
    assert_eq!(me["organization_ids"], json!([org["id"]]));
    // By id and by username too.
    let (status, by_id) = s
        .get(&token, &format!("/users/{}", me["id"].as_str().unwrap()))
        .await;
    assert_eq!((status, &by_id["username"]), (200, &json!("admin")));
    let (status, _) = s.get(&token, "/users/admin").await;
    assert_eq!(status, 200);
    let (status, body) = s.get(&token, "/users/nobody").await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        "Resource not found or you do not have access to this resource"
    );
}

#[tokio::test]
async fn session_token_is_accepted_where_coder_looks_for_it() {
    let s = TestServer::start(Db::Sqlite).await;
    s.first_user().await;
    let r = s
        .client
        .post(s.api("/users/login"))
        .json(&json!({"email":"admin@example.com","password":"SomeSecurePassword!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let token = r.json::<serde_json::Value>().await.unwrap()["session_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with(&format!("coder_session_token={token};")),
        "{cookie}"
    );
    let (id, secret) = token.split_once('-').unwrap();
    assert_eq!((id.len(), secret.len()), (10, 22));

    let me =
        |req: reqwest::RequestBuilder| async move { req.send().await.unwrap().status().as_u16() };
    let url = s.api("/users/me");
    assert_eq!(
        me(s.client.get(&url).header("Coder-Session-Token", &token)).await,
        200
    );
    assert_eq!(
        me(s.client
            .get(&url)
            .header("Cookie", format!("coder_session_token={token}")))
        .await,
        200
    );
    assert_eq!(
        me(s.client.get(format!("{url}?coder_session_token={token}"))).await,
        200
    );
    assert_eq!(me(s.client.get(&url).bearer_auth(&token)).await, 200);
    let (status, body) = common::decode(s.client.get(&url).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"message": "You are signed out or your session has expired. Please sign in again to continue."})
    );
    assert_eq!(
        me(s.client.get(&url).header(
            "Coder-Session-Token",
            format!("{id}-wrongsecretwrongsecret")
        ))
        .await,
        401
    );
    assert_eq!(
        me(s.client.get(&url).header("Coder-Session-Token", "garbage")).await,
        401
    );

    // Logout deletes the key.
    let (status, body) = s.post(&token, "/users/logout", json!({})).await;
    assert_eq!((status, body), (200, json!({"message": "Logged out!"})));
    assert_eq!(
        me(s.client.get(&url).header("Coder-Session-Token", &token)).await,
        401
    );
}

#[tokio::test]
async fn failed_logins_are_rate_limited() {
    let s = TestServer::start(Db::Sqlite).await;
    s.first_user().await;
    for _ in 0..5 {
        let (status, body) = s
            .post(
                "",
                "/users/login",
                json!({"email":"admin@example.com","password":"wrong password"}),
            )
            .await;
        assert_eq!(
            (status, body),
            (401, json!({"message": "Incorrect email or password."}))
        );
    }
    let (status, body) = s
        .post(
            "",
            "/users/login",
            json!({"email":"admin@example.com","password":"SomeSecurePassword!"}),
        )
        .await;
    assert_eq!(status, 429);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Too many failed login attempts."),
        "{body}"
    );
}

#[tokio::test]
async fn api_tokens_lifecycle_and_expiry() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    let (status, body) = s
        .post(&owner, "/users/me/keys/tokens", json!({"token_name":"ci"}))
        .await;
    assert_eq!(status, 201);
    let key = body["key"].as_str().unwrap().to_owned();
    let key_id = key.split_once('-').unwrap().0.to_owned();
    let (status, _) = s.get(&key, "/users/me").await;
    assert_eq!(status, 200);
    let (status, body) = s
        .post(&owner, "/users/me/keys/tokens", json!({"token_name":"ci"}))
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["message"], "A token with name \"ci\" already exists.");
    let (status, body) = s
        .post(
            &owner,
            "/users/me/keys/tokens",
            json!({"token_name":"long","lifetime": 400i64 * 24 * 3600 * 1_000_000_000}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["detail"], "lifetime must be less than 720h");

    let (status, list) = s.get(&owner, "/users/me/keys/tokens").await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], key_id.as_str());
    assert_eq!(list[0]["token_name"], "ci");
    assert_eq!(list[0]["login_type"], "token");
    assert_eq!(list[0]["lifetime_seconds"], 30 * 24 * 3600);
    let (status, one) = s.get(&owner, &format!("/users/me/keys/{key_id}")).await;
    assert_eq!((status, &one["token_name"]), (200, &json!("ci")));

    // A member sees neither the owner's tokens nor can create users.
    let member = s.member(&owner, "bob").await;
    let (status, _) = s.get(&member, "/users/admin/keys/tokens").await;
    assert_eq!(status, 404);
    let (status, _) = s.get(&member, &format!("/users/admin/keys/{key_id}")).await;
    assert_eq!(status, 404);
    let (status, body) = s
        .post(
            &member,
            "/users",
            json!({"email":"c@example.com","username":"c","password":"MemberPassword1"}),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["message"], "Forbidden.");

    let (status, _) = s
        .send(
            Method::DELETE,
            &owner,
            &format!("/users/me/keys/{key_id}"),
            json!(null),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = s.get(&key, "/users/me").await;
    assert_eq!(status, 401);

    // A one-second token expires.
    let (_, body) = s
        .post(
            &owner,
            "/users/me/keys/tokens",
            json!({"token_name":"short","lifetime": 1_000_000_000i64}),
        )
        .await;
    let short = body["key"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (status, _) = s.get(&short, "/users/me").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn users_and_organization_members() {
    let s = TestServer::start(Db::Sqlite).await;
    let owner = s.first_user().await;
    s.member(&owner, "bob").await;
    let (status, body) = s
        .post(
            &owner,
            "/users",
            json!({"email":"bob@example.com","username":"bob2","password":"MemberPassword1"}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["message"],
        "A user with email \"bob@example.com\" already exists."
    );
    let (status, users) = s.get(&owner, "/users").await;
    assert_eq!(status, 200);
    assert_eq!(users["count"], 2);
    let names: Vec<_> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "bob"]);
    let (_, filtered) = s.get(&owner, "/users?q=bo").await;
    assert_eq!(filtered["count"], 1);
    let (status, members) = s.get(&owner, "/organizations/coder/members").await;
    assert_eq!(status, 200);
    let names: Vec<_> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "bob"]);
    let (status, _) = s
        .get(&owner, &format!("/organizations/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn malformed_requests_get_coder_errors_and_change_nothing() {
    let s = TestServer::start_with(Db::Sqlite, |c| c.max_json_body = 4096).await;
    let r = s
        .client
        .post(s.api("/users/first"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = common::decode(r).await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "Request body must be valid JSON.");
    let (status, body) = s
        .post(
            "",
            "/users/first",
            json!({"email": 5, "username":"a", "password":"xxxxxxxxxx"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("email: invalid type: integer `5`"),
        "{body}"
    );
    let big = "x".repeat(10_000);
    let (status, body) = s.post("", "/users/first", json!({"email": big})).await;
    assert_eq!(status, 413);
    assert_eq!(body["message"], "Request body is too large.");
    let (status, _) = s.get("", "/users/first").await;
    assert_eq!(status, 404, "no user was created by the bad requests");
    let (status, body) = s.get("", "/nope").await;
    assert_eq!(
        (status, body),
        (404, json!({"message": "Route not found."}))
    );
    let r = s.client.get(s.api("/buildinfo")).send().await.unwrap();
    assert!(r.headers().get("x-coder-build-version").is_some());
    let info: serde_json::Value = r.json().await.unwrap();
    assert_eq!(info["dashboard_url"], s.url.as_str());
    assert_eq!(info["agent_api_version"], "2.7");
}

#[tokio::test]
async fn postgres_backend_serves_the_same_auth_flow() {
    let s = TestServer::start(Db::Postgres).await;
    let owner = s.first_user().await;
    let member = s.member(&owner, "bob").await;
    let (status, me) = s.get(&member, "/users/me").await;
    assert_eq!((status, &me["username"]), (200, &json!("bob")));
    assert_eq!(me["roles"], json!([]));
}

/// The ids of a `GetUsersResponse`'s users, in order.
fn user_ids(list: &serde_json::Value) -> Vec<serde_json::Value> {
    list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].clone())
        .collect()
}

/// Coder's RBAC lets a member read only their own user: `GET /users` lists just them (with a
/// matching `count`), and another user's `GET /users/{user}` (by id or name) and
/// `/organizations` are Coder's 404. Owners keep reading everyone.
async fn members_read_only_themselves(db: Db) {
    let s = TestServer::start(db).await;
    let owner = s.first_user().await;
    let bob = s.member(&owner, "bob").await;
    s.member(&owner, "carol").await;
    let (_, admin) = s.get(&owner, "/users/me").await;
    let (_, me) = s.get(&bob, "/users/me").await;
    let (_, carol) = s.get(&owner, "/users/carol").await;

    let (status, list) = s.get(&bob, "/users").await;
    assert_eq!(status, 200);
    assert_eq!(list["count"], 1);
    assert_eq!(user_ids(&list), [me["id"].clone()]);
    let (_, list) = s.get(&bob, "/users?q=carol").await;
    assert_eq!((&list["count"], &list["users"]), (&json!(0), &json!([])));
    let (_, list) = s.get(&bob, "/users?q=bob").await;
    assert_eq!(list["count"], 1);

    let not_found =
        json!({"message": "Resource not found or you do not have access to this resource"});
    for other in [
        "/users/admin".to_owned(),
        "/users/carol".to_owned(),
        format!("/users/{}", carol["id"].as_str().unwrap()),
        format!("/users/{}", admin["id"].as_str().unwrap()),
        "/users/carol/organizations".to_owned(),
    ] {
        let (status, body) = s.get(&bob, &other).await;
        assert_eq!((status, &body), (404, &not_found), "{other}");
    }
    let (status, by_name) = s.get(&bob, "/users/bob").await;
    assert_eq!((status, &by_name["id"]), (200, &me["id"]));

    let (status, list) = s.get(&owner, "/users").await;
    assert_eq!(status, 200);
    assert_eq!(list["count"], 3);
    assert_eq!(
        user_ids(&list),
        [admin["id"].clone(), me["id"].clone(), carol["id"].clone()]
    );
    let (status, other) = s.get(&owner, "/users/bob").await;
    assert_eq!((status, &other["email"]), (200, &json!("bob@example.com")));
}

#[tokio::test]
async fn members_read_only_themselves_sqlite() {
    members_read_only_themselves(Db::Sqlite).await;
}

#[tokio::test]
async fn members_read_only_themselves_postgres() {
    members_read_only_themselves(Db::Postgres).await;
}

async fn owners_suspend_and_activate_users(db: Db) {
    let s = TestServer::start(db).await;
    let owner = s.first_user().await;
    let bob = s.member(&owner, "bob").await;
    s.member(&owner, "carol").await;

    // Members may not; owners may not suspend themselves.
    let (status, body) = s
        .send(Method::PUT, &bob, "/users/carol/status/suspend", json!({}))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = s
        .send(Method::PUT, &bob, "/users/me/status/suspend", json!({}))
        .await;
    assert_eq!(
        (status, &body["message"], &body["detail"]),
        (
            403,
            &json!("Forbidden."),
            &json!("You don't have permission to change users' status.")
        )
    );
    let (status, body) = s
        .send(Method::PUT, &owner, "/users/me/status/suspend", json!({}))
        .await;
    assert_eq!(
        (status, &body["message"]),
        (400, &json!("You cannot suspend yourself."))
    );

    // A suspended user's session stops working, and works again once activated.
    let (status, body) = s
        .send(Method::PUT, &owner, "/users/bob/status/suspend", json!({}))
        .await;
    assert_eq!((status, &body["status"]), (200, &json!("suspended")));
    let (status, body) = s.get(&bob, "/users/me").await;
    assert_eq!(
        (status, &body["message"]),
        (
            401,
            &json!(
                "User is not active (status = \"suspended\"). Contact an admin to reactivate your account."
            )
        )
    );
    let (status, body) = s
        .send(Method::PUT, &owner, "/users/bob/status/activate", json!({}))
        .await;
    assert_eq!((status, &body["status"]), (200, &json!("active")));
    let (status, body) = s.get(&bob, "/users/me").await;
    assert_eq!((status, &body["username"]), (200, &json!("bob")));
}

#[tokio::test]
async fn owners_suspend_and_activate_users_sqlite() {
    owners_suspend_and_activate_users(Db::Sqlite).await;
}

#[tokio::test]
async fn owners_suspend_and_activate_users_postgres() {
    owners_suspend_and_activate_users(Db::Postgres).await;
}
