//! Extra HTTP headers for every request, as Coder's `--header key=value` (repeatable, or
//! comma-separated in `CODER_HEADER`) and `--header-command` (a shell command printing one
//! `key=value` per line) give them.

use crate::cli::Global;
use crate::error::{CliError, Result};

/// The headers of `--header`, then those `--header-command` prints.
pub(super) fn collect(global: &Global) -> Result<Vec<(String, String)>> {
    let mut headers = global
        .header
        .iter()
        .map(|h| split(h, "--header"))
        .collect::<Result<Vec<_>>>()?;
    if let Some(command) = global
        .header_command
        .as_deref()
        .filter(|c| !c.trim().is_empty())
    {
        let output = shell(command)
            .output()
            .map_err(|e| CliError::Usage(format!("--header-command {command:?}: {e}")))?;
        if !output.status.success() {
            return Err(CliError::Usage(format!(
                "--header-command {command:?} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if !line.trim().is_empty() {
                headers.push(split(line, "--header-command")?);
            }
        }
    }
    Ok(headers)
}

fn split(header: &str, source: &str) -> Result<(String, String)> {
    match header.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(CliError::Usage(format!(
            "{source}: {header:?} is not of the form key=value"
        ))),
    }
}

#[cfg(unix)]
fn shell(command: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", command]);
    cmd
}

#[cfg(not(unix))]
fn shell(command: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("cmd");
    cmd.args(["/C", command]);
    cmd
}
