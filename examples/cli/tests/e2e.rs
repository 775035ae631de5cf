//! End to end: the built `coder` binary against the reference server it starts itself
//! (`coder server` on `127.0.0.1:0`, embedded SQLite in a temporary directory), the way the
//! README's quick start goes: login as the first user, init and push the example template,
//! create a workspace, list, logs, stop, start, delete — and the errors a user meets on the way.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use std::process::Stdio;

use support::{
    Server, User, first_user, push_parameters_template, push_template, stubborn_stop,
    stubborn_workspace,
};

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
    stubborn_workspace(&user, &tmp.path().join("stubborn"), "slow");
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

#[test]
fn a_build_followed_through_a_server_restart_ends_with_its_real_outcome() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;

    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let server = Server::start(&cache);
    let address = server.url.trim_start_matches("http://").to_owned();
    let user = first_user(&server, tmp.path().join("config"));
    let mut stop = stubborn_stop(&user, &tmp.path().join("stubborn"));
    // (pipe, line): 0 for stdout, 1 for stderr.
    let (lines_tx, lines) = mpsc::channel::<(usize, String)>();
    for (pipe, out) in [
        Box::new(stop.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(stop.stderr.take().unwrap()),
    ]
    .into_iter()
    .enumerate()
    {
        let tx = lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let _ = tx.send((pipe, line.unwrap()));
            }
        });
    }
    drop(lines_tx);
    let mut seen: Vec<(usize, String)> = Vec::new();
    let mut wait_for = |needle: &str| {
        while !seen.iter().any(|(_, l)| l.contains(needle)) {
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => seen.push(line),
                Err(e) => panic!("waiting for {needle:?} ({e}); saw {seen:?}"),
            }
        }
    };
    wait_for("sending SIGTERM");
    drop(server); // SIGKILL, mid-build
    wait_for("--- lost connection to the server, retrying in");
    let server = Server::start_at(&cache, &address);
    wait_for("--- connection to the server is back");
    let status = stop.wait().unwrap();
    seen.extend(lines.iter());
    assert_eq!(status.code(), Some(1), "{seen:?}");
    let last = |pipe: usize| {
        seen.iter()
            .rfind(|(p, _)| *p == pipe)
            .map(|(_, l)| l.as_str())
    };
    assert_eq!(
        (last(0), last(1)),
        (
            Some("=== ✘ Cleaning up [0ms]"),
            Some("error: build #2 of \"dev\" failed: the server stopped while the job was running")
        ),
        "{seen:?}"
    );
    // The stop that never finished is not shown as done, and the first connection is not news.
    assert!(
        seen.iter()
            .any(|(_, l)| l.starts_with("=== ✘ Stopping workspace")),
        "{seen:?}"
    );
    let backs = seen.iter().filter(|(_, l)| l.contains("is back")).count();
    assert_eq!(backs, 1, "{seen:?}");
    // The process the interrupted stop never finished off goes with the delete.
    user.ok(&["delete", "dev", "--yes"]);
    drop(server);
}

#[test]
fn ctrl_c_while_following_a_build_says_it_goes_on_on_the_server() {
    use std::io::{BufRead, BufReader};

    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("cache"));
    let user = first_user(&server, tmp.path().join("config"));
    let mut stop = stubborn_stop(&user, &tmp.path().join("stubborn"));
    let mut out = BufReader::new(stop.stdout.take().unwrap()).lines();
    while !out.next().unwrap().unwrap().contains("sending SIGTERM") {}
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &stop.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let done = stop.wait_with_output().unwrap();
    let err = String::from_utf8(done.stderr).unwrap();
    assert_eq!(
        (done.status.code(), err.lines().last()),
        (
            Some(130),
            Some(
                "error: interrupted: build #2 of \"dev\" goes on on the server: follow it with \
                 `coder logs dev -f`, or stop it with `coder stop dev`"
            )
        )
    );
    // It does: the stop is still running, and it ends on its own.
    assert_eq!(user.status_of("dev"), "stopping");
    let logs = user.ok(&["logs", "dev", "-f"]);
    assert!(logs.contains("Job succeeded"), "{logs}");
    assert_eq!(user.status_of("dev"), "stopped");
    user.ok(&["delete", "dev", "--yes"]);
}

