//! The route registry: every operation of `/api/v2` declared once, in [`AREAS`].
//!
//! One [`Route`] names the method, path, handler, request and response types, success status,
//! query parameters, whether a session is needed and the request body limit. Everything else
//! is derived from it: the router ([`super::router`]), the OpenAPI document
//! ([`crate::openapi::document`]) and the README's endpoint table ([`markdown_table`], which
//! a test compares with `README.md`). Adding a route is one entry here.

use axum::routing::{MethodFilter, MethodRouter};
use coder_core::model::*;
use serde::de::DeserializeOwned;
use serde_reflection::{Format, Tracer};

use super::{files, logs, orgs, templates, users, watch, workspaces};
use crate::state::AppState;

/// An HTTP method a route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name in lowercase, as OpenAPI spells it (`get`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Patch => "patch",
            Method::Delete => "delete",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Patch => MethodFilter::PATCH,
            Method::Delete => MethodFilter::DELETE,
        }
    }
}

/// A wire type, by its Rust type: its OpenAPI schema is traced from its serde `Deserialize`
/// implementation, its README name is the type's own name.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    trace: fn(&mut Tracer) -> Result<Format, String>,
    type_name: fn() -> &'static str,
}

impl Schema {
    /// The schema of `T`.
    pub const fn of<T: DeserializeOwned>() -> Self {
        Schema {
            trace: crate::openapi::trace::<T>,
            type_name: std::any::type_name::<T>,
        }
    }

    /// Records `T` (and every type it contains) in `tracer`; returns `T`'s format, a
    /// reference to its definition for a named type.
    pub fn trace(&self, tracer: &mut Tracer) -> Result<Format, String> {
        (self.trace)(tracer)
    }

    /// The type's name without its module path (`Workspace`).
    pub fn name(&self) -> &'static str {
        let full = (self.type_name)();
        full.rsplit("::").next().unwrap_or(full)
    }
}

/// A request or success-response body.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// No body.
    None,
    /// One JSON object.
    One(Schema),
    /// A JSON array.
    Many(Schema),
    /// Raw bytes of the given content type.
    Raw(&'static str),
    /// Anything (websocket or event stream).
    Stream,
}

/// One JSON object of type `T`.
pub const fn one<T: DeserializeOwned>() -> Body {
    Body::One(Schema::of::<T>())
}

/// A JSON array of `T`.
pub const fn many<T: DeserializeOwned>() -> Body {
    Body::Many(Schema::of::<T>())
}

/// A query parameter, by name and JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// A string (`q`).
    Str(&'static str),
    /// An integer (`limit`).
    Int(&'static str),
    /// A boolean (`follow`).
    Bool(&'static str),
}

impl Param {
    /// The parameter's name.
    pub const fn name(self) -> &'static str {
        match self {
            Param::Str(name) | Param::Int(name) | Param::Bool(name) => name,
        }
    }

    /// Its OpenAPI type (`string`, `integer`, `boolean`).
    pub const fn json_type(self) -> &'static str {
        match self {
            Param::Str(_) => "string",
            Param::Int(_) => "integer",
            Param::Bool(_) => "boolean",
        }
    }
}

use Param::{Bool, Int, Str};

/// The largest request body a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// `Config::max_json_body`, the API's default.
    Json,
    /// `Config::max_file_size`, for uploads (the handler streams the body and enforces it).
    Upload,
    /// [`MAX_LOGIN_BODY`](super::MAX_LOGIN_BODY), for password logins.
    Login,
}

/// Adds a route's handler, for one method, to the router.
type Handler = fn(MethodFilter) -> MethodRouter<AppState>;

/// Turns a handler function into a [`Handler`] (a closure without captures is a `fn`).
macro_rules! handler {
    ($f:path) => {
        |filter| axum::routing::on(filter, $f)
    };
}

/// One operation of the API.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path with `{param}` segments, under `/api/v2`.
    pub path: &'static str,
    /// Short description (OpenAPI `summary`, the README's first words).
    pub summary: &'static str,
    /// What a caller should know beyond the types (OpenAPI `description`, the README);
    /// may be empty.
    pub note: &'static str,
    /// Request body.
    pub request: Body,
    /// Success status.
    pub status: u16,
    /// Success body.
    pub response: Body,
    /// Query parameters.
    pub query: &'static [Param],
    /// Whether a session token is needed.
    pub auth: bool,
    /// The largest request body accepted.
    pub body_limit: BodyLimit,
    handler: Handler,
}

