//! The vCR regions and their hosts.

use std::fmt;
use std::str::FromStr;

use super::contract;

/// A vCR region. Each region is a separate service with its own data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Region {
    /// Ho Chi Minh City (`HCM`), the default region.
    #[default]
    Hcm,
    /// Hanoi (`HAN`).
    Han,
}

impl Region {
    /// Every region, in a stable order.
    pub const ALL: [Region; 2] = [Region::Hcm, Region::Han];

    /// The region's code as the API and the provider spell it: `HCM` or `HAN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Hcm => "HCM",
            Region::Han => "HAN",
        }
    }

    /// The management API base URL of the region (without `/v1`).
    pub fn default_api_base(self) -> &'static str {
        match self {
            Region::Hcm => contract::HCM_API_BASE,
            Region::Han => contract::HAN_API_BASE,
        }
    }

    /// The docker registry host of the region (for `docker login`).
    pub fn registry_host(self) -> &'static str {
        match self {
            Region::Hcm => contract::HCM_REGISTRY_HOST,
            Region::Han => contract::HAN_REGISTRY_HOST,
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown region {0:?}: expected \"HCM\" or \"HAN\"")]
pub struct ParseRegionError(pub String);

impl FromStr for Region {
    type Err = ParseRegionError;

    /// Parses `HCM` or `HAN`, ignoring case and surrounding blanks.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("HCM") {
            Ok(Region::Hcm)
        } else if t.eq_ignore_ascii_case("HAN") {
            Ok(Region::Han)
        } else {
            Err(ParseRegionError(s.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        assert_eq!("hcm".parse::<Region>().unwrap(), Region::Hcm);
        assert_eq!(" Han ".parse::<Region>().unwrap(), Region::Han);
        assert!("SGN".parse::<Region>().is_err());
        for r in Region::ALL {
            assert_eq!(r.to_string().parse::<Region>().unwrap(), r);
        }
        assert_eq!(Region::default(), Region::Hcm);
    }
}
