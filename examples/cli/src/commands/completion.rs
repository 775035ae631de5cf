//! `coder completion`: the shell's registration script. Completion itself runs in `coder`
//! (`COMPLETE=<shell> coder -- <words>`, see `main`), so it offers subcommands and flags from
//! the command definition and, while you type, the workspace and template names of the
//! deployment you are logged in to.

use std::io::Write;

use clap_complete::Shell;
use clap_complete::env::EnvCompleter;

use super::Ctx;
use crate::cli::CompletionArgs;
use crate::error::{CliError, Result};

/// Prints the registration for the chosen shell, or the one in `$SHELL`.
pub(super) fn run(_ctx: &Ctx, args: CompletionArgs) -> Result<()> {
    let shell = args.shell.or_else(Shell::from_env).ok_or_else(|| {
        CliError::Usage("cannot tell your shell from $SHELL: pass --shell".into())
    })?;
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Elvish => &clap_complete::env::Elvish,
        Shell::PowerShell => &clap_complete::env::Powershell,
        other => {
            return Err(CliError::Usage(format!(
                "no completion for {other}: use bash, zsh, fish, elvish or powershell"
            )));
        }
    };
    // The shell calls this very binary back for every completion.
    let program = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "coder".to_owned());
    let mut script = Vec::new();
    completer
        .write_registration("COMPLETE", "coder", "coder", &program, &mut script)
        .map_err(CliError::io("standard output"))?;
    // A reader that stops early (`coder completion | head -1`) is a normal end, not an error.
    match std::io::stdout().lock().write_all(&script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::io("standard output")(e))
        }
        _ => Ok(()),
    }
}
