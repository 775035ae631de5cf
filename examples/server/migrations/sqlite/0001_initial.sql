-- Initial schema, SQLite: the types sqlx encodes for the server's Rust types (UUIDs as 16-byte
-- BLOBs, times as RFC 3339 TEXT in UTC, booleans as INTEGER 0/1, JSON as TEXT, bytes as BLOB).
-- Names are unique case-insensitively where Coder's are (lower(name) indexes).
-- migrations/postgres/0001_initial.sql is the same schema in PostgreSQL's types.

CREATE TABLE site_config (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    icon TEXT NOT NULL,
    is_default INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX organizations_name ON organizations (lower(name));

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    hashed_password TEXT NOT NULL,
    status TEXT NOT NULL,
    login_type TEXT NOT NULL,
    rbac_roles TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE organization_members (
    organization_id BLOB NOT NULL REFERENCES organizations (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    roles TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    hashed_secret TEXT NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id),
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
    id BLOB PRIMARY KEY,
    hash TEXT NOT NULL,
    created_by BLOB NOT NULL REFERENCES users (id),
    mimetype TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (hash, created_by)
);

-- A running job is held under a lease: its runner renews heartbeat_at, and only a job whose
-- lease lapsed (its runner is gone) is recovered by another process.
CREATE TABLE provisioner_jobs (
    id BLOB PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT,
    completed_at TEXT,
    canceled_at TEXT,
    heartbeat_at TEXT,
    error TEXT NOT NULL,
    status TEXT NOT NULL,
    worker_id BLOB,
    organization_id BLOB NOT NULL REFERENCES organizations (id),
    initiator_id BLOB NOT NULL REFERENCES users (id),
    provisioner TEXT NOT NULL,
    file_id BLOB NOT NULL REFERENCES files (id),
    job_type TEXT NOT NULL,
    input TEXT NOT NULL,
    tags TEXT NOT NULL,
    resources TEXT NOT NULL
);
CREATE INDEX provisioner_jobs_status ON provisioner_jobs (status, created_at);

CREATE TABLE provisioner_job_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id BLOB NOT NULL REFERENCES provisioner_jobs (id),
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    level TEXT NOT NULL,
    stage TEXT NOT NULL,
    output TEXT NOT NULL
);
CREATE INDEX provisioner_job_logs_job ON provisioner_job_logs (job_id, id);

CREATE TABLE templates (
    id BLOB PRIMARY KEY,
    organization_id BLOB NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    icon TEXT NOT NULL,
    provisioner TEXT NOT NULL,
    active_version_id BLOB NOT NULL,
    created_by BLOB NOT NULL REFERENCES users (id),
    settings TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX templates_org_name ON templates (organization_id, lower(name)) WHERE NOT deleted;

CREATE TABLE template_versions (
    id BLOB PRIMARY KEY,
    template_id BLOB,
    organization_id BLOB NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    message TEXT NOT NULL,
    readme TEXT NOT NULL,
    job_id BLOB NOT NULL UNIQUE REFERENCES provisioner_jobs (id),
    created_by BLOB NOT NULL REFERENCES users (id),
    archived INTEGER NOT NULL,
    parameters TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX template_versions_template ON template_versions (template_id, created_at);

CREATE TABLE workspaces (
    id BLOB PRIMARY KEY,
    owner_id BLOB NOT NULL REFERENCES users (id),
    organization_id BLOB NOT NULL REFERENCES organizations (id),
    template_id BLOB NOT NULL REFERENCES templates (id),
    name TEXT NOT NULL,
    autostart_schedule TEXT,
    ttl_ms BIGINT,
    automatic_updates TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    last_used_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX workspaces_owner_name ON workspaces (owner_id, lower(name)) WHERE NOT deleted;

CREATE TABLE workspace_builds (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    build_number BIGINT NOT NULL,
    template_version_id BLOB NOT NULL REFERENCES template_versions (id),
    transition TEXT NOT NULL,
    initiator_id BLOB NOT NULL REFERENCES users (id),
    job_id BLOB NOT NULL UNIQUE REFERENCES provisioner_jobs (id),
    reason TEXT NOT NULL,
    deadline TEXT,
    max_deadline TEXT,
    provisioner_state BLOB NOT NULL,
    parameters TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (workspace_id, build_number)
);

CREATE TABLE workspace_agent_tokens (
    agent_id BLOB PRIMARY KEY,
    hashed_token TEXT NOT NULL UNIQUE,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    build_id BLOB NOT NULL REFERENCES workspace_builds (id),
    agent_name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Login attempts per email, counted before the password is checked, so concurrent guesses
-- cannot outrun the limit and replicas on one database share it. The key is the SHA-256 hex
-- of the lowercased email (never the email itself); a row whose window has passed starts
-- over on the next attempt and is deleted by the periodic expiry.
CREATE TABLE login_attempts (
    key_hash TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    window_start TEXT NOT NULL
);
CREATE INDEX login_attempts_window_start ON login_attempts (window_start);
