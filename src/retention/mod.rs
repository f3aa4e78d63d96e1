//! Retention rules: which artifacts of a repository a policy deletes. The model is
//! Harbor's tag retention (vCR is built on Harbor, and has no retention of its own):
//! each rule selects artifacts by image name and by tag, and says which of those it
//! keeps; an artifact is kept when any rule keeps it, deleted when a rule selects it
//! and none keeps it, and never touched when no rule selects it.
//!
//! Rules apply image by image, as Harbor's apply repository by repository: "keep the
//! last 10 pushed" keeps ten artifacts of each selected image. The engine is pure:
//! it knows neither Terraform nor HTTP, and is told what time it is.
//!
//! ```
//! use vcr_provider::retention::{Candidate, Keep, Policy, RuleSpec};
//! use time::macros::datetime;
//!
//! let policy = Policy::new(&[RuleSpec {
//!     tags: Some(vec!["v*".into()]),
//!     keep: Keep::LastPushed(1),
//!     ..RuleSpec::default()
//! }])
//! .unwrap();
//! let artifact = |digest: &str, tag: &str, day: u8| Candidate {
//!     image: "web".into(),
//!     digest: digest.into(),
//!     tags: vec![tag.into()],
//!     pushed_at: Some(datetime!(2026-01-01 0:00 UTC) + time::Duration::days(day.into())),
//!     ..Candidate::default()
//! };
//! let all = [artifact("sha256:a", "v1", 1), artifact("sha256:b", "v2", 2), artifact("sha256:c", "dev", 3)];
//! let gone = policy.deletions(&all, datetime!(2026-02-01 0:00 UTC));
//! // v2 is the last pushed `v*`; `dev` is selected by no rule.
//! assert_eq!(gone.iter().map(|c| c.digest.as_str()).collect::<Vec<_>>(), ["sha256:a"]);
//! ```

use std::collections::{BTreeMap, HashSet};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use time::{Duration, OffsetDateTime};

/// At most this many rules in a policy (Harbor's limit).
pub const MAX_RULES: usize = 15;

/// What a rule keeps of the artifacts it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keep {
    /// The N most recently pushed, per image.
    LastPushed(u32),
    /// The N most recently pulled, per image (never pulled counts as least recent).
    LastPulled(u32),
    /// Those pushed within the last N days.
    PushedWithinDays(u32),
    /// Those pulled within the last N days.
    PulledWithinDays(u32),
    /// All of them: what a rule protects.
    #[default]
    Always,
}

/// One rule as written: globs and what to keep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleSpec {
    /// Globs on the image name; `None` selects every image. `*` stays within one `/`
    /// segment, `**` crosses them.
    pub images: Option<Vec<String>>,
    /// Globs on tags; `None` selects every tagged artifact, an empty list none.
    pub tags: Option<Vec<String>>,
    /// Also select artifacts with no tag.
    pub untagged: bool,
    pub keep: Keep,
}

/// Why a policy cannot be built. `rule` counts from 0, as Terraform's paths do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("a policy needs at least one rule")]
    NoRule,
    #[error("a policy has at most {MAX_RULES} rules; this one has {0}")]
    TooManyRules(usize),
    #[error("{pattern:?} is not a valid glob: {reason}")]
    BadGlob {
        rule: usize,
        /// `images` or `tags`.
        attribute: &'static str,
        pattern: String,
        reason: String,
    },
    #[error("must be at least 1; got 0")]
    ZeroCount {
        rule: usize,
        attribute: &'static str,
    },
}

/// An artifact as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Candidate {
    pub image: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub size_bytes: u64,
    /// `None` when the registry gave no readable time: such an artifact is never
    /// deleted (nothing can say it is old).
    pub pushed_at: Option<OffsetDateTime>,
    /// `None` when never pulled.
    pub pulled_at: Option<OffsetDateTime>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    images: Option<GlobSet>,
    tags: Option<GlobSet>,
    untagged: bool,
    keep: Keep,
}

impl Rule {
    fn selects_image(&self, image: &str) -> bool {
        self.images.as_ref().is_none_or(|g| g.is_match(image))
    }

    fn selects(&self, c: &Candidate) -> bool {
        if c.tags.is_empty() {
            return self.untagged;
        }
        match &self.tags {
            None => true,
            Some(globs) => c.tags.iter().any(|t| globs.is_match(t)),
        }
    }

