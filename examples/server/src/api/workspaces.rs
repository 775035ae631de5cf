//! Workspaces and their builds: create, read, search, build transitions, cancel, schedule.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::Utc;
use coder_core::build::{check_new_build, workspace_status};
use coder_core::model::{
    CreateWorkspaceBuildRequest, CreateWorkspaceRequest, ProvisionerJobInput, ProvisionerJobStatus,
    ProvisionerJobType, ProvisionerType, PutExtendWorkspaceRequest, Response,
    TemplateVersionParameter, UpdateWorkspaceAutostartRequest, UpdateWorkspaceRequest,
    UpdateWorkspaceTTLRequest, ValidationError, WorkspaceBuildParameter, WorkspaceTransition,
    WorkspacesResponse,
};
use uuid::Uuid;

use super::templates::cancel_job;
use super::users::{resolve_self_or_owner, resolve_user};
use super::{Json, QueryMap, json, parse_uuid};
use crate::auth::Session;
use crate::error::{Error, Result};
use crate::pubsub::Event;
use crate::schedule;
use crate::search::{parse_workspace_query, status_matches};
use crate::state::AppState;
use crate::store::{BuildRow, JobInsert, TemplateRow, ViewScope, WorkspaceRow};
use crate::views;

fn valid_workspace_name(name: &str) -> bool {
    name.len() <= 32
        && !name.is_empty()
        && name
            .split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Loads a workspace the caller may see (its owner, or a site owner); others get `404`.
pub(crate) async fn load_workspace(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<WorkspaceRow> {
    let id = parse_uuid(id, "workspace id")?;
    let ws = state.store.workspace(id).await?.ok_or(Error::NotFound)?;
    if ws.owner_id != session.user.id && !session.is_owner() {
        return Err(Error::NotFound);
    }
    Ok(ws)
}

async fn load_build(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<(BuildRow, WorkspaceRow)> {
    let id = parse_uuid(id, "workspace build id")?;
    let b = state.store.build(id).await?.ok_or(Error::NotFound)?;
    let ws = state
        .store
        .workspace(b.workspace_id)
        .await?
        .ok_or(Error::NotFound)?;
    if ws.owner_id != session.user.id && !session.is_owner() {
        return Err(Error::NotFound);
    }
    Ok((b, ws))
}

/// Merges and validates parameter values: the template's parameters, the previous build's
/// values, the new ones; defaults fill the rest; required ones must be present.
fn resolve_parameters(
    params: &[TemplateVersionParameter],
    previous: &[WorkspaceBuildParameter],
    given: &[WorkspaceBuildParameter],
) -> Result<Vec<WorkspaceBuildParameter>> {
    let mut problems = Vec::new();
    for g in given {
        if !params.iter().any(|p| p.name == g.name) {
            problems.push(ValidationError {
                field: g.name.clone(),
                detail: format!(
                    "parameter {:?} is not defined by the template version",
                    g.name
                ),
            });
        }
    }
    let prev: BTreeMap<&str, &str> = previous
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = given
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_str()))
        .collect();
    let mut out = Vec::new();
    for p in params {
        let before = prev.get(p.name.as_str()).copied().filter(|_| !p.ephemeral);
        let value = match (new.get(p.name.as_str()), before) {
            (Some(v), _) => (*v).to_owned(),
            (None, Some(v)) => v.to_owned(),
            (None, None) if !p.required => p.default_value.clone(),
            (None, None) => {
                problems.push(ValidationError {
                    field: p.name.clone(),
                    detail: format!("parameter {:?} is required but was not provided", p.name),
                });
                continue;
            }
        };
        if let Err(e) = p.validate(&value, before) {
            problems.push(ValidationError {
                field: p.name.clone(),
                detail: e.to_string(),
            });
            continue;
        }
        out.push(WorkspaceBuildParameter {
            name: p.name.clone(),
            value,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::BadRequest {
            message: "Unable to validate parameters.".to_owned(),
            detail: String::new(),
            validations: problems,
        })
    }
}

fn build_job(
    state: &AppState,
    org: Uuid,
    initiator: Uuid,
    file_id: Uuid,
    build_id: Uuid,
) -> crate::store::JobRow {
    let _ = state;
    JobInsert {
        id: Uuid::new_v4(),
        organization_id: org,
        initiator_id: initiator,
        provisioner: ProvisionerType::Process,
        file_id,
        job_type: ProvisionerJobType::WorkspaceBuild,
        input: ProvisionerJobInput {
            workspace_build_id: Some(build_id),
            ..Default::default()
        },
    }
    .into_row(Utc::now())
}

async fn succeeded_version_file(
    state: &AppState,
    version_id: Uuid,
    field: &str,
) -> Result<(crate::store::VersionRow, Uuid)> {
    let version = state.store.version(version_id).await?.ok_or_else(|| {
        Error::validation(field, format!("template version {version_id} not found"))
    })?;
    let job = state
        .store
        .job(version.job_id)
        .await?
        .ok_or(Error::NotFound)?;
    if job.status != ProvisionerJobStatus::Succeeded {
        return Err(Error::bad_request_detail(
            "The provided template version is not ready.",
            format!("its import job is {}", job.status),
        ));
    }
    Ok((version, job.file_id))
}

/// A workspace name Coder accepts, or its validation error on `name`.
fn check_workspace_name(name: &str) -> Result<()> {
    if valid_workspace_name(name) {
        return Ok(());
    }
    Err(Error::validation(
        "name",
        format!("Validation failed for tag \"workspace_name\" with value: {name:?}"),
    ))
}

/// `POST /users/{user}/workspaces` (`201`): workspace, first build and job in one transaction.
pub(crate) async fn create(
    State(state): State<AppState>,
    session: Session,
    Path(user): Path<String>,
    Json(req): Json<CreateWorkspaceRequest>,
) -> Result<HttpResponse> {
    let owner = resolve_self_or_owner(&state, &session, &user).await?;
    check_workspace_name(&req.name)?;
    let (template, version_id) = match (req.template_id, req.template_version_id) {
        (Some(_), Some(_)) => {
            return Err(Error::bad_request(
                "Only one of template_id or template_version_id may be specified.",
            ));
        }
        (None, None) => {
            return Err(Error::bad_request(
                "Either template_id or template_version_id must be specified.",
            ));
        }
        (Some(t), None) => {
            let t = state.store.template(t).await?.ok_or_else(|| {
                Error::validation("template_id", format!("template {t} not found"))
            })?;
            let v = t.active_version_id;
            (t, v)
        }
        (None, Some(v)) => {
            let version = state.store.version(v).await?.ok_or_else(|| {
                Error::validation(
                    "template_version_id",
                    format!("template version {v} not found"),
                )
            })?;
            let t = match version.template_id {
                Some(t) => state.store.template(t).await?,
                None => None,
            }
            .ok_or_else(|| {
                Error::validation(
                    "template_version_id",
                    "the template version has no template",
                )
            })?;
            (t, v)
        }
    };
    if !state
        .store
        .user_org_ids(owner.id)
        .await?
        .contains(&template.organization_id)
    {
        return Err(Error::Forbidden(
            "The owner is not a member of the template's organization.".to_owned(),
        ));
    }
    if !template.settings.deprecation_message.is_empty() {
        return Err(Error::validation(
            "template_id",
            format!(
                "Template {:?} has been deprecated, and cannot be used to create a new workspace.",
                template.name
            ),
        ));
    }
    let ttl_ms = schedule::validate_ttl(req.ttl_ms)?;
    let ttl_ms = if template.settings.allow_user_autostop {
        ttl_ms.or(Some(template.settings.default_ttl_ms).filter(|t| *t > 0))
    } else {
        Some(template.settings.default_ttl_ms).filter(|t| *t > 0)
    };
    let autostart = schedule::validate_autostart(req.autostart_schedule.as_deref())?;
    let (version, file_id) =
        succeeded_version_file(&state, version_id, "template_version_id").await?;
    let parameters = resolve_parameters(&version.parameters, &[], &req.rich_parameter_values)?;
    let now = Utc::now();
    let ws = WorkspaceRow {
        id: Uuid::new_v4(),
        owner_id: owner.id,
        organization_id: template.organization_id,
        template_id: template.id,
        name: req.name.clone(),
        autostart_schedule: autostart,
        ttl_ms,
        automatic_updates: req
            .automatic_updates
            .as_ref()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_else(|| "never".to_owned()),
        deleted: false,
        last_used_at: now,
        created_at: now,
        updated_at: now,
    };
    let build_id = Uuid::new_v4();
    let job = build_job(
        &state,
        template.organization_id,
        session.user.id,
        file_id,
        build_id,
    );
    let build = BuildRow {
        id: build_id,
        workspace_id: ws.id,
        build_number: 1,
        template_version_id: version.id,
        transition: WorkspaceTransition::Start,
        initiator_id: session.user.id,
        job_id: job.id,
        reason: "initiator".to_owned(),
        deadline: None,
        max_deadline: None,
        provisioner_state: Vec::new(),
        parameters,
        created_at: now,
        updated_at: now,
    };
    state.store.create_workspace(&ws, &build, &job).await?;
    state.job_queued();
    state.events.publish(Event::Workspace(ws.id));
    Ok(json(
        StatusCode::CREATED,
        &views::workspace(&state.store, &ws, state.config.allow_workspace_renames).await?,
    ))
}

/// `GET /workspaces?q=&limit=&offset=`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    q: QueryMap,
) -> Result<HttpResponse> {
    let filter = parse_workspace_query(q.get("q").map(String::as_str).unwrap_or(""))?;
    let owner_id = match filter.owner.as_deref() {
        None => None,
        Some(name) => match resolve_user(&state, &session, name).await {
            Ok(u) => Some(u.id),
            Err(Error::NotFound) => {
                return Ok(json(StatusCode::OK, &WorkspacesResponse::default()));
            }
            Err(e) => return Err(e),
        },
    };
    // Members only ever see their own workspaces.
    let owner_id = if session.is_owner() {
        owner_id
    } else {
        match owner_id {
            Some(o) if o != session.user.id => {
                return Ok(json(StatusCode::OK, &WorkspacesResponse::default()));
            }
            _ => Some(session.user.id),
        }
    };
    let parse_num = |key: &str| -> Result<usize> {
        match q.get(key) {
            None => Ok(0),
            Some(v) => v.parse().map_err(|_| {
                Error::validation(
                    key,
                    format!("Query param {key:?} must be a valid non-negative integer."),
                )
            }),
        }
    };
    let (limit, offset) = (parse_num("limit")?, parse_num("offset")?);
    let scope = match owner_id {
        Some(o) => ViewScope::Owner(o),
        None => ViewScope::All,
    };
    let mut all = Vec::new();
    for view in state.store.workspace_views(scope).await? {
        if filter
            .name
            .as_ref()
            .is_some_and(|n| !view.workspace.name.to_lowercase().contains(n.as_str()))
        {
            continue;
        }
        if filter.template.as_ref().is_some_and(|t| {
            view.template
                .as_ref()
                .is_none_or(|tm| tm.name.to_lowercase() != *t)
        }) {
            continue;
        }
        let w =
            views::workspace_from_view(&state.store, view, state.config.allow_workspace_renames)
                .await?;
        if filter
            .status
            .as_ref()
            .is_some_and(|s| !status_matches(s, w.latest_build.status.as_str()))
        {
            continue;
        }
        all.push(w);
    }
    let count = all.len() as i64;
    let page: Vec<_> = all
        .into_iter()
        .skip(offset)
        .take(if limit == 0 { usize::MAX } else { limit })
        .collect();
    Ok(json(
        StatusCode::OK,
        &WorkspacesResponse {
            workspaces: page,
            count,
        },
    ))
}

fn include_deleted(q: &QueryMap) -> bool {
    q.get("include_deleted").is_some_and(|v| v == "true")
}

/// `GET /workspaces/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<HttpResponse> {
    // One joined read: the view carries the workspace row the access check needs.
    let id = parse_uuid(&id, "workspace id")?;
    let view = state
        .store
        .workspace_views(ViewScope::Id(id))
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound)?;
    let ws = &view.workspace;
    if ws.owner_id != session.user.id && !session.is_owner() {
        return Err(Error::NotFound);
    }
    if ws.deleted && !include_deleted(&q) {
        return Err(Error::Gone(format!(
            "Workspace {:?} was deleted, you can view this workspace by specifying '?deleted=true' and trying again.",
            ws.id.to_string()
        )));
    }
    Ok(json(
        StatusCode::OK,
        &views::workspace_from_view(&state.store, view, state.config.allow_workspace_renames)
            .await?,
    ))
}

