//! The CLI's one error type and how it is shown: one clear line (plus Coder's field
//! validations, one per line), and a non-zero exit code.

use std::path::PathBuf;
use std::process::ExitCode;

/// Shorthand for results whose error is [`CliError`].
pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

/// Everything a `coder` command can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// A call to the deployment failed; `context` says what the CLI was doing.
    #[error("{context}: {source}")]
    Api {
        /// What the CLI was doing, e.g. `get workspace "me/dev"`.
        context: String,
        /// The SDK's error.
        #[source]
        source: coder_client::Error,
    },
    /// No deployment URL is known.
    #[error("no deployment URL: run `coder login <url>`, or pass --url or set CODER_URL")]
    NoUrl,
    /// No session token is known.
    #[error(
        "you are not logged in: run `coder login <url>`, or pass --token or set CODER_SESSION_TOKEN"
    )]
    NotLoggedIn,
    /// A command-line value the CLI cannot use.
    #[error("{0}")]
    Usage(String),
    /// A prompt was needed but there is no terminal to ask on.
    #[error("{0}: no terminal to prompt on; pass {1}")]
    NoTerminal(String, &'static str),
    /// The user answered no.
    #[error("canceled")]
    Canceled,
    /// A provisioner job (build or template import) ended without success.
    #[error("{what} {status}: {message}")]
    JobFailed {
        /// e.g. `build #3 of "dev"` or `template version import`.
        what: String,
        /// `failed` or `canceled`.
        status: String,
        /// The job's error.
        message: String,
    },
    /// Ctrl-C while following a job: the job goes on on the server.
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// Reading or writing a local file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Writing to stdout or stderr failed, or reading a prompt answer.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

impl CliError {
    /// Wraps an SDK error with what the CLI was doing.
    pub(crate) fn api(context: impl Into<String>) -> impl FnOnce(coder_client::Error) -> Self {
        let context = context.into();
        move |source| CliError::Api { context, source }
    }

    /// Wraps an IO error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| CliError::Io { path, source }
    }

    /// The process exit code: 2 for usage mistakes (as clap), 130 after Ctrl-C (as a shell
    /// reports SIGINT), 1 for everything else.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Interrupted(_) => ExitCode::from(130),
            _ => ExitCode::FAILURE,
        }
    }

    /// Whether the server could not be reached (down, restarting, or its proxy answering
    /// 502–504): worth retrying.
    pub(crate) fn is_unreachable(&self) -> bool {
        match self {
            CliError::Api { source, .. } => match source {
                coder_client::Error::Transport { .. } | coder_client::Error::Timeout { .. } => true,
                other => other.api().is_some_and(|a| matches!(a.status, 502..=504)),
            },
            _ => false,
        }
    }

    /// The text printed after `error: `: one line, then one indented line per field
    /// validation. `verbose` adds the method, URL and status of a failed API call.
    pub(crate) fn render(&self, verbose: bool) -> String {
        let CliError::Api { context, source } = self else {
            return self.to_string();
        };
        let mut line = format!("{context}: ");
        match source.api() {
            Some(api) => {
                line.push_str(api.message.trim_end_matches('\n'));
                if !api.detail.is_empty() {
                    line.push_str(": ");
                    line.push_str(&one_line(&api.detail));
                }
                if matches!(source, coder_client::Error::Unauthorized(_))
                    && !context.starts_with("login")
                {
                    line.push_str(" (run `coder login <url>` to sign in again)");
                }
                if verbose {
                    line.push_str(&format!(" [{} {} -> {}]", api.method, api.url, api.status));
                }
                for v in &api.validations {
                    line.push_str(&format!("\n\t{}: {}", v.field, v.detail));
                }
            }
            None => match source {
                coder_client::Error::Transport { url, message, .. } => {
                    line.push_str(&format!("cannot reach {}: {message}", origin(url)));
                    if url.starts_with("https://") && message.contains("InvalidContentType") {
                        line.push_str(&format!(
                            " (the server answered without TLS: use {})",
                            origin(url).replacen("https://", "http://", 1)
                        ));
                    }
                }
                coder_client::Error::Timeout { url, .. } => {
                    line.push_str(&format!("{} did not answer in time", origin(url)));
                }
                other => line.push_str(&other.to_string()),
            },
        }
        line
    }
}

