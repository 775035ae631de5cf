//! Users, the first-user bootstrap, login/logout, and API tokens.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::Utc;
use coder_core::model::{
    CreateFirstUserRequest, CreateFirstUserResponse, CreateTokenRequest, CreateUserRequestWithOrgs,
    GenerateAPIKeyResponse, GetUsersResponse, LoginWithPasswordRequest, LoginWithPasswordResponse,
    Response, ValidationError,
};
use uuid::Uuid;

use super::{Json, QueryMap, json};
use crate::auth::{self, SESSION_COOKIE, Session};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{ApiKeyRow, UserRow};
use crate::views;

/// Resolves `{user}`: `me`, a UUID or a username.
pub(crate) async fn resolve_user(
    state: &AppState,
    session: &Session,
    user: &str,
) -> Result<UserRow> {
    if user == "me" {
        return Ok(session.user.clone());
    }
    let found = match Uuid::parse_str(user) {
        Ok(id) => state.store.user_by_id(id).await?,
        Err(_) => state.store.user_by_username(user).await?,
    };
    found.ok_or(Error::NotFound)
}

/// Resolves `{user}` for reading or acting on a user: members reach only themselves (anyone
/// else is Coder's 404, as for every resource the caller cannot read); owners reach everyone.
pub(crate) async fn resolve_self_or_owner(
    state: &AppState,
    session: &Session,
    user: &str,
) -> Result<UserRow> {
    let u = resolve_user(state, session, user).await?;
    if u.id != session.user.id && !session.is_owner() {
        return Err(Error::NotFound);
    }
    Ok(u)
}

fn validate_username(field: &str, v: &str, out: &mut Vec<ValidationError>) {
    let ok = !v.is_empty()
        && v.len() <= 32
        && v.split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if !ok {
        out.push(ValidationError {
            field: field.to_owned(),
            detail: format!("Validation failed for tag \"username\" with value: {v:?}"),
        });
    }
}

fn validate_email(v: &str, out: &mut Vec<ValidationError>) {
    let ok = v
        .split_once('@')
        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !v.contains(char::is_whitespace));
    if !ok {
        out.push(ValidationError {
            field: "email".to_owned(),
            detail: if v.is_empty() {
                "Validation failed for tag \"required\" with value: \"\"".to_owned()
            } else {
                format!("Validation failed for tag \"email\" with value: {v:?}")
            },
        });
    }
}

fn validate_password(v: &str) -> Result<()> {
    if v.chars().count() < 8 {
        return Err(Error::BadRequest {
            message: "Password not strong enough!".to_owned(),
            detail: "password must be at least 8 characters".to_owned(),
            validations: vec![ValidationError {
                field: "password".to_owned(),
                detail: "password must be at least 8 characters".to_owned(),
            }],
        });
    }
    Ok(())
}

fn new_user(
    email: &str,
    username: &str,
    name: &str,
    hashed: String,
    login_type: &str,
    roles: Vec<String>,
) -> UserRow {
    let now = Utc::now();
    UserRow {
        id: Uuid::new_v4(),
        username: username.to_owned(),
        email: email.to_owned(),
        name: name.to_owned(),
        hashed_password: hashed,
        status: "active".to_owned(),
        login_type: login_type.to_owned(),
        roles,
        created_at: now,
        updated_at: now,
        last_seen_at: now,
    }
}

/// `GET /users/first`.
pub(crate) async fn first_exists(State(state): State<AppState>) -> Result<HttpResponse> {
    if state.store.count_users().await? > 0 {
        Ok(json(
            StatusCode::OK,
            &Response::message("The initial user has already been created!"),
        ))
    } else {
        Ok(json(
            StatusCode::NOT_FOUND,
            &Response::message("The initial user has not been created!"),
        ))
    }
}

