//! Template versions (created from an uploaded file, imported by a job) and templates.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use chrono::Utc;
use coder_core::build::JobEvent;
use coder_core::model::{
    CreateTemplateRequest, CreateTemplateVersionRequest, ProvisionerJobInput, ProvisionerJobStatus,
    ProvisionerJobType, ProvisionerStorageMethod, ProvisionerType, Response,
    UpdateActiveTemplateVersion, UpdateTemplateMeta,
};
use rand::Rng;
use uuid::Uuid;

use super::orgs::resolve_org;
use super::{Json, QueryMap, json, parse_uuid};
use crate::auth::Session;
use crate::error::{Error, Result};
use crate::pubsub::Event;
use crate::state::AppState;
use crate::store::{JobInsert, TemplateRow, TemplateSettings, VersionRow};
use crate::views;

fn require_template_admin(session: &Session) -> Result<()> {
    if session.is_owner() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "You don't have permission to manage templates.".to_owned(),
        ))
    }
}

fn valid_version_name(name: &str) -> bool {
    name.len() <= 64
        && !name.is_empty()
        && name
            .split(['_', '.', '-'])
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn valid_template_name(name: &str) -> bool {
    name.len() <= 32
        && !name.is_empty()
        && name
            .split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn generated_name() -> String {
    const ADJ: &[&str] = &[
        "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "kind", "lucid", "quirky",
    ];
    const NOUN: &[&str] = &[
        "turing", "hopper", "lovelace", "knuth", "ritchie", "torvalds", "liskov", "dijkstra",
    ];
    let mut rng = rand::thread_rng();
    format!(
        "{}_{}{}",
        ADJ[rng.gen_range(0..ADJ.len())],
        NOUN[rng.gen_range(0..NOUN.len())],
        rng.gen_range(0..10)
    )
}

pub(crate) async fn load_version(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<VersionRow> {
    let id = parse_uuid(id, "template version id")?;
    let v = state.store.version(id).await?.ok_or(Error::NotFound)?;
    if !session.is_owner()
        && !state
            .store
            .user_org_ids(session.user.id)
            .await?
            .contains(&v.organization_id)
    {
        return Err(Error::NotFound);
    }
    Ok(v)
}

pub(crate) async fn load_template(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<TemplateRow> {
    let id = parse_uuid(id, "template id")?;
    let t = state.store.template(id).await?.ok_or(Error::NotFound)?;
    if !session.is_owner()
        && !state
            .store
            .user_org_ids(session.user.id)
            .await?
            .contains(&t.organization_id)
    {
        return Err(Error::NotFound);
    }
    Ok(t)
}

/// `POST /organizations/{org}/templateversions`.
pub(crate) async fn create_version(
    State(state): State<AppState>,
    session: Session,
    Path(org): Path<String>,
    Json(req): Json<CreateTemplateVersionRequest>,
) -> Result<HttpResponse> {
    let org = resolve_org(&state, &session, &org).await?;
    require_template_admin(&session)?;
    if req.storage_method != ProvisionerStorageMethod::File {
        return Err(Error::validation(
            "storage_method",
            "the storage method must be \"file\"",
        ));
    }
    if let Err(message) = state.provisioners.get(&req.provisioner) {
        return Err(Error::validation("provisioner", message));
    }
    let file = state.store.file(req.file_id).await?;
    if !file.is_some_and(|f| f.created_by == session.user.id || session.is_owner()) {
        return Err(Error::validation(
            "file_id",
            format!("file {} not found", req.file_id),
        ));
    }
    if let Some(t) = req.template_id {
        match state.store.template(t).await? {
            Some(t) if t.organization_id == org.id => {}
            _ => {
                return Err(Error::validation(
                    "template_id",
                    format!("template {t} not found"),
                ));
            }
        }
    }
    let name = if req.name.is_empty() {
        generated_name()
    } else {
        req.name.clone()
    };
    if !valid_version_name(&name) {
        return Err(Error::validation(
            "name",
            format!("Validation failed for tag \"template_version_name\" with value: {name:?}"),
        ));
    }
    if let Some(t) = req.template_id
        && state
            .store
            .list_versions(t)
            .await?
            .iter()
            .any(|v| v.name == name)
    {
        return Err(Error::conflict(format!(
            "A template version with name {name:?} already exists for this template."
        )));
    }
    let now = Utc::now();
    let version_id = Uuid::new_v4();
    let job = JobInsert {
        id: Uuid::new_v4(),
        organization_id: org.id,
        initiator_id: session.user.id,
        provisioner: ProvisionerType::Process,
        file_id: req.file_id,
        job_type: ProvisionerJobType::TemplateVersionImport,
        input: ProvisionerJobInput {
            template_version_id: Some(version_id),
            ..Default::default()
        },
    }
    .into_row(now);
    let version = VersionRow {
        id: version_id,
        template_id: req.template_id,
        organization_id: org.id,
        name,
        message: req.message.clone(),
        readme: String::new(),
        job_id: job.id,
        created_by: session.user.id,
        archived: false,
        parameters: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    state.store.create_version(&version, &job).await?;
    state.job_queued();
    Ok(json(
        StatusCode::CREATED,
        &views::version(&state.store, &version).await?,
    ))
}

/// `GET /templateversions/{id}`.
pub(crate) async fn get_version(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let v = load_version(&state, &session, &id).await?;
    Ok(json(
        StatusCode::OK,
        &views::version(&state.store, &v).await?,
    ))
}

/// `PATCH /templateversions/{id}/cancel`.
pub(crate) async fn cancel_version(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let v = load_version(&state, &session, &id).await?;
    require_template_admin(&session)?;
    cancel_job(&state, v.job_id).await
}

/// Requests cancellation of a job: `400` once it is complete or already canceling.
pub(crate) async fn cancel_job(state: &AppState, job_id: Uuid) -> Result<HttpResponse> {
    let job = state.store.job(job_id).await?.ok_or(Error::NotFound)?;
    if job.status.is_terminal() {
        return Err(Error::bad_request("Job has already completed!"));
    }
    if job.status == ProvisionerJobStatus::Canceling {
        return Err(Error::bad_request(
            "Job has already been marked as canceled!",
        ));
    }
    state
        .store
        .job_event(job_id, JobEvent::CancelRequested, "", Utc::now())
        .await?;
    state.events.publish(Event::JobCancelRequested(job_id));
    state.events.publish(Event::Job(job_id));
    if let Some(b) = state.store.build_by_job(job_id).await? {
        state.events.publish(Event::Workspace(b.workspace_id));
    }
    Ok(json(
        StatusCode::OK,
        &Response::message("Job has been marked as canceled..."),
    ))
}

async fn completed_version(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<(VersionRow, crate::store::JobRow)> {
    let v = load_version(state, session, id).await?;
    let job = state.store.job(v.job_id).await?.ok_or(Error::NotFound)?;
    if !job.status.is_terminal() {
        return Err(Error::bad_request("Job hasn't completed!"));
    }
    Ok((v, job))
}

/// `GET /templateversions/{id}/resources`.
pub(crate) async fn version_resources(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let (_, job) = completed_version(&state, &session, &id).await?;
    Ok(json(
        StatusCode::OK,
        &views::resources(&job.resources, Utc::now()),
    ))
}

/// `GET /templateversions/{id}/rich-parameters`.
pub(crate) async fn version_parameters(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let (v, _) = completed_version(&state, &session, &id).await?;
    Ok(json(StatusCode::OK, &v.parameters))
}

fn non_negative(field: &str, v: Option<i64>) -> Result<()> {
    match v {
        Some(n) if n < 0 => Err(Error::validation(field, "Must be a positive integer.")),
        _ => Ok(()),
    }
}

/// `POST /organizations/{org}/templates` (`201`).
pub(crate) async fn create(
    State(state): State<AppState>,
    session: Session,
    Path(org): Path<String>,
    Json(req): Json<CreateTemplateRequest>,
) -> Result<HttpResponse> {
    let org = resolve_org(&state, &session, &org).await?;
    require_template_admin(&session)?;
    if !valid_template_name(&req.name) {
        return Err(Error::validation(
            "name",
            format!(
                "Validation failed for tag \"template_name\" with value: {:?}",
                req.name
            ),
        ));
    }
    if req.description.len() > 128 {
        return Err(Error::validation(
            "description",
            "Must be less than 128 bytes.",
        ));
    }
    for (field, v) in [
        ("default_ttl_ms", req.default_ttl_ms),
        ("activity_bump_ms", req.activity_bump_ms),
        ("failure_ttl_ms", req.failure_ttl_ms),
        ("dormant_ttl_ms", req.dormant_ttl_ms),
        ("delete_ttl_ms", req.delete_ttl_ms),
    ] {
        non_negative(field, v)?;
    }
    let version = state
        .store
        .version(req.template_version_id)
        .await?
        .filter(|v| v.organization_id == org.id)
        .ok_or_else(|| {
            Error::validation(
                "template_version_id",
                format!("template version {} not found", req.template_version_id),
            )
        })?;
    if version.template_id.is_some() {
        return Err(Error::validation(
            "template_version_id",
            "the template version is already used by a template",
        ));
    }
    let job = state
        .store
        .job(version.job_id)
        .await?
        .ok_or(Error::NotFound)?;
    if job.status != ProvisionerJobStatus::Succeeded {
        return Err(Error::validation(
            "template_version_id",
            format!(
                "the template version's import job has not succeeded (status: {})",
                job.status
            ),
        ));
    }
    if state
        .store
        .template_by_name(org.id, &req.name)
        .await?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "Template with name {:?} already exists.",
            req.name
        )));
    }
    let mut settings = TemplateSettings::default();
    if let Some(v) = req.default_ttl_ms {
        settings.default_ttl_ms = v;
    }
    if let Some(v) = req.activity_bump_ms {
        settings.activity_bump_ms = v;
    }
    if let Some(v) = req.autostop_requirement {
        settings.autostop_requirement = v;
    }
    if let Some(v) = req.autostart_requirement {
        settings.autostart_requirement = v;
    }
    if let Some(v) = req.allow_user_autostart {
        settings.allow_user_autostart = v;
    }
    if let Some(v) = req.allow_user_autostop {
        settings.allow_user_autostop = v;
    }
    if let Some(v) = req.allow_user_cancel_workspace_jobs {
        settings.allow_user_cancel_workspace_jobs = v;
    }
    if let Some(v) = req.failure_ttl_ms {
        settings.failure_ttl_ms = v;
    }
    if let Some(v) = req.dormant_ttl_ms {
        settings.time_til_dormant_ms = v;
    }
    if let Some(v) = req.delete_ttl_ms {
        settings.time_til_dormant_autodelete_ms = v;
    }
    if let Some(v) = req.require_active_version {
        settings.require_active_version = v;
    }
    let now = Utc::now();
    let t = TemplateRow {
        id: Uuid::new_v4(),
        organization_id: org.id,
        name: req.name.clone(),
        display_name: req.display_name.clone(),
        description: req.description.clone(),
        icon: req.icon.clone(),
        provisioner: ProvisionerType::Process,
        active_version_id: version.id,
        created_by: session.user.id,
        settings,
        created_at: now,
        updated_at: now,
    };
    state.store.create_template(&t).await?;
    Ok(json(
        StatusCode::CREATED,
        &views::template(&state.store, &t).await?,
    ))
}

async fn template_list(
    state: &AppState,
    session: &Session,
    org: Option<Uuid>,
    q: &QueryMap,
) -> Result<HttpResponse> {
    let mine = state.store.user_org_ids(session.user.id).await?;
    let name_filter = q.get("q").map(|q| {
        q.split_whitespace()
            .map(|t| {
                t.strip_prefix("name:")
                    .or_else(|| t.strip_prefix("exact_name:"))
                    .unwrap_or(t)
                    .to_lowercase()
            })
            .collect::<Vec<_>>()
    });
    let mut out = Vec::new();
    for t in state.store.list_templates(org).await? {
        if !session.is_owner() && !mine.contains(&t.organization_id) {
            continue;
        }
        if let Some(names) = &name_filter
            && !names
                .iter()
                .all(|n| t.name.to_lowercase().contains(n.as_str()))
        {
            continue;
        }
        out.push(views::template(&state.store, &t).await?);
    }
    Ok(json(StatusCode::OK, &out))
}

/// `GET /templates`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    q: QueryMap,
) -> Result<HttpResponse> {
    template_list(&state, &session, None, &q).await
}

/// `GET /organizations/{org}/templates`.
pub(crate) async fn list_org(
    State(state): State<AppState>,
    session: Session,
    Path(org): Path<String>,
    q: QueryMap,
) -> Result<HttpResponse> {
    let org = resolve_org(&state, &session, &org).await?;
    template_list(&state, &session, Some(org.id), &q).await
}

/// `GET /organizations/{org}/templates/{name}`.
pub(crate) async fn get_by_name(
    State(state): State<AppState>,
    session: Session,
    Path((org, name)): Path<(String, String)>,
) -> Result<HttpResponse> {
    let org = resolve_org(&state, &session, &org).await?;
    let t = state
        .store
        .template_by_name(org.id, &name)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(json(
        StatusCode::OK,
        &views::template(&state.store, &t).await?,
    ))
}

/// `GET /templates/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let t = load_template(&state, &session, &id).await?;
    Ok(json(
        StatusCode::OK,
        &views::template(&state.store, &t).await?,
    ))
}

