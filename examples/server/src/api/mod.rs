//! The HTTP API: Coder's `/api/v2` routes, request extractors with Coder-shaped errors, and
//! the response middleware every route shares. The routes themselves are declared once, in
//! [`routes`]; [`router`] is built from that registry.

mod files;
mod logs;
mod orgs;
pub mod routes;
mod templates;
mod users;
mod watch;
mod workspaces;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::get;
use coder_core::model::{BuildInfoResponse, Response};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::state::AppState;
use routes::BodyLimit;

/// This server's version, as `buildinfo` and the `X-Coder-Build-Version` header report it.
pub const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"), "+coder-rs");

/// Largest accepted `POST /users/login` body: an email and a password need far less, and a
/// login is answered before any session exists to hold its sender to account.
pub const MAX_LOGIN_BODY: usize = 64 << 10;

/// A JSON request body. Malformed JSON or a wrong type is a `400` whose detail names the
/// field; a body over the limit is a `413`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let bytes = body_bytes(req, state).await?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map(Json).map_err(|e| {
            let path = e.path().to_string();
            let detail = if path == "." {
                e.inner().to_string()
            } else {
                format!("{path}: {}", e.inner())
            };
            Error::bad_request_detail("Request body must be valid JSON.", detail)
        })
    }
}

/// The raw body, with the size limit turned into Coder's `413`.
pub async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge("Request body is too large.".to_owned())
        } else {
            Error::bad_request_detail("Failed to read request body.", e.body_text())
        }
    })
}

/// Parses a UUID path or body value; malformed is a `400` as in Coder.
pub fn parse_uuid(s: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| Error::bad_request(format!("Invalid UUID {s:?} for {what}.")))
}

/// Query parameters as a map (last value wins).
pub type QueryMap = axum::extract::Query<HashMap<String, String>>;

/// A JSON response with a status.
pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    (status, axum::Json(body)).into_response()
}

async fn root() -> HttpResponse {
    json(StatusCode::OK, &Response::message("👋"))
}

async fn buildinfo(axum::extract::State(state): axum::extract::State<AppState>) -> HttpResponse {
    json(
        StatusCode::OK,
        &BuildInfoResponse {
            version: VERSION.to_owned(),
            external_url: "https://example.invalid/coder-rs".to_owned(),
            dashboard_url: state.access_url.clone(),
            deployment_id: state.deployment_id.clone(),
            workspace_proxy: false,
            agent_api_version: "2.7".to_owned(),
            provisioner_api_version: "1.9".to_owned(),
            upgrade_message: String::new(),
            telemetry: false,
            webpush_public_key: String::new(),
        },
    )
}

async fn openapi(axum::extract::State(state): axum::extract::State<AppState>) -> HttpResponse {
    json(StatusCode::OK, state.openapi.as_ref())
}

async fn not_found() -> Error {
    Error::NotFoundRoute
}

async fn version_header(req: Request, next: axum::middleware::Next) -> HttpResponse {
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert("X-Coder-Build-Version", HeaderValue::from_static(VERSION));
    resp
}

/// Every route of the API, from the registry in [`routes`].
pub fn router(state: AppState) -> Router {
    let file_limit = state.config.max_file_size;
    let json_limit = state.config.max_json_body;
    let api = routes::routes()
        .fold(Router::new(), |api, route| {
            let method_router = match route.body_limit {
                BodyLimit::Json => route.method_router(),
                BodyLimit::Upload => route
                    .method_router()
                    .layer(DefaultBodyLimit::max(file_limit)),
                BodyLimit::Login => route
                    .method_router()
                    .layer(DefaultBodyLimit::max(MAX_LOGIN_BODY)),
            };
            // Routes on one path merge into one method router.
            api.route(route.path, method_router)
        })
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(json_limit));
    Router::new()
        // Coder answers `GET /api/v2/` like `GET /api/v2`.
        .route("/api/v2/", get(root))
        .nest("/api/v2", api)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(version_header))
        .with_state(state)
}
