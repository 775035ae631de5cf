//! Organizations and their members.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{LoginType, SlimRole, Timestamp, UserStatus};
use crate::wire::null_as_empty;

/// An organization (`GET /api/v2/organizations/{org}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Organization {
    /// Organization id.
    pub id: Uuid,
    /// URL-safe name (`coder` for the default organization).
    pub name: String,
    /// Human-readable name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Icon URL.
    pub icon: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
    /// Whether this is the deployment's default organization.
    pub is_default: bool,
}

/// A membership as returned when adding a member.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationMember {
    /// The member.
    pub user_id: Uuid,
    /// The organization.
    pub organization_id: Uuid,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update time.
    pub updated_at: Timestamp,
    /// Organization roles.
    #[serde(deserialize_with = "null_as_empty")]
    pub roles: Vec<SlimRole>,
}

/// A membership with the user's details (`GET /api/v2/organizations/{org}/members`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganizationMemberWithUserData {
    /// The member.
    pub user_id: Uuid,
    /// The organization.
    pub organization_id: Uuid,
    /// Login name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Avatar image URL.
    pub avatar_url: String,
    /// Account status.
    pub status: UserStatus,
    /// How the user logs in.
    pub login_type: LoginType,
    /// Membership creation time.
    pub created_at: Timestamp,
    /// Membership update time.
    pub updated_at: Timestamp,
    /// Organization roles.
    #[serde(deserialize_with = "null_as_empty")]
    pub roles: Vec<SlimRole>,
    /// Site-wide roles.
    #[serde(deserialize_with = "null_as_empty")]
    pub global_roles: Vec<SlimRole>,
}
