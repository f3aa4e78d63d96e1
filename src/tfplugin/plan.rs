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

use serde::de::DeserializeOwned;

use super::diag::{AttributePath, Diagnostics};
use super::modifiers::AttributePlan;
use super::private::Private;
use super::schema::{path_to, Block, NestedBlock, Nesting, Schema};
use super::state::from_value;
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

    /// The configuration as a typed struct; give a field the type
    /// [`Field`](super::typed::Field) to tell a value not yet known from a null one.
    pub fn config_as<S: DeserializeOwned>(&self) -> Result<S, Diagnostics> {
        from_value(&self.config)
    }
    /// The plan so far as a typed struct (see [`Plan::config_as`]).
    pub fn planned_as<S: DeserializeOwned>(&self) -> Result<S, Diagnostics> {
        from_value(&self.planned)
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
///
/// Every rule reaches attributes inside nested blocks too, as HashiCorp's plugin
/// framework does: an element of a block is paired with the configuration's and the
/// prior state's element at the same position (the object itself for a single
/// block), so a default, "known after apply" and each plan modifier apply there as
/// they do at the top level.
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
    apply_defaults(&schema.block, &plan.config, &mut plan.planned);
    if !plan.planned.semantically_equal(&plan.prior) {
        // A create, or something changes: what the provider computes may change too.
        unknown_computed(schema, &plan.config, &mut plan.planned);
    }
    run_modifiers(&mut plan);
    if plan.is_replace() {
        unknown_computed(schema, &plan.config, &mut plan.planned);
    }
    plan
}

