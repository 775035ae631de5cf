//! Users and their API keys (sessions and tokens). Only hashes of passwords and key secrets
//! are stored.

use coder_core::model::Timestamp;
use sqlx::types::Json;
use uuid::Uuid;

use super::Store;
use super::db::{execute, fetch, fetch_scalar};
use crate::error::Result;

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    /// Id.
    pub id: Uuid,
    /// Login name, unique regardless of case.
    pub username: String,
    /// Email, unique regardless of case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Argon2 PHC string (empty: no password login).
    pub hashed_password: String,
    /// `active`, `dormant` or `suspended`.
    pub status: String,
    /// `password`, `none`, ...
    pub login_type: String,
    /// Site roles (`owner`); every user is implicitly a `member`.
    #[sqlx(json, rename = "rbac_roles")]
    pub roles: Vec<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
    /// Last authenticated request.
    pub last_seen_at: Timestamp,
}

impl UserRow {
    /// Whether the user has the site-wide `owner` role.
    pub fn is_owner(&self) -> bool {
        self.roles.iter().any(|r| r == "owner")
    }
}

/// A stored API key: a session (login) or a named token.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRow {
    /// Public id (the part before `-`).
    pub id: String,
    /// SHA-256 hex of the secret.
    pub hashed_secret: String,
    /// Owner.
    pub user_id: Uuid,
    /// `password` for sessions, `token` for tokens.
    pub login_type: String,
    /// Name (tokens only; empty for sessions).
    pub token_name: String,
    /// `all` or `application_connect`.
    pub scope: String,
    /// Lifetime in seconds.
    pub lifetime_seconds: i64,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Last use.
    pub last_used: Timestamp,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
}

/// An API key and its user, read in one query (every authenticated request needs both).
#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    key_id: String,
    key_hashed_secret: String,
    key_login_type: String,
    key_token_name: String,
    key_scope: String,
    key_lifetime_seconds: i64,
    key_expires_at: Timestamp,
    key_last_used: Timestamp,
    key_created_at: Timestamp,
    key_updated_at: Timestamp,
}

impl SessionRow {
    fn split(self) -> (ApiKeyRow, UserRow) {
        let key = ApiKeyRow {
            id: self.key_id,
            hashed_secret: self.key_hashed_secret,
            user_id: self.user.id,
            login_type: self.key_login_type,
            token_name: self.key_token_name,
            scope: self.key_scope,
            lifetime_seconds: self.key_lifetime_seconds,
            expires_at: self.key_expires_at,
            last_used: self.key_last_used,
            created_at: self.key_created_at,
            updated_at: self.key_updated_at,
        };
        (key, self.user)
    }
}

impl Store {
    /// An API key by its public id, with its user: what authenticating a request reads.
    pub async fn api_key_with_user(&self, id: &str) -> Result<Option<(ApiKeyRow, UserRow)>> {
        let row: Option<SessionRow> = fetch!(
            self.read,
            fetch_optional,
            "SELECT u.*, k.id AS key_id, k.hashed_secret AS key_hashed_secret, \
             k.login_type AS key_login_type, k.token_name AS key_token_name, k.scope AS key_scope, \
             k.lifetime_seconds AS key_lifetime_seconds, k.expires_at AS key_expires_at, \
             k.last_used AS key_last_used, k.created_at AS key_created_at, \
             k.updated_at AS key_updated_at \
             FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = $1",
            id
        )?;
        Ok(row.map(SessionRow::split))
    }

    /// How many users exist.
    pub async fn count_users(&self) -> Result<i64> {
        fetch_scalar!(self.read, fetch_one, "SELECT COUNT(*) FROM users")
    }

