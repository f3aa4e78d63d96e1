//! One model per vCR object: its attributes (names, types, descriptions) declared
//! once, how it is built from the API's answer, and its identity. Resources, data
//! sources and (later) list and ephemeral resources are views of a model: they take
//! its attributes, set who configures which, and add their own.

pub mod image;
pub mod repository;
pub mod repository_user;

use serde::{Deserialize, Serialize};

use crate::tfplugin::{IdentityAttribute, IdentitySchema, Type};
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

/// The region code as state holds it.
pub fn region_code(region: Region) -> Option<String> {
    Some(region.as_str().to_string())
}