/// `PATCH /templates/{id}`: metadata and schedule settings; `304` when nothing changes.
pub(crate) async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(req): Json<UpdateTemplateMeta>,
) -> Result<HttpResponse> {
    let t = load_template(&state, &session, &id).await?;
    require_template_admin(&session)?;
    for (field, v) in [
        ("default_ttl_ms", req.default_ttl_ms),
        ("activity_bump_ms", req.activity_bump_ms),
        ("failure_ttl_ms", req.failure_ttl_ms),
        ("time_til_dormant_ms", req.time_til_dormant_ms),
        (
            "time_til_dormant_autodelete_ms",
            req.time_til_dormant_autodelete_ms,
        ),
        (
            "time_til_autostop_notify_ms",
            req.time_til_autostop_notify_ms,
        ),
    ] {
        non_negative(field, v)?;
    }
    let mut next = t.clone();
    if let Some(name) = &req.name {
        if !valid_template_name(name) {
            return Err(Error::validation(
                "name",
                format!("Validation failed for tag \"template_name\" with value: {name:?}"),
            ));
        }
        next.name = name.clone();
    }
    if let Some(v) = &req.display_name {
        next.display_name = v.clone();
    }
    if let Some(v) = &req.description {
        if v.len() > 128 {
            return Err(Error::validation(
                "description",
                "Must be less than 128 bytes.",
            ));
        }
        next.description = v.clone();
    }
    if let Some(v) = &req.icon {
        next.icon = v.clone();
    }
    let s = &mut next.settings;
    macro_rules! set {
        ($($field:ident => $target:ident),* $(,)?) => {
            $( if let Some(v) = req.$field.clone() { s.$target = v; } )*
        };
    }
    set!(
        default_ttl_ms => default_ttl_ms,
        activity_bump_ms => activity_bump_ms,
        autostop_requirement => autostop_requirement,
        autostart_requirement => autostart_requirement,
        allow_user_autostart => allow_user_autostart,
        allow_user_autostop => allow_user_autostop,
        allow_user_cancel_workspace_jobs => allow_user_cancel_workspace_jobs,
        failure_ttl_ms => failure_ttl_ms,
        time_til_dormant_ms => time_til_dormant_ms,
        time_til_dormant_autodelete_ms => time_til_dormant_autodelete_ms,
        time_til_autostop_notify_ms => time_til_autostop_notify_ms,
        require_active_version => require_active_version,
        deprecation_message => deprecation_message,
    );
    if next == t {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    next.updated_at = Utc::now();
    state.store.update_template(&next).await?;
    Ok(json(
        StatusCode::OK,
        &views::template(&state.store, &next).await?,
    ))
}

/// `DELETE /templates/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let t = load_template(&state, &session, &id).await?;
    require_template_admin(&session)?;
    if state.store.count_template_workspaces(t.id).await? > 0 {
        return Err(Error::bad_request(
            "All workspaces must be deleted before a template can be removed.",
        ));
    }
    state.store.delete_template(t.id, Utc::now()).await?;
    Ok(json(
        StatusCode::OK,
        &Response::message("Template has been deleted!"),
    ))
}