#[test]
fn parameters_come_from_flags_a_file_and_defaults_and_a_missing_one_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("cache"));
    let user = first_user(&server, tmp.path().join("config"));
    let dir = tmp.path().join("params");
    push_parameters_template(&user, &dir);
    let build_params = |ws: &str| -> Vec<(String, String)> {
        let out = user.ok(&["list", "-o", "json"]);
        let list: serde_json::Value = serde_json::from_str(&out).unwrap();
        let ws = list
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == ws)
            .unwrap();
        let id = ws["latest_build"]["id"].as_str().unwrap().to_owned();
        let client = api_get(
            &server,
            &user,
            &format!("/api/v2/workspacebuilds/{id}/parameters"),
        );
        let mut pairs: Vec<(String, String)> = client
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        pairs.sort();
        pairs
    };

    // Without a terminal, a missing required parameter is named with the flag to pass.
    let (code, _, err) = user.run(&[
        "create",
        "a",
        "-t",
        "params",
        "--parameter",
        "region=eu",
        "--yes",
    ]);
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "error: parameter \"cpus\" is required: pass --parameter cpus=<value>\n"
        )
    );

    // A YAML file fills what --parameter leaves; --parameter wins over it.
    let file = tmp.path().join("values.yaml");
    std::fs::write(&file, "region: us\ncpus: 4\n").unwrap();
    user.ok(&[
        "create",
        "b",
        "-t",
        "params",
        "--rich-parameter-file",
        file.to_str().unwrap(),
        "--parameter",
        "region=eu",
        "--yes",
    ]);
    assert_eq!(
        build_params("b"),
        vec![
            ("cpus".to_owned(), "4".to_owned()),
            ("region".to_owned(), "eu".to_owned())
        ]
    );

    // update: a new version with a new required parameter; the old values stay.
    let manifest = std::fs::read_to_string(dir.join("coder-template.toml")).unwrap();
    std::fs::write(
        dir.join("coder-template.toml"),
        manifest.replace(
            "[[agents]]",
            "[[parameters]]\nname = \"disk\"\ntype = \"number\"\n\n[[agents]]",
        ),
    )
    .unwrap();
    push_template(&user, "params", &dir);
    let (code, _, err) = user.run(&["update", "b"]);
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "error: parameter \"disk\" is required: pass --parameter disk=<value>\n"
        )
    );
    let out = user.ok(&["update", "b", "--parameter", "disk=10"]);
    assert!(
        out.contains("Workspace \"b\" is running (build #2"),
        "{out}"
    );
    assert_eq!(
        build_params("b"),
        vec![
            ("cpus".to_owned(), "4".to_owned()),
            ("disk".to_owned(), "10".to_owned()),
            ("region".to_owned(), "eu".to_owned())
        ]
    );
    let out = user.ok(&["update", "b"]);
    assert!(out.starts_with("Workspace \"b\" is up to date"), "{out}");

    // --use-parameter-defaults takes --parameter-default values without asking.
    user.ok(&[
        "create",
        "c",
        "-t",
        "params",
        "--use-parameter-defaults",
        "--parameter-default",
        "region=us,cpus=2,disk=1",
        "--yes",
    ]);
    assert_eq!(
        build_params("c"),
        vec![
            ("cpus".to_owned(), "2".to_owned()),
            ("disk".to_owned(), "1".to_owned()),
            ("region".to_owned(), "us".to_owned())
        ]
    );

    // --no-wait returns at once and names the command that follows the build.
    let out = user.ok(&[
        "create",
        "d",
        "-t",
        "params",
        "--parameter",
        "region=eu,cpus=1,disk=1",
        "--no-wait",
        "--yes",
    ]);
    assert_eq!(
        out.trim_end(),
        "Workspace \"d\" is being created (build #1); follow it with `coder logs d -f`"
    );
    // --template-version picks a version by name; an unknown one is refused by name.
    let versions = user.ok(&["templates", "versions", "list", "params", "-c", "name"]);
    let version = versions.lines().nth(1).unwrap().trim().to_owned();
    user.ok(&[
        "create",
        "e1",
        "-t",
        "params",
        "--template-version",
        &version,
        "--parameter",
        "region=eu,cpus=1,disk=1",
        "--yes",
    ]);
    let list: serde_json::Value = serde_json::from_str(&user.ok(&["list", "-o", "json"])).unwrap();
    let e1 = list
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "e1")
        .unwrap();
    assert_eq!(
        e1["latest_build"]["template_version_name"],
        version.as_str()
    );
    let (code, _, err) = user.run(&[
        "create",
        "e",
        "-t",
        "params",
        "--template-version",
        "nosuch",
        "--parameter",
        "region=eu,cpus=1,disk=1",
        "--yes",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: version \"nosuch\" of template \"params\": "),
        "{err}"
    );
}

