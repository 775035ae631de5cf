//! Stored rows -> Coder's wire objects (`coder_core::model`). Derived fields are computed
//! here at read time: workspace/build status from job status × transition, agent status from
//! timestamps, `outdated`, queue positions.

use chrono::Utc;
use coder_core::build::workspace_status;
use coder_core::model::{
    APIKey, BuildReason, MatchedProvisioners, MinimalUser, Organization,
    OrganizationMemberWithUserData, ProvisionerJob, ProvisionerJobMetadata, ProvisionerJobStatus,
    SlimRole, Template, TemplateVersion, Timestamp, User, Workspace, WorkspaceAgentHealth,
    WorkspaceAgentStatus, WorkspaceBuild, WorkspaceHealth, WorkspaceResource,
};

use std::collections::HashMap;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::{
    ApiKeyRow, BuildRow, JobRow, Store, TemplateRow, UserRow, VersionRow, ViewScope, WorkspaceRow,
    WorkspaceView,
};

fn role(name: &str) -> SlimRole {
    let display = match name {
        "owner" => "Owner",
        "member" => "Member",
        other => other,
    };
    SlimRole {
        name: name.to_owned(),
        display_name: display.to_owned(),
        organization_id: String::new(),
    }
}

/// A user as `GET /users/{user}` shows it.
pub async fn user(store: &Store, u: &UserRow) -> Result<User> {
    Ok(User {
        id: u.id,
        username: u.username.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        avatar_url: String::new(),
        created_at: u.created_at,
        updated_at: u.updated_at,
        last_seen_at: u.last_seen_at,
        status: u.status.parse().unwrap_or_default(),
        login_type: u.login_type.parse().unwrap_or_default(),
        roles: u.roles.iter().map(|r| role(r)).collect(),
        organization_ids: store.user_org_ids(u.id).await?,
        theme_preference: String::new(),
        is_service_account: false,
    })
}

/// A member of an organization with their user data.
pub fn member(
    org: &Organization,
    u: &UserRow,
    created: Timestamp,
    updated: Timestamp,
) -> OrganizationMemberWithUserData {
    OrganizationMemberWithUserData {
        user_id: u.id,
        organization_id: org.id,
        username: u.username.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        avatar_url: String::new(),
        status: u.status.parse().unwrap_or_default(),
        login_type: u.login_type.parse().unwrap_or_default(),
        created_at: created,
        updated_at: updated,
        roles: Vec::new(),
        global_roles: u.roles.iter().map(|r| role(r)).collect(),
    }
}

/// An API key's metadata.
pub fn api_key(k: &ApiKeyRow) -> APIKey {
    APIKey {
        id: k.id.clone(),
        user_id: k.user_id,
        token_name: k.token_name.clone(),
        last_used: k.last_used,
        expires_at: k.expires_at,
        created_at: k.created_at,
        updated_at: k.updated_at,
        login_type: k.login_type.parse().unwrap_or_default(),
        scope: k.scope.parse().unwrap_or_default(),
        scopes: vec!["coder:all".parse().unwrap_or_default()],
        lifetime_seconds: k.lifetime_seconds,
    }
}

fn minimal_user(u: Option<&UserRow>) -> MinimalUser {
    u.map(|u| MinimalUser {
        id: u.id,
        username: u.username.clone(),
        name: u.name.clone(),
        avatar_url: String::new(),
    })
    .unwrap_or_default()
}

fn matched() -> Option<MatchedProvisioners> {
    Some(MatchedProvisioners {
        count: 1,
        available: 1,
        most_recently_seen: Some(Utc::now()),
    })
}

/// Rows looked up while building build views, memoised so a list of builds reads each
/// user, template and version once.
pub struct Lookup<'a> {
    store: &'a Store,
    users: HashMap<Uuid, Option<UserRow>>,
    templates: HashMap<Uuid, Option<TemplateRow>>,
    versions: HashMap<Uuid, Option<VersionRow>>,
}

impl<'a> Lookup<'a> {
    /// An empty cache over `store`.
    pub fn new(store: &'a Store) -> Self {
        Self {
            store,
            users: HashMap::new(),
            templates: HashMap::new(),
            versions: HashMap::new(),
        }
    }

    async fn user(&mut self, id: Uuid) -> Result<Option<UserRow>> {
        if !self.users.contains_key(&id) {
            let u = self.store.user_by_id(id).await?;
            self.users.insert(id, u);
        }
        Ok(self.users.get(&id).cloned().flatten())
    }

