//! The two regions of vcr-local.

/// A region of vcr-local (its own type: vcr-local shares nothing with the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalRegion {
    Hcm,
    Han,
}

impl LocalRegion {
    /// Both regions.
    pub const ALL: [LocalRegion; 2] = [LocalRegion::Hcm, LocalRegion::Han];

    /// `HCM` or `HAN`.
    pub fn code(self) -> &'static str {
        match self {
            LocalRegion::Hcm => "HCM",
            LocalRegion::Han => "HAN",
        }
    }

    /// The path prefix of the region's API: `/hcm` or `/han`.
    pub fn prefix(self) -> &'static str {
        match self {
            LocalRegion::Hcm => "/hcm",
            LocalRegion::Han => "/han",
        }
    }

    /// The real region's docker registry host (shown when no local registry
    /// is listening, as for an app served in-process).
    pub fn real_registry_host(self) -> &'static str {
        match self {
            LocalRegion::Hcm => "vcr.vngcloud.vn",
            LocalRegion::Han => "vcr-han.vngcloud.vn",
        }
    }

    /// Parses `hcm`/`han` in any case.
    pub fn parse(s: &str) -> Option<LocalRegion> {
        LocalRegion::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(s.trim()))
    }

    /// Its place in per-region arrays.
    pub fn index(self) -> usize {
        match self {
            LocalRegion::Hcm => 0,
            LocalRegion::Han => 1,
        }
    }
}