/// `POST /users/first`.
pub(crate) async fn create_first(
    State(state): State<AppState>,
    Json(req): Json<CreateFirstUserRequest>,
) -> Result<HttpResponse> {
    let mut problems = Vec::new();
    validate_email(&req.email, &mut problems);
    validate_username("username", &req.username, &mut problems);
    if !problems.is_empty() {
        return Err(Error::validations(problems));
    }
    validate_password(&req.password)?;
    if state.store.count_users().await? > 0 {
        return Err(Error::conflict(
            "The initial user has already been created.",
        ));
    }
    let hashed = state.password_checks.hash(req.password.clone()).await?;
    let user = new_user(
        &req.email,
        &req.username,
        &req.name,
        hashed,
        "password",
        vec!["owner".to_owned()],
    );
    let created = state
        .store
        .create_user(&user, state.default_org_id, true)
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                Error::conflict("The initial user has already been created.")
            } else {
                e
            }
        })?;
    if !created {
        return Err(Error::conflict(
            "The initial user has already been created.",
        ));
    }
    Ok(json(
        StatusCode::CREATED,
        &CreateFirstUserResponse {
            user_id: user.id,
            organization_id: state.default_org_id,
        },
    ))
}

/// `POST /users/login`.
pub(crate) async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginWithPasswordRequest>,
) -> Result<HttpResponse> {
    let mut problems = Vec::new();
    validate_email(&req.email, &mut problems);
    if req.password.is_empty() {
        problems.push(ValidationError {
            field: "password".to_owned(),
            detail: "Validation failed for tag \"required\" with value: \"\"".to_owned(),
        });
    }
    if !problems.is_empty() {
        return Err(Error::validations(problems));
    }
    let key = auth::login_attempt_key(&req.email);
    count_login_attempt(&state, &key).await?;
    let user = state.store.user_by_email(&req.email).await?;
    let stored = user
        .as_ref()
        .map(|u| u.hashed_password.clone())
        .filter(|h| !h.is_empty());
    // Unknown users are verified too (against a dummy hash): the answer takes as long.
    let ok = state
        .password_checks
        .verify(req.password.clone(), stored)
        .await?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            return Err(Error::Unauthorized(
                "Incorrect email or password.".to_owned(),
            ));
        }
    };
    if user.status == "suspended" {
        return Err(Error::Unauthorized(
            "Your account is suspended. Contact an admin to reactivate your account.".to_owned(),
        ));
    }
    state.store.reset_login_attempts(&key).await?;
    let token = issue_key(
        &state,
        user.id,
        "password",
        "",
        state.config.session_lifetime.as_secs() as i64,
    )
    .await?;
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
    let mut resp = json(
        StatusCode::CREATED,
        &LoginWithPasswordResponse {
            session_token: token,
        },
    );
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Counts a login attempt for `key` before its password is checked; `429` once the window's
/// allowance is used up.
async fn count_login_attempt(state: &AppState, key: &str) -> Result<()> {
    let now = Utc::now();
    let window = state.config.login_window;
    let counted = state.store.count_login_attempt(key, now, window).await?;
    if counted.attempts <= i64::from(state.config.max_failed_logins) {
        return Ok(());
    }
    let ends = counted.window_start + chrono::Duration::from_std(window).unwrap_or_default();
    let wait = (ends - now).num_seconds().max(0) + 1;
    Err(Error::TooManyRequests(format!(
        "Too many failed login attempts. Try again in {wait} seconds."
    )))
}

async fn issue_key(
    state: &AppState,
    user_id: Uuid,
    login_type: &str,
    name: &str,
    lifetime_seconds: i64,
) -> Result<String> {
    let (id, secret, token) = auth::generate_api_key();
    let now = Utc::now();
    state
        .store
        .insert_api_key(&ApiKeyRow {
            id,
            hashed_secret: auth::hash_secret(&secret),
            user_id,
            login_type: login_type.to_owned(),
            token_name: name.to_owned(),
            scope: "all".to_owned(),
            lifetime_seconds,
            expires_at: now + chrono::Duration::seconds(lifetime_seconds),
            last_used: now,
            created_at: now,
            updated_at: now,
        })
        .await?;
    Ok(token)
}

