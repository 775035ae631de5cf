//! The server's own OpenAPI (Swagger 2.0) document, served at `/api/v2/openapi.json`.
//!
//! Schemas are derived from the code: every request and response type is traced through its
//! serde `Deserialize` implementation (`serde-reflection`), so property names and JSON types
//! are exactly what the wire types accept and emit. Paths come from [`ROUTES`], the list of
//! operations the router serves (a test checks every entry is routed).

use std::collections::BTreeMap;

use coder_core::model::*;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use serde_reflection::{ContainerFormat, Format, Registry, Tracer, TracerConfig};

use crate::api::VERSION;

/// What an operation answers with.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// No body.
    None,
    /// One object of the named definition (Rust type name).
    One(&'static str),
    /// An array of the named definition.
    Many(&'static str),
    /// Raw bytes of the given content type.
    Raw(&'static str),
    /// Anything (websocket or event stream).
    Stream,
}

/// One operation of the API.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// HTTP method, lowercase.
    pub method: &'static str,
    /// Path with `{param}` segments, under `/api/v2`.
    pub path: &'static str,
    /// Short description.
    pub summary: &'static str,
    /// Request body.
    pub request: Body,
    /// Success status.
    pub status: u16,
    /// Success body.
    pub response: Body,
    /// Query parameters.
    pub query: &'static [&'static str],
    /// Whether a session token is needed.
    pub auth: bool,
}

const fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    request: Body,
    status: u16,
    response: Body,
) -> Route {
    Route {
        method,
        path,
        summary,
        request,
        status,
        response,
        query: &[],
        auth: true,
    }
}

const fn public(r: Route) -> Route {
    Route { auth: false, ..r }
}

const fn query(r: Route, query: &'static [&'static str]) -> Route {
    Route { query, ..r }
}

use Body::{Many, None as NoBody, One, Raw, Stream};

