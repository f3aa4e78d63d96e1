//! The repository-user model: every view of a vCR robot account (the
//! `vcr_repository_user` resource, the `vcr_repository_user` and
//! `vcr_repository_users` data sources) is built from these attributes and this
//! `from_api`.

use serde::{Deserialize, Serialize};

use super::ObjectIdentity;
use crate::provider::expiry::parse_api_time;
use crate::tfplugin::{Attribute, AttributeSet, Type};
use crate::vcr::{Permission, Region, RobotAccount};

/// The permissions as users write them.
pub const PERMISSIONS: &[&str] = &["push_pull", "pull_only"];

/// A repository user, attribute for attribute.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UserModel {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub region: Option<String>,
    pub backend_name: Option<String>,
    pub expires_at: Option<String>,
    pub expired: Option<bool>,
    pub created_at: Option<String>,
}

impl UserModel {
    /// The attributes, all computed: each view makes settable what it lets users set.
    pub fn attributes() -> AttributeSet {
        AttributeSet::new(vec![
            Attribute::computed("id", Type::String, "The user's id in vCR (`ra-...`)."),
            Attribute::computed(
                "name",
                Type::String,
                "The user name, unique in the account and region.",
            ),
            Attribute::computed("description", Type::String, "A description of the user."),
            Attribute::computed("enabled", Type::Bool, "Whether the user may log in."),
            Attribute::computed("region", Type::String, "The region of the user."),
            Attribute::computed(
                "backend_name",
                Type::String,
                "The name to `docker login` with: `<account id>-<name>`.",
            ),
            Attribute::computed(
                "expires_at",
                Type::String,
                "When the user expires, as vCR reports it; null for never.",
            ),
            Attribute::computed(
                "expired",
                Type::Bool,
                "Whether the user has expired (and so cannot log in).",
            ),
            Attribute::computed(
                "created_at",
                Type::String,
                "When the user was created, as vCR reports it.",
            ),
        ])
    }

    /// The user as vCR reports it, in `region`.
    pub fn from_api(user: &RobotAccount, region: Region) -> Self {
        let now = time::OffsetDateTime::now_utc();
        let expired_at = user.expired_at.as_deref().and_then(parse_api_time);
        UserModel {
            id: Some(user.uuid.clone()),
            name: Some(user.name.clone()),
            description: user.description.clone().filter(|d| !d.is_empty()),
            enabled: Some(!user.disable),
            region: Some(region.as_str().to_string()),
            backend_name: Some(user.backend_name.clone()),
            expires_at: user.expired_at.clone(),
            expired: Some(expired_at.is_some_and(|at| at <= now)),
            created_at: Some(user.created_at.clone()),
        }
    }

    /// The identity, once the user exists.
    pub fn identity(&self) -> Option<ObjectIdentity> {
        ObjectIdentity::of(self.id.as_ref(), self.region.as_ref())
    }
}

/// A user's permission on one repository: the attributes the resource's
/// `repository_permission` blocks and the data sources' `permissions` share.
pub fn permission_attributes() -> AttributeSet {
    AttributeSet::new(vec![
        Attribute::computed(
            "repository_id",
            Type::String,
            "The id of the repository (`vcr_repository.<name>.id`), in the user's region.",
        ),
        Attribute::computed(
            "permission",
            Type::String,
            "`push_pull` (push and pull images) or `pull_only`.",
        ),
    ])
}

pub fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::PullOnly => "pull_only",
        Permission::PushPull => "push_pull",
    }
}

pub fn permission_of(name: &str) -> Permission {
    if name == "pull_only" {
        Permission::PullOnly
    } else {
        Permission::PushPull
    }
}
