//! Configuration generated from state (`GenerateResourceConfig`, Terraform 1.14+):
//! what `terraform query -generate-config-out` and `terraform plan
//! -generate-config-out` write for an object. Without it Terraform keeps every
//! argument of the state, defaults included; this keeps only what a person would
//! write, so that the generated file reads like a hand-written one and the apply that
//! follows changes nothing.

use super::schema::{Block, Mode, Nesting};
use super::value::Value;

/// The configuration of the object `state` describes: the state less what no
/// configuration sets (computed-only attributes) and what need not be written (a
/// value equal to the attribute's default), in nested blocks too.
pub fn config_from_state(block: &Block, state: &Value) -> Value {
    let Value::Object(fields) = state else {
        return state.clone();
    };
    let mut config = fields.clone();
    for a in &block.attributes {
        let Some(value) = config.get_mut(&a.name) else {
            continue;
        };
        let is_default = a
            .default
            .as_ref()
            .is_some_and(|d| d.semantically_equal(value));
        if a.mode == Mode::Computed || is_default {
            *value = Value::Null;
        }
    }
    for b in &block.blocks {
        let Some(value) = config.get_mut(&b.name) else {
            continue;
        };
        *value = match (b.nesting, std::mem::take(value)) {
            (Nesting::List, Value::List(items)) => Value::List(each(&b.block, items)),
            (Nesting::Set, Value::Set(items)) => Value::Set(each(&b.block, items)),
            (_, other) => config_from_state(&b.block, &other),
        };
    }
    Value::Object(config)
}

fn each(block: &Block, items: Vec<Value>) -> Vec<Value> {
    items
        .iter()
        .map(|item| config_from_state(block, item))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::schema::{Attribute, NestedBlock};
    use crate::tfplugin::Type;

    fn block() -> Block {
        Block::new("b")
            .attribute(Attribute::computed("id", Type::String, "Id."))
            .attribute(Attribute::required("name", Type::String, "Name."))
            .attribute(
                Attribute::optional("level", Type::String, "Level.").default(Value::from("low")),
            )
            .attribute(Attribute::optional_computed("zone", Type::String, "Zone."))
            .block(NestedBlock::new(
                "grant",
                Nesting::Set,
                Block::new("g")
                    .attribute(Attribute::required("to", Type::String, "To."))
                    .attribute(Attribute::computed("at", Type::String, "At."))
                    .attribute(
                        Attribute::optional("mode", Type::String, "Mode.")
                            .default(Value::from("r")),
                    ),
            ))
    }

    fn value(json: serde_json::Value) -> Value {
        Value::from_json(&json)
            .conform(&block().value_type())
            .unwrap()
    }

    #[test]
    fn computed_only_and_default_values_are_left_out() {
        let state = value(serde_json::json!({
            "id": "x-1", "name": "app", "level": "low", "zone": "north",
            "grant": [{"to": "a", "at": "now", "mode": "r"}, {"to": "b", "at": "then", "mode": "rw"}],
        }));
        let config = config_from_state(&block(), &state);
        let expected = value(serde_json::json!({
            "name": "app", "zone": "north",
            "grant": [{"to": "a"}, {"to": "b", "mode": "rw"}],
        }));
        assert!(
            config.semantically_equal(&expected),
            "{:?}",
            config.to_json()
        );
    }

    #[test]
    fn a_value_other_than_the_default_stays() {
        let state = value(serde_json::json!({"name": "app", "level": "high"}));
        let config = config_from_state(&block(), &state);
        assert_eq!(config.attr("level"), &Value::from("high"));
        assert_eq!(config_from_state(&block(), &Value::Null), Value::Null);
    }
}