/// `PATCH /workspaces/{id}` (`204`): renames the workspace, where the deployment allows
/// renames (`--allow-workspace-renames`; Coder's default is not to).
pub(crate) async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(req): Json<UpdateWorkspaceRequest>,
) -> Result<HttpResponse> {
    let ws = load_workspace(&state, &session, &id).await?;
    if !state.config.allow_workspace_renames {
        return Err(Error::bad_request("Workspace renames are not allowed."));
    }
    check_workspace_name(&req.name)?;
    state
        .store
        .rename_workspace(ws.id, &req.name, Utc::now())
        .await?;
    state.events.publish(Event::Workspace(ws.id));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /users/{user}/workspace/{name}`.
pub(crate) async fn get_by_name(
    State(state): State<AppState>,
    session: Session,
    Path((user, name)): Path<(String, String)>,
    q: QueryMap,
) -> Result<HttpResponse> {
    let owner = resolve_self_or_owner(&state, &session, &user).await?;
    let ws = state
        .store
        .workspace_by_name(owner.id, &name)
        .await?
        .ok_or(Error::NotFound)?;
    if ws.deleted && !include_deleted(&q) {
        return Err(Error::NotFound);
    }
    Ok(json(
        StatusCode::OK,
        &views::workspace(&state.store, &ws, state.config.allow_workspace_renames).await?,
    ))
}

/// `POST /workspaces/{id}/builds` (`201`; `409` while a build is active).
pub(crate) async fn create_build(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(req): Json<CreateWorkspaceBuildRequest>,
) -> Result<HttpResponse> {
    let ws = load_workspace(&state, &session, &id).await?;
    if !matches!(
        req.transition,
        WorkspaceTransition::Start | WorkspaceTransition::Stop | WorkspaceTransition::Delete
    ) {
        return Err(Error::validation(
            "transition",
            format!(
                "Validation failed for tag \"oneof\" with value: {:?}",
                req.transition.as_str()
            ),
        ));
    }
    let template = state
        .store
        .template(ws.template_id)
        .await?
        .ok_or(Error::NotFound)?;
    let latest = state
        .store
        .latest_build(ws.id)
        .await?
        .ok_or(Error::NotFound)?;
    let version_id = match req.template_version_id {
        Some(v) => v,
        None if req.transition == WorkspaceTransition::Start
            && (template.settings.require_active_version || ws.automatic_updates == "always") =>
        {
            template.active_version_id
        }
        None => latest.template_version_id,
    };
    let (version, file_id) =
        succeeded_version_file(&state, version_id, "template_version_id").await?;
    if version.template_id != Some(template.id) {
        return Err(Error::bad_request(
            "template version doesn't match template",
        ));
    }
    let parameters = resolve_parameters(
        &version.parameters,
        &latest.parameters,
        &req.rich_parameter_values,
    )?;
    let now = Utc::now();
    let build_id = Uuid::new_v4();
    let job = build_job(
        &state,
        ws.organization_id,
        session.user.id,
        file_id,
        build_id,
    );
    let mut build = BuildRow {
        id: build_id,
        workspace_id: ws.id,
        build_number: 0,
        template_version_id: version.id,
        transition: req.transition.clone(),
        initiator_id: session.user.id,
        job_id: job.id,
        reason: req
            .reason
            .as_ref()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_else(|| "initiator".to_owned()),
        deadline: None,
        max_deadline: None,
        provisioner_state: Vec::new(),
        parameters,
        created_at: now,
        updated_at: now,
    };
    let transition = req.transition.clone();
    state
        .store
        .create_build(&mut build, &job, |latest| {
            let status = match latest {
                Some((b, job_status)) => workspace_status(job_status, &b.transition),
                None => return Ok(()),
            };
            check_new_build(&status, &transition).map_err(Error::from)
        })
        .await?;
    state.job_queued();
    state.events.publish(Event::Workspace(ws.id));
    Ok(json(
        StatusCode::CREATED,
        &views::build(&state.store, &build, &ws).await?,
    ))
}

/// `GET /workspaces/{id}/builds`: newest first.
pub(crate) async fn list_builds(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let ws = load_workspace(&state, &session, &id).await?;
    let mut out = Vec::new();
    for b in state.store.list_builds(ws.id).await? {
        out.push(views::build(&state.store, &b, &ws).await?);
    }
    Ok(json(StatusCode::OK, &out))
}

/// `GET /workspacebuilds/{id}`.
pub(crate) async fn get_build(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let (b, ws) = load_build(&state, &session, &id).await?;
    Ok(json(
        StatusCode::OK,
        &views::build(&state.store, &b, &ws).await?,
    ))
}

/// `GET /workspacebuilds/{id}/parameters`.
pub(crate) async fn build_parameters(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let (b, _) = load_build(&state, &session, &id).await?;
    Ok(json(StatusCode::OK, &b.parameters))
}

/// `PATCH /workspacebuilds/{id}/cancel?expect_status=running|pending`.
pub(crate) async fn cancel_build(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<HttpResponse> {
    let (b, ws) = load_build(&state, &session, &id).await?;
    let template = state.store.template(ws.template_id).await?;
    if !session.is_owner() && !template.is_some_and(|t| t.settings.allow_user_cancel_workspace_jobs)
    {
        return Err(Error::Forbidden(
            "User is not allowed to cancel workspace builds.".to_owned(),
        ));
    }
    let job = state.store.job(b.job_id).await?.ok_or(Error::NotFound)?;
    if let Some(expect) = q.get("expect_status") {
        if expect != "running" && expect != "pending" {
            return Err(Error::validation(
                "expect_status",
                "expect_status must be running or pending",
            ));
        }
        if job.status.as_str() != expect {
            return Err(Error::PreconditionFailed(format!(
                "Workspace build is not in the expected state: expected {expect}, got {}",
                job.status
            )));
        }
    }
    cancel_job(&state, b.job_id).await
}

/// `PUT /workspaces/{id}/ttl` (`204`).
pub(crate) async fn put_ttl(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(req): Json<UpdateWorkspaceTTLRequest>,
) -> Result<HttpResponse> {
    let (ws, template) = workspace_and_template(&state, &session, &id).await?;
    let ttl = schedule::validate_ttl(req.ttl_ms)?;
    if !template.settings.allow_user_autostop {
        return Err(Error::validation(
            "ttl_ms",
            "Custom autostop TTL is not allowed for workspaces using this template.",
        ));
    }
    save_schedule(&state, &ws, ws.autostart_schedule.as_deref(), ttl).await
}

/// `PUT /workspaces/{id}/autostart` (`204`).
pub(crate) async fn put_autostart(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(req): Json<UpdateWorkspaceAutostartRequest>,
) -> Result<HttpResponse> {
    let (ws, template) = workspace_and_template(&state, &session, &id).await?;
    let schedule = schedule::validate_autostart(req.schedule.as_deref())?;
    if schedule.is_some() && !template.settings.allow_user_autostart {
        return Err(Error::validation(
            "schedule",
            "Autostart is not allowed for workspaces using this template.",
        ));
    }
    save_schedule(&state, &ws, schedule.as_deref(), ws.ttl_ms).await
}

/// The workspace (as the caller may see it) and its template.
async fn workspace_and_template(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<(WorkspaceRow, TemplateRow)> {
    let ws = load_workspace(state, session, id).await?;
    let template = state
        .store
        .template(ws.template_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((ws, template))
}

/// Stores a workspace's schedule, tells its watchers, answers `204`.
async fn save_schedule(
    state: &AppState,
    ws: &WorkspaceRow,
    autostart: Option<&str>,
    ttl_ms: Option<i64>,
) -> Result<HttpResponse> {
    state
        .store
        .update_workspace_schedule(ws.id, autostart, ttl_ms, Utc::now())
        .await?;
    state.events.publish(Event::Workspace(ws.id));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /workspaces/{id}/extend`.
pub(crate) async fn put_extend(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(req): Json<PutExtendWorkspaceRequest>,
) -> Result<HttpResponse> {
    let ws = load_workspace(&state, &session, &id).await?;
    let b = state
        .store
        .latest_build(ws.id)
        .await?
        .ok_or(Error::NotFound)?;
    let job = state.store.job(b.job_id).await?.ok_or(Error::NotFound)?;
    let completed_at = job.completed_at.unwrap_or(job.created_at);
    let latest = coder_core::schedule::LatestBuild {
        transition: b.transition.clone(),
        job: match job.status {
            ProvisionerJobStatus::Succeeded => {
                coder_core::schedule::BuildJob::Succeeded { completed_at }
            }
            ProvisionerJobStatus::Failed | ProvisionerJobStatus::Canceled => {
                coder_core::schedule::BuildJob::Failed { completed_at }
            }
            _ => coder_core::schedule::BuildJob::InProgress,
        },
        deadline: b.deadline,
        max_deadline: b.max_deadline,
    };
    let now = Utc::now();
    schedule::validate_extend(&latest, req.deadline, now)?;
    state
        .store
        .set_build_deadline(b.id, req.deadline, now)
        .await?;
    state.events.publish(Event::Workspace(ws.id));
    Ok(json(
        StatusCode::OK,
        &Response::message(format!(
            "Deadline updated to {}.",
            req.deadline
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )),
    ))
}
