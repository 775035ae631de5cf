//! `coder completion`: the shell completion script, generated from the command definition.

use clap::CommandFactory;
use clap_complete::Shell;

use super::Ctx;
use crate::cli::{Cli, CompletionArgs};
use crate::error::{CliError, Result};

/// Prints the script for the chosen shell, or the one in `$SHELL`.
pub(super) fn run(_ctx: &Ctx, args: CompletionArgs) -> Result<()> {
    let shell = args.shell.or_else(Shell::from_env).ok_or_else(|| {
        CliError::Usage("cannot tell your shell from $SHELL: pass --shell".into())
    })?;
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "coder", &mut std::io::stdout().lock());
    Ok(())
}
