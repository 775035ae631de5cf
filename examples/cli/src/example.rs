//! The example template `coder templates init` writes: the reference server's own
//! `examples/templates/local`, a local workspace for the `process` provisioner (one example,
//! shipped by both the server and the CLI).

/// Files of the example, as (relative path, contents).
pub(crate) const FILES: &[(&str, &str)] = &[
    (
        "coder-template.toml",
        include_str!("../../templates/local/coder-template.toml"),
    ),
    ("README.md", include_str!("../../templates/local/README.md")),
];

/// The default directory name (Coder uses the example's id).
pub(crate) const DEFAULT_DIR: &str = "local";