impl Route {
    const fn new(method: Method, path: &'static str, handler: Handler) -> Self {
        Route {
            method,
            path,
            summary: "",
            note: "",
            request: Body::None,
            status: 200,
            response: Body::None,
            query: &[],
            auth: true,
            body_limit: BodyLimit::Json,
            handler,
        }
    }

    const fn get(path: &'static str, handler: Handler) -> Self {
        Self::new(Method::Get, path, handler)
    }

    const fn post(path: &'static str, handler: Handler) -> Self {
        Self::new(Method::Post, path, handler)
    }

    const fn put(path: &'static str, handler: Handler) -> Self {
        Self::new(Method::Put, path, handler)
    }

    const fn patch(path: &'static str, handler: Handler) -> Self {
        Self::new(Method::Patch, path, handler)
    }

    const fn delete(path: &'static str, handler: Handler) -> Self {
        Self::new(Method::Delete, path, handler)
    }

    const fn summary(self, summary: &'static str) -> Self {
        Route { summary, ..self }
    }

    const fn note(self, note: &'static str) -> Self {
        Route { note, ..self }
    }

    const fn accepts(self, request: Body) -> Self {
        Route { request, ..self }
    }

    const fn returns(self, status: u16, response: Body) -> Self {
        Route {
            status,
            response,
            ..self
        }
    }

    const fn query(self, query: &'static [Param]) -> Self {
        Route { query, ..self }
    }

    const fn public(self) -> Self {
        Route {
            auth: false,
            ..self
        }
    }

    const fn upload(self) -> Self {
        Route {
            body_limit: BodyLimit::Upload,
            ..self
        }
    }

    const fn login_body(self) -> Self {
        Route {
            body_limit: BodyLimit::Login,
            ..self
        }
    }

    /// This route's handler, for its method only.
    pub(crate) fn method_router(&self) -> MethodRouter<AppState> {
        (self.handler)(self.method.filter())
    }
}

/// Routes about one subject; the README's table is grouped by them.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    /// The area's name (`workspaces`).
    pub name: &'static str,
    /// Its operations, in the order the README lists them.
    pub routes: &'static [Route],
}

/// The query of both log routes (imports and builds).
const LOGS_QUERY: &[Param] = &[Int("after"), Bool("follow")];
const LOGS_NOTE: &str = "`follow`: a websocket of log lines; `after`: only lines after that id";

