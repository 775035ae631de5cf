//! The HTTP API: Coder's `/api/v2` routes, request extractors with Coder-shaped errors, and
//! the response middleware every route shares.

mod files;
mod logs;
mod orgs;
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
use axum::routing::{get, patch, post, put};
use coder_core::model::{BuildInfoResponse, Response};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::state::AppState;

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

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    let json_limit = state.config.max_json_body;
    let api = Router::new()
        .route("/", get(root))
        .route("/buildinfo", get(buildinfo))
        .route("/openapi.json", get(openapi))
        // users and auth
        .route(
            "/users/first",
            get(users::first_exists).post(users::create_first),
        )
        .route(
            "/users/login",
            post(users::login).layer(DefaultBodyLimit::max(MAX_LOGIN_BODY)),
        )
        .route("/users/logout", post(users::logout))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{user}", get(users::get))
        .route("/users/{user}/keys", post(users::create_session_key))
        .route(
            "/users/{user}/keys/tokens",
            get(users::list_tokens).post(users::create_token),
        )
        .route(
            "/users/{user}/keys/{keyid}",
            get(users::get_key).delete(users::delete_key),
        )
        .route("/users/{user}/organizations", get(orgs::user_orgs))
        // organizations
        .route("/organizations", get(orgs::list))
        .route("/organizations/{org}", get(orgs::get))
        .route("/organizations/{org}/members", get(orgs::members))
        .route(
            "/organizations/{org}/templateversions",
            post(templates::create_version),
        )
        .route(
            "/organizations/{org}/templates",
            get(templates::list_org).post(templates::create),
        )
        .route(
            "/organizations/{org}/templates/{name}",
            get(templates::get_by_name),
        )
        // files
        // Streamed and capped by the handler itself (`Config::max_file_size`).
        .route("/files", post(files::upload))
        .route("/files/{id}", get(files::download))
        // template versions and templates
        .route("/templateversions/{id}", get(templates::get_version))
        .route(
            "/templateversions/{id}/cancel",
            patch(templates::cancel_version),
        )
        .route("/templateversions/{id}/logs", get(logs::version_logs))
        .route(
            "/templateversions/{id}/resources",
            get(templates::version_resources),
        )
        .route(
            "/templateversions/{id}/rich-parameters",
            get(templates::version_parameters),
        )
        .route("/templates", get(templates::list))
        .route(
            "/templates/{id}",
            get(templates::get)
                .patch(templates::update)
                .delete(templates::delete),
        )
        .route(
            "/templates/{id}/versions",
            get(templates::list_versions).patch(templates::set_active_version),
        )
        .route(
            "/templates/{id}/versions/{name}",
            get(templates::version_by_name),
        )
        // workspaces and builds
        .route("/users/{user}/workspaces", post(workspaces::create))
        .route(
            "/users/{user}/workspace/{name}",
            get(workspaces::get_by_name),
        )
        .route("/workspaces", get(workspaces::list))
        .route("/workspaces/{id}", get(workspaces::get))
        .route(
            "/workspaces/{id}/builds",
            get(workspaces::list_builds).post(workspaces::create_build),
        )
        .route("/workspaces/{id}/ttl", put(workspaces::put_ttl))
        .route("/workspaces/{id}/autostart", put(workspaces::put_autostart))
        .route("/workspaces/{id}/extend", put(workspaces::put_extend))
        .route("/workspaces/{id}/watch", get(watch::sse))
        .route("/workspaces/{id}/watch-ws", get(watch::ws))
        .route("/workspacebuilds/{id}", get(workspaces::get_build))
        .route(
            "/workspacebuilds/{id}/cancel",
            patch(workspaces::cancel_build),
        )
        .route("/workspacebuilds/{id}/logs", get(logs::build_logs))
        .route(
            "/workspacebuilds/{id}/parameters",
            get(workspaces::build_parameters),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(json_limit));
    Router::new()
        .route("/api/v2/", get(root))
        .nest("/api/v2", api)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(version_header))
        .with_state(state)
}
