//! Users and their API keys (sessions and tokens). Only hashes of passwords and key secrets
//! are stored.

use coder_core::model::Timestamp;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::Store;
use super::rows::{RowExt, ts};
use crate::error::Result;

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Id.
    pub id: Uuid,
    /// Unique login name.
    pub username: String,
    /// Unique email.
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

    fn from_row(r: &AnyRow) -> Result<Self> {
        let roles = r.text("rbac_roles")?;
        Ok(Self {
            id: r.uuid("id")?,
            username: r.text("username")?,
            email: r.text("email")?,
            name: r.text("name")?,
            hashed_password: r.text("hashed_password")?,
            status: r.text("status")?,
            login_type: r.text("login_type")?,
            roles: roles
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
            last_seen_at: r.time("last_seen_at")?,
        })
    }
}

/// A stored API key: a session (login) or a named token.
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl ApiKeyRow {
    fn from_row(r: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: r.text("id")?,
            hashed_secret: r.text("hashed_secret")?,
            user_id: r.uuid("user_id")?,
            login_type: r.text("login_type")?,
            token_name: r.text("token_name")?,
            scope: r.text("scope")?,
            lifetime_seconds: r.int("lifetime_seconds")?,
            expires_at: r.time("expires_at")?,
            last_used: r.time("last_used")?,
            created_at: r.time("created_at")?,
            updated_at: r.time("updated_at")?,
        })
    }
}

/// Inserts a user (inside the caller's transaction).
pub(crate) async fn insert_user(c: &mut AnyConnection, u: &UserRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (id, username, email, name, hashed_password, status, login_type, rbac_roles, created_at, updated_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(u.id.to_string())
    .bind(&u.username)
    .bind(&u.email)
    .bind(&u.name)
    .bind(&u.hashed_password)
    .bind(&u.status)
    .bind(&u.login_type)
    .bind(u.roles.join(","))
    .bind(ts(u.created_at))
    .bind(ts(u.updated_at))
    .bind(ts(u.last_seen_at))
    .execute(&mut *c)
    .await?;
    Ok(())
}

impl Store {
    /// How many users exist.
    pub async fn count_users(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.read)
            .await?;
        r.int("n")
    }

    /// Creates a user and makes them a member of `org_id`, in one transaction.
    /// `only_if_first` makes the insert fail (returning `false`) when any user exists.
    pub async fn create_user(
        &self,
        u: &UserRow,
        org_id: Uuid,
        only_if_first: bool,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if only_if_first {
            let n = sqlx::query("SELECT COUNT(*) AS n FROM users")
                .fetch_one(&mut *tx)
                .await?
                .int("n")?;
            if n > 0 {
                return Ok(false);
            }
        }
        insert_user(&mut tx, u).await?;
        sqlx::query(
            "INSERT INTO organization_members (organization_id, user_id, roles, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org_id.to_string())
        .bind(u.id.to_string())
        .bind("")
        .bind(ts(u.created_at))
        .bind(ts(u.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A user by id.
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRow>> {
        let r = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(UserRow::from_row).transpose()
    }

    /// A user by username (case-insensitive).
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        let r = sqlx::query("SELECT * FROM users WHERE LOWER(username) = LOWER($1)")
            .bind(username)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(UserRow::from_row).transpose()
    }

    /// A user by email (case-insensitive).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        let r = sqlx::query("SELECT * FROM users WHERE LOWER(email) = LOWER($1)")
            .bind(email)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(UserRow::from_row).transpose()
    }

    /// Users whose username or email contains `search` (all when empty), oldest first.
    pub async fn list_users(&self, search: &str) -> Result<Vec<UserRow>> {
        let pattern = format!("%{}%", search.to_lowercase());
        let rows = sqlx::query(
            "SELECT * FROM users WHERE LOWER(username) LIKE $1 OR LOWER(email) LIKE $1 ORDER BY created_at, username",
        )
        .bind(pattern)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(UserRow::from_row).collect()
    }

    /// Records that the user was seen at `now`.
    pub async fn touch_user(&self, id: Uuid, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE users SET last_seen_at = $1 WHERE id = $2")
            .bind(ts(now))
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a new API key.
    pub async fn insert_api_key(&self, k: &ApiKeyRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, hashed_secret, user_id, login_type, token_name, scope, lifetime_seconds, expires_at, last_used, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&k.id)
        .bind(&k.hashed_secret)
        .bind(k.user_id.to_string())
        .bind(&k.login_type)
        .bind(&k.token_name)
        .bind(&k.scope)
        .bind(k.lifetime_seconds)
        .bind(ts(k.expires_at))
        .bind(ts(k.last_used))
        .bind(ts(k.created_at))
        .bind(ts(k.updated_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An API key by its public id.
    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRow>> {
        let r = sqlx::query("SELECT * FROM api_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(ApiKeyRow::from_row).transpose()
    }

    /// The user's named tokens, oldest first.
    pub async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiKeyRow>> {
        let rows = sqlx::query(
            "SELECT * FROM api_keys WHERE user_id = $1 AND login_type = 'token' ORDER BY created_at, id",
        )
        .bind(user_id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(ApiKeyRow::from_row).collect()
    }

    /// Records a use of the key; `expires_at` is the refreshed expiry.
    pub async fn touch_api_key(
        &self,
        id: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used = $1, expires_at = $2, updated_at = $1 WHERE id = $3",
        )
        .bind(ts(now))
        .bind(ts(expires_at))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes an API key; whether it existed.
    pub async fn delete_api_key(&self, id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM api_keys WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}