    /// Creates a user and makes them a member of `org_id`, in one transaction.
    /// `only_if_first` makes the insert fail (returning `false`) when any user exists. A
    /// username or email taken regardless of case is a unique violation.
    pub async fn create_user(
        &self,
        u: &UserRow,
        org_id: Uuid,
        only_if_first: bool,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let mut c = tx.conn();
        if only_if_first {
            let n: i64 = fetch_scalar!(c, fetch_one, "SELECT COUNT(*) FROM users")?;
            if n > 0 {
                return Ok(false);
            }
        }
        execute!(
            c,
            "INSERT INTO users (id, username, email, name, hashed_password, status, login_type, rbac_roles, \
             created_at, updated_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            u.id,
            &u.username,
            &u.email,
            &u.name,
            &u.hashed_password,
            &u.status,
            &u.login_type,
            Json(&u.roles),
            u.created_at,
            u.updated_at,
            u.last_seen_at
        )?;
        execute!(
            c,
            "INSERT INTO organization_members (organization_id, user_id, roles, created_at, updated_at) \
             VALUES ($1, $2, '', $3, $3)",
            org_id,
            u.id,
            u.created_at
        )?;
        tx.commit().await?;
        Ok(true)
    }

    /// A user by id.
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRow>> {
        fetch!(
            self.read,
            fetch_optional,
            "SELECT * FROM users WHERE id = $1",
            id
        )
    }

    /// A user by username (case-insensitive, as Coder's).
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        self.user_where("username", username).await
    }

    /// A user by email (case-insensitive, as Coder's).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        self.user_where("email", email).await
    }

    /// The user whose `column` (a case-insensitively unique one) is `value`, in any case.
    async fn user_where(&self, column: &str, value: &str) -> Result<Option<UserRow>> {
        let sql = format!("SELECT * FROM users WHERE lower({column}) = lower($1)");
        fetch!(self.read, fetch_optional, &sql, value)
    }

    /// Users whose username or email contains `search` (all when empty), oldest first.
    pub async fn list_users(&self, search: &str) -> Result<Vec<UserRow>> {
        let pattern = format!("%{}%", search.to_lowercase());
        fetch!(
            self.read,
            fetch_all,
            "SELECT * FROM users WHERE lower(username) LIKE $1 OR lower(email) LIKE $1 ORDER BY created_at, username",
            &pattern
        )
    }

    /// Records that the user was seen at `now`.
    pub async fn touch_user(&self, id: Uuid, now: Timestamp) -> Result<()> {
        execute!(
            self.pool,
            "UPDATE users SET last_seen_at = $1 WHERE id = $2",
            now,
            id
        )?;
        Ok(())
    }

    /// Stores a new API key.
    pub async fn insert_api_key(&self, k: &ApiKeyRow) -> Result<()> {
        execute!(
            self.pool,
            "INSERT INTO api_keys (id, hashed_secret, user_id, login_type, token_name, scope, lifetime_seconds, \
             expires_at, last_used, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &k.id,
            &k.hashed_secret,
            k.user_id,
            &k.login_type,
            &k.token_name,
            &k.scope,
            k.lifetime_seconds,
            k.expires_at,
            k.last_used,
            k.created_at,
            k.updated_at
        )?;
        Ok(())
    }

    /// Sets a user's status (`active`, `suspended`, `dormant`).
    pub async fn set_user_status(&self, id: Uuid, status: &str, now: Timestamp) -> Result<()> {
        execute!(
            self.pool,
            "UPDATE users SET status = $1, updated_at = $2 WHERE id = $3",
            status,
            now,
            id
        )?;
        Ok(())
    }

    /// An API key by its public id.
    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>> {
        fetch!(
            self.read,
            fetch_optional,
            "SELECT * FROM api_keys WHERE id = $1",
            id
        )
    }

    /// The user's named tokens, oldest first.
    pub async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiKeyRow>> {
        fetch!(
            self.read,
            fetch_all,
            "SELECT * FROM api_keys WHERE user_id = $1 AND login_type = 'token' ORDER BY created_at, id",
            user_id
        )
    }

    /// Records a use of the key; `expires_at` is the refreshed expiry.
    pub async fn touch_api_key(
        &self,
        id: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()> {
        execute!(
            self.pool,
            "UPDATE api_keys SET last_used = $1, expires_at = $2, updated_at = $1 WHERE id = $3",
            now,
            expires_at,
            id
        )?;
        Ok(())
    }

    /// Deletes an API key; whether it existed.
    pub async fn delete_api_key(&self, id: &str) -> Result<bool> {
        let done = execute!(self.pool, "DELETE FROM api_keys WHERE id = $1", id)?;
        Ok(done > 0)
    }
}
