//! `coder completion`: the shell completion script, generated from the command definition.

use std::io::Write;

use clap_complete::Shell;

use super::Ctx;
use crate::cli::CompletionArgs;
use crate::error::{CliError, Result};

/// Prints the script for the chosen shell, or the one in `$SHELL`.
pub(super) fn run(_ctx: &Ctx, args: CompletionArgs) -> Result<()> {
    let shell = args.shell.or_else(Shell::from_env).ok_or_else(|| {
        CliError::Usage("cannot tell your shell from $SHELL: pass --shell".into())
    })?;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::command(), "coder", &mut script);
    // A reader that stops early (`coder completion | head -1`) is a normal end, not an error.
    match std::io::stdout().lock().write_all(&script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::io("standard output")(e))
        }
        _ => Ok(()),
    }
}