/// Every operation the router serves.
pub const ROUTES: &[Route] = &[
    public(route("get", "/", "Liveness", NoBody, 200, One("Response"))),
    public(route(
        "get",
        "/buildinfo",
        "Build information",
        NoBody,
        200,
        One("BuildInfoResponse"),
    )),
    public(route(
        "get",
        "/users/first",
        "Whether the first user exists",
        NoBody,
        200,
        One("Response"),
    )),
    public(route(
        "post",
        "/users/first",
        "Create the first user",
        One("CreateFirstUserRequest"),
        201,
        One("CreateFirstUserResponse"),
    )),
    public(route(
        "post",
        "/users/login",
        "Log in with a password",
        One("LoginWithPasswordRequest"),
        201,
        One("LoginWithPasswordResponse"),
    )),
    route(
        "post",
        "/users/logout",
        "Log out",
        NoBody,
        200,
        One("Response"),
    ),
    query(
        route(
            "get",
            "/users",
            "List users",
            NoBody,
            200,
            One("GetUsersResponse"),
        ),
        &["q"],
    ),
    route(
        "post",
        "/users",
        "Create a user",
        One("CreateUserRequestWithOrgs"),
        201,
        One("User"),
    ),
    route(
        "get",
        "/users/{user}",
        "Get a user",
        NoBody,
        200,
        One("User"),
    ),
    route(
        "post",
        "/users/{user}/keys",
        "Create a session key",
        NoBody,
        201,
        One("GenerateAPIKeyResponse"),
    ),
    route(
        "get",
        "/users/{user}/keys/tokens",
        "List tokens",
        NoBody,
        200,
        Many("APIKey"),
    ),
    route(
        "post",
        "/users/{user}/keys/tokens",
        "Create a token",
        One("CreateTokenRequest"),
        201,
        One("GenerateAPIKeyResponse"),
    ),
    route(
        "get",
        "/users/{user}/keys/{keyid}",
        "Get an API key",
        NoBody,
        200,
        One("APIKey"),
    ),
    route(
        "delete",
        "/users/{user}/keys/{keyid}",
        "Delete an API key",
        NoBody,
        204,
        NoBody,
    ),
    route(
        "get",
        "/users/{user}/organizations",
        "A user's organizations",
        NoBody,
        200,
        Many("Organization"),
    ),
    route(
        "get",
        "/organizations",
        "List organizations",
        NoBody,
        200,
        Many("Organization"),
    ),
    route(
        "get",
        "/organizations/{org}",
        "Get an organization",
        NoBody,
        200,
        One("Organization"),
    ),
    route(
        "get",
        "/organizations/{org}/members",
        "List members",
        NoBody,
        200,
        Many("OrganizationMemberWithUserData"),
    ),
    route(
        "post",
        "/organizations/{org}/templateversions",
        "Create a template version",
        One("CreateTemplateVersionRequest"),
        201,
        One("TemplateVersion"),
    ),
    query(
        route(
            "get",
            "/organizations/{org}/templates",
            "List templates of an organization",
            NoBody,
            200,
            Many("Template"),
        ),
        &["q"],
    ),
    route(
        "post",
        "/organizations/{org}/templates",
        "Create a template",
        One("CreateTemplateRequest"),
        201,
        One("Template"),
    ),
    route(
        "get",
        "/organizations/{org}/templates/{name}",
        "Get a template by name",
        NoBody,
        200,
        One("Template"),
    ),
    route(
        "post",
        "/files",
        "Upload a tar archive",
        Raw("application/x-tar"),
        201,
        One("UploadResponse"),
    ),
    route(
        "get",
        "/files/{id}",
        "Download a file",
        NoBody,
        200,
        Raw("application/x-tar"),
    ),
    route(
        "get",
        "/templateversions/{id}",
        "Get a template version",
        NoBody,
        200,
        One("TemplateVersion"),
    ),
    route(
        "patch",
        "/templateversions/{id}/cancel",
        "Cancel a template version import",
        NoBody,
        200,
        One("Response"),
    ),
    query(
        route(
            "get",
            "/templateversions/{id}/logs",
            "Import logs",
            NoBody,
            200,
            Many("ProvisionerJobLog"),
        ),
        &["after", "follow"],
    ),
    route(
        "get",
        "/templateversions/{id}/resources",
        "Resources a start would create",
        NoBody,
        200,
        Many("WorkspaceResource"),
    ),
    route(
        "get",
        "/templateversions/{id}/rich-parameters",
        "Parameters",
        NoBody,
        200,
        Many("TemplateVersionParameter"),
    ),
    query(
        route(
            "get",
            "/templates",
            "List templates",
            NoBody,
            200,
            Many("Template"),
        ),
        &["q"],
    ),
    route(
        "get",
        "/templates/{id}",
        "Get a template",
        NoBody,
        200,
        One("Template"),
    ),
    route(
        "patch",
        "/templates/{id}",
        "Update a template",
        One("UpdateTemplateMeta"),
        200,
        One("Template"),
    ),
    route(
        "delete",
        "/templates/{id}",
        "Delete a template",
        NoBody,
        200,
        One("Response"),
    ),
    route(
        "get",
        "/templates/{id}/versions",
        "List versions",
        NoBody,
        200,
        Many("TemplateVersion"),
    ),
    route(
        "patch",
        "/templates/{id}/versions",
        "Promote a version",
        One("UpdateActiveTemplateVersion"),
        200,
        One("Response"),
    ),
    route(
        "get",
        "/templates/{id}/versions/{name}",
        "Get a version by name",
        NoBody,
        200,
        One("TemplateVersion"),
    ),
    route(
        "post",
        "/users/{user}/workspaces",
        "Create a workspace",
        One("CreateWorkspaceRequest"),
        201,
        One("Workspace"),
    ),
    query(
        route(
            "get",
            "/users/{user}/workspace/{name}",
            "Get a workspace by owner and name",
            NoBody,
            200,
            One("Workspace"),
        ),
        &["include_deleted"],
    ),
    query(
        route(
            "get",
            "/workspaces",
            "Search workspaces",
            NoBody,
            200,
            One("WorkspacesResponse"),
        ),
        &["q", "limit", "offset"],
    ),
    query(
        route(
            "get",
            "/workspaces/{id}",
            "Get a workspace",
            NoBody,
            200,
            One("Workspace"),
        ),
        &["include_deleted"],
    ),
    route(
        "get",
        "/workspaces/{id}/builds",
        "List builds",
        NoBody,
        200,
        Many("WorkspaceBuild"),
    ),
    route(
        "post",
        "/workspaces/{id}/builds",
        "Start, stop or delete",
        One("CreateWorkspaceBuildRequest"),
        201,
        One("WorkspaceBuild"),
    ),
    route(
        "put",
        "/workspaces/{id}/ttl",
        "Set the autostop TTL",
        One("UpdateWorkspaceTTLRequest"),
        204,
        NoBody,
    ),
    route(
        "put",
        "/workspaces/{id}/autostart",
        "Set the autostart schedule",
        One("UpdateWorkspaceAutostartRequest"),
        204,
        NoBody,
    ),
    route(
        "put",
        "/workspaces/{id}/extend",
        "Move the deadline",
        One("PutExtendWorkspaceRequest"),
        200,
        One("Response"),
    ),
    route(
        "get",
        "/workspaces/{id}/watch",
        "Watch (Server-Sent Events)",
        NoBody,
        200,
        Stream,
    ),
    route(
        "get",
        "/workspaces/{id}/watch-ws",
        "Watch (websocket)",
        NoBody,
        101,
        Stream,
    ),
    route(
        "get",
        "/workspacebuilds/{id}",
        "Get a build",
        NoBody,
        200,
        One("WorkspaceBuild"),
    ),
    query(
        route(
            "patch",
            "/workspacebuilds/{id}/cancel",
            "Cancel a build",
            NoBody,
            200,
            One("Response"),
        ),
        &["expect_status"],
    ),
    query(
        route(
            "get",
            "/workspacebuilds/{id}/logs",
            "Build logs",
            NoBody,
            200,
            Many("ProvisionerJobLog"),
        ),
        &["after", "follow"],
    ),
    route(
        "get",
        "/workspacebuilds/{id}/parameters",
        "Build parameters",
        NoBody,
        200,
        Many("WorkspaceBuildParameter"),
    ),
    public(route(
        "get",
        "/openapi.json",
        "This document",
        NoBody,
        200,
        Stream,
    )),
];