/// Every operation of the API, by area.
pub const AREAS: &[Area] = &[
    Area {
        name: "general",
        routes: &[
            Route::get("/", handler!(super::root))
                .summary("Liveness")
                .returns(200, one::<Response>())
                .public(),
            Route::get("/buildinfo", handler!(super::buildinfo))
                .summary("Build information")
                .returns(200, one::<BuildInfoResponse>())
                .public(),
            Route::get("/openapi.json", handler!(super::openapi))
                .summary("This server's OpenAPI (Swagger 2.0) document")
                .returns(200, Body::Stream)
                .public(),
        ],
    },
    Area {
        name: "first user, login",
        routes: &[
            Route::get("/users/first", handler!(users::first_exists))
                .summary("Whether the first user exists")
                .returns(200, one::<Response>())
                .public(),
            Route::post("/users/first", handler!(users::create_first))
                .summary("Create the first user")
                .accepts(one::<CreateFirstUserRequest>())
                .returns(201, one::<CreateFirstUserResponse>())
                .public(),
            Route::post("/users/login", handler!(users::login))
                .summary("Log in with a password")
                .note("sets the `coder_session_token` cookie")
                .accepts(one::<LoginWithPasswordRequest>())
                .returns(201, one::<LoginWithPasswordResponse>())
                .public()
                .login_body(),
            Route::post("/users/logout", handler!(users::logout))
                .summary("Log out")
                .returns(200, one::<Response>()),
        ],
    },
    Area {
        name: "users",
        routes: &[
            Route::get("/users", handler!(users::list))
                .summary("List users")
                .query(&[Str("q")])
                .returns(200, one::<GetUsersResponse>()),
            Route::post("/users", handler!(users::create))
                .summary("Create a user")
                .note("owners only")
                .accepts(one::<CreateUserRequestWithOrgs>())
                .returns(201, one::<User>()),
            Route::get("/users/{user}", handler!(users::get))
                .summary("Get a user")
                .note("`{user}` is `me`, an id or a username")
                .returns(200, one::<User>()),
            Route::put("/users/{user}/status/suspend", handler!(users::suspend))
                .summary("Suspend a user")
                .note("owners only, never themselves; the user's sessions and tokens stop working")
                .returns(200, one::<User>()),
            Route::put("/users/{user}/status/activate", handler!(users::activate))
                .summary("Activate a user")
                .note("owners only")
                .returns(200, one::<User>()),
            Route::get("/users/{user}/organizations", handler!(orgs::user_orgs))
                .summary("A user's organizations")
                .returns(200, many::<Organization>()),
        ],
    },
    Area {
        name: "API keys",
        routes: &[
            Route::post("/users/{user}/keys", handler!(users::create_session_key))
                .summary("Create a session key")
                .returns(201, one::<GenerateAPIKeyResponse>()),
            Route::get("/users/{user}/keys/tokens", handler!(users::list_tokens))
                .summary("List tokens")
                .returns(200, many::<APIKey>()),
            Route::post("/users/{user}/keys/tokens", handler!(users::create_token))
                .summary("Create a token")
                .accepts(one::<CreateTokenRequest>())
                .returns(201, one::<GenerateAPIKeyResponse>()),
            Route::get("/users/{user}/keys/{keyid}", handler!(users::get_key))
                .summary("Get an API key")
                .returns(200, one::<APIKey>()),
            Route::delete("/users/{user}/keys/{keyid}", handler!(users::delete_key))
                .summary("Delete an API key")
                .returns(204, Body::None),
        ],
    },
    Area {
        name: "organizations",
        routes: &[
            Route::get("/organizations", handler!(orgs::list))
                .summary("List organizations")
                .returns(200, many::<Organization>()),
            Route::get("/organizations/{org}", handler!(orgs::get))
                .summary("Get an organization")
                .note("`{org}` is `default`, a name or an id")
                .returns(200, one::<Organization>()),
            Route::get("/organizations/{org}/members", handler!(orgs::members))
                .summary("List members")
                .returns(200, many::<OrganizationMemberWithUserData>()),
        ],
    },
    Area {
        name: "files",
        routes: &[
            Route::post("/files", handler!(files::upload))
                .summary("Upload a tar archive")
                .note("200 for content already uploaded; 413 over `max_file_size` (100 MiB)")
                .accepts(Body::Raw("application/x-tar"))
                .returns(201, one::<UploadResponse>())
                .upload(),
            Route::get("/files/{id}", handler!(files::download))
                .summary("Download a file")
                .returns(200, Body::Raw("application/x-tar")),
        ],
    },
    Area {
        name: "template versions",
        routes: &[
            Route::post(
                "/organizations/{org}/templateversions",
                handler!(templates::create_version),
            )
            .summary("Create a template version")
            .accepts(one::<CreateTemplateVersionRequest>())
            .returns(201, one::<TemplateVersion>()),
            Route::get("/templateversions/{id}", handler!(templates::get_version))
                .summary("Get a template version")
                .returns(200, one::<TemplateVersion>()),
            Route::patch(
                "/templateversions/{id}/cancel",
                handler!(templates::cancel_version),
            )
            .summary("Cancel a template version import")
            .returns(200, one::<Response>()),
            Route::get("/templateversions/{id}/logs", handler!(logs::version_logs))
                .summary("Import logs")
                .note(LOGS_NOTE)
                .query(LOGS_QUERY)
                .returns(200, many::<ProvisionerJobLog>()),
            Route::get(
                "/templateversions/{id}/resources",
                handler!(templates::version_resources),
            )
            .summary("Resources a start would create")
            .returns(200, many::<WorkspaceResource>()),
            Route::get(
                "/templateversions/{id}/rich-parameters",
                handler!(templates::version_parameters),
            )
            .summary("Parameters")
            .returns(200, many::<TemplateVersionParameter>()),
        ],
    },
    Area {
        name: "templates",
        routes: &[
            Route::get("/templates", handler!(templates::list))
                .summary("List templates")
                .query(&[Str("q")])
                .returns(200, many::<Template>()),
            Route::get(
                "/organizations/{org}/templates",
                handler!(templates::list_org),
            )
            .summary("List templates of an organization")
            .query(&[Str("q")])
            .returns(200, many::<Template>()),
            Route::post(
                "/organizations/{org}/templates",
                handler!(templates::create),
            )
            .summary("Create a template")
            .accepts(one::<CreateTemplateRequest>())
            .returns(201, one::<Template>()),
            Route::get(
                "/organizations/{org}/templates/{name}",
                handler!(templates::get_by_name),
            )
            .summary("Get a template by name")
            .returns(200, one::<Template>()),
            Route::get("/templates/{id}", handler!(templates::get))
                .summary("Get a template")
                .returns(200, one::<Template>()),
            Route::patch("/templates/{id}", handler!(templates::update))
                .summary("Update a template")
                .note("304 when nothing changes")
                .accepts(one::<UpdateTemplateMeta>())
                .returns(200, one::<Template>()),
            Route::delete("/templates/{id}", handler!(templates::delete))
                .summary("Delete a template")
                .returns(200, one::<Response>()),
            Route::get(
                "/templates/{id}/versions",
                handler!(templates::list_versions),
            )
            .summary("List versions")
            .returns(200, many::<TemplateVersion>()),
            Route::patch(
                "/templates/{id}/versions",
                handler!(templates::set_active_version),
            )
            .summary("Promote a version")
            .accepts(one::<UpdateActiveTemplateVersion>())
            .returns(200, one::<Response>()),
            Route::get(
                "/templates/{id}/versions/{name}",
                handler!(templates::version_by_name),
            )
            .summary("Get a version by name")
            .returns(200, one::<TemplateVersion>()),
        ],
    },
    Area {
        name: "workspaces",
        routes: &[
            Route::post("/users/{user}/workspaces", handler!(workspaces::create))
                .summary("Create a workspace")
                .accepts(one::<CreateWorkspaceRequest>())
                .returns(201, one::<Workspace>()),
            Route::get("/workspaces", handler!(workspaces::list))
                .summary("Search workspaces")
                .note("`q`: `owner:me`, `name:`, `template:`, `status:`, bare `owner/name`")
                .query(&[Str("q"), Int("limit"), Int("offset")])
                .returns(200, one::<WorkspacesResponse>()),
            Route::get("/workspaces/{id}", handler!(workspaces::get))
                .summary("Get a workspace")
                .note("410 once deleted")
                .query(&[Bool("include_deleted")])
                .returns(200, one::<Workspace>()),
            Route::patch("/workspaces/{id}", handler!(workspaces::update))
                .summary("Rename a workspace")
                .note("400 unless the server allows renames (`--allow-workspace-renames`); 409 if the name is taken")
                .accepts(one::<UpdateWorkspaceRequest>())
                .returns(204, Body::None),
            Route::get(
                "/users/{user}/workspace/{name}",
                handler!(workspaces::get_by_name),
            )
            .summary("Get a workspace by owner and name")
            .query(&[Bool("include_deleted")])
            .returns(200, one::<Workspace>()),
        ],
    },
    Area {
        name: "builds",
        routes: &[
            Route::post(
                "/workspaces/{id}/builds",
                handler!(workspaces::create_build),
            )
            .summary("Start, stop or delete")
            .note("409 while a build is active")
            .accepts(one::<CreateWorkspaceBuildRequest>())
            .returns(201, one::<WorkspaceBuild>()),
            Route::get("/workspaces/{id}/builds", handler!(workspaces::list_builds))
                .summary("List builds")
                .returns(200, many::<WorkspaceBuild>()),
            Route::get("/workspacebuilds/{id}", handler!(workspaces::get_build))
                .summary("Get a build")
                .returns(200, one::<WorkspaceBuild>()),
            Route::patch(
                "/workspacebuilds/{id}/cancel",
                handler!(workspaces::cancel_build),
            )
            .summary("Cancel a build")
            .query(&[Str("expect_status")])
            .returns(200, one::<Response>()),
            Route::get("/workspacebuilds/{id}/logs", handler!(logs::build_logs))
                .summary("Build logs")
                .note(LOGS_NOTE)
                .query(LOGS_QUERY)
                .returns(200, many::<ProvisionerJobLog>()),
            Route::get(
                "/workspacebuilds/{id}/parameters",
                handler!(workspaces::build_parameters),
            )
            .summary("Build parameters")
            .returns(200, many::<WorkspaceBuildParameter>()),
        ],
    },
    Area {
        name: "schedule",
        routes: &[
            Route::put("/workspaces/{id}/ttl", handler!(workspaces::put_ttl))
                .summary("Set the autostop TTL")
                .accepts(one::<UpdateWorkspaceTTLRequest>())
                .returns(204, Body::None),
            Route::put(
                "/workspaces/{id}/autostart",
                handler!(workspaces::put_autostart),
            )
            .summary("Set the autostart schedule")
            .accepts(one::<UpdateWorkspaceAutostartRequest>())
            .returns(204, Body::None),
            Route::put("/workspaces/{id}/extend", handler!(workspaces::put_extend))
                .summary("Move the deadline")
                .accepts(one::<PutExtendWorkspaceRequest>())
                .returns(200, one::<Response>()),
        ],
    },
    Area {
        name: "watch",
        routes: &[
            Route::get("/workspaces/{id}/watch", handler!(watch::sse))
                .summary("Watch (Server-Sent Events)")
                .note("`event: ping` and `event: data` with the workspace")
                .returns(200, Body::Stream),
            Route::get("/workspaces/{id}/watch-ws", handler!(watch::ws))
                .summary("Watch (websocket)")
                .returns(101, Body::Stream),
        ],
    },
];