    async fn template(&mut self, id: Uuid) -> Result<Option<TemplateRow>> {
        if !self.templates.contains_key(&id) {
            let t = self.store.template(id).await?;
            self.templates.insert(id, t);
        }
        Ok(self.templates.get(&id).cloned().flatten())
    }

    async fn version(&mut self, id: Uuid) -> Result<Option<VersionRow>> {
        if !self.versions.contains_key(&id) {
            let v = self.store.version(id).await?;
            self.versions.insert(id, v);
        }
        Ok(self.versions.get(&id).cloned().flatten())
    }
}

/// A provisioner job with its display metadata.
pub async fn job(store: &Store, j: &JobRow) -> Result<ProvisionerJob> {
    job_with(&mut Lookup::new(store), j, None).await
}

async fn job_with(
    lookup: &mut Lookup<'_>,
    j: &JobRow,
    build_ctx: Option<(&BuildRow, &WorkspaceRow)>,
) -> Result<ProvisionerJob> {
    let mut metadata = ProvisionerJobMetadata::default();
    let version_id = match (j.input.template_version_id, j.input.workspace_build_id) {
        (Some(v), _) => Some(v),
        (None, Some(b)) => {
            let loaded;
            let ctx = match build_ctx {
                Some(ctx) => Some(ctx),
                None => {
                    let build = lookup.store.build(b).await?;
                    let ws = match &build {
                        Some(build) => lookup.store.workspace(build.workspace_id).await?,
                        None => None,
                    };
                    loaded = build.zip(ws);
                    loaded.as_ref().map(|(b, w)| (b, w))
                }
            };
            match ctx {
                Some((build, ws)) => {
                    metadata.workspace_build_transition = Some(build.transition.clone());
                    metadata.workspace_id = Some(ws.id);
                    metadata.workspace_name = Some(ws.name.clone());
                    Some(build.template_version_id)
                }
                None => None,
            }
        }
        (None, None) => None,
    };
    if let Some(version) = match version_id {
        Some(v) => lookup.version(v).await?,
        None => None,
    } {
        metadata.template_version_name = version.name.clone();
        if let Some(t) = match version.template_id {
            Some(t) => lookup.template(t).await?,
            None => None,
        } {
            metadata.template_id = t.id;
            metadata.template_name = t.name;
            metadata.template_display_name = t.display_name;
            metadata.template_icon = t.icon;
        }
    }
    let queue = if j.status == ProvisionerJobStatus::Pending {
        lookup.store.queue_position(j).await?
    } else {
        (0, 0)
    };
    Ok(job_wire(j, metadata, queue))
}

fn job_wire(
    j: &JobRow,
    metadata: ProvisionerJobMetadata,
    (queue_position, queue_size): (i64, i64),
) -> ProvisionerJob {
    ProvisionerJob {
        id: j.id,
        created_at: j.created_at,
        started_at: j.started_at,
        completed_at: j.completed_at,
        canceled_at: j.canceled_at,
        error: j.error.clone(),
        error_code: None,
        status: j.status.clone(),
        worker_id: j.worker_id,
        worker_name: if j.worker_id.is_some() {
            "coder-server".to_owned()
        } else {
            String::new()
        },
        file_id: j.file_id,
        tags: j.tags.clone(),
        queue_position,
        queue_size,
        organization_id: j.organization_id,
        initiator_id: j.initiator_id,
        input: j.input.clone(),
        type_: j.job_type.clone(),
        available_workers: Vec::new(),
        metadata,
        logs_overflowed: false,
    }
}

/// A template version.
pub async fn version(store: &Store, v: &VersionRow) -> Result<TemplateVersion> {
    let j = store.job(v.job_id).await?.ok_or(Error::NotFound)?;
    let creator = store.user_by_id(v.created_by).await?;
    Ok(TemplateVersion {
        id: v.id,
        template_id: v.template_id,
        organization_id: v.organization_id,
        name: v.name.clone(),
        message: v.message.clone(),
        readme: v.readme.clone(),
        created_at: v.created_at,
        updated_at: v.updated_at,
        job: job(store, &j).await?,
        created_by: minimal_user(creator.as_ref()),
        archived: v.archived,
        warnings: Vec::new(),
        matched_provisioners: matched(),
    })
}

