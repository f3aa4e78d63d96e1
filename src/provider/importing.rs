//! What an import of either resource looks for: from an import id (`<id or name>`,
//! optionally `HAN/...`) or an identity (`{ id, region }`, by id only).

use super::model::ObjectIdentity;
use super::{ImportId, ProviderData};
use crate::tfplugin::{Diagnostics, ImportTarget};
use crate::vcr::Region;

/// The object an import names: a key in a region, and whether the key may be a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLookup {
    pub region: Region,
    pub key: String,
    /// An import id may name the object by its name; an identity never does.
    pub names_too: bool,
}

impl ImportLookup {
    /// The lookup of an import of a `what` (`repository`, `repository user`); an
    /// import id without a region looks in the provider's.
    pub fn of(
        target: ImportTarget<ObjectIdentity>,
        data: &ProviderData,
        what: &str,
    ) -> Result<ImportLookup, Diagnostics> {
        Ok(match target {
            ImportTarget::Id(raw) => {
                let import = ImportId::parse(&raw, what)?;
                ImportLookup {
                    region: import.region.unwrap_or(data.region(None)?),
                    key: import.key,
                    names_too: true,
                }
            }
            ImportTarget::Identity(identity) => {
                let target = identity.target(what)?;
                ImportLookup {
                    region: target.region,
                    key: target.id,
                    names_too: false,
                }
            }
        })
    }

    /// What the key was compared with, for a "not found" message.
    pub fn compared_with(&self) -> &'static str {
        if self.names_too {
            "id or name"
        } else {
            "id"
        }
    }
}
