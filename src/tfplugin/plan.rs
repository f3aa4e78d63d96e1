//! Planning: the rules Terraform enforces on a planned state, applied once for every
//! resource, then each attribute's plan modifiers, then a hook for what only the
//! resource knows.
//!
//! - Attributes set in configuration are planned as configured.
//! - An attribute left out takes its schema default when it has one.
//! - Computed attributes left open are unknown on create, and on an update that
//!   changes anything; [`UseStateForUnknown`](super::modifiers::UseStateForUnknown)
//!   keeps their prior value instead.
//! - A change that a [`RequiresReplace`](super::modifiers::RequiresReplace) attribute
//!   sees replaces the object, and then everything computed that the configuration
//!   does not fix is unknown again.

use super::diag::{AttributePath, Diagnostics};
use super::modifiers::AttributePlan;
use super::private::Private;
use super::schema::Schema;
use super::value::Value;

/// A plan being made: the resource's hook reads `prior` and `config` and adjusts
/// `planned` (and the private state that goes with it).
#[derive(Debug, Clone)]
pub struct Plan {
    pub schema: Schema,
    /// Null on create.
    pub prior: Value,
    /// Null on destroy.
    pub config: Value,
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    /// The prior private state; what is planned here comes back at apply.
    pub private: Private,
    pub diagnostics: Diagnostics,
}

/// What Terraform proposes, as the planner reads it.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    /// Null on create.
    pub prior: Value,
    /// Terraform's proposal: configuration over prior state. Null on destroy.
    pub proposed: Value,
    pub config: Value,
    pub private: Private,
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
pub fn plan(schema: &Schema, req: PlanRequest) -> Plan {
    let mut plan = Plan {
        schema: schema.clone(),
        prior: req.prior,
        config: req.config,
        planned: req.proposed,
        requires_replace: Vec::new(),
        private: req.private,
        diagnostics: Diagnostics::new(),
    };
    if plan.planned.is_null() {
        return plan;
    }
    let is_create = plan.prior.is_null();
    for attr in schema.block.attributes.iter().filter(|a| a.is_computed()) {
        if !plan.config.attr(&attr.name).is_null() {
            continue;
        }
        if let Some(default) = &attr.default {
            plan.planned.set_attr(&attr.name, default.clone());
        } else if is_create {
            plan.planned.set_attr(&attr.name, Value::Unknown);
        }
    }
    if !is_create && !plan.planned.semantically_equal(&plan.prior) {
        // Something changes: what the provider computes may change with it.
        unknown_computed(schema, &plan.config, &mut plan.planned);
    }
    run_modifiers(&mut plan);
    if plan.is_replace() {
        unknown_computed(schema, &plan.config, &mut plan.planned);
    }
    plan
}

/// Runs every attribute's plan modifiers, in schema order.
fn run_modifiers(plan: &mut Plan) {
    let schema = plan.schema.clone();
    let is_create = plan.prior.is_null();
    for attr in schema
        .block
        .attributes
        .iter()
        .filter(|a| !a.modifiers.is_empty())
    {
        let mut one = AttributePlan {
            name: &attr.name,
            config: plan.config.attr(&attr.name),
            prior: plan.prior.attr(&attr.name),
            prior_state: &plan.prior,
            is_create,
            planned: plan.planned.attr(&attr.name).clone(),
            requires_replace: false,
            diagnostics: Diagnostics::new(),
        };
        for modifier in &attr.modifiers {
            modifier.0.modify(&mut one);
        }
        let (planned, replace, diags) = (one.planned, one.requires_replace, one.diagnostics);
        plan.planned.set_attr(&attr.name, planned);
        plan.diagnostics.extend(diags);
        let path = AttributePath::root(&attr.name);
        if replace && !plan.requires_replace.contains(&path) {
            plan.requires_replace.push(path);
        }
    }
}

/// Every computed attribute the configuration leaves open is unknown, except those
/// with a default (already planned).
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
                .attribute(Attribute::computed("id", Type::String, "id").use_state_for_unknown())
                .attribute(Attribute::required("name", Type::String, "name").requires_replace())
                .attribute(Attribute::required("quota", Type::Number, "quota"))
                .attribute(
                    Attribute::optional("level", Type::String, "level")
                        .default(Value::from("private")),
                )
                .attribute(
                    Attribute::optional_computed("region", Type::String, "region")
                        .requires_replace()
                        .use_state_for_unknown(),
                )
                .attribute(Attribute::computed("usage", Type::Number, "usage")),
        )
    }

    fn request(prior: Value, proposed: Value, config: Value) -> PlanRequest {
        PlanRequest {
            prior,
            proposed,
            config,
            private: Private::default(),
        }
    }

    fn obj(json: serde_json::Value) -> Value {
        Value::from_json(&json)
            .conform(&schema().value_type())
            .unwrap()
    }

    #[test]
    fn create_plans_computed_unknown_and_defaults_known() {
        let config = obj(serde_json::json!({"name": "n", "quota": 1}));
        let p = plan(&schema(), request(Value::Null, config.clone(), config));
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
        let p = plan(&schema(), request(prior.clone(), proposed, config));
        assert!(p.is_update() && !p.is_replace());
        assert_eq!(p.get("id"), &Value::from("x"));
        assert_eq!(p.get("level"), &Value::from("private"));

        let config = obj(serde_json::json!({"name": "m", "quota": 1}));
        let proposed =
            obj(serde_json::json!({"id": "x", "name": "m", "quota": 1, "region": "HCM"}));
        let p = plan(&schema(), request(prior, proposed, config));
        assert_eq!(p.requires_replace, vec![AttributePath::root("name")]);
        assert_eq!(p.get("id"), &Value::Unknown);
        assert_eq!(p.get("region"), &Value::Unknown);
    }

    #[test]
    fn destroy_plans_null() {
        let prior = obj(serde_json::json!({"id": "x", "name": "n", "quota": 1}));
        let p = plan(&schema(), request(prior, Value::Null, Value::Null));
        assert!(p.is_destroy());
        assert!(p.planned.is_null());
    }

    #[test]
    fn an_update_leaves_unknown_only_what_may_change() {
        let prior = obj(serde_json::json!(
            {"id": "x", "name": "n", "quota": 1, "level": "private", "region": "HCM", "usage": 3}
        ));
        // Nothing changes: nothing is unknown.
        let config = obj(serde_json::json!({"name": "n", "quota": 1}));
        let p = plan(&schema(), request(prior.clone(), prior.clone(), config));
        assert_eq!(p.planned, prior);

        // A change: "usage" may change with it, "id" and "region" keep their value.
        let config = obj(serde_json::json!({"name": "n", "quota": 2}));
        let mut proposed = prior.clone();
        proposed.set_attr("quota", Value::int(2));
        let p = plan(&schema(), request(prior, proposed, config));
        assert_eq!(p.get("usage"), &Value::Unknown);
        assert_eq!(p.get("id"), &Value::from("x"));
        assert_eq!(p.get("region"), &Value::from("HCM"));
        assert!(!p.is_replace());
    }
}
