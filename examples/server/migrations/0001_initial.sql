-- Initial schema. Portable SQL for SQLite and PostgreSQL; {{serial}} and {{blob}} are replaced
-- per backend. Times are RFC 3339 text in UTC with microseconds (sortable), ids are UUID text,
-- booleans are 0/1 BIGINTs, structured values are JSON text.

CREATE TABLE site_config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    icon TEXT NOT NULL,
    is_default BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    hashed_password TEXT NOT NULL,
    status TEXT NOT NULL,
    login_type TEXT NOT NULL,
    rbac_roles TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);

CREATE TABLE organization_members (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    roles TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    hashed_secret TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    login_type TEXT NOT NULL,
    token_name TEXT NOT NULL,
    scope TEXT NOT NULL,
    lifetime_seconds BIGINT NOT NULL,
    expires_at TEXT NOT NULL,
    last_used TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX api_keys_user_token_name ON api_keys (user_id, token_name) WHERE token_name <> '';

CREATE TABLE files (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    mimetype TEXT NOT NULL,
    data {{blob}} NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (hash, created_by)
);

CREATE TABLE provisioner_jobs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT,
    completed_at TEXT,
    canceled_at TEXT,
    error TEXT NOT NULL,
    status TEXT NOT NULL,
    worker_id TEXT,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    initiator_id TEXT NOT NULL REFERENCES users (id),
    provisioner TEXT NOT NULL,
    file_id TEXT NOT NULL REFERENCES files (id),
    job_type TEXT NOT NULL,
    input TEXT NOT NULL,
    tags TEXT NOT NULL,
    resources TEXT NOT NULL
);
CREATE INDEX provisioner_jobs_status ON provisioner_jobs (status, created_at);

CREATE TABLE provisioner_job_logs (
    id {{serial}},
    job_id TEXT NOT NULL REFERENCES provisioner_jobs (id),
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    level TEXT NOT NULL,
    stage TEXT NOT NULL,
    output TEXT NOT NULL
);
CREATE INDEX provisioner_job_logs_job ON provisioner_job_logs (job_id, id);

CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    icon TEXT NOT NULL,
    provisioner TEXT NOT NULL,
    active_version_id TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    settings TEXT NOT NULL,
    deleted BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX templates_org_name ON templates (organization_id, name) WHERE deleted = 0;

CREATE TABLE template_versions (
    id TEXT PRIMARY KEY,
    template_id TEXT,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    message TEXT NOT NULL,
    readme TEXT NOT NULL,
    job_id TEXT NOT NULL UNIQUE REFERENCES provisioner_jobs (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    archived BIGINT NOT NULL,
    parameters TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX template_versions_template ON template_versions (template_id, created_at);

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    template_id TEXT NOT NULL REFERENCES templates (id),
    name TEXT NOT NULL,
    autostart_schedule TEXT,
    ttl_ms BIGINT,
    automatic_updates TEXT NOT NULL,
    deleted BIGINT NOT NULL,
    last_used_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX workspaces_owner_name ON workspaces (owner_id, name) WHERE deleted = 0;

CREATE TABLE workspace_builds (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    build_number BIGINT NOT NULL,
    template_version_id TEXT NOT NULL REFERENCES template_versions (id),
    transition TEXT NOT NULL,
    initiator_id TEXT NOT NULL REFERENCES users (id),
    job_id TEXT NOT NULL UNIQUE REFERENCES provisioner_jobs (id),
    reason TEXT NOT NULL,
    deadline TEXT,
    max_deadline TEXT,
    provisioner_state {{blob}} NOT NULL,
    parameters TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (workspace_id, build_number)
);

CREATE TABLE workspace_agent_tokens (
    agent_id TEXT PRIMARY KEY,
    hashed_token TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    build_id TEXT NOT NULL REFERENCES workspace_builds (id),
    agent_name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
