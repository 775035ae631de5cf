//! `coder version`: this build's version, as Coder prints its own (text, or `-o json` with
//! Coder's `buildinfo` field names).

use serde::Serialize;

use super::Ctx;
use crate::cli::{OutputArgs, OutputFormat};
use crate::error::Result;
use crate::output;

/// Where this CLI's source lives.
const EXTERNAL_URL: &str = env!("CARGO_PKG_REPOSITORY");

/// `coder version -o json`.
#[derive(Debug, Serialize)]
struct Version {
    version: String,
    external_url: &'static str,
    slim: bool,
    agpl: bool,
    boring_crypto: bool,
}

/// Prints the version.
pub(super) fn run(ctx: &Ctx, args: OutputArgs) -> Result<()> {
    let version = Version {
        version: format!("v{}", env!("CARGO_PKG_VERSION")),
        external_url: EXTERNAL_URL,
        slim: false,
        agpl: true,
        boring_crypto: false,
    };
    match args.output.unwrap_or(OutputFormat::Text) {
        OutputFormat::Json => ctx.ui.result(output::json(&version)?.trim_end()),
        OutputFormat::Text | OutputFormat::Table => ctx.ui.result(&format!(
            "Coder {} (coder-rs)\n{EXTERNAL_URL}\n\nFull build of Coder, supports the server subcommand.",
            version.version
        )),
    }
}