/// The elements of a nested block's value with their positions; a single block is
/// its one object.
fn elements_mut(nesting: Nesting, value: &mut Value) -> Vec<&mut Value> {
    match (nesting, value) {
        (_, Value::List(items) | Value::Set(items)) => items.iter_mut().collect(),
        (Nesting::Single, v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// The element of a nested block's value at `index` (null when there is none).
fn element(nesting: Nesting, value: &Value, index: usize) -> &Value {
    static NULL: Value = Value::Null;
    match (nesting, value) {
        (_, Value::List(items) | Value::Set(items)) => items.get(index).unwrap_or(&NULL),
        (Nesting::Single, v) if index == 0 => v,
        _ => &NULL,
    }
}

/// Calls `each` with every element of `block`'s nested blocks in `planned`, the
/// configuration's element at the same position, and its index.
fn for_each_nested(
    block: &Block,
    config: &Value,
    planned: &mut Value,
    mut each: impl FnMut(&NestedBlock, usize, &Value, &mut Value),
) {
    for nested in &block.blocks {
        let Value::Object(fields) = &mut *planned else {
            return;
        };
        let Some(value) = fields.get_mut(&nested.name) else {
            continue;
        };
        let config_value = config.attr(&nested.name);
        for (i, item) in elements_mut(nested.nesting, value).into_iter().enumerate() {
            each(nested, i, element(nested.nesting, config_value, i), item);
        }
    }
}

/// Every attribute the configuration leaves out takes its default, at every depth.
fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    if !matches!(planned, Value::Object(_)) {
        return;
    }
    for attr in &block.attributes {
        if let Some(default) = &attr.default {
            if config.attr(&attr.name).is_null() {
                planned.set_attr(&attr.name, default.clone());
            }
        }
    }
    for_each_nested(block, config, planned, |nested, _, config, item| {
        apply_defaults(&nested.block, config, item)
    });
}

/// Runs every attribute's plan modifiers, in schema order, nested blocks after the
/// attributes of their parent.
fn run_modifiers(plan: &mut Plan) {
    let schema = plan.schema.clone();
    let mut planned = std::mem::take(&mut plan.planned);
    let mut outcome = Outcome::default();
    let whole = Level {
        config: &plan.config,
        prior: &plan.prior,
        prior_state: &plan.prior,
        is_create: plan.prior.is_null(),
        path: AttributePath::default(),
    };
    modify_block(&schema.block, &whole, &mut planned, &mut outcome);
    plan.planned = planned;
    plan.diagnostics.extend(outcome.diagnostics);
    for path in outcome.requires_replace {
        if !plan.requires_replace.contains(&path) {
            plan.requires_replace.push(path);
        }
    }
}

/// One object being planned by the modifiers: the top level or an element of a
/// nested block.
struct Level<'a> {
    config: &'a Value,
    prior: &'a Value,
    prior_state: &'a Value,
    is_create: bool,
    /// Where the object is; a set's elements have no path of their own, so theirs
    /// is the set's.
    path: AttributePath,
}

#[derive(Default)]
struct Outcome {
    requires_replace: Vec<AttributePath>,
    diagnostics: Diagnostics,
}

fn modify_block(block: &Block, level: &Level<'_>, planned: &mut Value, out: &mut Outcome) {
    if !matches!(planned, Value::Object(_)) {
        return;
    }
    for attr in block.attributes.iter().filter(|a| !a.modifiers.is_empty()) {
        let mut one = AttributePlan {
            name: &attr.name,
            config: level.config.attr(&attr.name),
            prior: level.prior.attr(&attr.name),
            prior_state: level.prior_state,
            is_create: level.is_create,
            planned: planned.attr(&attr.name).clone(),
            requires_replace: false,
            diagnostics: Diagnostics::new(),
        };
        for modifier in &attr.modifiers {
            modifier.0.modify(&mut one);
        }
        planned.set_attr(&attr.name, one.planned);
        out.diagnostics.extend(one.diagnostics);
        if one.requires_replace {
            out.requires_replace.push(path_to(&level.path, &attr.name));
        }
    }
    let Value::Object(fields) = planned else {
        return;
    };
    for nested in &block.blocks {
        let Some(value) = fields.get_mut(&nested.name) else {
            continue;
        };
        let at = path_to(&level.path, &nested.name);
        let (config, prior) = (
            level.config.attr(&nested.name),
            level.prior.attr(&nested.name),
        );
        for (i, item) in elements_mut(nested.nesting, value).into_iter().enumerate() {
            let path = match nested.nesting {
                Nesting::List => at.clone().index(i as i64),
                Nesting::Single | Nesting::Set => at.clone(),
            };
            let inner = Level {
                config: element(nested.nesting, config, i),
                prior: element(nested.nesting, prior, i),
                prior_state: level.prior_state,
                is_create: level.is_create,
                path,
            };
            modify_block(&nested.block, &inner, item, out);
        }
    }
}

/// Every computed attribute the configuration leaves open is unknown, except those
/// with a default (already planned), at every depth.
fn unknown_computed(schema: &Schema, config: &Value, planned: &mut Value) {
    unknown_computed_in(&schema.block, config, planned);
}

fn unknown_computed_in(block: &Block, config: &Value, planned: &mut Value) {
    if !matches!(planned, Value::Object(_)) {
        return;
    }
    for attr in &block.attributes {
        if attr.is_computed() && attr.default.is_none() && config.attr(&attr.name).is_null() {
            planned.set_attr(&attr.name, Value::Unknown);
        }
    }
    for_each_nested(block, config, planned, |nested, _, config, item| {
        unknown_computed_in(&nested.block, config, item)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::schema::Attribute;
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

    /// A resource with `rule` blocks, as a retention policy has them: a default, a
    /// replacement and a kept computed value inside a list block, and a default in a
    /// set block.
    fn with_rules() -> Schema {
        let rule = Block::new("rule")
            .attribute(Attribute::required("kind", Type::String, "kind").requires_replace())
            .attribute(Attribute::optional("keep", Type::Number, "keep").default(Value::int(10)))
            .attribute(Attribute::computed("id", Type::String, "id").use_state_for_unknown());
        let tag = Block::new("tag")
            .attribute(Attribute::required("name", Type::String, "n"))
            .attribute(
                Attribute::optional("exact", Type::Bool, "exact").default(Value::from(false)),
            );
        Schema::new(
            0,
            Block::new("policy")
                .attribute(Attribute::required("name", Type::String, "name"))
                .block(NestedBlock::new("rule", Nesting::List, rule))
                .block(NestedBlock::new("tag", Nesting::Set, tag)),
        )
    }

    fn rules(json: serde_json::Value) -> Value {
        Value::from_json(&json)
            .conform(&with_rules().value_type())
            .unwrap()
    }

    #[test]
    fn defaults_and_modifiers_apply_inside_nested_blocks() {
        // Create: defaults planned in list and set blocks, computed values unknown.
        let config = rules(serde_json::json!({
            "name": "p", "rule": [{"kind": "age"}], "tag": [{"name": "v1"}]
        }));
        let p = plan(&with_rules(), request(Value::Null, config.clone(), config));
        let rule = &p.get("rule").as_elements().unwrap()[0];
        assert_eq!(rule.attr("keep"), &Value::int(10));
        assert_eq!(rule.attr("id"), &Value::Unknown);
        let tag = &p.get("tag").as_elements().unwrap()[0];
        assert_eq!(tag.attr("exact"), &Value::from(false));

        let prior = rules(serde_json::json!({
            "name": "p", "rule": [{"kind": "age", "keep": 10, "id": "r1"}],
            "tag": [{"name": "v1", "exact": false}]
        }));
        // An update elsewhere: the rule keeps its id (UseStateForUnknown) and default.
        let config = rules(serde_json::json!({
            "name": "q", "rule": [{"kind": "age"}], "tag": [{"name": "v1"}]
        }));
        let proposed = rules(serde_json::json!({
            "name": "q", "rule": [{"kind": "age", "keep": null, "id": "r1"}],
            "tag": [{"name": "v1", "exact": null}]
        }));
        let p = plan(&with_rules(), request(prior.clone(), proposed, config));
        assert!(!p.is_replace(), "{:?}", p.requires_replace);
        let rule = &p.get("rule").as_elements().unwrap()[0];
        assert_eq!(rule.attr("id"), &Value::from("r1"));
        assert_eq!(rule.attr("keep"), &Value::int(10));

        // A change of a nested attribute that requires replacement replaces, at its path.
        let config = rules(serde_json::json!({
            "name": "p", "rule": [{"kind": "count"}], "tag": [{"name": "v1"}]
        }));
        let proposed = rules(serde_json::json!({
            "name": "p", "rule": [{"kind": "count", "keep": null, "id": "r1"}],
            "tag": [{"name": "v1", "exact": null}]
        }));
        let p = plan(&with_rules(), request(prior, proposed, config));
        assert_eq!(
            p.requires_replace,
            vec![AttributePath::root("rule").index(0).attr("kind")]
        );
        let rule = &p.get("rule").as_elements().unwrap()[0];
        assert_eq!(rule.attr("id"), &Value::Unknown, "replaced: computed again");
    }

    #[test]
    fn a_new_nested_element_has_no_prior_value_to_keep() {
        let prior = rules(serde_json::json!({
            "name": "p", "rule": [{"kind": "age", "keep": 10, "id": "r1"}], "tag": []
        }));
        let config = rules(serde_json::json!({
            "name": "p", "rule": [{"kind": "age"}, {"kind": "age"}], "tag": []
        }));
        let proposed = rules(serde_json::json!({
            "name": "p", "rule": [{"kind": "age", "keep": null, "id": "r1"}, {"kind": "age"}],
            "tag": []
        }));
        let p = plan(&with_rules(), request(prior, proposed, config));
        let rules = p.get("rule").as_elements().unwrap();
        assert_eq!(rules[1].attr("id"), &Value::Unknown, "not null");
        assert_eq!(rules[1].attr("keep"), &Value::int(10));
        // As in the plugin framework, a new element's RequiresReplace attribute is a
        // change from nothing.
        assert_eq!(
            p.requires_replace,
            vec![AttributePath::root("rule").index(1).attr("kind")]
        );
    }
}
