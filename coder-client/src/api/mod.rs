//! The sub-clients, one per area of Coder's API. Each borrows the [`Client`](crate::Client).

mod builds;
mod files;
mod organizations;
mod template_versions;
mod templates;
mod tokens;
mod users;
mod workspaces;

pub use builds::Builds;
pub use files::Files;
pub use organizations::Organizations;
pub use template_versions::TemplateVersions;
pub use templates::Templates;
pub use tokens::Tokens;
pub use users::Users;
pub use workspaces::Workspaces;

use crate::{Error, Result};

/// Checks a caller-supplied path segment (a username, a name, an id) so it cannot change the
/// path: Coder's names never contain these characters.
pub(crate) fn segment(value: &str) -> Result<&str> {
    let bad =
        |c: char| matches!(c, '/' | '?' | '#' | '%' | '\\') || c.is_whitespace() || c.is_control();
    if value.is_empty() || value.contains(bad) || value == "." || value == ".." {
        return Err(Error::InvalidInput(format!(
            "{value:?} is not a valid name or id"
        )));
    }
    Ok(value)
}