/// A template.
pub async fn template(store: &Store, t: &TemplateRow) -> Result<Template> {
    let org = store
        .org(&t.organization_id.to_string())
        .await?
        .unwrap_or_default();
    let creator = store.user_by_id(t.created_by).await?;
    let s = &t.settings;
    Ok(Template {
        id: t.id,
        created_at: t.created_at,
        updated_at: t.updated_at,
        organization_id: org.id,
        organization_name: org.name,
        organization_display_name: org.display_name,
        organization_icon: org.icon,
        name: t.name.clone(),
        display_name: t.display_name.clone(),
        description: t.description.clone(),
        icon: t.icon.clone(),
        provisioner: t.provisioner.clone(),
        active_version_id: t.active_version_id,
        active_user_count: 0,
        created_by_id: t.created_by,
        created_by_name: creator.map(|u| u.username).unwrap_or_default(),
        deprecated: !s.deprecation_message.is_empty(),
        deprecation_message: s.deprecation_message.clone(),
        default_ttl_ms: s.default_ttl_ms,
        activity_bump_ms: s.activity_bump_ms,
        autostop_requirement: s.autostop_requirement.clone(),
        autostart_requirement: s.autostart_requirement.clone(),
        allow_user_autostart: s.allow_user_autostart,
        allow_user_autostop: s.allow_user_autostop,
        allow_user_cancel_workspace_jobs: s.allow_user_cancel_workspace_jobs,
        failure_ttl_ms: s.failure_ttl_ms,
        time_til_dormant_ms: s.time_til_dormant_ms,
        time_til_dormant_autodelete_ms: s.time_til_dormant_autodelete_ms,
        time_til_autostop_notify_ms: s.time_til_autostop_notify_ms,
        require_active_version: s.require_active_version,
    })
}

/// Resources with agent status and health derived from timestamps (coder-api.md §8).
pub fn resources(stored: &[WorkspaceResource], now: Timestamp) -> Vec<WorkspaceResource> {
    with_agent_status(stored.to_vec(), now)
}

/// [`resources`] on resources the caller owns: statuses filled in place, nothing copied.
fn with_agent_status(mut out: Vec<WorkspaceResource>, now: Timestamp) -> Vec<WorkspaceResource> {
    for agent in out.iter_mut().flat_map(|r| r.agents.iter_mut()) {
        let status = match (agent.last_connected_at, agent.disconnected_at) {
            (None, _) => {
                let waited = (now - agent.created_at).num_seconds();
                if agent.connection_timeout_seconds > 0 && waited > agent.connection_timeout_seconds
                {
                    WorkspaceAgentStatus::Timeout
                } else {
                    WorkspaceAgentStatus::Connecting
                }
            }
            (Some(last), Some(gone)) if gone >= last => WorkspaceAgentStatus::Disconnected,
            (Some(last), _) if (now - last).num_seconds() > 30 => {
                WorkspaceAgentStatus::Disconnected
            }
            _ => WorkspaceAgentStatus::Connected,
        };
        agent.health = match status {
            WorkspaceAgentStatus::Timeout => WorkspaceAgentHealth {
                healthy: false,
                reason: "agent is taking too long to connect".to_owned(),
            },
            WorkspaceAgentStatus::Disconnected => WorkspaceAgentHealth {
                healthy: false,
                reason: "agent has lost connection".to_owned(),
            },
            _ => WorkspaceAgentHealth {
                healthy: true,
                reason: String::new(),
            },
        };
        agent.status = status;
    }
    out
}

/// A workspace build.
pub async fn build(store: &Store, b: &BuildRow, ws: &WorkspaceRow) -> Result<WorkspaceBuild> {
    build_with(&mut Lookup::new(store), b, ws).await
}

async fn build_with(
    lookup: &mut Lookup<'_>,
    b: &BuildRow,
    ws: &WorkspaceRow,
) -> Result<WorkspaceBuild> {
    let j = lookup.store.job(b.job_id).await?.ok_or(Error::NotFound)?;
    let owner = lookup.user(ws.owner_id).await?;
    let initiator = lookup.user(b.initiator_id).await?;
    let version = lookup.version(b.template_version_id).await?;
    Ok(WorkspaceBuild {
        id: b.id,
        created_at: b.created_at,
        updated_at: b.updated_at,
        workspace_id: ws.id,
        workspace_name: ws.name.clone(),
        workspace_owner_id: ws.owner_id,
        workspace_owner_name: owner.map(|u| u.username).unwrap_or_default(),
        workspace_owner_avatar_url: String::new(),
        template_version_id: b.template_version_id,
        template_version_name: version.map(|v| v.name).unwrap_or_default(),
        build_number: b.build_number,
        transition: b.transition.clone(),
        initiator_id: b.initiator_id,
        initiator_name: initiator.map(|u| u.username).unwrap_or_default(),
        status: workspace_status(&j.status, &b.transition),
        resources: resources(&j.resources, Utc::now()),
        job: job_with(lookup, &j, Some((b, ws))).await?,
        reason: b.reason.parse().unwrap_or(BuildReason::Initiator),
        deadline: b.deadline,
        max_deadline: b.max_deadline,
        daily_cost: 0,
    })
}

