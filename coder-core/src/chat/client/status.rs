//! The chat status a view shows: REST record vs stream `status` events (§5.3 status guard, or
//! `snapshot_version` ordering in Era C), plus the optimistic `pending` of a promote.

use crate::model::ChatStatus;

use super::version::{Source, Watermark};

/// The active chat's status and what decides the next write.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatusState {
    status: Option<ChatStatus>,
    watermark: Watermark,
    /// The status before an optimistic write, while that write is still shown.
    optimistic_previous: Option<Option<ChatStatus>>,
}

impl StatusState {
    /// The status to show.
    pub(crate) fn get(&self) -> Option<&ChatStatus> {
        self.status.as_ref()
    }

    /// The last status a server confirmed (the shown one minus an optimistic guess).
    pub(crate) fn confirmed(&self) -> Option<&ChatStatus> {
        match &self.optimistic_previous {
            Some(previous) => previous.as_ref(),
            None => self.status.as_ref(),
        }
    }

    /// The snapshot version of the shown status, when the server sends versions.
    pub(crate) fn version(&self) -> Option<u64> {
        self.watermark.version
    }

    /// Offers a status; returns whether it was applied. An optimistic status yields to a
    /// snapshot of equal version (it was never part of any server snapshot).
    pub(crate) fn apply(
        &mut self,
        source: Source,
        status: ChatStatus,
        version: Option<u64>,
    ) -> bool {
        let optimistic = self.optimistic_previous.is_some();
        if !self.watermark.admit(source, version, optimistic) {
            return false;
        }
        self.optimistic_previous = None;
        self.status = Some(status);
        true
    }

    /// Shows `status` before the server confirms it (promote).
    pub(crate) fn set_optimistic(&mut self, status: ChatStatus) {
        let previous = self.status.replace(status);
        self.optimistic_previous.get_or_insert(previous);
    }

    /// The optimistic action failed: restore the previous status unless the server spoke since.
    pub(crate) fn rollback_optimistic(&mut self) -> bool {
        match self.optimistic_previous.take() {
            Some(previous) => {
                self.status = previous;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_rest_status_after_a_stream_status_is_ignored() {
        let mut status = StatusState::default();
        assert!(status.apply(Source::Stream, ChatStatus::Running, None));
        assert!(!status.apply(Source::Rest, ChatStatus::Pending, None));
        assert_eq!(status.get(), Some(&ChatStatus::Running));
    }

    #[test]
    fn optimistic_status_yields_to_an_equal_version_and_rolls_back() {
        let mut status = StatusState::default();
        status.apply(Source::Rest, ChatStatus::Waiting, Some(4));
        status.set_optimistic(ChatStatus::Pending);
        assert!(status.rollback_optimistic());
        assert_eq!(status.get(), Some(&ChatStatus::Waiting));
        status.set_optimistic(ChatStatus::Pending);
        assert!(status.apply(Source::Stream, ChatStatus::Waiting, Some(4)));
        assert!(!status.rollback_optimistic());
    }
}
