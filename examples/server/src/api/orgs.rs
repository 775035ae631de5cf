//! Organizations and their members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response as HttpResponse;
use coder_core::model::Organization;

use super::json;
use super::users::resolve_self_or_owner;
use crate::auth::Session;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::views;

/// Resolves `{organization}`: a UUID, a name, or `default`; only organizations the caller
/// belongs to (owners see all).
pub(crate) async fn resolve_org(
    state: &AppState,
    session: &Session,
    org: &str,
) -> Result<Organization> {
    let found = if org == "default" {
        state.store.default_org().await?
    } else {
        state.store.org(org).await?
    };
    let found = found.ok_or(Error::NotFound)?;
    if !session.is_owner()
        && !state
            .store
            .user_org_ids(session.user.id)
            .await?
            .contains(&found.id)
    {
        return Err(Error::NotFound);
    }
    Ok(found)
}

/// `GET /organizations`.
pub(crate) async fn list(State(state): State<AppState>, session: Session) -> Result<HttpResponse> {
    let mine = state.store.user_org_ids(session.user.id).await?;
    let orgs: Vec<_> = state
        .store
        .list_orgs()
        .await?
        .into_iter()
        .filter(|o| session.is_owner() || mine.contains(&o.id))
        .collect();
    Ok(json(StatusCode::OK, &orgs))
}

/// `GET /organizations/{org}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(org): Path<String>,
) -> Result<HttpResponse> {
    Ok(json(
        StatusCode::OK,
        &resolve_org(&state, &session, &org).await?,
    ))
}

/// `GET /organizations/{org}/members`.
pub(crate) async fn members(
    State(state): State<AppState>,
    session: Session,
    Path(org): Path<String>,
) -> Result<HttpResponse> {
    let org = resolve_org(&state, &session, &org).await?;
    let mut out = Vec::new();
    for (user_id, created, updated) in state.store.org_members(org.id).await? {
        if let Some(u) = state.store.user_by_id(user_id).await? {
            out.push(views::member(&org, &u, created, updated));
        }
    }
    Ok(json(StatusCode::OK, &out))
}

/// `GET /users/{user}/organizations`: a member reads only their own.
pub(crate) async fn user_orgs(
    State(state): State<AppState>,
    session: Session,
    Path(user): Path<String>,
) -> Result<HttpResponse> {
    let u = resolve_self_or_owner(&state, &session, &user).await?;
    let ids = state.store.user_org_ids(u.id).await?;
    let orgs: Vec<_> = state
        .store
        .list_orgs()
        .await?
        .into_iter()
        .filter(|o| ids.contains(&o.id))
        .collect();
    Ok(json(StatusCode::OK, &orgs))
}
