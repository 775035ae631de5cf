//! End to end: the built `coder` binary against the reference server it starts itself
//! (`coder server` on `127.0.0.1:0`, embedded SQLite in a temporary directory), the way the
//! README's quick start goes: login as the first user, init and push the example template,
//! create a workspace, list, logs, stop, start, delete — and the errors a user meets on the way.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use std::process::Stdio;

use support::{Server, User, first_user, stubborn_template};

#[test]
fn from_coder_server_to_a_running_workspace_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("cache"));

    // Four commands from a fresh server to a running workspace.
    let user = first_user(&server, tmp.path().join("config"));
    let template_dir = tmp.path().join("tpl");
    user.ok(&["templates", "init", template_dir.to_str().unwrap()]);
    let out = user.ok(&[
        "templates",
        "push",
        "local",
        "-d",
        template_dir.to_str().unwrap(),
        "--yes",
    ]);
    assert!(
        out.contains("Template \"local\" created with version"),
        "{out}"
    );
    let out = user.ok(&["create", "dev", "--template", "local", "--yes"]);
    assert!(
        out.contains("Workspace \"dev\" is running (build #1"),
        "{out}"
    );

    // Coder's -c/--column on every table command, any case, comma-separated or repeated.
    assert_eq!(
        user.ok(&["list", "-c", "workspace,STATUS", "-c", "template"]),
        "WORKSPACE  STATUS   TEMPLATE\nadmin/dev  Started  local\n"
    );
    assert_eq!(
        user.ok(&["templates", "list", "-c", "name,provisioner,used by"]),
        "NAME   PROVISIONER  USED BY\nlocal  process      0 developers\n"
    );
    assert_eq!(
        user.ok(&["whoami", "-o", "table", "-c", "username"]),
        "USERNAME\nadmin\n"
    );
    let (code, _, err) = user.run(&["list", "-c", "size"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(
            "error: unknown column \"size\" for --column: choose from favorite, workspace,"
        ),
        "{err}"
    );

    let me: serde_json::Value = serde_json::from_str(&user.ok(&["whoami", "-o", "json"])).unwrap();
    assert_eq!(me["username"], "admin");
    assert_eq!(user.status_of("dev"), "running");
    let logs = user.ok(&["logs", "dev"]);
    assert!(
        logs.contains("[Starting workspace] Agent main: started process"),
        "{logs}"
    );

    // The errors a user meets: each one line on stderr and a non-zero exit.
    let (code, _, err) = user.run(&["show", "nosuch"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: workspace \"nosuch\": Resource not found or you do not have access to this resource\n"
        )
    );

    let out = user.ok(&["stop", "dev", "--yes"]);
    assert!(
        out.contains("Workspace \"dev\" is stopped (build #2"),
        "{out}"
    );
    assert_eq!(user.status_of("dev"), "stopped");

    let out = user.ok(&["start", "dev", "--yes"]);
    assert!(
        out.contains("Workspace \"dev\" is running (build #3"),
        "{out}"
    );

    // A build while another is active: a workspace whose process ignores SIGTERM takes the
    // server's 10 s grace period to stop, and a start meanwhile is refused.
    let stubborn = tmp.path().join("stubborn");
    stubborn_template(&stubborn);
    user.ok(&[
        "templates",
        "push",
        "stubborn",
        "-d",
        stubborn.to_str().unwrap(),
        "--yes",
    ]);
    user.ok(&["create", "slow", "--template", "stubborn", "--yes"]);
    let stopping = user
        .coder()
        .args(["stop", "slow", "--yes"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    while user.status_of("slow") != "stopping" {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, _, err) = user.run(&["start", "slow", "--yes"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: start workspace \"slow\": A workspace build is already active.\n"
        )
    );
    assert!(stopping.wait_with_output().unwrap().status.success());
    assert_eq!(user.status_of("slow"), "stopped");
    user.ok(&["delete", "slow", "--yes"]);

    let out = user.ok(&["delete", "dev", "--yes"]);
    assert!(out.contains("Workspace \"dev\" has been deleted"), "{out}");
    assert_eq!(user.ok(&["list", "-o", "json"]).trim(), "[]");

    // A wrong password: one line, exit 1, and the stored session is untouched.
    let stranger = User {
        config: tmp.path().join("stranger"),
    };
    let (code, _, err) = stranger.run(&[
        "login",
        &server.url,
        "--email",
        "admin@example.com",
        "--password",
        "wrong",
    ]);
    assert_eq!(
        (code, err.as_str()),
        (1, "error: login: Incorrect email or password.\n")
    );
    assert!(!stranger.config.join("session").exists());
}

#[test]
fn login_with_a_token_mints_a_session_and_logout_leaves_the_token_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("cache"));
    let admin = first_user(&server, tmp.path().join("admin"));
    let token = admin
        .ok(&["tokens", "create", "--name", "ci"])
        .trim()
        .to_owned();

    for (dir, flags, stored_is_token) in [
        ("minted", &[][..], false),
        ("kept", &["--use-token-as-session"][..], true),
    ] {
        let user = User {
            config: tmp.path().join(dir),
        };
        let mut args = vec!["login", &server.url, "--token", &token];
        args.extend_from_slice(flags);
        let out = user.ok(&args);
        assert!(out.contains("Welcome to Coder, admin!"), "{out}");
        let stored = std::fs::read_to_string(user.config.join("session")).unwrap();
        assert_eq!(stored.trim() == token, stored_is_token, "{dir}");
        user.ok(&["logout", "--yes"]);
        // The token the user gave still works after either logout.
        let out = user.ok(&["--url", &server.url, "--token", &token, "whoami"]);
        assert!(
            out.contains("You're authenticated as admin"),
            "{dir}: {out}"
        );
        // The minted session is gone with the logout.
        if !stored_is_token {
            let (code, _, err) =
                user.run(&["--url", &server.url, "--token", stored.trim(), "whoami"]);
            assert_eq!(code, 1, "{err}");
        }
    }
}
