//! The repository model: every view of a vCR repository (the `vcr_repository`
//! resource, the `vcr_repository` and `vcr_repositories` data sources) is built from
//! these attributes and this `from_api`.

use serde::{Deserialize, Serialize};

use super::ObjectIdentity;
use crate::tfplugin::{Attribute, AttributeSet, Type};
use crate::vcr::{AccessLevel, Region, Repository};

/// A repository, attribute for attribute.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RepositoryModel {
    pub id: Option<String>,
    pub name: Option<String>,
    pub access_level: Option<String>,
    pub quota_limit_gb: Option<i64>,
    pub region: Option<String>,
    pub backend_name: Option<String>,
    pub registry_url: Option<String>,
    pub quota_used_gb: Option<f64>,
    pub image_count: Option<i64>,
    pub created_at: Option<String>,
}

/// The access levels as users write them.
pub const ACCESS_LEVELS: &[&str] = &["private", "public"];

impl RepositoryModel {
    /// The attributes, all computed: each view makes settable what it lets users set.
    pub fn attributes() -> AttributeSet {
        AttributeSet::new(vec![
            Attribute::computed("id", Type::String, "The repository's id in vCR (`repo-...`)."),
            Attribute::computed(
                "name",
                Type::String,
                "The repository name, unique in the account and region.",
            ),
            Attribute::computed(
                "access_level",
                Type::String,
                "Who may pull: `private` (pulling needs credentials) or `public` (anyone may pull).",
            ),
            Attribute::computed("quota_limit_gb", Type::Number, "The storage quota, in whole GB."),
            Attribute::computed("region", Type::String, "The region of the repository."),
            Attribute::computed(
                "backend_name",
                Type::String,
                "The name vCR uses in image paths: `<account id>-<name>`.",
            ),
            Attribute::computed(
                "registry_url",
                Type::String,
                "Where the repository's images go, `<registry host>/<backend_name>`, ready for `docker tag` and `docker push`. The host follows the provider's `endpoints` (`registry_hcm`, `registry_han`).",
            ),
            Attribute::computed(
                "quota_used_gb",
                Type::Number,
                "Storage the images use, in GB, as of the last refresh.",
            ),
            Attribute::computed(
                "image_count",
                Type::Number,
                "How many images the repository holds, as of the last refresh.",
            ),
            Attribute::computed(
                "created_at",
                Type::String,
                "When the repository was created, as vCR reports it.",
            ),
        ])
    }

    /// The repository as vCR reports it, in `region`, whose images live at
    /// `registry_url` (see [`crate::provider::registry`]).
    pub fn from_api(repo: &Repository, region: Region, registry_url: String) -> Self {
        RepositoryModel {
            id: Some(repo.uuid.clone()),
            name: Some(repo.name.clone()),
            access_level: Some(access_level_name(repo.access_level).to_string()),
            quota_limit_gb: Some(repo.quota_limit as i64),
            region: Some(region.as_str().to_string()),
            backend_name: Some(repo.backend_name.clone()),
            registry_url: Some(registry_url),
            quota_used_gb: Some(repo.quota_used),
            image_count: Some(repo.image_count as i64),
            created_at: Some(repo.created_at.clone()),
        }
    }

    /// The identity, once the repository exists.
    pub fn identity(&self) -> Option<ObjectIdentity> {
        ObjectIdentity::of(self.id.as_ref(), self.region.as_ref())
    }
}

pub fn access_level_name(level: AccessLevel) -> &'static str {
    if level.is_public() {
        "public"
    } else {
        "private"
    }
}

/// The access level a user wrote, for the API.
pub fn access_level_of(name: Option<&str>) -> Option<AccessLevel> {
    match name {
        Some("public") => Some(AccessLevel::Public),
        Some("private") => Some(AccessLevel::Private),
        _ => None,
    }
}
