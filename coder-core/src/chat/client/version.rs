//! Which of two snapshots of one fact wins: version watermarks (Era C) with the source-based
//! guard of Era A/B servers as the fallback.

/// Where a snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A REST read, possibly from the cache and possibly stale.
    Rest,
    /// A stream event.
    Stream,
}

/// One fact's watermark: the highest version applied, and whether the stream has spoken since
/// the guard was last reset (the `wsQueueUpdateReceived` / `wsStatusReceived` refs).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Watermark {
    pub(crate) version: Option<u64>,
    pub(crate) stream_seen: bool,
}

impl Watermark {
    /// Decides whether a snapshot with `version` from `source` applies, and records it if so.
    ///
    /// - Versioned: only a strictly newer version applies (`or_equal` also admits an equal one,
    ///   for facts whose current value is an optimistic local guess).
    /// - Unversioned after versions were seen: ignored (Era C sends a version with everything).
    /// - Unversioned otherwise: REST applies until the stream has spoken; the stream always does.
    pub(crate) fn admit(&mut self, source: Source, version: Option<u64>, or_equal: bool) -> bool {
        let admitted = match (version, self.version) {
            (Some(new), Some(current)) => new > current || (or_equal && new == current),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => source == Source::Stream || !self.stream_seen,
        };
        if admitted {
            if source == Source::Stream {
                self.stream_seen = true;
            }
            self.version = version.max(self.version);
        }
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_truth_table_without_versions() {
        let mut mark = Watermark::default();
        assert!(mark.admit(Source::Rest, None, false), "first hydration");
        assert!(
            mark.admit(Source::Rest, None, false),
            "refetch before any stream update"
        );
        assert!(mark.admit(Source::Stream, None, false));
        assert!(
            !mark.admit(Source::Rest, None, false),
            "stream is authoritative"
        );
    }

    #[test]
    fn newer_version_wins_whatever_the_path() {
        let mut mark = Watermark::default();
        assert!(mark.admit(Source::Stream, Some(5), false));
        assert!(mark.admit(Source::Rest, Some(6), false));
        assert!(!mark.admit(Source::Stream, Some(6), false));
        assert!(mark.admit(Source::Stream, Some(6), true));
        assert!(!mark.admit(Source::Stream, Some(4), true));
        assert!(
            !mark.admit(Source::Stream, None, false),
            "unversioned after versions"
        );
    }
}
