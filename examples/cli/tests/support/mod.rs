//! Shared by the end-to-end tests: a `coder server` child process on a free port, and a user
//! running the built `coder` binary with its own config directory.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A `coder server` child process, killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    /// Kept open: the server prints more lines, and a closed pipe would kill it.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Server {
    pub fn start(cache: &Path) -> Self {
        Self::start_at(cache, "127.0.0.1:0")
    }

    /// A server on `address` (e.g. the one a killed server had).
    pub fn start_at(cache: &Path, address: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_coder"))
            .args(["server", "--http-address", address, "--cache-dir"])
            .arg(cache)
            .env_remove("CODER_PG_CONNECTION_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start coder server");
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        let url = first.trim().rsplit(' ').next().unwrap().to_owned();
        assert!(
            first.starts_with("Started HTTP listener at http://127.0.0.1:"),
            "{first:?}"
        );
        Self {
            child,
            url,
            _stdout: stdout,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct User {
    pub config: PathBuf,
}

impl User {
    pub fn coder(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder"));
        for var in [
            "CODER_URL",
            "CODER_SESSION_TOKEN",
            "CODER_VERBOSE",
            "CODER_QUIET",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("CODER_CONFIG_DIR", &self.config);
        cmd
    }

    /// Runs `coder args...`; returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self
            .coder()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "coder {args:?} failed: {err}");
        out
    }

    pub fn status_of(&self, name: &str) -> String {
        let list: serde_json::Value =
            serde_json::from_str(&self.ok(&["list", "-o", "json"])).unwrap();
        let ws = list
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == name)
            .unwrap();
        ws["latest_build"]["status"].as_str().unwrap().to_owned()
    }
}

/// Writes a template whose process ignores SIGTERM, so stopping it takes the server's grace
/// period (10 s): a build that stays active long enough to be seen.
pub fn stubborn_template(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("coder-template.toml"),
        "[[agents]]\nname = \"main\"\ncommand = \"trap '' TERM; while true; do sleep 1; done\"\n",
    )
    .unwrap();
}

/// Pushes the directory `dir` as template `name`.
pub fn push_template(user: &User, name: &str, dir: &Path) {
    user.ok(&[
        "templates",
        "push",
        name,
        "-d",
        dir.to_str().unwrap(),
        "--yes",
    ]);
}

/// Pushes the stubborn template (see [`stubborn_template`]) from `dir` and creates a running
/// workspace `name` of it.
pub fn stubborn_workspace(user: &User, dir: &Path, name: &str) {
    stubborn_template(dir);
    push_template(user, "stubborn", dir);
    user.ok(&["create", name, "--template", "stubborn", "--yes"]);
}

/// A running workspace `dev` of the stubborn template (its process ignores SIGTERM, so a
/// stop runs for the server's 10 s grace period), and a `coder stop dev --yes` under way
/// with its output piped.
pub fn stubborn_stop(user: &User, dir: &Path) -> Child {
    stubborn_workspace(user, dir, "dev");
    user.coder()
        .args(["stop", "dev", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Logs in to `server` as its first user (`admin`), the session stored in `config`.
pub fn first_user(server: &Server, config: PathBuf) -> User {
    let user = User { config };
    let out = user.ok(&[
        "login",
        &server.url,
        "--first-user-username",
        "admin",
        "--first-user-email",
        "admin@example.com",
        "--first-user-password",
        "correct horse battery",
        // Coder's boolean grammar: a value after `=`.
        "--first-user-trial=false",
    ]);
    assert_eq!(
        out.trim_end().lines().last(),
        Some("Welcome to Coder, admin! You're authenticated.")
    );
    user
}

/// Pushes, as `params`, a template with two required parameters and no processes: `region`
/// (options `eu` and `us`) and `cpus` (a number from 1 to 8).
pub fn push_parameters_template(user: &User, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("coder-template.toml"),
        r#"[[parameters]]
name = "region"
display_name = "Region"
description = "Where the workspace runs."
type = "string"
[[parameters.options]]
name = "Europe"
value = "eu"
[[parameters.options]]
name = "United States"
value = "us"

[[parameters]]
name = "cpus"
display_name = "CPUs"
type = "number"
[parameters.validation]
min = 1
max = 8

[[agents]]
name = "main"
"#,
    )
    .unwrap();
    push_template(user, "params", dir);
}