    /// The digests this rule keeps among the `selected` artifacts of one image.
    fn keeps<'a>(&self, selected: &[&'a Candidate], now: OffsetDateTime) -> HashSet<&'a str> {
        let within = |t: Option<OffsetDateTime>, days: u32| {
            t.is_some_and(|t| t >= now - Duration::days(i64::from(days)))
        };
        let newest = |n: u32, key: fn(&Candidate) -> Option<OffsetDateTime>| {
            let mut by_time: Vec<&'a Candidate> = selected.to_vec();
            // Most recent first; never (None) last; ties by push time, then digest.
            by_time.sort_by(|a, b| {
                key(b)
                    .cmp(&key(a))
                    .then(b.pushed_at.cmp(&a.pushed_at))
                    .then(a.digest.cmp(&b.digest))
            });
            by_time
                .into_iter()
                .take(n as usize)
                .map(|c| c.digest.as_str())
                .collect::<HashSet<_>>()
        };
        match self.keep {
            Keep::Always => selected.iter().map(|c| c.digest.as_str()).collect(),
            Keep::LastPushed(n) => newest(n, |c| c.pushed_at),
            Keep::LastPulled(n) => newest(n, |c| c.pulled_at),
            Keep::PushedWithinDays(d) => selected
                .iter()
                .filter(|c| within(c.pushed_at, d))
                .map(|c| c.digest.as_str())
                .collect(),
            Keep::PulledWithinDays(d) => selected
                .iter()
                .filter(|c| within(c.pulled_at, d))
                .map(|c| c.digest.as_str())
                .collect(),
        }
    }
}

/// A checked set of rules.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
}

fn glob_set(
    patterns: &[String],
    rule: usize,
    attribute: &'static str,
) -> Result<GlobSet, RuleError> {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        let glob: Glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| RuleError::BadGlob {
                rule,
                attribute,
                pattern: pattern.clone(),
                reason: e.kind().to_string(),
            })?;
        set.add(glob);
    }
    set.build().map_err(|e| RuleError::BadGlob {
        rule,
        attribute,
        pattern: patterns.join(", "),
        reason: e.kind().to_string(),
    })
}

