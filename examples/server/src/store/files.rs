//! Uploaded files (template archives), deduplicated per uploader by SHA-256.

use coder_core::model::Timestamp;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::Store;
use super::rows::{RowExt, ts};
use crate::error::Result;

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl FileRow {
    fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: r.uuid("id")?,
            hash: r.text("hash")?,
            created_by: r.uuid("created_by")?,
            mimetype: r.text("mimetype")?,
            data: r.bytes("data")?,
            created_at: r.time("created_at")?,
        })
    }
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
        let inserted = sqlx::query(
            "INSERT INTO files (id, hash, created_by, mimetype, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(&hash)
        .bind(created_by.to_string())
        .bind(mimetype)
        // A borrowed slice: sqlx's `Any` layer copies an owned `Vec` it is given.
        .bind(data.as_slice())
        .bind(ts(created_at))
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok((id, true)),
            // A concurrent identical upload won the race: answer with its id.
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                let existing = self.file_id_by_hash(&hash, created_by).await?;
                Ok((existing.unwrap_or(id), false))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn file_id_by_hash(&self, hash: &str, created_by: Uuid) -> Result<Option<Uuid>> {
        let r = sqlx::query("SELECT id FROM files WHERE hash = $1 AND created_by = $2")
            .bind(hash)
            .bind(created_by.to_string())
            .fetch_optional(&self.read)
            .await?;
        r.map(|r| r.uuid("id")).transpose()
    }

    /// A file by id.
    pub async fn file(&self, id: Uuid) -> Result<Option<FileRow>> {
        let r = sqlx::query("SELECT * FROM files WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(FileRow::from_row).transpose()
    }
}
