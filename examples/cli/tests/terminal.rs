//! The CLI in a real terminal (tmux): a build shows live progress while it runs and ends on a
//! clean one-line summary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Server, first_user, stubborn_workspace};

/// A detached tmux session on its own socket, killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
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
    assert!(
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "tmux is missing: scripts/test-all.sh installs it (apt-get install tmux)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("cache"));
    let user = first_user(&server, tmp.path().join("config"));
    stubborn_workspace(&user, &tmp.path().join("stubborn"), "slow");

    // Stopping takes the server's 10 s grace period: long enough to watch.
    let tmux = Tmux {
        socket: format!("coder-cli-test-{}", std::process::id()),
    };
    let command = format!(
        "CODER_CONFIG_DIR={} {} stop slow --yes; echo EXIT=$?; sleep 60",
        user.config.display(),
        env!("CARGO_BIN_EXE_coder")
    );
    let status = tmux
        .tmux()
        .args([
            "new-session",
            "-d",
            "-s",
            "cli",
            "-x",
            "120",
            "-y",
            "30",
            &command,
        ])
        .status()
        .unwrap();
    assert!(status.success());

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
