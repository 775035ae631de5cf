//! Uploaded files: template archives (`application/x-tar`) addressed by content hash.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Answer to `POST /api/v2/files` (`201`, or `200` when the same content already exists).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadResponse {
    /// The file's id (Coder calls it `hash`; it is a UUID).
    pub hash: Uuid,
}
