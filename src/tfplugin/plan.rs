//! Planning: the rules Terraform enforces on a planned state, applied once for every
//! resource, with a hook for what only the resource knows.
//!
//! - Attributes set in configuration are planned as configured.
//! - An attribute left out takes its schema default when it has one.
//! - Computed attributes are unknown on create; on update they keep their prior value,
//!   unless the resource says they will change ([`Plan::will_change`]).
//! - A change to a `force_new` attribute replaces the object, and then everything
//!   computed that the configuration does not fix is unknown again.

use super::diag::{AttributePath, Diagnostics};
use super::schema::{Mode, Schema};
use super::value::Value;

/// A plan being made: the resource's hook reads `prior` and `config` and adjusts
/// `planned`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub schema: Schema,
    /// Null on create.
    pub prior: Value,
    /// Null on destroy.
    pub config: Value,
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub diagnostics: Diagnostics,
}

impl Plan {
    pub fn is_create(&self) -> bool {
        self.prior.is_null() && !self.planned.is_null()
    }
    pub fn is_destroy(&self) -> bool {
        self.planned.is_null()
    }
    pub fn is_update(&self) -> bool {
        !self.prior.is_null() && !self.planned.is_null()
    }
    pub fn is_replace(&self) -> bool {
        !self.requires_replace.is_empty()
    }

    /// The planned value of a top-level attribute.
    pub fn get(&self, name: &str) -> &Value {
        self.planned.attr(name)
    }
    /// Plans a value known in advance.
    pub fn set(&mut self, name: &str, value: Value) {
        self.planned.set_attr(name, value);
    }
    /// Marks a computed attribute as changing: its new value is known after apply.
    pub fn will_change(&mut self, name: &str) {
        self.planned.set_attr(name, Value::Unknown);
    }
    /// True when the planned value of `name` differs from the prior one.
    pub fn changed(&self, name: &str) -> bool {
        !self.prior.is_null()
            && !self
                .planned
                .attr(name)
                .semantically_equal(self.prior.attr(name))
    }
    /// Marks the object for replacement because of `name`.
    pub fn replace_because_of(&mut self, name: &str) {
        let path = AttributePath::root(name);
        if !self.requires_replace.contains(&path) {
            self.requires_replace.push(path);
        }
        unknown_computed(&self.schema, &self.config, &mut self.planned);
    }
}

/// Makes the framework's plan. The resource's hook runs on the result.
pub fn plan(schema: &Schema, prior: Value, proposed: Value, config: Value) -> Plan {
    let mut plan = Plan {
        schema: schema.clone(),
        prior,
        config,
        planned: proposed,
        requires_replace: Vec::new(),
        diagnostics: Diagnostics::new(),
    };
    if plan.planned.is_null() {
        return plan;
    }
    for attr in &schema.block.attributes {
        let configured = plan.config.attr(&attr.name).clone();
        match attr.mode {
            Mode::Computed | Mode::OptionalComputed if configured.is_null() => {
                if let Some(default) = &attr.default {
                    plan.planned.set_attr(&attr.name, default.clone());
                } else if plan.prior.is_null() {
                    plan.planned.set_attr(&attr.name, Value::Unknown);
                }
                // On update Terraform's proposal already carries the prior value.
            }
            _ => {}
        }
    }
    if !plan.prior.is_null() {
        let forced: Vec<String> = schema
            .block
            .attributes
            .iter()
            .filter(|a| a.force_new)
            .map(|a| a.name.clone())
            .chain(
                schema
                    .block
                    .blocks
                    .iter()
                    .filter(|b| b.force_new)
                    .map(|b| b.name.clone()),
            )
            .collect();
        for name in forced {
            if plan.changed(&name) {
                plan.replace_because_of(&name);
            }
        }
    }
    plan
}

/// On replacement, every computed attribute the configuration leaves open is unknown,
/// except those with a default (already planned).
fn unknown_computed(schema: &Schema, config: &Value, planned: &mut Value) {
    for attr in &schema.block.attributes {
        if attr.is_computed() && attr.default.is_none() && config.attr(&attr.name).is_null() {
            planned.set_attr(&attr.name, Value::Unknown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::schema::{Attribute, Block};
    use crate::tfplugin::value::Type;

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("r")
                .attribute(Attribute::computed("id", Type::String, "id").stable())
                .attribute(Attribute::required("name", Type::String, "name").force_new())
                .attribute(Attribute::required("quota", Type::Number, "quota"))
                .attribute(
                    Attribute::optional("level", Type::String, "level")
                        .default(Value::from("private")),
                )
                .attribute(Attribute::optional_computed(
                    "region",
                    Type::String,
                    "region",
                )),
        )
    }

    fn obj(json: serde_json::Value) -> Value {
        Value::from_json(&json)
            .conform(&schema().value_type())
            .unwrap()
    }

    #[test]
    fn create_plans_computed_unknown_and_defaults_known() {
        let config = obj(serde_json::json!({"name": "n", "quota": 1}));
        let p = plan(&schema(), Value::Null, config.clone(), config);
        assert!(p.is_create());
        assert_eq!(p.get("id"), &Value::Unknown);
        assert_eq!(p.get("region"), &Value::Unknown);
        assert_eq!(p.get("level"), &Value::from("private"));
        assert!(p.requires_replace.is_empty());
    }

    #[test]
    fn update_keeps_computed_values_and_replaces_only_on_forced_change() {
        let prior = obj(
            serde_json::json!({"id": "x", "name": "n", "quota": 1, "level": "private", "region": "HCM"}),
        );
        let config = obj(serde_json::json!({"name": "n", "quota": 2}));
        // Terraform's proposal: config over prior for computed attributes left out.
        let proposed = obj(
            serde_json::json!({"id": "x", "name": "n", "quota": 2, "level": null, "region": "HCM"}),
        );
        let p = plan(&schema(), prior.clone(), proposed, config);
        assert!(p.is_update() && !p.is_replace());
        assert_eq!(p.get("id"), &Value::from("x"));
        assert_eq!(p.get("level"), &Value::from("private"));

        let config = obj(serde_json::json!({"name": "m", "quota": 1}));
        let proposed =
            obj(serde_json::json!({"id": "x", "name": "m", "quota": 1, "region": "HCM"}));
        let p = plan(&schema(), prior, proposed, config);
        assert_eq!(p.requires_replace, vec![AttributePath::root("name")]);
        assert_eq!(p.get("id"), &Value::Unknown);
        assert_eq!(p.get("region"), &Value::Unknown);
    }

    #[test]
    fn destroy_plans_null() {
        let prior = obj(serde_json::json!({"id": "x", "name": "n", "quota": 1}));
        let p = plan(&schema(), prior, Value::Null, Value::Null);
        assert!(p.is_destroy());
        assert!(p.planned.is_null());
    }
}
