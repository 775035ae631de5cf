//! Provisioner resources turned into stored `WorkspaceResource`s, with their agents, apps,
//! scripts and log sources, as Coder records them when a job completes.

use std::collections::BTreeMap;

use coder_core::model::{
    Healthcheck, Timestamp, WorkspaceAgent, WorkspaceAgentLifecycle, WorkspaceAgentLogSource,
    WorkspaceAgentScript, WorkspaceAgentStartupScriptBehavior, WorkspaceAgentStatus, WorkspaceApp,
    WorkspaceAppHealth, WorkspaceAppOpenIn, WorkspaceAppSharingLevel, WorkspaceResource,
    WorkspaceTransition,
};
use coder_core::provision::ResourceSpec;
use uuid::Uuid;

/// Provisioner resources -> stored `WorkspaceResource`s (with agents, apps, scripts).
pub fn to_resources(
    specs: &[ResourceSpec],
    job_id: Uuid,
    transition: &WorkspaceTransition,
    agent_ids: &BTreeMap<String, Uuid>,
    now: Timestamp,
) -> Vec<WorkspaceResource> {
    specs
        .iter()
        .map(|r| {
            let resource_id = Uuid::new_v4();
            WorkspaceResource {
                id: resource_id,
                created_at: now,
                job_id,
                workspace_transition: transition.clone(),
                type_: r.type_.clone(),
                name: r.name.clone(),
                hide: r.hide,
                icon: r.icon.clone(),
                metadata: r.metadata.clone(),
                daily_cost: r.daily_cost,
                agents: r
                    .agents
                    .iter()
                    .map(|a| {
                        let agent_id = agent_ids.get(&a.name).copied().unwrap_or_else(Uuid::new_v4);
                        let scripts: Vec<(WorkspaceAgentLogSource, WorkspaceAgentScript)> = a
                            .scripts
                            .iter()
                            .map(|s| {
                                let source = WorkspaceAgentLogSource {
                                    id: Uuid::new_v4(),
                                    workspace_agent_id: agent_id,
                                    created_at: now,
                                    display_name: s.display_name.clone(),
                                    icon: "/emojis/25b6.png".to_owned(),
                                };
                                let script = WorkspaceAgentScript {
                                    id: Uuid::new_v4(),
                                    log_source_id: source.id,
                                    log_path: String::new(),
                                    script: s.script.clone(),
                                    cron: s.cron.clone(),
                                    run_on_start: s.run_on_start,
                                    run_on_stop: s.run_on_stop,
                                    start_blocks_login: s.start_blocks_login,
                                    timeout: s.timeout_seconds,
                                    display_name: s.display_name.clone(),
                                };
                                (source, script)
                            })
                            .collect();
                        let blocking = scripts.iter().any(|(_, s)| s.start_blocks_login);
                        WorkspaceAgent {
                            id: agent_id,
                            parent_id: None,
                            name: a.name.clone(),
                            created_at: now,
                            updated_at: now,
                            status: WorkspaceAgentStatus::Connecting,
                            lifecycle_state: WorkspaceAgentLifecycle::Created,
                            resource_id,
                            architecture: a.architecture.clone(),
                            operating_system: a.operating_system.clone(),
                            environment_variables: a.env.clone(),
                            directory: a.directory.clone(),
                            expanded_directory: a.directory.clone(),
                            apps: a
                                .apps
                                .iter()
                                .map(|app| WorkspaceApp {
                                    id: Uuid::new_v4(),
                                    slug: app.slug.clone(),
                                    display_name: app.display_name.clone(),
                                    url: app.url.clone(),
                                    command: app.command.clone(),
                                    icon: app.icon.clone(),
                                    subdomain: app.subdomain,
                                    sharing_level: app
                                        .sharing_level
                                        .clone()
                                        .unwrap_or(WorkspaceAppSharingLevel::Owner),
                                    healthcheck: app
                                        .healthcheck
                                        .clone()
                                        .unwrap_or(Healthcheck::default()),
                                    health: if app.healthcheck.is_some() {
                                        WorkspaceAppHealth::Initializing
                                    } else {
                                        WorkspaceAppHealth::Disabled
                                    },
                                    external: app.external,
                                    hidden: app.hidden,
                                    open_in: app
                                        .open_in
                                        .clone()
                                        .unwrap_or(WorkspaceAppOpenIn::SlimWindow),
                                    ..Default::default()
                                })
                                .collect(),
                            log_sources: scripts.iter().map(|(s, _)| s.clone()).collect(),
                            scripts: scripts.into_iter().map(|(_, s)| s).collect(),
                            connection_timeout_seconds: a.connection_timeout_seconds,
                            troubleshooting_url: a.troubleshooting_url.clone(),
                            startup_script_behavior: a.startup_script_behavior.clone().unwrap_or(
                                if blocking {
                                    WorkspaceAgentStartupScriptBehavior::Blocking
                                } else {
                                    WorkspaceAgentStartupScriptBehavior::NonBlocking
                                },
                            ),
                            display_apps: a.display_apps.clone(),
                            ..Default::default()
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}
