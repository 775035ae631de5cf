//! Runs the built `coder` binary the way a user or a script does, against nothing but a
//! temporary config directory (and, for the transport error, a closed port). End-to-end tests
//! against the reference server use the same [`coder`] helper with `--url` pointing at it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::path::Path;
use std::process::{Command, Output};

/// The binary with a clean environment: no session from the developer's machine leaks in.
fn coder(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coder"));
    for var in [
        "CODER_URL",
        "CODER_SESSION_TOKEN",
        "CODER_CONFIG_DIR",
        "CODER_VERBOSE",
        "CODER_QUIET",
        "CODER_ORGANIZATION",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CODER_CONFIG_DIR", config);
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run coder");
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

#[test]
fn session_token_precedence_is_flag_then_env_then_file() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("coderv2");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("url"), "http://127.0.0.1:3000").unwrap();
    std::fs::write(config.join("session"), "file-token").unwrap();

    let (code, out, _) = run(coder(&config).args(["login", "token"]));
    assert_eq!((code, out.as_str()), (0, "file-token\n"));

    let (code, out, _) = run(coder(&config)
        .env("CODER_SESSION_TOKEN", "env-token")
        .args(["login", "token"]));
    assert_eq!((code, out.as_str()), (0, "env-token\n"));

    let (code, out, _) = run(coder(&config)
        .env("CODER_SESSION_TOKEN", "env-token")
        .args(["login", "token", "--token", "flag-token"]));
    assert_eq!((code, out.as_str()), (0, "flag-token\n"));
}

#[test]
fn not_logged_in_is_one_line_and_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run(coder(tmp.path()).args(["login", "token"]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "error: you are not logged in: run `coder login <url>`, or pass --token or set \
         CODER_SESSION_TOKEN\n"
    );
    let (code, _, err) = run(coder(tmp.path()).arg("whoami"));
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: no deployment URL: run `coder login <url>`, or pass --url or set CODER_URL\n"
    );
}

#[test]
fn a_wrong_url_is_one_clear_line_and_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let (code, out, err) = run(coder(tmp.path()).args([
        "--url",
        "http://127.0.0.1:1",
        "--token",
        "abcdefghij-secret",
        "list",
    ]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: list workspaces: cannot reach http://127.0.0.1:1: "),
        "{err}"
    );
}

#[test]
fn usage_mistakes_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(coder(tmp.path()).args(["list", "-o", "yaml"]));
    assert_eq!(code, 2);
    assert!(err.contains("invalid value 'yaml'"), "{err}");
    let (code, _, err) = run(coder(tmp.path()).args([
        "--url",
        "http://127.0.0.1:1",
        "--token",
        "t",
        "create",
        "dev",
        "-t",
        "local",
        "--parameter",
        "novalue",
    ]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn templates_init_writes_the_example_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("local");
    let (code, out, err) = run(coder(tmp.path()).args(["templates", "init"]).arg(&dir));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("coder templates push local -d ."), "{out}");
    let manifest = std::fs::read_to_string(dir.join("coder-template.toml")).unwrap();
    assert!(manifest.contains("[[agents]]"), "{manifest}");
    assert!(dir.join("README.md").is_file());

    let (code, _, err) = run(coder(tmp.path()).args(["templates", "init"]).arg(&dir));
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn completion_registers_with_the_shell_and_offers_commands_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, _) = run(coder(tmp.path()).args(["completion", "--shell", "bash"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("complete -o nospace -o bashdefault -F _clap_complete_coder coder"),
        "{out}"
    );
    // What the shell then asks `coder` for.
    let complete = |words: &[&str]| {
        let (code, out, err) = run(coder(tmp.path())
            .env("COMPLETE", "fish")
            .arg("--")
            .arg("coder")
            .args(words));
        assert_eq!((code, err.as_str()), (0, ""), "{words:?}");
        out
    };
    assert_eq!(complete(&["te"]), "templates\tManage templates\n");
    assert!(
        complete(&["login", "--first-user-u"]).starts_with("--first-user-username"),
        "flags complete too"
    );
}

#[test]
fn boolean_flags_take_coders_forms() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["version", "--verbose"][..],
        &["version", "--verbose=true"],
        &["version", "--verbose=false"],
        &["version", "-v"],
    ] {
        let (code, out, err) = run(coder(tmp.path()).args(args));
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
        assert!(out.starts_with("Coder v"), "{out}");
    }
    let (code, _, err) = run(coder(tmp.path()).env("CODER_QUIET", "no").arg("version"));
    assert_eq!((code, err.as_str()), (0, ""));
    let (code, _, err) = run(coder(tmp.path()).args(["version", "--verbose=maybe"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid value 'maybe' for '--verbose[=<true|false>]'"),
        "{err}"
    );
}

#[test]
fn version_prints_this_build() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, _) = run(coder(tmp.path()).args(["version", "-o", "json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&v["version"], &v["slim"]),
        (
            &serde_json::json!(format!("v{}", env!("CARGO_PKG_VERSION"))),
            &serde_json::json!(false)
        )
    );
}

#[test]
fn completion_into_a_closed_pipe_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = coder(tmp.path())
        .args(["completion", "--shell", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the script is written, as `| head -1` does.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        (out.status.code(), String::from_utf8(out.stderr).unwrap()),
        (Some(0), String::new())
    );
}

#[test]
fn a_url_without_a_scheme_is_read_as_coder_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    // `localhost…` is http: the connection to port 1 is refused, on http.
    let (code, _, err) = run(coder(tmp.path()).args(["login", "localhost:1"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with("error: check for the first user: cannot reach http://localhost:1: "),
        "{err}"
    );
    // Anything else is https; a plain-HTTP server there gets a hint instead of a TLS riddle.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        for stream in listener.incoming().take(2) {
            let mut stream = stream.unwrap();
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let (code, _, err) = run(coder(tmp.path()).args([
        "--url",
        &addr.to_string(),
        "--token",
        "abcdefghij-secret",
        "whoami",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.trim_end().ends_with(&format!(
            "(the server answered without TLS: use http://{addr})"
        )),
        "{err}"
    );
}

#[test]
fn headers_from_flags_and_the_header_command_go_on_every_request() {
    use std::io::{BufRead, BufReader, Write};
    let tmp = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim_end().is_empty() {
                break;
            }
            head.push(line.trim_end().to_lowercase());
        }
        let body = r#"{"id":"00000000-0000-0000-0000-000000000001","username":"alice"}"#;
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        head
    });
    let (code, out, err) = run(coder(tmp.path()).env("CODER_HEADER", "X-Env=three").args([
        "--url",
        &format!("http://{addr}"),
        "--token",
        "abcdefghij-secret",
        "--header",
        "X-Flag=one",
        "--header-command",
        "printf 'X-Command=two\\n'",
        "whoami",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice"), "{out}");
    let head = server.join().unwrap();
    for expected in ["x-flag: one", "x-command: two"] {
        assert!(head.iter().any(|h| h == expected), "{expected} in {head:?}");
    }
    // The flag replaces the environment variable, as for every Coder option.
    assert!(!head.iter().any(|h| h.starts_with("x-env")), "{head:?}");
}
