//! The one error type of `coder-client`: what went wrong, in terms a caller branches on.

use coder_core::model::{Response, ValidationError};

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a call to a Coder server can fail with.
///
/// The HTTP kinds carry the server's [`ApiError`] (status, Coder's `message`/`detail`, method
/// and URL), so `Display` reads like Coder's own CLI errors:
///
/// ```
/// use coder_client::{ApiError, Error};
/// let e = Error::NotFound(Box::new(ApiError {
///     status: 404,
///     method: "GET".into(),
///     url: "http://127.0.0.1:3000/api/v2/workspaces/x".into(),
///     message: "Resource not found or you do not have access to this resource".into(),
///     detail: String::new(),
///     validations: vec![],
/// }));
/// assert_eq!(
///     e.to_string(),
///     "GET http://127.0.0.1:3000/api/v2/workspaces/x: 404: Resource not found or you do not have access to this resource"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401: no token, or an expired or revoked one.
    #[error("{0}")]
    Unauthorized(Box<ApiError>),
    /// 403: the token may not do this.
    #[error("{0}")]
    Forbidden(Box<ApiError>),
    /// 404 (or 410): no such resource, or not visible to this user.
    #[error("{0}")]
    NotFound(Box<ApiError>),
    /// 409: conflicts with the current state (a build already active, a duplicate name).
    #[error("{0}")]
    Conflict(Box<ApiError>),
    /// 400 with per-field problems (see [`ApiError::validations`]), or another 4xx.
    #[error("{0}")]
    Validation(Box<ApiError>),
    /// 413: the body is larger than the server accepts.
    #[error("{0}")]
    TooLarge(Box<ApiError>),
    /// 429: slow down.
    #[error("{0}")]
    RateLimited(Box<ApiError>),
    /// 5xx.
    #[error("{0}")]
    Server(Box<ApiError>),
    /// The request never got an HTTP answer (DNS, refused, reset, TLS).
    #[error("{method} {url}: {message}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The request took longer than the client's timeout.
    #[error("{method} {url}: timed out")]
    Timeout {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
    },
    /// The server answered 2xx with a body this SDK cannot read.
    #[error("{method} {url}: cannot decode the response: {message}")]
    Decode {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// The decoder's complaint.
        message: String,
    },
    /// The caller passed something unusable (a bad URL, a header value).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl Error {
    /// The HTTP details, for the kinds that have them.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Unauthorized(e)
            | Error::Forbidden(e)
            | Error::NotFound(e)
            | Error::Conflict(e)
            | Error::Validation(e)
            | Error::TooLarge(e)
            | Error::RateLimited(e)
            | Error::Server(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status, for the kinds that have one.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Transport { .. } | Error::Timeout { .. } | Error::Server(_)
        ) || matches!(self, Error::RateLimited(_))
    }

    /// Classifies an HTTP error answer.
    pub(crate) fn from_status(api: ApiError) -> Self {
        let api = Box::new(api);
        match api.status {
            401 => Error::Unauthorized(api),
            403 => Error::Forbidden(api),
            404 | 410 => Error::NotFound(api),
            409 => Error::Conflict(api),
            413 => Error::TooLarge(api),
            429 => Error::RateLimited(api),
            s if s >= 500 => Error::Server(api),
            _ => Error::Validation(api),
        }
    }
}

/// An error answer from the server, as Coder's Go SDK reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// HTTP method of the request.
    pub method: String,
    /// Full URL of the request.
    pub url: String,
    /// Coder's human sentence.
    pub message: String,
    /// Technical detail, possibly empty.
    pub detail: String,
    /// Per-field problems.
    pub validations: Vec<ValidationError>,
}

/// How much of a non-JSON error body is kept (as Coder's Go SDK does).
pub(crate) const NON_JSON_BODY_LIMIT: usize = 2048;

