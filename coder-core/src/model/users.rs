//! Users, API keys and tokens, and the login/first-user flows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Timestamp;
use crate::wire::null_as_empty;
use crate::wire_enum;

wire_enum! {
    /// Whether a user may log in.
    pub enum UserStatus {
        /// Normal account.
        Active = "active",
        /// Not seen for a long time; reactivates on login.
        Dormant = "dormant",
        /// Blocked by an administrator.
        Suspended = "suspended",
    }
}

wire_enum! {
    /// How a user (or an API key) authenticates.
    pub enum LoginType {
        /// Not set.
        Unset = "",
        /// Email and password.
        Password = "password",
        /// GitHub OAuth.
        Github = "github",
        /// OpenID Connect.
        Oidc = "oidc",
        /// A long-lived API token.
        Token = "token",
        /// No login (service accounts).
        None = "none",
    }
}

wire_enum! {
    /// What an API key may do. Coder has over two hundred fine-grained scopes; the ones a client
    /// usually sets are named here and every other one decodes as `Unknown` and re-encodes as is.
    pub enum APIKeyScope {
        /// Everything the user can do.
        All = "all",
        /// Only connect to workspace applications.
        ApplicationConnect = "application_connect",
        /// Everything (new-style name).
        CoderAll = "coder:all",
        /// Access workspaces (SSH, apps, port-forward).
        CoderWorkspacesAccess = "coder:workspaces.access",
    }
}

/// A role as embedded in user objects.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SlimRole {
    /// Role name: `owner`, `member`, `template-admin`, ...
    pub name: String,
    /// Human-readable name.
    pub display_name: String,
    /// Set for organization-scoped roles.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub organization_id: String,
}

/// A user account (`GET /api/v2/users/{user}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// User id.
    pub id: Uuid,
    /// Unique login name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Avatar image URL.
    pub avatar_url: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
    /// Last activity.
    pub last_seen_at: Timestamp,
    /// Account status.
    pub status: UserStatus,
    /// How the user logs in.
    pub login_type: LoginType,
    /// Site-wide roles.
    #[serde(deserialize_with = "null_as_empty")]
    pub roles: Vec<SlimRole>,
    /// Organizations the user belongs to.
    #[serde(deserialize_with = "null_as_empty")]
    pub organization_ids: Vec<Uuid>,
    /// UI theme preference.
    pub theme_preference: String,
    /// Whether this is a service account.
    pub is_service_account: bool,
}

/// `GET /api/v2/users`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GetUsersResponse {
    /// One page of users.
    #[serde(deserialize_with = "null_as_empty")]
    pub users: Vec<User>,
    /// Total matching users.
    pub count: i64,
}

/// `POST /api/v2/users/first`: creates the owner of a fresh deployment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateFirstUserRequest {
    /// Email address (required).
    pub email: String,
    /// Login name (required).
    pub username: String,
    /// Display name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Password (required).
    pub password: String,
    /// Whether to start an enterprise trial.
    pub trial: bool,
}

/// Answer to [`CreateFirstUserRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateFirstUserResponse {
    /// The new owner.
    pub user_id: Uuid,
    /// The default organization.
    pub organization_id: Uuid,
}

/// `POST /api/v2/users`: an owner creates a user.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateUserRequestWithOrgs {
    /// Email address.
    pub email: String,
    /// Login name (required).
    pub username: String,
    /// Display name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Initial password (for `password` logins).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// How the user will log in.
    #[serde(skip_serializing_if = "is_unset_login")]
    pub login_type: LoginType,
    /// Organizations to join (the default one when empty).
    #[serde(deserialize_with = "null_as_empty")]
    pub organization_ids: Vec<Uuid>,
    /// Site roles to grant.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub roles: Vec<String>,
    /// Initial status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<UserStatus>,
}

fn is_unset_login(t: &LoginType) -> bool {
    matches!(t, LoginType::Unset) || matches!(t, LoginType::Unknown(s) if s.is_empty())
}

/// `POST /api/v2/users/login`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginWithPasswordRequest {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Answer to [`LoginWithPasswordRequest`] (`201`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginWithPasswordResponse {
    /// The session token (`<id>-<secret>`).
    pub session_token: String,
}

/// An API key's metadata (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct APIKey {
    /// The public half of the token (`<id>` in `<id>-<secret>`).
    pub id: String,
    /// Owner.
    pub user_id: Uuid,
    /// Name given at creation (tokens only).
    pub token_name: String,
    /// Last time the key was used.
    pub last_used: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
    /// How the key was obtained (`password` session or `token`).
    pub login_type: LoginType,
    /// Legacy single scope.
    pub scope: APIKeyScope,
    /// Scopes.
    #[serde(deserialize_with = "null_as_empty")]
    pub scopes: Vec<APIKeyScope>,
    /// Lifetime in **seconds** (unlike [`CreateTokenRequest::lifetime`]).
    pub lifetime_seconds: i64,
}

/// `POST /api/v2/users/{user}/keys/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateTokenRequest {
    /// Token name, unique per user.
    pub token_name: String,
    /// Lifetime in **nanoseconds** (Go's `time.Duration`); 0 means the server default.
    pub lifetime: i64,
    /// Legacy single scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<APIKeyScope>,
    /// Scopes.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub scopes: Vec<APIKeyScope>,
}

/// Answer to [`CreateTokenRequest`]: the full `<id>-<secret>` token, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateAPIKeyResponse {
    /// The token.
    pub key: String,
}