fn trace<T: DeserializeOwned>(tracer: &mut Tracer) -> Result<(), String> {
    tracer
        .trace_simple_type::<T>()
        .map(drop)
        .map_err(|e| format!("{}: {e}", std::any::type_name::<T>()))
}

/// Traces every type the routes use.
fn registry() -> Result<Registry, String> {
    // Uuids deserialize from 16 bytes when not human-readable; times from an RFC 3339 string
    // (and every other string accepts it too).
    let config = TracerConfig::default()
        .default_borrowed_bytes_value(&[0u8; 16])
        .default_byte_buf_value(vec![0u8; 16])
        .default_borrowed_str_value("2026-01-01T00:00:00Z")
        .default_string_value("2026-01-01T00:00:00Z".to_owned());
    let mut t = Tracer::new(config);
    trace::<Response>(&mut t)?;
    trace::<BuildInfoResponse>(&mut t)?;
    trace::<CreateFirstUserRequest>(&mut t)?;
    trace::<CreateFirstUserResponse>(&mut t)?;
    trace::<LoginWithPasswordRequest>(&mut t)?;
    trace::<LoginWithPasswordResponse>(&mut t)?;
    trace::<GetUsersResponse>(&mut t)?;
    trace::<CreateUserRequestWithOrgs>(&mut t)?;
    trace::<GenerateAPIKeyResponse>(&mut t)?;
    trace::<APIKey>(&mut t)?;
    trace::<CreateTokenRequest>(&mut t)?;
    trace::<Organization>(&mut t)?;
    trace::<OrganizationMemberWithUserData>(&mut t)?;
    trace::<CreateTemplateVersionRequest>(&mut t)?;
    trace::<TemplateVersion>(&mut t)?;
    trace::<Template>(&mut t)?;
    trace::<CreateTemplateRequest>(&mut t)?;
    trace::<UpdateTemplateMeta>(&mut t)?;
    trace::<UpdateActiveTemplateVersion>(&mut t)?;
    trace::<UploadResponse>(&mut t)?;
    trace::<ProvisionerJobLog>(&mut t)?;
    trace::<WorkspaceResource>(&mut t)?;
    trace::<TemplateVersionParameter>(&mut t)?;
    trace::<CreateWorkspaceRequest>(&mut t)?;
    trace::<Workspace>(&mut t)?;
    trace::<WorkspacesResponse>(&mut t)?;
    trace::<WorkspaceBuild>(&mut t)?;
    trace::<CreateWorkspaceBuildRequest>(&mut t)?;
    trace::<UpdateWorkspaceTTLRequest>(&mut t)?;
    trace::<UpdateWorkspaceAutostartRequest>(&mut t)?;
    trace::<PutExtendWorkspaceRequest>(&mut t)?;
    trace::<WorkspaceBuildParameter>(&mut t)?;
    t.registry().map_err(|e| e.to_string())
}

/// The definition name of a Rust type (Coder's `codersdk.` namespace).
pub fn definition_name(rust: &str) -> String {
    format!("codersdk.{rust}")
}

