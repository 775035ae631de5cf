//! The CLI in a real terminal (tmux): a build shows live progress while it runs and ends on a
//! clean one-line summary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Server, first_user, push_parameters_template, stubborn_workspace};

/// A detached tmux session on its own socket, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `command` (then `echo EXIT=$?`) in a fresh 120x30 session.
    fn start(command: &str) -> Self {
        assert!(
            Command::new("tmux")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success()),
            "tmux is missing: scripts/test-all.sh installs it (apt-get install tmux)"
        );
        static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let tmux = Tmux {
            socket: format!("coder-cli-test-{}-{n}", std::process::id()),
        };
        let status = tmux
            .tmux()
            .args(["new-session", "-d", "-s", "cli", "-x", "120", "-y", "30"])
            .arg(format!("{command}; echo EXIT=$?; sleep 60"))
            .status()
            .unwrap();
        assert!(status.success());
        tmux
    }

    /// Types `text` and Enter.
    fn answer(&self, text: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "cli", "-l", text])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self
            .tmux()
            .args(["send-keys", "-t", "cli", "Enter"])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket]);
        cmd
    }

    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "cli"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    /// Polls the screen until `pred` holds; returns that screen.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

#[test]
fn a_build_shows_progress_in_a_terminal_and_ends_on_a_clean_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("cache"));
    let user = first_user(&server, tmp.path().join("config"));
    stubborn_workspace(&user, &tmp.path().join("stubborn"), "slow");

    // Stopping takes the server's 10 s grace period: long enough to watch.
    let tmux = Tmux::start(&format!(
        "CODER_CONFIG_DIR={} {} stop slow --yes",
        user.config.display(),
        env!("CARGO_BIN_EXE_coder")
    ));

    let during = tmux.wait_for("the stop stage in progress", |s| {
        s.contains("Stopping workspace") && s.contains("SIGTERM")
    });
    assert!(
        !during.contains("EXIT="),
        "the build was still running:\n{during}"
    );
    assert!(
        during
            .lines()
            .any(|l| l.contains("Stopping workspace") && !l.contains('✔')),
        "the running stage is shown as running:\n{during}"
    );

    let after = tmux.wait_for("the summary", |s| s.contains("EXIT="));
    assert!(after.contains("EXIT=0"), "{after}");
    let lines: Vec<&str> = after
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    let exit = lines.iter().position(|l| l.starts_with("EXIT=")).unwrap();
    let summary = lines[exit - 1];
    assert!(
        summary.starts_with("✔ Workspace \"slow\" is stopped (build #2, "),
        "{after}"
    );
    assert!(
        after.contains("=== ✔ Stopping workspace ["),
        "stage timing shown:\n{after}"
    );
    user.ok(&["delete", "slow", "--yes"]);
}

#[test]
fn create_on_a_terminal_picks_the_template_and_asks_for_required_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("cache"));
    let user = first_user(&server, tmp.path().join("config"));
    let dir = tmp.path().join("params");
    push_parameters_template(&user, &dir);

    let tmux = Tmux::start(&format!(
        "CODER_CONFIG_DIR={} {} create dev --yes",
        user.config.display(),
        env!("CARGO_BIN_EXE_coder")
    ));
    tmux.wait_for("the template picker", |s| {
        s.contains("1. params") && s.contains("> Template:")
    });
    tmux.answer("1");
    let screen = tmux.wait_for("the region prompt", |s| s.contains("> region:"));
    assert!(
        screen.contains("Region (string)")
            && screen.contains("Where the workspace runs.")
            && screen.contains("1. Europe (eu)")
            && screen.contains("2. United States (us)"),
        "{screen}"
    );
    tmux.answer("2");
    let screen = tmux.wait_for("the cpus prompt", |s| s.contains("> cpus:"));
    assert!(screen.contains("must be at least 1, at most 8"), "{screen}");
    tmux.answer("12");
    tmux.wait_for("the second cpus prompt", |s| {
        s.matches("> cpus:").count() == 2
    });
    tmux.answer("4");
    let done = tmux.wait_for("the summary", |s| s.contains("EXIT="));
    assert!(done.contains("EXIT=0"), "{done}");
    assert!(
        done.contains("Workspace \"dev\" is running (build #1"),
        "{done}"
    );
    let list: serde_json::Value = serde_json::from_str(&user.ok(&["list", "-o", "json"])).unwrap();
    assert_eq!(list[0]["template_name"], "params");
}
