//! The README's endpoint table is the one the route registry renders
//! (`coder_server::api::routes::markdown_table`), so the README cannot drift from the routes.
//! `UPDATE_README=1 cargo test -p coder-server --test readme` rewrites the table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use coder_server::api::routes::{AREAS, markdown_table};

const BEGIN: &str =
    "<!-- endpoints: generated from src/api/routes.rs, checked by tests/readme.rs -->\n";
const END: &str = "<!-- end of endpoints -->\n";

#[test]
fn readme_endpoint_table_is_the_one_the_route_registry_renders() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = readme
        .split_once(BEGIN)
        .unwrap_or_else(|| panic!("README.md has no line {BEGIN:?} before the endpoint table"));
    let (table, after) = rest
        .split_once(END)
        .unwrap_or_else(|| panic!("README.md has no line {END:?} after the endpoint table"));
    let expected = markdown_table(AREAS);
    if table == expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, format!("{before}{BEGIN}{expected}{END}{after}")).unwrap();
        return;
    }
    let (line, ours, theirs) = table
        .lines()
        .map(Some)
        .chain(std::iter::repeat(None))
        .zip(expected.lines().map(Some).chain(std::iter::repeat(None)))
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| (i + 1, a.unwrap_or("(nothing)"), b.unwrap_or("(nothing)")))
        .unwrap_or((0, "(same lines)", "(same lines, different line ends)"));
    panic!(
        "README.md's endpoint table differs from the route registry (src/api/routes.rs).\n\
         First difference, line {line} of the table:\n  README:   {ours}\n  registry: {theirs}\n\
         Run `UPDATE_README=1 cargo test -p coder-server --test readme`, or replace the lines \
         between the two markers with:\n\n{expected}"
    );
}