/// `GET /templates/{id}/versions`.
pub(crate) async fn list_versions(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<HttpResponse> {
    let t = load_template(&state, &session, &id).await?;
    let mut out = Vec::new();
    for v in state.store.list_versions(t.id).await? {
        out.push(views::version(&state.store, &v).await?);
    }
    Ok(json(StatusCode::OK, &out))
}

/// `GET /templates/{id}/versions/{name}`.
pub(crate) async fn version_by_name(
    State(state): State<AppState>,
    session: Session,
    Path((id, name)): Path<(String, String)>,
) -> Result<HttpResponse> {
    let t = load_template(&state, &session, &id).await?;
    let v = state
        .store
        .list_versions(t.id)
        .await?
        .into_iter()
        .find(|v| v.name == name)
        .ok_or(Error::NotFound)?;
    Ok(json(
        StatusCode::OK,
        &views::version(&state.store, &v).await?,
    ))
}

/// `PATCH /templates/{id}/versions`: promote a version.
pub(crate) async fn set_active_version(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Json(req): Json<UpdateActiveTemplateVersion>,
) -> Result<HttpResponse> {
    let mut t = load_template(&state, &session, &id).await?;
    require_template_admin(&session)?;
    let v = state
        .store
        .version(req.id)
        .await?
        .filter(|v| v.template_id == Some(t.id))
        .ok_or_else(|| {
            Error::validation(
                "id",
                "The provided template version doesn't belong to the specified template.",
            )
        })?;
    let job = state.store.job(v.job_id).await?.ok_or(Error::NotFound)?;
    if job.status != ProvisionerJobStatus::Succeeded {
        return Err(Error::bad_request_detail(
            "Only versions that have been built successfully can be promoted.",
            format!("Attempted to promote a version with a {} build", job.status),
        ));
    }
    t.active_version_id = v.id;
    t.updated_at = Utc::now();
    state.store.update_template(&t).await?;
    Ok(json(
        StatusCode::OK,
        &Response::message("Updated the active template version!"),
    ))
}
