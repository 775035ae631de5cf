//! The kinds of session whose activity bumps a workspace deadline.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A session counted as activity by Coder's stats reporter.
///
/// Serialized as `vscode`, `jetbrains`, `reconnecting_pty` or `ssh`; `reconnecting-pty`
/// (the spelling of `POST /workspaces/{id}/usage`) is accepted on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// The VS Code extension (`CODER_SSH_SESSION_TYPE=vscode`).
    Vscode,
    /// JetBrains Gateway or Toolbox (`CODER_SSH_SESSION_TYPE=jetbrains`).
    Jetbrains,
    /// The dashboard's web terminal.
    #[serde(alias = "reconnecting-pty")]
    ReconnectingPty,
    /// A plain SSH session (`CODER_SSH_SESSION_TYPE` absent or empty).
    Ssh,
}

impl SessionKind {
    /// Classifies an SSH session by its `CODER_SSH_SESSION_TYPE` value, as the agent does:
    /// `vscode` and `jetbrains` are recognised, anything else counts as `ssh`.
    ///
    /// ```
    /// use coder_core::schedule::SessionKind;
    /// assert_eq!(SessionKind::from_ssh_session_type(Some("vscode")), SessionKind::Vscode);
    /// assert_eq!(SessionKind::from_ssh_session_type(None), SessionKind::Ssh);
    /// ```
    pub fn from_ssh_session_type(value: Option<&str>) -> Self {
        match value {
            Some("vscode") => Self::Vscode,
            Some("jetbrains") => Self::Jetbrains,
            _ => Self::Ssh,
        }
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Vscode => "a VS Code session",
            Self::Jetbrains => "a JetBrains session",
            Self::ReconnectingPty => "a web terminal session",
            Self::Ssh => "an SSH session",
        })
    }
}