fn schema(format: &Format) -> Value {
    match format {
        Format::TypeName(name) => {
            json!({"$ref": format!("#/definitions/{}", definition_name(name))})
        }
        Format::Bool => json!({"type": "boolean"}),
        Format::I8
        | Format::I16
        | Format::I32
        | Format::I64
        | Format::I128
        | Format::U8
        | Format::U16
        | Format::U32
        | Format::U64
        | Format::U128 => {
            json!({"type": "integer"})
        }
        Format::F32 | Format::F64 => json!({"type": "number"}),
        Format::Str | Format::Char => json!({"type": "string"}),
        // Only UUIDs deserialize from bytes in the traced types.
        Format::Bytes => json!({"type": "string", "format": "uuid"}),
        Format::Option(inner) => {
            let mut s = schema(inner);
            if let Some(obj) = s.as_object_mut() {
                obj.insert("x-nullable".to_owned(), Value::Bool(true));
            }
            s
        }
        Format::Seq(inner) => json!({"type": "array", "items": schema(inner)}),
        Format::Map { value, .. } => {
            json!({"type": "object", "additionalProperties": schema(value)})
        }
        _ => json!({}),
    }
}

fn definitions(registry: &Registry) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, container) in registry {
        let def = match container {
            ContainerFormat::Struct(fields) => {
                let props: Map<String, Value> = fields
                    .iter()
                    .map(|f| (f.name.clone(), schema(&f.value)))
                    .collect();
                json!({"type": "object", "properties": props})
            }
            ContainerFormat::NewTypeStruct(inner) => schema(inner),
            _ => json!({"type": "object"}),
        };
        out.insert(definition_name(name), def);
    }
    out
}

fn body_schema(body: Body) -> Option<Value> {
    match body {
        Body::One(name) => {
            Some(json!({"$ref": format!("#/definitions/{}", definition_name(name))}))
        }
        Body::Many(name) => Some(
            json!({"type": "array", "items": {"$ref": format!("#/definitions/{}", definition_name(name))}}),
        ),
        Body::Raw(_) => Some(json!({"type": "string", "format": "binary"})),
        Body::None | Body::Stream => None,
    }
}

/// Builds the document (the server builds it once at start-up).
pub fn document() -> Result<Value, String> {
    let registry = registry()?;
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for r in ROUTES {
        let mut parameters = Vec::new();
        for seg in r.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                parameters
                    .push(json!({"name": name, "in": "path", "required": true, "type": "string"}));
            }
        }
        for q in r.query {
            let ty = match *q {
                "after" | "limit" | "offset" => "integer",
                "include_deleted" | "follow" => "boolean",
                _ => "string",
            };
            parameters.push(json!({"name": q, "in": "query", "required": false, "type": ty}));
        }
        let mut op = Map::new();
        op.insert("summary".into(), json!(r.summary));
        op.insert(
            "operationId".into(),
            json!(format!(
                "{}{}",
                r.method,
                r.path.replace(['/', '{', '}', '-', '.'], "_")
            )),
        );
        match r.request {
            Body::One(_) | Body::Many(_) => {
                parameters.push(json!({"name": "request", "in": "body", "required": true, "schema": body_schema(r.request)}));
                op.insert("consumes".into(), json!(["application/json"]));
            }
            Body::Raw(content_type) => {
                parameters.push(json!({"name": "file", "in": "body", "required": true, "schema": body_schema(r.request)}));
                op.insert("consumes".into(), json!([content_type]));
            }
            Body::None | Body::Stream => {}
        }
        op.insert("parameters".into(), Value::Array(parameters));
        let produces = match r.response {
            Body::Raw(content_type) => content_type,
            Body::Stream => "text/event-stream",
            _ => "application/json",
        };
        op.insert("produces".into(), json!([produces]));
        let mut ok = json!({"description": "success"});
        if let Some(s) = body_schema(r.response) {
            ok["schema"] = s;
        }
        op.insert(
            "responses".into(),
            json!({
                r.status.to_string(): ok,
                "default": {"description": "error", "schema": {"$ref": "#/definitions/codersdk.Response"}},
            }),
        );
        if r.auth {
            op.insert("security".into(), json!([{"CoderSessionToken": []}]));
        }
        paths
            .entry(format!("/api/v2{}", r.path))
            .or_default()
            .insert(r.method.to_owned(), Value::Object(op));
    }
    Ok(json!({
        "swagger": "2.0",
        "info": {
            "title": "coder-rs reference server API",
            "description": "The subset of Coder's API (v2) that the reference server serves.",
            "version": VERSION,
        },
        "basePath": "/",
        "securityDefinitions": {
            "CoderSessionToken": {"type": "apiKey", "in": "header", "name": "Coder-Session-Token"}
        },
        "paths": paths,
        "definitions": definitions(&registry),
    }))
}