/// Collapses a multi-line detail (a proxy's HTML page, a stack) onto one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `http://host:port` of a full URL (the deployment, without the API path).
fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use coder_client::{ApiError, Error};
    use coder_core::model::ValidationError;

    use super::*;

    fn api(status: u16, message: &str, detail: &str) -> ApiError {
        ApiError {
            status,
            method: "GET".into(),
            url: "http://127.0.0.1:3000/api/v2/users/me/workspace/dev".into(),
            message: message.into(),
            detail: detail.into(),
            validations: vec![],
        }
    }

    #[test]
    fn not_found_is_one_line_with_context_message_and_detail() {
        let e = CliError::api("get workspace \"me/dev\"")(Error::NotFound(Box::new(api(
            404,
            "Resource not found or you do not have access to this resource",
            "workspace\nnot found",
        ))));
        assert_eq!(
            e.render(false),
            "get workspace \"me/dev\": Resource not found or you do not have access to this \
             resource: workspace not found"
        );
        assert_eq!(e.exit_code(), ExitCode::FAILURE);
    }

    #[test]
    fn verbose_adds_method_url_and_status() {
        let e = CliError::api("stop")(Error::Conflict(Box::new(api(
            409,
            "A build is already in progress.",
            "",
        ))));
        assert_eq!(
            e.render(true),
            "stop: A build is already in progress. \
             [GET http://127.0.0.1:3000/api/v2/users/me/workspace/dev -> 409]"
        );
    }

    #[test]
    fn validations_follow_on_their_own_lines() {
        let mut body = api(400, "Validation failed.", "");
        body.validations = vec![
            ValidationError {
                field: "name".into(),
                detail: "Validation failed for tag \"workspace_name\"".into(),
            },
            ValidationError {
                field: "ttl_ms".into(),
                detail: "must be at least one minute".into(),
            },
        ];
        let e = CliError::api("create workspace")(Error::Validation(Box::new(body)));
        assert_eq!(
            e.render(false),
            "create workspace: Validation failed.\n\tname: Validation failed for tag \
             \"workspace_name\"\n\tttl_ms: must be at least one minute"
        );
    }

    #[test]
    fn unauthorized_says_how_to_sign_in() {
        let e = CliError::api("whoami")(Error::Unauthorized(Box::new(api(
            401,
            "You are signed out or your session has expired. Please sign in again to continue.",
            "",
        ))));
        assert_eq!(
            e.render(false),
            "whoami: You are signed out or your session has expired. Please sign in again to \
             continue. (run `coder login <url>` to sign in again)"
        );
    }

    #[test]
    fn a_failed_login_does_not_suggest_logging_in() {
        let e = CliError::api("login")(Error::Unauthorized(Box::new(api(
            401,
            "Incorrect email or password.",
            "",
        ))));
        assert_eq!(e.render(false), "login: Incorrect email or password.");
    }

    #[test]
    fn transport_errors_name_the_deployment_not_the_endpoint() {
        let e = CliError::api("whoami")(Error::Transport {
            method: "GET".into(),
            url: "http://127.0.0.1:1/api/v2/users/me".into(),
            message: "error sending request: connection refused".into(),
        });
        assert_eq!(
            e.render(false),
            "whoami: cannot reach http://127.0.0.1:1: error sending request: connection refused"
        );
    }

    #[test]
    fn usage_errors_exit_2_like_clap() {
        let e = CliError::Usage("parameter \"x\" must be name=value".into());
        assert_eq!(e.exit_code(), ExitCode::from(2));
        assert_eq!(e.render(false), "parameter \"x\" must be name=value");
    }
}
