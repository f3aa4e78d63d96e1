//! Terraform's saved state (`terraform.tfstate`, format version 4), read without
//! starting Terraform, and the attribute comparison of an import step.

use std::path::Path;

use serde_json::Value;

/// One resource instance in state.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Its address, as Terraform prints it: `vcr_repository.app`,
    /// `data.vcr_repository.by_name`, `vcr_repository_user.u[0]`.
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    pub resource_type: String,
    pub attributes: Value,
    /// Top-level attributes Terraform marked sensitive (older versions mark only
    /// what the configuration made sensitive).
    pub sensitive: Vec<String>,
}

/// The instances of a state file.
#[derive(Debug, Clone, Default)]
pub struct State {
    instances: Vec<Instance>,
}

impl State {
    /// Reads a state file; a missing one is an empty state.
    pub fn read(path: &Path) -> State {
        match std::fs::read_to_string(path) {
            Ok(text) => State::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }

    /// Parses the JSON of a state file.
    pub fn parse(text: &str) -> Result<State, String> {
        let json: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if json["version"] != 4 {
            return Err(format!("state format {} is not 4", json["version"]));
        }
        let mut instances = Vec::new();
        for resource in json["resources"].as_array().into_iter().flatten() {
            let mode = resource["mode"].as_str().ok_or("a resource without mode")?;
            let resource_type = resource["type"].as_str().ok_or("a resource without type")?;
            let name = resource["name"].as_str().ok_or("a resource without name")?;
            let module = resource["module"]
                .as_str()
                .map(|m| format!("{m}."))
                .unwrap_or_default();
            let data = if mode == "data" { "data." } else { "" };
            for instance in resource["instances"].as_array().into_iter().flatten() {
                let index = match &instance["index_key"] {
                    Value::Null => String::new(),
                    Value::Number(n) => format!("[{n}]"),
                    Value::String(s) => format!("[{}]", Value::String(s.clone())),
                    other => return Err(format!("index_key {other}")),
                };
                instances.push(Instance {
                    address: format!("{module}{data}{resource_type}.{name}{index}"),
                    mode: mode.to_string(),
                    resource_type: resource_type.to_string(),
                    attributes: instance["attributes"].clone(),
                    sensitive: sensitive_names(&instance["sensitive_attributes"]),
                });
            }
        }
        Ok(State { instances })
    }

    /// The attributes of the instance at an address.
    pub fn get(&self, address: &str) -> Option<&Value> {
        self.instances
            .iter()
            .find(|i| i.address == address)
            .map(|i| &i.attributes)
    }

    /// The instance at an address.
    pub fn instance(&self, address: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.address == address)
    }

    /// The attributes at an address, which must be in state.
    pub fn expect(&self, address: &str) -> &Value {
        self.get(address)
            .unwrap_or_else(|| panic!("{address} is not in state; it holds {:?}", self.addresses()))
    }

    pub fn addresses(&self) -> Vec<&str> {
        self.instances.iter().map(|i| i.address.as_str()).collect()
    }

    /// The managed instances (resources, not data sources).
    pub fn managed(&self) -> impl Iterator<Item = &Instance> {
        self.instances.iter().filter(|i| i.mode == "managed")
    }

    /// The `id` of every managed instance of a type.
    pub fn ids_of(&self, resource_type: &str) -> std::collections::BTreeSet<String> {
        self.managed()
            .filter(|i| i.resource_type == resource_type)
            .map(|i| i.attributes["id"].as_str().unwrap_or("<no id>").to_string())
            .collect()
    }
}

/// The top-level attribute names in a `sensitive_attributes` list of paths.
fn sensitive_names(paths: &Value) -> Vec<String> {
    paths
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|path| path.as_array()?.first()?["value"].as_str())
        .map(str::to_string)
        .collect()
}

/// How an import step compares the imported attributes with the applied ones.
#[derive(Debug, Clone, Default)]
pub struct ImportVerify {
    /// Attributes not compared (a secret the API never returns).
    pub ignore: Vec<String>,
    /// Attributes whose array is compared as a set (nested blocks of set nesting).
    pub unordered: Vec<String>,
    /// Attributes whose values a message must not show.
    pub sensitive: Vec<String>,
}

impl ImportVerify {
    /// The attributes whose values differ, each as "name: applied X, imported Y";
    /// empty when the import gave back what was applied. Sensitive values, and any
    /// attribute whose name says secret, password or token, are not shown.
    pub fn differences(&self, applied: &Value, imported: &Value) -> Vec<String> {
        let (Some(applied), Some(imported)) = (applied.as_object(), imported.as_object()) else {
            return vec![format!(
                "not two objects: applied {applied}, imported {imported}"
            )];
        };
        let mut names: Vec<&String> = applied.keys().chain(imported.keys()).collect();
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            if self.ignore.iter().any(|i| i == name) {
                continue;
            }
            let (mut a, mut b) = (
                applied.get(name).cloned().unwrap_or(Value::Null),
                imported.get(name).cloned().unwrap_or(Value::Null),
            );
            if self.unordered.iter().any(|u| u == name) {
                a = sorted(a);
                b = sorted(b);
            }
            if a != b {
                let hidden = self.sensitive.iter().any(|s| s == name)
                    || ["secret", "password", "token"]
                        .iter()
                        .any(|w| name.contains(w));
                let shown = |v: Option<&Value>| match v {
                    None => "(absent)".to_string(),
                    Some(Value::Null) => "null".to_string(),
                    Some(_) if hidden => "(sensitive value)".to_string(),
                    Some(v) => v.to_string(),
                };
                out.push(format!(
                    "{name}: applied {}, imported {}",
                    shown(applied.get(name)),
                    shown(imported.get(name))
                ));
            }
        }
        out
    }
}

/// An array in a stable order (by each element's JSON text); other values as they are.
fn sorted(v: Value) -> Value {
    match v {
        Value::Array(mut items) => {
            items.sort_by_key(|i| i.to_string());
            Value::Array(items)
        }
        other => other,
    }
}
