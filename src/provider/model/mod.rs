//! One model per vCR object: its attributes (names, types, descriptions) declared
//! once, how it is built from the API's answer, and its identity. Resources and data
//! sources are views of a model: they take its attributes, set who configures which,
//! and add their own. List resources answer with their resource's view, and the
//! ephemeral `vcr_registry_credentials` takes the user model's permission blocks.

pub mod image;
pub mod reference;
pub mod repository;
pub mod repository_user;

use serde::{Deserialize, Serialize};

use crate::tfplugin::{Diagnostic, Diagnostics, IdentityAttribute, IdentitySchema, Type};
use crate::vcr::Region;

/// What names a repository or a user for good: its id and its region (ids are
/// unique per region only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectIdentity {
    pub id: Option<String>,
    pub region: Option<String>,
}

impl ObjectIdentity {
    /// The identity of an object whose id and region are known.
    pub fn of(id: Option<&String>, region: Option<&String>) -> Option<ObjectIdentity> {
        Some(ObjectIdentity {
            id: Some(id?.clone()),
            region: Some(region?.clone()),
        })
    }

    /// The identity schema shared by both resources: `{ id, region }`, both needed
    /// to import.
    pub fn schema(what: &str) -> IdentitySchema {
        IdentitySchema::new(
            0,
            vec![
                IdentityAttribute::required(
                    "id",
                    Type::String,
                    &format!("The {what}'s id in vCR."),
                ),
                IdentityAttribute::required(
                    "region",
                    Type::String,
                    &format!("The {what}'s region, `HCM` or `HAN`."),
                ),
            ],
        )
    }
}

/// An import by identity (`import { identity = { id = "...", region = "HAN" } }`):
/// which object, where. Unlike an import id, an identity names the object by its id
/// only, never by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityTarget {
    pub id: String,
    pub region: Region,
}

impl ObjectIdentity {
    /// The object an import by identity names; an error names the identity attribute
    /// and its rule.
    pub fn target(&self, what: &str) -> Result<IdentityTarget, Diagnostics> {
        let bad = |attribute: &str, rule: String| {
            Diagnostics::from(Diagnostic::error(
                "Invalid import identity",
                format!("identity.{attribute} {rule} Import a {what} by identity with its id and region: `identity = {{ id = \"...\", region = \"HCM\" }}`."),
            ))
        };
        let id = self.id.as_deref().map(str::trim).unwrap_or_default();
        if id.is_empty() {
            return Err(bad("id", "must be the id of the object in vCR.".into()));
        }
        let code = self.region.as_deref().unwrap_or_default();
        let region = match code {
            "HCM" => Region::Hcm,
            "HAN" => Region::Han,
            other => {
                return Err(bad(
                    "region",
                    format!("must be \"HCM\" or \"HAN\"; got {other:?}."),
                ))
            }
        };
        Ok(IdentityTarget {
            id: id.to_string(),
            region,
        })
    }
}

/// The region a generated configuration writes: none when it is the provider's (the
/// default, as a person would leave it out), else the object's own.
pub fn written_region(region: Option<String>, provider_region: Option<&str>) -> Option<String> {
    region.filter(|r| Some(r.as_str()) != provider_region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(id: Option<&str>, region: Option<&str>) -> ObjectIdentity {
        ObjectIdentity {
            id: id.map(str::to_string),
            region: region.map(str::to_string),
        }
    }

    #[test]
    fn an_identity_names_an_id_in_a_region() {
        let target = identity(Some("repo-1"), Some("HAN"))
            .target("repository")
            .unwrap();
        assert_eq!(
            target,
            IdentityTarget {
                id: "repo-1".into(),
                region: Region::Han
            }
        );
        let err = identity(Some("repo-1"), Some("SGN"))
            .target("repository")
            .unwrap_err();
        assert!(
            err.0[0]
                .detail
                .starts_with("identity.region must be \"HCM\" or \"HAN\"; got \"SGN\""),
            "{}",
            err.0[0].detail
        );
        let err = identity(Some(" "), Some("HCM"))
            .target("repository")
            .unwrap_err();
        assert!(
            err.0[0].detail.starts_with("identity.id must be"),
            "{}",
            err.0[0].detail
        );
        assert!(
            identity(Some("repo-1"), Some("han"))
                .target("repository")
                .is_err(),
            "as the region attribute, exactly"
        );
    }

    #[test]
    fn a_generated_configuration_names_only_another_region() {
        assert_eq!(written_region(Some("HCM".into()), Some("HCM")), None);
        assert_eq!(
            written_region(Some("HAN".into()), Some("HCM")),
            Some("HAN".into())
        );
        assert_eq!(
            written_region(Some("HAN".into()), None),
            Some("HAN".into()),
            "not configured: said"
        );
    }
}