/// Every operation of the API, area by area.
pub fn routes() -> impl Iterator<Item = &'static Route> {
    AREAS.iter().flat_map(|area| area.routes)
}

/// The README's endpoint table for `areas`: one row per operation, the area named on its
/// first row.
pub fn markdown_table(areas: &[Area]) -> String {
    let mut out =
        String::from("| area | endpoint | request | success | notes |\n|---|---|---|---|---|\n");
    for area in areas {
        for (i, r) in area.routes.iter().enumerate() {
            let name = if i == 0 { area.name } else { "" };
            let query: Vec<String> = r.query.iter().map(|p| format!("{}=", p.name())).collect();
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{}", query.join("&"))
            };
            let endpoint = format!("`{} {}{query}`", r.method.as_str().to_uppercase(), r.path);
            let success = match markdown_body(r.response) {
                body if body.is_empty() => r.status.to_string(),
                body => format!("{} {body}", r.status),
            };
            let notes: Vec<&str> = [r.summary, r.note, if r.auth { "" } else { "no session" }]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            let cells = [
                name,
                &endpoint,
                &markdown_body(r.request),
                &success,
                &notes.join("; "),
            ];
            let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    out
}

fn markdown_body(body: Body) -> String {
    match body {
        Body::None | Body::Stream => String::new(),
        Body::One(schema) => format!("`{}`", schema.name()),
        Body::Many(schema) => format!("`[]{}`", schema.name()),
        Body::Raw(content_type) => format!("`{content_type}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_has_one_row_per_operation_with_the_area_on_its_first() {
        const AREA: Area = Area {
            name: "users",
            routes: &[
                Route::get("/users", handler!(users::list))
                    .summary("List users")
                    .query(&[Str("q"), Int("limit")])
                    .returns(200, many::<User>()),
                Route::post("/users/first", handler!(users::create_first))
                    .summary("Create | the first user")
                    .note("only once")
                    .accepts(one::<CreateFirstUserRequest>())
                    .returns(201, one::<CreateFirstUserResponse>())
                    .public(),
                Route::delete("/users/{user}/keys/{keyid}", handler!(users::delete_key))
                    .summary("Delete an API key")
                    .returns(204, Body::None),
            ],
        };
        assert_eq!(
            markdown_table(&[AREA]),
            "| area | endpoint | request | success | notes |\n\
             |---|---|---|---|---|\n\
             | users | `GET /users?q=&limit=` |  | 200 `[]User` | List users |\n\
             |  | `POST /users/first` | `CreateFirstUserRequest` | 201 `CreateFirstUserResponse` \
             | Create \\| the first user; only once; no session |\n\
             |  | `DELETE /users/{user}/keys/{keyid}` |  | 204 | Delete an API key |\n"
        );
    }
}
