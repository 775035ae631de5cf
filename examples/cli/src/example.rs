//! The example template `coder templates init` writes: a local workspace for the reference
//! server's `process` provisioner.

// TODO(integration): the reference server's own example lands in `examples/templates/local/`
// (another branch). When it does, replace these two minimal files with
// `include_str!("../../templates/local/coder-template.toml")` and
// `include_str!("../../templates/local/README.md")`, so the CLI and the server ship one example.

/// Files of the example, as (relative path, contents).
pub(crate) const FILES: &[(&str, &str)] =
    &[("coder-template.toml", MANIFEST), ("README.md", README)];

/// The default directory name (Coder uses the example's id).
pub(crate) const DEFAULT_DIR: &str = "local";

const MANIFEST: &str = r#"# A local workspace for the reference server's process provisioner ("provisioner": "process").
# The workspace is a home directory on the server's machine; the agent's `command` runs there
# with CODER_AGENT_TOKEN and CODER_AGENT_URL in its environment. Parameter values reach it as
# CODER_PARAMETER_<NAME>.

[[parameters]]
name = "greeting"
display_name = "Greeting"
description = "Written to ~/greeting.txt when the workspace starts."
type = "string"
default = "hello"
mutable = true

[[agents]]
name = "main"
command = """
echo "$CODER_PARAMETER_GREETING from $CODER_WORKSPACE_NAME" > "$HOME/greeting.txt"
while true; do sleep 3600; done
"""
"#;

const README: &str = "# local

A workspace that runs on the server's own machine: a home directory and one long-running
process. Push it with `coder templates push local -d .` from this directory, then
`coder create dev --template local`.
";