/// `POST /users/logout`.
pub(crate) async fn logout(
    State(state): State<AppState>,
    session: Session,
) -> Result<HttpResponse> {
    state.store.delete_api_key(&session.key_id).await?;
    let mut resp = json(StatusCode::OK, &Response::message("Logged out!"));
    if let Ok(v) = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax").parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `GET /users/{user}`: a member reads only themselves.
pub(crate) async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(user): Path<String>,
) -> Result<HttpResponse> {
    let u = resolve_self_or_owner(&state, &session, &user).await?;
    Ok(json(StatusCode::OK, &views::user(&state.store, &u).await?))
}

/// `PUT /users/{user}/status/suspend`: owners suspend a user (never themselves); a suspended
/// user's sessions and tokens stop working until they are activated again.
pub(crate) async fn suspend(
    State(state): State<AppState>,
    session: Session,
    Path(user): Path<String>,
) -> Result<HttpResponse> {
    set_status(&state, &session, &user, "suspended").await
}

/// `PUT /users/{user}/status/activate`.
pub(crate) async fn activate(
    State(state): State<AppState>,
    session: Session,
    Path(user): Path<String>,
) -> Result<HttpResponse> {
    set_status(&state, &session, &user, "active").await
}

async fn set_status(
    state: &AppState,
    session: &Session,
    user: &str,
    status: &str,
) -> Result<HttpResponse> {
    let u = resolve_self_or_owner(state, session, user).await?;
    if !session.is_owner() {
        return Err(Error::Forbidden(
            "You don't have permission to change users' status.".to_owned(),
        ));
    }
    if u.id == session.user.id && status == "suspended" {
        return Err(Error::bad_request("You cannot suspend yourself."));
    }
    state
        .store
        .set_user_status(u.id, status, Utc::now())
        .await?;
    let u = state.store.user_by_id(u.id).await?.ok_or(Error::NotFound)?;
    Ok(json(StatusCode::OK, &views::user(&state.store, &u).await?))
}

/// `GET /users?q=`: owners list everyone; a member, whom Coder's RBAC lets read only their
/// own user, lists only themselves (`count` counts what they see).
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    q: QueryMap,
) -> Result<HttpResponse> {
    let search = q
        .get("q")
        .map(|q| {
            q.split_whitespace()
                .map(|t| t.strip_prefix("search:").unwrap_or(t))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let mut rows = state.store.list_users(&search).await?;
    if !session.is_owner() {
        rows.retain(|u| u.id == session.user.id);
    }
    let mut users = Vec::with_capacity(rows.len());
    for u in &rows {
        users.push(views::user(&state.store, u).await?);
    }
    Ok(json(
        StatusCode::OK,
        &GetUsersResponse {
            count: users.len() as i64,
            users,
        },
    ))
}

/// `POST /users`: owners create users.
pub(crate) async fn create(
    State(state): State<AppState>,
    session: Session,
    Json(req): Json<CreateUserRequestWithOrgs>,
) -> Result<HttpResponse> {
    if !session.is_owner() {
        return Err(Error::Forbidden(
            "You don't have permission to create users.".to_owned(),
        ));
    }
    let mut problems = Vec::new();
    validate_email(&req.email, &mut problems);
    validate_username("username", &req.username, &mut problems);
    if !problems.is_empty() {
        return Err(Error::validations(problems));
    }
    let login_type = match req.login_type.as_str() {
        "" | "password" => "password",
        "none" => "none",
        other => {
            return Err(Error::validation(
                "login_type",
                format!("unsupported login type {other:?}"),
            ));
        }
    };
    let hashed = if login_type == "password" {
        validate_password(&req.password)?;
        state.password_checks.hash(req.password.clone()).await?
    } else {
        String::new()
    };
    if state.store.user_by_username(&req.username).await?.is_some() {
        return Err(Error::conflict(format!(
            "A user with username {:?} already exists.",
            req.username
        )));
    }
    if state.store.user_by_email(&req.email).await?.is_some() {
        return Err(Error::conflict(format!(
            "A user with email {:?} already exists.",
            req.email
        )));
    }
    let org_id = match req.organization_ids.first() {
        Some(id) => {
            state
                .store
                .org(&id.to_string())
                .await?
                .ok_or(Error::NotFound)?
                .id
        }
        None => state.default_org_id,
    };
    let user = new_user(
        &req.email,
        &req.username,
        &req.name,
        hashed,
        login_type,
        Vec::new(),
    );
    state
        .store
        .create_user(&user, org_id, false)
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                Error::conflict("A user with that username or email already exists.")
            } else {
                e
            }
        })?;
    Ok(json(
        StatusCode::CREATED,
        &views::user(&state.store, &user).await?,
    ))
}

