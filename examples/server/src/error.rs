//! The crate's one error type and its mapping to Coder's `Response` JSON with status codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use coder_core::model::{Response, ValidationError};

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Coder's wording for a missing or forbidden resource (the two are not told apart).
pub const NOT_FOUND: &str = "Resource not found or you do not have access to this resource";
/// Coder's wording for a missing, unknown or expired session.
pub const SIGNED_OUT: &str =
    "You are signed out or your session has expired. Please sign in again to continue.";

/// Everything a request (or the server) can fail with. Each variant knows its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `400`: the request is malformed or fails validation.
    #[error("{message}")]
    BadRequest {
        /// A sentence for a person.
        message: String,
        /// Technical detail.
        detail: String,
        /// Per-field problems.
        validations: Vec<ValidationError>,
    },
    /// `401`: no valid session.
    #[error("{0}")]
    Unauthorized(String),
    /// `403`: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// `404`: missing, or not visible to the caller.
    #[error("{NOT_FOUND}")]
    NotFound,
    /// `404` for a path no route serves.
    #[error("Route not found.")]
    NotFoundRoute,
    /// `410`: the resource was deleted.
    #[error("{0}")]
    Gone(String),
    /// `409`: conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// A sentence for a person.
        message: String,
        /// Technical detail.
        detail: String,
    },
    /// `412`: a precondition (`expect_status`) did not hold.
    #[error("{0}")]
    PreconditionFailed(String),
    /// `413`: the body is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// `429`: rate limited.
    #[error("{0}")]
    TooManyRequests(String),
    /// A provisioner job stopped because it was canceled (internal; `400` if it ever reaches
    /// a client).
    #[error("The job was canceled.")]
    Cancelled,
    /// `500`: a database failure.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// `500`: anything else that went wrong inside the server.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// A `400` with only a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            detail: String::new(),
            validations: Vec::new(),
        }
    }

    /// A `400` with a message and detail.
    pub fn bad_request_detail(message: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            detail: detail.into(),
            validations: Vec::new(),
        }
    }

    /// A `400 Validation failed.` naming one field.
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::validations(vec![ValidationError {
            field: field.into(),
            detail: detail.into(),
        }])
    }

    /// A `400 Validation failed.` naming several fields.
    pub fn validations(validations: Vec<ValidationError>) -> Self {
        Self::BadRequest {
            message: "Validation failed.".to_owned(),
            detail: String::new(),
            validations,
        }
    }

    /// The same error with another top-level message (keeps validations).
    pub fn with_message(self, message: impl Into<String>) -> Self {
        match self {
            Self::BadRequest {
                detail,
                validations,
                ..
            } => Self::BadRequest {
                message: message.into(),
                detail,
                validations,
            },
            other => other,
        }
    }

    /// A `409` with only a message.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            detail: String::new(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } | Self::Cancelled => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound | Self::NotFoundRoute => StatusCode::NOT_FOUND,
            Self::Gone(_) => StatusCode::GONE,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Database(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `Response` body Coder sends for this error.
    pub fn to_response(&self) -> Response {
        match self {
            Self::BadRequest {
                message,
                detail,
                validations,
            } => Response {
                message: message.clone(),
                detail: detail.clone(),
                validations: validations.clone(),
            },
            Self::Conflict { message, detail } => Response {
                message: message.clone(),
                detail: detail.clone(),
                validations: Vec::new(),
            },
            Self::Database(e) => Response {
                message: "An internal server error occurred.".to_owned(),
                detail: e.to_string(),
                validations: Vec::new(),
            },
            Self::Internal(detail) => Response {
                message: "An internal server error occurred.".to_owned(),
                detail: detail.clone(),
                validations: Vec::new(),
            },
            Self::Forbidden(detail) => Response {
                message: "Forbidden.".to_owned(),
                detail: detail.clone(),
                validations: Vec::new(),
            },
            other => Response::message(other.to_string()),
        }
    }

    /// Whether this is a database unique-constraint violation (a duplicate name or key).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()))
    }
}

impl From<coder_core::Error> for Error {
    fn from(e: coder_core::Error) -> Self {
        match e {
            coder_core::Error::Invalid { field, reason } => Self::validation(field, reason),
            coder_core::Error::BuildConflict { .. } => {
                Self::conflict("A workspace build is already active.")
            }
            other => Self::bad_request(other.to_string()),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> HttpResponse {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (status, axum::Json(self.to_response())).into_response()
    }
}
