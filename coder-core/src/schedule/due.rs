//! [`Due`]: when a scheduled action (autostart, cleanup, dormancy, deletion) happens, and why.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ScheduleReason;
use crate::model::Timestamp;

/// The answer of a "when does X happen" rule.
///
/// Serialized as `{"status":"at","at":…,"reason":{…}}` or
/// `{"status":"not_applicable","reason":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Due {
    /// The action is due from `at` on (the lifecycle executor acts on its first tick at or
    /// after `at`).
    At {
        /// When the action becomes due.
        at: Timestamp,
        /// Why.
        reason: ScheduleReason,
    },
    /// The action will not happen; `reason` says which condition is missing.
    NotApplicable {
        /// Why not.
        reason: ScheduleReason,
    },
}

impl Due {
    /// The due time, if any.
    pub fn at(&self) -> Option<Timestamp> {
        match self {
            Self::At { at, .. } => Some(*at),
            Self::NotApplicable { .. } => None,
        }
    }

    /// The reason, whether due or not.
    pub fn reason(&self) -> &ScheduleReason {
        match self {
            Self::At { reason, .. } | Self::NotApplicable { reason } => reason,
        }
    }

    /// Whether the action is due at `now`.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.at().is_some_and(|at| now >= at)
    }
}

impl fmt::Display for Due {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::At { at, reason } => {
                write!(f, "due at {}: {reason}", super::reason::Rfc3339(*at))
            }
            Self::NotApplicable { reason } => write!(f, "not applicable: {reason}"),
        }
    }
}