impl Policy {
    /// Checks and compiles the rules.
    pub fn new(specs: &[RuleSpec]) -> Result<Policy, RuleError> {
        if specs.is_empty() {
            return Err(RuleError::NoRule);
        }
        if specs.len() > MAX_RULES {
            return Err(RuleError::TooManyRules(specs.len()));
        }
        let rules = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let zero = |attribute| Err(RuleError::ZeroCount { rule: i, attribute });
                match spec.keep {
                    Keep::LastPushed(0) => return zero("keep_last_pushed"),
                    Keep::LastPulled(0) => return zero("keep_last_pulled"),
                    Keep::PushedWithinDays(0) => return zero("keep_pushed_within_days"),
                    Keep::PulledWithinDays(0) => return zero("keep_pulled_within_days"),
                    _ => {}
                }
                Ok(Rule {
                    images: spec
                        .images
                        .as_deref()
                        .map(|p| glob_set(p, i, "images"))
                        .transpose()?,
                    tags: spec
                        .tags
                        .as_deref()
                        .map(|p| glob_set(p, i, "tags"))
                        .transpose()?,
                    untagged: spec.untagged,
                    keep: spec.keep,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { rules })
    }

    /// Whether any rule looks at this image at all: images no rule selects need not
    /// even be read.
    pub fn selects_image(&self, image: &str) -> bool {
        self.rules.iter().any(|r| r.selects_image(image))
    }

    /// The artifacts to delete among `artifacts` (of any number of images), sorted by
    /// image, then oldest push first, then digest. `now` is the time "within N days"
    /// counts back from.
    pub fn deletions(&self, artifacts: &[Candidate], now: OffsetDateTime) -> Vec<Candidate> {
        let mut by_image: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
        for c in artifacts {
            by_image.entry(c.image.as_str()).or_default().push(c);
        }
        let mut out = Vec::new();
        for (image, all) in by_image {
            let mut selected_any: HashSet<&str> = HashSet::new();
            let mut kept: HashSet<&str> = HashSet::new();
            for rule in self.rules.iter().filter(|r| r.selects_image(image)) {
                let selected: Vec<&Candidate> =
                    all.iter().copied().filter(|c| rule.selects(c)).collect();
                selected_any.extend(selected.iter().map(|c| c.digest.as_str()));
                kept.extend(rule.keeps(&selected, now));
            }
            let mut gone: Vec<&Candidate> = all
                .into_iter()
                .filter(|c| {
                    c.pushed_at.is_some()
                        && selected_any.contains(c.digest.as_str())
                        && !kept.contains(c.digest.as_str())
                })
                .collect();
            gone.sort_by(|a, b| a.pushed_at.cmp(&b.pushed_at).then(a.digest.cmp(&b.digest)));
            out.extend(gone.into_iter().cloned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-30 12:00 UTC);

    fn art(image: &str, digest: &str, tags: &[&str], pushed_days_ago: i64) -> Candidate {
        Candidate {
            image: image.into(),
            digest: digest.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            size_bytes: 10,
            pushed_at: Some(NOW - Duration::days(pushed_days_ago)),
            pulled_at: None,
        }
    }

    fn rule(keep: Keep) -> RuleSpec {
        RuleSpec {
            keep,
            ..RuleSpec::default()
        }
    }

    fn digests(policy: &Policy, all: &[Candidate]) -> Vec<String> {
        policy
            .deletions(all, NOW)
            .into_iter()
            .map(|c| format!("{}@{}", c.image, c.digest))
            .collect()
    }

    #[test]
    fn keep_last_pushed_counts_per_image() {
        let all = [
            art("web", "a", &["v1"], 3),
            art("web", "b", &["v2"], 2),
            art("web", "c", &["v3"], 1),
            art("api", "d", &["v1"], 5),
        ];
        let p = Policy::new(&[rule(Keep::LastPushed(2))]).unwrap();
        assert_eq!(digests(&p, &all), ["web@a"]);
    }

    #[test]
    fn untagged_are_selected_only_when_asked() {
        let all = [art("web", "a", &[], 30), art("web", "b", &["v1"], 30)];
        let p = Policy::new(&[rule(Keep::PushedWithinDays(7))]).unwrap();
        assert_eq!(digests(&p, &all), ["web@b"], "untagged not selected");
        let only_untagged = RuleSpec {
            tags: Some(vec![]),
            untagged: true,
            keep: Keep::PushedWithinDays(7),
            ..RuleSpec::default()
        };
        let p = Policy::new(&[only_untagged]).unwrap();
        assert_eq!(
            digests(&p, &all),
            ["web@a"],
            "tags = [] selects no tagged one"
        );
    }

    #[test]
    fn any_rule_keeping_wins_and_unselected_are_untouched() {
        let all = [
            art("web", "old-prod", &["prod-1"], 90),
            art("web", "old-v", &["v1"], 90),
            art("web", "new-v", &["v2"], 1),
            art("web", "dev", &["dev"], 90),
        ];
        let releases = RuleSpec {
            tags: Some(vec!["v*".into(), "prod-*".into()]),
            keep: Keep::LastPushed(1),
            ..RuleSpec::default()
        };
        let protect = RuleSpec {
            tags: Some(vec!["prod-*".into()]),
            keep: Keep::Always,
            ..RuleSpec::default()
        };
        let p = Policy::new(&[releases, protect]).unwrap();
        assert_eq!(digests(&p, &all), ["web@old-v"]);
    }

    #[test]
    fn double_star_crosses_slashes_and_star_does_not() {
        let all = [
            art("web", "a", &["x"], 9),
            art("web/frontend", "b", &["x"], 9),
            art("web/frontend/ui", "c", &["x"], 9),
        ];
        let one_level = RuleSpec {
            images: Some(vec!["web/*".into()]),
            keep: Keep::PushedWithinDays(1),
            ..RuleSpec::default()
        };
        let p = Policy::new(&[one_level]).unwrap();
        assert_eq!(digests(&p, &all), ["web/frontend@b"]);
        let any_depth = RuleSpec {
            images: Some(vec!["web/**".into()]),
            keep: Keep::PushedWithinDays(1),
            ..RuleSpec::default()
        };
        let p = Policy::new(&[any_depth]).unwrap();
        assert_eq!(digests(&p, &all), ["web/frontend@b", "web/frontend/ui@c"]);
    }

    #[test]
    fn pulls_decide_the_pull_rules() {
        let mut pulled_recently = art("web", "a", &["v1"], 50);
        pulled_recently.pulled_at = Some(NOW - Duration::days(2));
        let mut pulled_long_ago = art("web", "b", &["v2"], 50);
        pulled_long_ago.pulled_at = Some(NOW - Duration::days(40));
        let never = art("web", "c", &["v3"], 1);
        let all = [pulled_recently, pulled_long_ago, never];
        let p = Policy::new(&[rule(Keep::PulledWithinDays(30))]).unwrap();
        assert_eq!(digests(&p, &all), ["web@b", "web@c"]);
        let p = Policy::new(&[rule(Keep::LastPulled(2))]).unwrap();
        assert_eq!(digests(&p, &all), ["web@c"], "never pulled is least recent");
    }

    #[test]
    fn an_artifact_without_a_push_time_is_never_deleted() {
        let mut undated = art("web", "a", &["v1"], 0);
        undated.pushed_at = None;
        let p = Policy::new(&[rule(Keep::PushedWithinDays(1))]).unwrap();
        assert!(p.deletions(&[undated], NOW).is_empty());
    }

    #[test]
    fn bad_rules_are_refused_naming_what() {
        assert_eq!(Policy::new(&[]).unwrap_err(), RuleError::NoRule);
        let many = vec![rule(Keep::Always); 16];
        assert_eq!(Policy::new(&many).unwrap_err(), RuleError::TooManyRules(16));
        let zero = [rule(Keep::Always), rule(Keep::LastPushed(0))];
        assert_eq!(
            Policy::new(&zero).unwrap_err(),
            RuleError::ZeroCount {
                rule: 1,
                attribute: "keep_last_pushed"
            }
        );
        let bad = RuleSpec {
            tags: Some(vec!["v[".into()]),
            ..RuleSpec::default()
        };
        match Policy::new(&[bad]).unwrap_err() {
            RuleError::BadGlob {
                rule: 0,
                attribute: "tags",
                pattern,
                ..
            } => assert_eq!(pattern, "v["),
            other => panic!("{other:?}"),
        }
    }
}