/// `POST /users/{user}/keys`: a session-type key with the default lifetime.
pub(crate) async fn create_session_key(
    State(state): State<AppState>,
    session: Session,
    Path(user): Path<String>,
) -> Result<HttpResponse> {
    let u = resolve_self_or_owner(&state, &session, &user).await?;
    let key = issue_key(
        &state,
        u.id,
        "password",
        "",
        state.config.session_lifetime.as_secs() as i64,
    )
    .await?;
    Ok(json(StatusCode::CREATED, &GenerateAPIKeyResponse { key }))
}

/// `POST /users/{user}/keys/tokens`.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    session: Session,
    Path(user): Path<String>,
    Json(req): Json<CreateTokenRequest>,
) -> Result<HttpResponse> {
    let u = resolve_self_or_owner(&state, &session, &user).await?;
    let max = state.config.max_token_lifetime.as_secs() as i64;
    if req.lifetime < 0 {
        return Err(Error::validation("lifetime", "lifetime must be positive"));
    }
    let lifetime = if req.lifetime == 0 {
        max
    } else {
        req.lifetime / 1_000_000_000
    };
    if lifetime > max {
        return Err(Error::bad_request_detail(
            "Failed to validate create API key request.",
            format!("lifetime must be less than {}h", max / 3600),
        ));
    }
    if lifetime < 1 {
        return Err(Error::validation(
            "lifetime",
            "lifetime must be at least one second",
        ));
    }
    let name = if req.token_name.is_empty() {
        format!("token-{}", &Uuid::new_v4().simple().to_string()[..8])
    } else {
        req.token_name.clone()
    };
    let key = issue_key(&state, u.id, "token", &name, lifetime)
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                Error::conflict(format!("A token with name {name:?} already exists."))
            } else {
                e
            }
        })?;
    Ok(json(StatusCode::CREATED, &GenerateAPIKeyResponse { key }))
}

/// `GET /users/{user}/keys/tokens`.
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    session: Session,
    Path(user): Path<String>,
) -> Result<HttpResponse> {
    let u = resolve_self_or_owner(&state, &session, &user).await?;
    let keys: Vec<_> = state
        .store
        .list_tokens(u.id)
        .await?
        .iter()
        .map(views::api_key)
        .collect();
    Ok(json(StatusCode::OK, &keys))
}

async fn owned_key(
    state: &AppState,
    session: &Session,
    user: &str,
    keyid: &str,
) -> Result<ApiKeyRow> {
    let u = resolve_self_or_owner(state, session, user).await?;
    match state.store.api_key(keyid).await? {
        Some(k) if k.user_id == u.id => Ok(k),
        _ => Err(Error::NotFound),
    }
}

/// `GET /users/{user}/keys/{keyid}`.
pub(crate) async fn get_key(
    State(state): State<AppState>,
    session: Session,
    Path((user, keyid)): Path<(String, String)>,
) -> Result<HttpResponse> {
    let k = owned_key(&state, &session, &user, &keyid).await?;
    Ok(json(StatusCode::OK, &views::api_key(&k)))
}

/// `DELETE /users/{user}/keys/{keyid}`.
pub(crate) async fn delete_key(
    State(state): State<AppState>,
    session: Session,
    Path((user, keyid)): Path<(String, String)>,
) -> Result<HttpResponse> {
    let k = owned_key(&state, &session, &user, &keyid).await?;
    state.store.delete_api_key(&k.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
