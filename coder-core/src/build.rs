//! Workspace build states: the status a workspace shows, the life of a provisioner job, and
//! which builds may start when.
//!
//! The status table is Coder's `ConvertWorkspaceStatus`; the job transitions are the ones the
//! reference server's job runner performs. Both are pure functions so the server only persists
//! their results.

use crate::model::{ProvisionerJobStatus, WorkspaceStatus, WorkspaceTransition};
use crate::{Error, Result};

/// The status of a workspace (or build) from its latest job's status and transition.
///
/// ```
/// use coder_core::build::workspace_status;
/// use coder_core::model::{ProvisionerJobStatus as Job, WorkspaceStatus, WorkspaceTransition as T};
/// assert_eq!(workspace_status(&Job::Running, &T::Stop), WorkspaceStatus::Stopping);
/// assert_eq!(workspace_status(&Job::Succeeded, &T::Delete), WorkspaceStatus::Deleted);
/// ```
pub fn workspace_status(
    job: &ProvisionerJobStatus,
    transition: &WorkspaceTransition,
) -> WorkspaceStatus {
    use ProvisionerJobStatus as J;
    use WorkspaceTransition as T;
    match (job, transition) {
        (J::Pending, _) => WorkspaceStatus::Pending,
        (J::Running, T::Start) => WorkspaceStatus::Starting,
        (J::Running, T::Stop) => WorkspaceStatus::Stopping,
        (J::Running, T::Delete) => WorkspaceStatus::Deleting,
        (J::Succeeded, T::Start) => WorkspaceStatus::Running,
        (J::Succeeded, T::Stop) => WorkspaceStatus::Stopped,
        (J::Succeeded, T::Delete) => WorkspaceStatus::Deleted,
        (J::Canceling, _) => WorkspaceStatus::Canceling,
        (J::Canceled, _) => WorkspaceStatus::Canceled,
        // Coder maps every other combination (failed, unknown job status or transition) to
        // `failed`: a client must never show a healthy status it cannot justify.
        _ => WorkspaceStatus::Failed,
    }
}

/// Whether a workspace in `status` has a build in flight (pending, running or cancelling).
pub fn is_build_active(status: &WorkspaceStatus) -> bool {
    use WorkspaceStatus as S;
    matches!(
        status,
        S::Pending | S::Starting | S::Stopping | S::Deleting | S::Canceling
    )
}

/// Checks that a `requested` build may start on a workspace whose latest build is `status`.
///
/// - While a build is active, any new build is a conflict (`409` in Coder's API).
/// - A deleted workspace accepts no more builds.
/// - Otherwise every transition is allowed: start on a running workspace updates it, stop on a
///   stopped one re-applies the stop, and delete works from any settled state (Coder behaves
///   the same way; the provisioner makes these idempotent).
///
/// ```
/// use coder_core::build::check_new_build;
/// use coder_core::model::{WorkspaceStatus as S, WorkspaceTransition as T};
/// assert!(check_new_build(&S::Stopped, &T::Start).is_ok());
/// assert!(check_new_build(&S::Starting, &T::Stop).is_err());
/// ```
pub fn check_new_build(status: &WorkspaceStatus, requested: &WorkspaceTransition) -> Result<()> {
    if is_build_active(status) {
        return Err(Error::BuildConflict {
            status: status.clone(),
            requested: requested.clone(),
        });
    }
    if *status == WorkspaceStatus::Deleted || matches!(requested, WorkspaceTransition::Unknown(_)) {
        return Err(Error::TransitionNotAllowed {
            status: status.clone(),
            requested: requested.clone(),
        });
    }
    Ok(())
}

/// Something that happens to a provisioner job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEvent {
    /// A provisioner acquired the pending job.
    Acquired,
    /// The provisioner finished successfully.
    Succeeded,
    /// The provisioner reported a failure.
    Failed,
    /// A user asked to cancel.
    CancelRequested,
    /// The provisioner stopped after a cancel request.
    CancelFinished,
    /// The server is shutting down gracefully: give the job back so the next start runs it.
    Requeued,
    /// The provisioner stopped heartbeating (crash): the job cannot be trusted to finish.
    Abandoned,
}

