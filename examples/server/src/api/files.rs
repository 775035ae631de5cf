//! `POST /files` (raw tar body, streamed, hashed while read, deduplicated by SHA-256) and
//! `GET /files/{id}`.

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::Utc;
use coder_core::model::UploadResponse;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{json, parse_uuid};
use crate::auth::Session;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::FileRow;

const TAR: &str = "application/x-tar";

/// `POST /files`.
pub(crate) async fn upload(
    State(state): State<AppState>,
    session: Session,
    req: Request,
) -> Result<HttpResponse> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    if content_type != TAR {
        return Err(Error::bad_request_detail(
            format!("Unsupported content type header {content_type:?}."),
            format!("upload the archive as raw bytes with Content-Type: {TAR}"),
        ));
    }
    let (data, hash) = read_upload(req, state.config.max_file_size).await?;
    let (id, created) = state
        .store
        .insert_file(FileRow {
            id: Uuid::new_v4(),
            hash,
            created_by: session.user.id,
            mimetype: content_type,
            data,
            created_at: Utc::now(),
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &UploadResponse { hash: id }))
}

/// Reads an upload chunk by chunk into one buffer, hashing as it goes: one copy of the body
/// in memory, and a body over `limit` is refused as soon as it is known to be (from its
/// Content-Length, or once the streamed bytes pass the limit). Returns the bytes and their
/// SHA-256 hex.
async fn read_upload(req: Request, limit: usize) -> Result<(Vec<u8>, String)> {
    let too_large = || Error::TooLarge(format!("File is too large: the limit is {limit} bytes."));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut data = Vec::with_capacity(declared.unwrap_or(0));
    let mut hasher = Sha256::new();
    let mut body = req.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            Error::bad_request_detail("Failed to read request body.", e.to_string())
        })?;
        if data.len() + chunk.len() > limit {
            return Err(too_large());
        }
        hasher.update(&chunk);
        data.extend_from_slice(&chunk);
    }
    let hash = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((data, hash))
}

/// `GET /files/{id}`: the uploader and owners may download.
pub(crate) async fn download(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let id = parse_uuid(&id, "file id")?;
    let file = state.store.file(id).await?.ok_or(Error::NotFound)?;
    if file.created_by != session.user.id && !session.is_owner() {
        return Err(Error::NotFound);
    }
    Ok(([(header::CONTENT_TYPE, file.mimetype)], file.data).into_response())
}