impl ApiError {
    /// Builds the error from a response body: Coder's `Response` JSON, or (from a proxy, say)
    /// anything else, kept as the first 2 KiB.
    pub(crate) fn from_body(
        status: u16,
        method: &str,
        url: &str,
        content_type: &str,
        body: &[u8],
    ) -> Self {
        let base = |message: String, detail: String, validations| ApiError {
            status,
            method: method.to_owned(),
            url: url.to_owned(),
            message,
            detail,
            validations,
        };
        let is_json = content_type.contains("json");
        match serde_json::from_slice::<Response>(body) {
            Ok(r) if is_json || !r.message.is_empty() => {
                let message = if r.message.is_empty() {
                    format!("unexpected status code {status}, response has no message")
                } else {
                    r.message
                };
                base(message, r.detail, r.validations)
            }
            _ => {
                let end = floor_char_boundary(body, NON_JSON_BODY_LIMIT);
                let detail = String::from_utf8_lossy(&body[..end]).trim().to_owned();
                let kind = if content_type.is_empty() {
                    "unknown"
                } else {
                    content_type
                };
                base(
                    format!("unexpected non-JSON response \"{kind}\""),
                    detail,
                    Vec::new(),
                )
            }
        }
    }
}

fn floor_char_boundary(body: &[u8], limit: usize) -> usize {
    if body.len() <= limit {
        return body.len();
    }
    let mut end = limit;
    // Step back over UTF-8 continuation bytes so the cut never splits a character.
    while end > 0 && (body[end] & 0b1100_0000) == 0b1000_0000 {
        end -= 1;
    }
    end
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}: {}",
            self.method, self.url, self.status, self.message
        )?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        for v in &self.validations {
            write!(f, "\n\t{}: {}", v.field, v.detail)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, content_type: &str, body: &str) -> Error {
        Error::from_status(ApiError::from_body(
            status,
            "POST",
            "http://h/api/v2/x",
            content_type,
            body.as_bytes(),
        ))
    }

    #[test]
    fn statuses_map_to_the_kinds_callers_branch_on() {
        let json = "application/json";
        let body = r#"{"message":"m"}"#;
        assert!(matches!(err(401, json, body), Error::Unauthorized(_)));
        assert!(matches!(err(403, json, body), Error::Forbidden(_)));
        assert!(matches!(err(404, json, body), Error::NotFound(_)));
        assert!(matches!(err(410, json, body), Error::NotFound(_)));
        assert!(matches!(err(409, json, body), Error::Conflict(_)));
        assert!(matches!(err(400, json, body), Error::Validation(_)));
        assert!(matches!(err(413, json, body), Error::TooLarge(_)));
        assert!(matches!(err(429, json, body), Error::RateLimited(_)));
        assert!(matches!(err(502, json, body), Error::Server(_)));
    }

    #[test]
    fn validations_are_kept_and_shown() {
        let e = err(
            400,
            "application/json; charset=utf-8",
            r#"{"message":"Validation failed.","validations":[{"field":"name","detail":"required"}]}"#,
        );
        assert_eq!(e.api().unwrap().validations[0].field, "name");
        assert_eq!(
            e.to_string(),
            "POST http://h/api/v2/x: 400: Validation failed.\n\tname: required"
        );
    }

    #[test]
    fn a_proxy_html_page_becomes_a_readable_error_with_the_first_2_kib() {
        let page = format!("<html><body>{}</body></html>", "é".repeat(2000));
        let e = err(502, "text/html", &page);
        let api = e.api().unwrap();
        assert_eq!(api.message, "unexpected non-JSON response \"text/html\"");
        assert!(api.detail.starts_with("<html><body>é"));
        assert!(api.detail.len() <= NON_JSON_BODY_LIMIT);
        assert!(e.is_transient());
    }

    #[test]
    fn a_json_error_without_message_says_so() {
        let e = err(418, "application/json", "{}");
        assert_eq!(
            e.api().unwrap().message,
            "unexpected status code 418, response has no message"
        );
    }
}