/// A workspace with its latest build.
pub async fn workspace(store: &Store, ws: &WorkspaceRow, allow_renames: bool) -> Result<Workspace> {
    let view = store
        .workspace_views(ViewScope::Id(ws.id))
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound)?;
    workspace_from_view(store, view, allow_renames).await
}

/// A workspace from its joined row ([`Store::workspace_views`]), consumed so its fields move
/// into the wire object; queries only for the queue position of a pending build.
/// `allow_renames` is the deployment's `--allow-workspace-renames`.
pub async fn workspace_from_view(
    store: &Store,
    v: WorkspaceView,
    allow_renames: bool,
) -> Result<Workspace> {
    let WorkspaceView {
        workspace: ws,
        build: b,
        mut job,
        owner_name,
        initiator_name,
        version_name,
        template: t,
        organization_name,
    } = v;
    let queue = if job.status == ProvisionerJobStatus::Pending {
        store.queue_position(&job).await?
    } else {
        (0, 0)
    };
    let resources = with_agent_status(std::mem::take(&mut job.resources), Utc::now());
    let failing: Vec<_> = resources
        .iter()
        .flat_map(|r| &r.agents)
        .filter(|a| !a.health.healthy)
        .map(|a| a.id)
        .collect();
    let (template_name, template_display_name, template_icon) = t
        .as_ref()
        .map(|t| (t.name.clone(), t.display_name.clone(), t.icon.clone()))
        .unwrap_or_default();
    let metadata = ProvisionerJobMetadata {
        template_id: ws.template_id,
        template_name: template_name.clone(),
        template_display_name: template_display_name.clone(),
        template_icon: template_icon.clone(),
        template_version_name: version_name.clone(),
        workspace_id: Some(ws.id),
        workspace_name: Some(ws.name.clone()),
        workspace_build_transition: Some(b.transition.clone()),
    };
    let status = workspace_status(&job.status, &b.transition);
    let latest_build = WorkspaceBuild {
        id: b.id,
        created_at: b.created_at,
        updated_at: b.updated_at,
        workspace_id: ws.id,
        workspace_name: ws.name.clone(),
        workspace_owner_id: ws.owner_id,
        workspace_owner_name: owner_name.clone(),
        workspace_owner_avatar_url: String::new(),
        template_version_id: b.template_version_id,
        template_version_name: version_name,
        build_number: b.build_number,
        initiator_id: b.initiator_id,
        initiator_name,
        status,
        resources,
        job: job_wire(&job, metadata, queue),
        reason: b.reason.parse().unwrap_or(BuildReason::Initiator),
        deadline: b.deadline,
        max_deadline: b.max_deadline,
        transition: b.transition,
        daily_cost: 0,
    };
    let active = t.as_ref().map(|t| t.active_version_id).unwrap_or_default();
    Ok(Workspace {
        id: ws.id,
        created_at: ws.created_at,
        updated_at: ws.updated_at,
        owner_id: ws.owner_id,
        owner_name,
        owner_avatar_url: String::new(),
        organization_id: ws.organization_id,
        organization_name,
        template_id: ws.template_id,
        template_name,
        template_display_name,
        template_icon,
        template_allow_user_cancel_workspace_jobs: t
            .as_ref()
            .is_some_and(|t| t.settings.allow_user_cancel_workspace_jobs),
        template_active_version_id: active,
        template_require_active_version: t
            .as_ref()
            .is_some_and(|t| t.settings.require_active_version),
        outdated: latest_build.template_version_id != active,
        latest_build,
        name: ws.name,
        autostart_schedule: ws.autostart_schedule,
        ttl_ms: ws.ttl_ms,
        last_used_at: ws.last_used_at,
        deleting_at: None,
        dormant_at: None,
        health: WorkspaceHealth {
            healthy: failing.is_empty(),
            failing_agents: failing,
        },
        automatic_updates: ws.automatic_updates.parse().unwrap_or_default(),
        allow_renames,
        favorite: false,
        next_start_at: None,
        is_prebuild: false,
    })
}
