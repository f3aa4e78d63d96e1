//! Resource identity (Terraform 1.12+): a small versioned object naming one remote
//! object for good, announced by `GetResourceIdentitySchemas`, carried beside the
//! state in Read, Plan, Apply and Import answers, and accepted by import
//! (`import { identity = {...} }`) and returned by list resources.

use serde::{Deserialize, Serialize};

use super::proto;
use super::value::Type;

/// One attribute of an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityAttribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    /// An import by identity must set it; otherwise the provider can supply it.
    pub required_for_import: bool,
}

impl IdentityAttribute {
    pub fn required(name: &str, ty: Type, description: &str) -> Self {
        IdentityAttribute {
            name: name.to_string(),
            ty,
            description: description.to_string(),
            required_for_import: true,
        }
    }
    pub fn optional(name: &str, ty: Type, description: &str) -> Self {
        IdentityAttribute {
            required_for_import: false,
            ..Self::required(name, ty, description)
        }
    }
}

/// The identity schema of a resource type, versioned apart from its state schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    pub fn new(version: i64, attributes: Vec<IdentityAttribute>) -> Self {
        IdentitySchema {
            version,
            attributes,
        }
    }

    /// The object type of identity values.
    pub fn value_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect(),
        )
    }

    pub fn to_proto(&self) -> proto::ResourceIdentitySchema {
        proto::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attributes
                .iter()
                .map(|a| proto::resource_identity_schema::IdentityAttribute {
                    name: a.name.clone(),
                    r#type: a.ty.to_json().to_string().into_bytes(),
                    required_for_import: a.required_for_import,
                    optional_for_import: !a.required_for_import,
                    description: a.description.clone(),
                })
                .collect(),
        }
    }
}

/// The identity type of a resource that has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoIdentity {}