/// `GET path` with the user's stored session (curl: the CLI has no raw request command).
fn api_get(server: &Server, user: &User, path: &str) -> serde_json::Value {
    let token = std::fs::read_to_string(user.config.join("session")).unwrap();
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "-H",
            &format!("Coder-Session-Token: {}", token.trim()),
        ])
        .arg(format!("{}{path}", server.url))
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {path}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn users_organizations_and_template_management() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("cache"));
    let admin = first_user(&server, tmp.path().join("config"));

    // Users: create one, list with Coder's columns, show.
    let out = admin.ok(&[
        "users",
        "create",
        "--email",
        "bob@example.com",
        "--username",
        "bob",
        "--full-name",
        "Bob B",
        "--password",
        "correct horse battery",
    ]);
    assert_eq!(
        out.trim_end(),
        "User \"bob\" (bob@example.com) has been created in organization \"coder\"."
    );
    assert_eq!(
        admin.ok(&["users", "list", "-c", "username,email"]),
        "USERNAME  EMAIL\nadmin     admin@example.com\nbob       bob@example.com\n"
    );
    let bob: serde_json::Value =
        serde_json::from_str(&admin.ok(&["users", "show", "bob", "-o", "json"])).unwrap();
    assert_eq!(
        (&bob["username"], &bob["name"]),
        (&serde_json::json!("bob"), &serde_json::json!("Bob B"))
    );
    let (code, _, err) = admin.run(&["users", "show", "nosuch"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: user \"nosuch\": "), "{err}");

    // Suspend and activate: a suspended user's session stops working until activated.
    let bob_user = User {
        config: tmp.path().join("bob"),
    };
    bob_user.ok(&[
        "login",
        &server.url,
        "--email",
        "bob@example.com",
        "--password",
        "correct horse battery",
    ]);
    assert_eq!(
        admin.ok(&["users", "suspend", "bob"]).trim_end(),
        "User \"bob\" is now suspended."
    );
    let (code, _, err) = bob_user.run(&["whoami"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("User is not active (status = \"suspended\")"),
        "{err}"
    );
    assert_eq!(
        admin.ok(&["users", "activate", "bob"]).trim_end(),
        "User \"bob\" is now active."
    );
    bob_user.ok(&["whoami"]);

    // Organizations: the selected one, by default the default organization.
    assert_eq!(
        admin.ok(&["organizations", "show", "-c", "name,default"]),
        "NAME   DEFAULT\ncoder  true\n"
    );

    // Templates: pull what was pushed, edit its metadata, delete it.
    let dir = tmp.path().join("tpl");
    admin.ok(&["templates", "init", dir.to_str().unwrap()]);
    admin.ok(&[
        "templates",
        "push",
        "local",
        "-d",
        dir.to_str().unwrap(),
        "--yes",
    ]);
    let pulled = tmp.path().join("pulled");
    let out = admin.ok(&["templates", "pull", "local", pulled.to_str().unwrap()]);
    assert!(out.starts_with("Pulled version "), "{out}");
    assert_eq!(
        std::fs::read(pulled.join("coder-template.toml")).unwrap(),
        std::fs::read(dir.join("coder-template.toml")).unwrap()
    );
    let (code, _, err) = admin.run(&["templates", "pull", "local", pulled.to_str().unwrap()]);
    assert_eq!((code, err.contains("is not empty")), (2, true), "{err}");
    assert_eq!(
        admin
            .ok(&[
                "templates",
                "edit",
                "local",
                "--display-name",
                "Local processes",
                "--default-ttl",
                "2h"
            ])
            .trim_end(),
        "Updated template \"local\"."
    );
    let list: serde_json::Value =
        serde_json::from_str(&admin.ok(&["templates", "list", "-o", "json"])).unwrap();
    assert_eq!(
        (&list[0]["display_name"], &list[0]["default_ttl_ms"]),
        (
            &serde_json::json!("Local processes"),
            &serde_json::json!(7_200_000)
        )
    );
    // Renames are off unless the server allows them, as in Coder.
    admin.ok(&["create", "dev", "-t", "local", "--yes"]);
    // Shell completion offers the deployment's workspace and template names as you type.
    let complete = |words: &[&str]| {
        let out = admin
            .coder()
            .env("COMPLETE", "fish")
            .arg("--")
            .arg("coder")
            .args(words)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(complete(&["start", "d"]), "dev\n");
    assert_eq!(complete(&["start", "x"]), "");
    assert_eq!(complete(&["create", "new", "-t", "lo"]), "local\n");
    assert_eq!(complete(&["templates", "pull", "l"]), "local\n");
    let (code, _, err) = admin.run(&["rename", "dev", "main", "--yes"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: rename workspace \"dev\": Workspace renames are not allowed.\n"
        )
    );
    admin.ok(&["delete", "dev", "--yes"]);
    assert_eq!(
        admin
            .ok(&["templates", "delete", "local", "--yes"])
            .trim_end(),
        "Deleted template \"local\"."
    );
    assert_eq!(admin.ok(&["templates", "list", "-o", "json"]).trim(), "[]");
}
