-- Initial schema, PostgreSQL: native types (uuid, timestamptz, boolean, jsonb, bytea,
-- bigserial). Names are unique case-insensitively where Coder's are (lower(name) indexes).
-- migrations/sqlite/0001_initial.sql is the same schema in SQLite's types.

CREATE TABLE site_config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    icon TEXT NOT NULL,
    is_default BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX organizations_name ON organizations (lower(name));

CREATE TABLE users (
    id UUID PRIMARY KEY,
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    hashed_password TEXT NOT NULL,
    status TEXT NOT NULL,
    login_type TEXT NOT NULL,
    rbac_roles JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE organization_members (
    organization_id UUID NOT NULL REFERENCES organizations (id),
    user_id UUID NOT NULL REFERENCES users (id),
    roles TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    hashed_secret TEXT NOT NULL,
    user_id UUID NOT NULL REFERENCES users (id),
    login_type TEXT NOT NULL,
    token_name TEXT NOT NULL,
    scope TEXT NOT NULL,
    lifetime_seconds BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    last_used TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX api_keys_user_token_name ON api_keys (user_id, token_name) WHERE token_name <> '';

CREATE TABLE files (
    id UUID PRIMARY KEY,
    hash TEXT NOT NULL,
    created_by UUID NOT NULL REFERENCES users (id),
    mimetype TEXT NOT NULL,
    data BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (hash, created_by)
);

-- A running job is held under a lease: its runner renews heartbeat_at, and only a job whose
-- lease lapsed (its runner is gone) is recovered by another process.
CREATE TABLE provisioner_jobs (
    id UUID PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    canceled_at TIMESTAMPTZ,
    heartbeat_at TIMESTAMPTZ,
    error TEXT NOT NULL,
    status TEXT NOT NULL,
    worker_id UUID,
    organization_id UUID NOT NULL REFERENCES organizations (id),
    initiator_id UUID NOT NULL REFERENCES users (id),
    provisioner TEXT NOT NULL,
    file_id UUID NOT NULL REFERENCES files (id),
    job_type TEXT NOT NULL,
    input JSONB NOT NULL,
    tags JSONB NOT NULL,
    resources JSONB NOT NULL
);
CREATE INDEX provisioner_jobs_status ON provisioner_jobs (status, created_at);

CREATE TABLE provisioner_job_logs (
    id BIGSERIAL PRIMARY KEY,
    job_id UUID NOT NULL REFERENCES provisioner_jobs (id),
    created_at TIMESTAMPTZ NOT NULL,
    source TEXT NOT NULL,
    level TEXT NOT NULL,
    stage TEXT NOT NULL,
    output TEXT NOT NULL
);
CREATE INDEX provisioner_job_logs_job ON provisioner_job_logs (job_id, id);

CREATE TABLE templates (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    icon TEXT NOT NULL,
    provisioner TEXT NOT NULL,
    active_version_id UUID NOT NULL,
    created_by UUID NOT NULL REFERENCES users (id),
    settings JSONB NOT NULL,
    deleted BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX templates_org_name ON templates (organization_id, lower(name)) WHERE NOT deleted;

CREATE TABLE template_versions (
    id UUID PRIMARY KEY,
    template_id UUID,
    organization_id UUID NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    message TEXT NOT NULL,
    readme TEXT NOT NULL,
    job_id UUID NOT NULL UNIQUE REFERENCES provisioner_jobs (id),
    created_by UUID NOT NULL REFERENCES users (id),
    archived BOOLEAN NOT NULL,
    parameters JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX template_versions_template ON template_versions (template_id, created_at);

CREATE TABLE workspaces (
    id UUID PRIMARY KEY,
    owner_id UUID NOT NULL REFERENCES users (id),
    organization_id UUID NOT NULL REFERENCES organizations (id),
    template_id UUID NOT NULL REFERENCES templates (id),
    name TEXT NOT NULL,
    autostart_schedule TEXT,
    ttl_ms BIGINT,
    automatic_updates TEXT NOT NULL,
    deleted BOOLEAN NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX workspaces_owner_name ON workspaces (owner_id, lower(name)) WHERE NOT deleted;

CREATE TABLE workspace_builds (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    build_number BIGINT NOT NULL,
    template_version_id UUID NOT NULL REFERENCES template_versions (id),
    transition TEXT NOT NULL,
    initiator_id UUID NOT NULL REFERENCES users (id),
    job_id UUID NOT NULL UNIQUE REFERENCES provisioner_jobs (id),
    reason TEXT NOT NULL,
    deadline TIMESTAMPTZ,
    max_deadline TIMESTAMPTZ,
    provisioner_state BYTEA NOT NULL,
    parameters JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace_id, build_number)
);

CREATE TABLE workspace_agent_tokens (
    agent_id UUID PRIMARY KEY,
    hashed_token TEXT NOT NULL UNIQUE,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    build_id UUID NOT NULL REFERENCES workspace_builds (id),
    agent_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Login attempts per email, counted before the password is checked, so concurrent guesses
-- cannot outrun the limit and replicas on one database share it. The key is the SHA-256 hex
-- of the lowercased email (never the email itself); a row whose window has passed starts
-- over on the next attempt and is deleted by the periodic expiry.
CREATE TABLE login_attempts (
    key_hash TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_attempts_window_start ON login_attempts (window_start);
