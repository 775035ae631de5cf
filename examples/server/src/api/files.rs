//! `POST /files` (raw tar body, deduplicated by SHA-256) and `GET /files/{id}`.

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::Utc;
use coder_core::model::UploadResponse;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{body_bytes, json, parse_uuid};
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
    let data = body_bytes(req, &state).await.map_err(|e| match e {
        Error::TooLarge(_) => Error::TooLarge(format!(
            "File is too large: the limit is {} bytes.",
            state.config.max_file_size
        )),
        other => other,
    })?;
    let hash: String = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (id, created) = state
        .store
        .insert_file(&FileRow {
            id: Uuid::new_v4(),
            hash,
            created_by: session.user.id,
            mimetype: content_type,
            data: data.to_vec(),
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
