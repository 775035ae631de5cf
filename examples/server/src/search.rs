//! Coder's workspace search query (`q`): space-separated `key:value` terms, quotes group
//! values with spaces, the whole query is lowercased; a bare `owner/name` or `name` term.

use crate::error::{Error, Result};

/// A parsed workspace filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceFilter {
    /// `owner:` (a username or `me`).
    pub owner: Option<String>,
    /// `name:` (substring).
    pub name: Option<String>,
    /// `template:` (exact template name).
    pub template: Option<String>,
    /// `status:`.
    pub status: Option<String>,
}

fn terms(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Parses `q`; unknown keys are a `400` naming the key, as in Coder.
pub fn parse_workspace_query(q: &str) -> Result<WorkspaceFilter> {
    let mut f = WorkspaceFilter::default();
    for term in terms(&q.to_lowercase()) {
        match term.split_once(':') {
            Some((key, value)) => {
                let value = value.to_owned();
                match key {
                    "owner" => f.owner = Some(value),
                    "name" => f.name = Some(value),
                    "template" => f.template = Some(value),
                    "status" => f.status = Some(value),
                    other => {
                        return Err(Error::BadRequest {
                            message: "Invalid workspace search query.".to_owned(),
                            detail: String::new(),
                            validations: vec![coder_core::model::ValidationError {
                                field: other.to_owned(),
                                detail: format!("{other:?} is not a valid query param"),
                            }],
                        });
                    }
                }
            }
            None => match term.split_once('/') {
                Some((owner, name)) => {
                    f.owner = Some(owner.to_owned());
                    f.name = Some(name.to_owned());
                }
                None => f.name = Some(term),
            },
        }
    }
    Ok(f)
}

/// Whether a workspace status matches a `status:` filter (`started` means `running`).
pub fn status_matches(filter: &str, status: &str) -> bool {
    match filter {
        "started" => status == "running",
        other => other == status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_bare_terms_and_quotes() {
        assert_eq!(
            parse_workspace_query("owner:me status:Running").unwrap(),
            WorkspaceFilter {
                owner: Some("me".into()),
                status: Some("running".into()),
                ..Default::default()
            }
        );
        assert_eq!(
            parse_workspace_query("alice/dev").unwrap(),
            WorkspaceFilter {
                owner: Some("alice".into()),
                name: Some("dev".into()),
                ..Default::default()
            }
        );
        assert_eq!(
            parse_workspace_query("dev").unwrap().name.as_deref(),
            Some("dev")
        );
        assert_eq!(
            parse_workspace_query("template:\"my t\"")
                .unwrap()
                .template
                .as_deref(),
            Some("my t")
        );
        assert_eq!(parse_workspace_query("bogus:1").unwrap_err().status(), 400);
    }
}
