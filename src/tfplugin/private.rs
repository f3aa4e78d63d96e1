//! Private state: data a resource keeps beside its state, out of the user's sight.
//! Terraform stores the bytes and hands them back on the next read, plan or apply (and
//! to Renew and Close of an ephemeral resource); it never shows them.
//!
//! Kept as a JSON object of named entries, so that independent pieces of code can
//! each keep their own key. Empty is written as no bytes at all.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::diag::{Diagnostic, Diagnostics};

/// Named values kept out of the state. Not for secrets that must never be stored:
/// Terraform writes private state to the state file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Private(BTreeMap<String, serde_json::Value>);

impl Private {
    /// Reads what Terraform handed back; no bytes is an empty private state.
    pub fn from_bytes(bytes: &[u8]) -> Result<Private, Diagnostics> {
        if bytes.is_empty() {
            return Ok(Private::default());
        }
        serde_json::from_slice(bytes).map(Private).map_err(|e| {
            Diagnostic::error(
                "Provider could not read its private state",
                format!("The private state Terraform stored is not what this provider writes: {e}. This is a bug in the provider; please report it."),
            )
            .into()
        })
    }

    /// The bytes Terraform stores: none when empty.
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.0.is_empty() {
            return Vec::new();
        }
        serde_json::to_vec(&self.0).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value kept under `key`, if any.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Diagnostics> {
        let Some(v) = self.0.get(key) else {
            return Ok(None);
        };
        serde_json::from_value(v.clone()).map(Some).map_err(|e| {
            Diagnostic::error(
                "Provider could not read its private state",
                format!("The entry {key:?} does not have the expected shape: {e}. This is a bug in the provider; please report it."),
            )
            .into()
        })
    }

    /// Keeps `value` under `key`, replacing what was there.
    pub fn set<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), Diagnostics> {
        let json = serde_json::to_value(value).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Provider could not write its private state",
                e.to_string(),
            ))
        })?;
        self.0.insert(key.to_string(), json);
        Ok(())
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_bytes_and_empty_is_no_bytes() {
        assert!(Private::default().to_bytes().is_empty());
        assert_eq!(Private::from_bytes(b"").unwrap(), Private::default());

        let mut p = Private::default();
        p.set("user", &("ra-1", "HAN")).unwrap();
        let back = Private::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(
            back.get::<(String, String)>("user").unwrap(),
            Some(("ra-1".into(), "HAN".into()))
        );
        assert_eq!(back.get::<String>("missing").unwrap(), None);
        assert!(back.get::<u32>("user").is_err());

        let mut back = back;
        back.remove("user");
        assert!(back.is_empty());
        assert!(Private::from_bytes(b"not json").is_err());
    }
}
