//! The domain's objects as the core hands them to the adapters: repositories,
//! users and their grants, images and artifacts, who is asking and what for.

use super::LocalRegion;
pub use crate::local::store::records::{Artifact, HistoryEntry, ImageSummary};

/// A permission policy a user can be granted on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Its stable id (`GET /v1/user/permissions`).
    pub id: &'static str,
    /// Its text, as the real service words it.
    pub action: &'static str,
    /// What it allows on the registry.
    pub rights: Rights,
}

/// The three policies the real service lists. The provider never attaches
/// `All` (reported broken on the real service); here it is pull and push.
pub const POLICIES: [Policy; 3] = [
    Policy {
        id: "b7f3c2d0-5a1e-4c8b-9f2a-1d0e6c3b7a01",
        action: "Pull Images",
        rights: Rights::PULL,
    },
    Policy {
        id: "e4a9d1c6-2b7f-4e3a-8c5d-9f1b0a2e6d02",
        action: "Push Images",
        rights: Rights::PUSH,
    },
    Policy {
        id: "0c6e2f8a-9d4b-4a17-b3e5-7f2d1c9a4b03",
        action: "All",
        rights: Rights::ALL,
    },
];

/// A policy by id.
pub fn policy(id: &str) -> Option<&'static Policy> {
    POLICIES.iter().find(|p| p.id == id)
}

/// What a principal may do on a repository of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rights {
    pub pull: bool,
    pub push: bool,
    /// Deleting manifests, tags and blobs through the registry (given with
    /// push: robot accounts that push may clean up after themselves).
    pub delete: bool,
}

impl Rights {
    pub const NONE: Rights = Rights {
        pull: false,
        push: false,
        delete: false,
    };
    pub const PULL: Rights = Rights {
        pull: true,
        push: false,
        delete: false,
    };
    pub const PUSH: Rights = Rights {
        pull: false,
        push: true,
        delete: true,
    };
    pub const ALL: Rights = Rights {
        pull: true,
        push: true,
        delete: true,
    };

    /// Both sets of rights together.
    pub fn union(self, other: Rights) -> Rights {
        Rights {
            pull: self.pull || other.pull,
            push: self.push || other.push,
            delete: self.delete || other.delete,
        }
    }

    /// Whether these rights allow the action.
    pub fn allows(self, action: Action) -> bool {
        match action {
            Action::Pull => self.pull,
            Action::Push => self.push,
            Action::Delete => self.delete,
        }
    }
}

/// What a registry request wants to do on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    /// The word in a token scope (`pull`, `push`, `delete`).
    pub fn word(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }

    /// Parses a scope word; `*` is handled by the caller.
    pub fn parse(word: &str) -> Option<Action> {
        match word {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }

    /// Every action.
    pub const ALL: [Action; 3] = [Action::Pull, Action::Push, Action::Delete];
}

/// Who is asking: nobody in particular, or a repository user of a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    User(UserRef),
}

/// A repository user, as authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub uuid: String,
    /// The docker login name, `{accountId}-{name}`.
    pub backend_name: String,
    pub region: LocalRegion,
}

impl Principal {
    /// The user's id, or an empty string for anonymous.
    pub fn subject(&self) -> &str {
        match self {
            Principal::Anonymous => "",
            Principal::User(u) => &u.uuid,
        }
    }
}

/// A repository, as seen by authorization and the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub uuid: String,
    pub name: String,
    pub backend_name: String,
    pub public: bool,
    pub quota_limit_gb: u64,
    /// The quota in bytes, in the core's [`QuotaUnit`].
    pub quota_bytes: u64,
}

/// How many bytes one GB of quota and usage stands for. vCR counts whole GB of 2^30
/// bytes, as Harbor does; a test gives vcr-local a smaller unit (`--quota-unit-bytes`)
/// to fill a quota with megabytes instead of a gigabyte. Every figure vcr-local
/// reports (quotas, `quotaUsed`, the MiB of quota messages) is then in that unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUnit(u64);

impl QuotaUnit {
    /// vCR's unit: 2^30 bytes.
    pub const GIB: QuotaUnit = QuotaUnit(1 << 30);
    /// The smallest unit vcr-local takes: a quota message's MiB is a 1024th of it.
    pub const MIN_BYTES: u64 = 1 << 10;

    /// A unit of `bytes` bytes, when at least [`Self::MIN_BYTES`] and at most a GiB.
    pub fn new(bytes: u64) -> Option<QuotaUnit> {
        (Self::MIN_BYTES..=Self::GIB.0)
            .contains(&bytes)
            .then_some(QuotaUnit(bytes))
    }

    /// The unit in bytes, as `--quota-unit-bytes` gives it.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The bytes of `gb` GB.
    pub fn of(self, gb: u64) -> u64 {
        gb.saturating_mul(self.0)
    }

    /// GB with up to 3 decimals, as `quotaUsed` shows usage.
    pub fn gb(self, bytes: u64) -> f64 {
        ((bytes as f64 / self.0 as f64) * 1000.0).round() / 1000.0
    }

    /// MiB (a 1024th of the unit), as quota messages show sizes.
    pub fn mib(self, bytes: u64) -> f64 {
        bytes as f64 * 1024.0 / self.0 as f64
    }
}

/// A repository with its figures, for the management API.
#[derive(Debug, Clone, PartialEq)]
pub struct Repository {
    pub uuid: String,
    pub name: String,
    pub backend_name: String,
    pub public: bool,
    pub quota_limit_gb: u64,
    /// Bytes of the distinct blobs (layers, configs, manifests) it holds.
    pub used_bytes: u64,
    /// `used_bytes` in GB of the core's [`QuotaUnit`], as `quotaUsed` shows it.
    pub quota_used_gb: f64,
    /// Images (names under the repository) with at least one artifact.
    pub image_count: u64,
    pub attached_users: u64,
    pub created_at: i64,
}

/// A repository user, for the management API (never its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub uuid: String,
    pub name: String,
    pub backend_name: String,
    pub description: Option<String>,
    pub disabled: bool,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub grants: Vec<GrantView>,
}

/// A user's policies on one repository.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantView {
    pub repo_uuid: String,
    pub repo_name: String,
    pub repo_backend_name: String,
    pub policy_ids: Vec<String>,
}

/// Policies to grant on a repository, as a request gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRequest {
    pub repo_uuid: String,
    pub policy_ids: Vec<String>,
}
