//! Uploaded files (template archives), deduplicated per uploader by SHA-256.

use coder_core::model::Timestamp;
use uuid::Uuid;

use super::Store;
use super::db::{execute, fetch, fetch_scalar};
use crate::error::Result;

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FileRow {
    /// Id (what Coder's API calls `hash`).
    pub id: Uuid,
    /// SHA-256 hex of the content.
    pub hash: String,
    /// Uploader.
    pub created_by: Uuid,
    /// Content type as uploaded.
    pub mimetype: String,
    /// The bytes.
    pub data: Vec<u8>,
    /// Upload time.
    pub created_at: Timestamp,
}

impl Store {
    /// Stores `file` unless the same uploader already stored the same content; returns the
    /// id to use and whether it was newly created. Takes the row by value, so the caller
    /// keeps no second copy of the bytes; the query borrows them.
    pub async fn insert_file(&self, file: FileRow) -> Result<(Uuid, bool)> {
        if let Some(id) = self.file_id_by_hash(&file.hash, file.created_by).await? {
            return Ok((id, false));
        }
        let FileRow {
            id,
            hash,
            created_by,
            mimetype,
            data,
            created_at,
        } = file;
        let inserted = execute!(
            self.pool,
            "INSERT INTO files (id, hash, created_by, mimetype, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            id,
            &hash,
            created_by,
            mimetype,
            data,
            created_at
        );
        match inserted {
            Ok(_) => Ok((id, true)),
            // A concurrent identical upload won the race: answer with its id.
            Err(e) if e.is_unique_violation() => {
                let existing = self.file_id_by_hash(&hash, created_by).await?;
                Ok((existing.unwrap_or(id), false))
            }
            Err(e) => Err(e),
        }
    }

    async fn file_id_by_hash(&self, hash: &str, created_by: Uuid) -> Result<Option<Uuid>> {
        fetch_scalar!(
            self.read,
            fetch_optional,
            "SELECT id FROM files WHERE hash = $1 AND created_by = $2",
            hash,
            created_by
        )
    }

    /// A file by id.
    pub async fn file(&self, id: Uuid) -> Result<Option<FileRow>> {
        fetch!(
            self.read,
            fetch_optional,
            "SELECT * FROM files WHERE id = $1",
            id
        )
    }
}
