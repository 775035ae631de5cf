//! Bodies shared by every endpoint: the error `Response` and build information.

use serde::{Deserialize, Serialize};

use crate::wire::null_as_empty;

/// Coder's error (and plain message) body: `{message, detail?, validations?}`.
///
/// ```
/// let body = r#"{"message":"Validation failed.","validations":[{"field":"name","detail":"required"}]}"#;
/// let r: coder_core::model::Response = serde_json::from_str(body).unwrap();
/// assert_eq!(r.validations[0].field, "name");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Response {
    /// A sentence a user can read.
    pub message: String,
    /// Technical detail for debugging.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// Per-field problems with the request.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub validations: Vec<ValidationError>,
}

impl Response {
    /// A response with only a message.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }
}

/// One field-level problem inside a [`Response`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidationError {
    /// The request field, as spelled on the wire.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

/// `GET /api/v2/buildinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildInfoResponse {
    /// Server version (semver with optional `+commit`).
    pub version: String,
    /// URL of the source this server was built from.
    pub external_url: String,
    /// The dashboard's URL.
    pub dashboard_url: String,
    /// Stable id of this deployment.
    pub deployment_id: String,
    /// Whether this server is a workspace proxy.
    pub workspace_proxy: bool,
    /// The agent API version this server speaks.
    pub agent_api_version: String,
    /// The provisioner API version this server speaks.
    pub provisioner_api_version: String,
    /// A message shown to users when the server wants them to upgrade.
    pub upgrade_message: String,
    /// Whether telemetry is on.
    pub telemetry: bool,
    /// Public key for web push, if enabled.
    pub webpush_public_key: String,
}