/// The job status after `event`, or an error when the event makes no sense in `current`.
///
/// A pending job that is cancelled never ran, so it goes straight to `canceled`; a running one
/// passes through `canceling` until the provisioner stops.
///
/// ```
/// use coder_core::build::{next_job_status, JobEvent};
/// use coder_core::model::ProvisionerJobStatus as J;
/// assert_eq!(next_job_status(&J::Pending, &JobEvent::CancelRequested).unwrap(), J::Canceled);
/// assert_eq!(next_job_status(&J::Running, &JobEvent::CancelRequested).unwrap(), J::Canceling);
/// assert!(next_job_status(&J::Succeeded, &JobEvent::Acquired).is_err());
/// ```
pub fn next_job_status(
    current: &ProvisionerJobStatus,
    event: &JobEvent,
) -> Result<ProvisionerJobStatus> {
    use JobEvent as E;
    use ProvisionerJobStatus as J;
    let next = match (current, event) {
        (J::Pending, E::Acquired) => J::Running,
        (J::Pending, E::CancelRequested) => J::Canceled,
        (J::Running, E::Succeeded) => J::Succeeded,
        (J::Running | J::Canceling, E::Failed | E::Abandoned) => J::Failed,
        (J::Running, E::CancelRequested) => J::Canceling,
        (J::Running, E::Requeued) => J::Pending,
        (J::Canceling, E::CancelFinished | E::Requeued) => J::Canceled,
        // A provisioner may finish its work before it sees the cancel: the work happened.
        (J::Canceling, E::Succeeded) => J::Succeeded,
        (J::Canceling, E::CancelRequested) => J::Canceling,
        _ => {
            return Err(Error::Invalid {
                field: "job".to_owned(),
                reason: format!("a {current} job cannot take the event {event:?}"),
            });
        }
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::WireEnum;
    use ProvisionerJobStatus as J;
    use WorkspaceStatus as S;
    use WorkspaceTransition as T;

    /// Coder's table, row by row (coder-api.md §6.4).
    #[test]
    fn status_table_matches_coder() {
        let rows = [
            (J::Pending, [S::Pending, S::Pending, S::Pending]),
            (J::Running, [S::Starting, S::Stopping, S::Deleting]),
            (J::Succeeded, [S::Running, S::Stopped, S::Deleted]),
            (J::Canceling, [S::Canceling, S::Canceling, S::Canceling]),
            (J::Canceled, [S::Canceled, S::Canceled, S::Canceled]),
            (J::Failed, [S::Failed, S::Failed, S::Failed]),
            (
                J::Unknown("unknown".into()),
                [S::Failed, S::Failed, S::Failed],
            ),
        ];
        for (job, expected) in rows {
            for (transition, want) in T::KNOWN.iter().zip(expected) {
                assert_eq!(
                    workspace_status(&job, transition),
                    want,
                    "{job} × {transition}"
                );
            }
        }
    }

    #[test]
    fn second_build_while_one_is_active_is_a_conflict() {
        for active in [
            S::Pending,
            S::Starting,
            S::Stopping,
            S::Deleting,
            S::Canceling,
        ] {
            let err = check_new_build(&active, &T::Stop).unwrap_err();
            assert_eq!(
                err,
                Error::BuildConflict {
                    status: active.clone(),
                    requested: T::Stop
                }
            );
        }
        assert_eq!(
            check_new_build(&S::Starting, &T::Delete)
                .unwrap_err()
                .to_string(),
            "workspace is starting: a delete build cannot start until the active build ends"
        );
    }

    #[test]
    fn settled_workspaces_accept_every_transition_except_after_delete() {
        for settled in [S::Running, S::Stopped, S::Failed, S::Canceled] {
            for t in T::KNOWN {
                assert_eq!(check_new_build(&settled, t), Ok(()), "{settled} -> {t}");
            }
        }
        assert_eq!(
            check_new_build(&S::Deleted, &T::Start)
                .unwrap_err()
                .to_string(),
            "cannot start a workspace that is deleted"
        );
    }

    #[test]
    fn job_lifecycle_paths() {
        let run = |events: &[JobEvent]| {
            events
                .iter()
                .try_fold(J::Pending, |s, e| next_job_status(&s, e))
        };
        use JobEvent as E;
        assert_eq!(run(&[E::Acquired, E::Succeeded]), Ok(J::Succeeded));
        assert_eq!(run(&[E::Acquired, E::Failed]), Ok(J::Failed));
        assert_eq!(
            run(&[E::Acquired, E::CancelRequested, E::CancelFinished]),
            Ok(J::Canceled)
        );
        assert_eq!(
            run(&[E::Acquired, E::Requeued, E::Acquired, E::Succeeded]),
            Ok(J::Succeeded)
        );
        assert_eq!(run(&[E::Acquired, E::Abandoned]), Ok(J::Failed));
        assert!(run(&[E::Succeeded]).is_err());
        assert!(run(&[E::Acquired, E::Succeeded, E::CancelRequested]).is_err());
    }
}
