//! Typed state: between the [`Value`]s Terraform sends and the serde structs resources
//! work with. The struct and the schema must name the same attributes: a field the
//! schema lacks, or an attribute the struct lacks, is an error here (and fails
//! [`type_mismatches`] in a unit test) instead of a value that silently stays null.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::diag::{Diagnostic, Diagnostics};
use super::schema::Schema;
use super::value::{Number, Type, Value};

/// Reads typed state from a value; unknown reads as `None` in an `Option` field and as
/// [`Field::Unknown`](super::typed::Field) in a `Field`, where the difference matters.
pub fn from_value<S: DeserializeOwned>(value: &Value) -> Result<S, Diagnostics> {
    super::typed::read(value).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Provider could not read the state",
            format!("The state does not have the shape the provider expects: {e}. This is a bug in the provider; please report it."),
        ))
    })
}

/// Writes typed state as a value of `ty`, refusing a struct whose fields are not
/// exactly the schema's attributes.
pub fn to_value_of<S: Serialize>(state: &S, ty: &Type) -> Result<Value, Diagnostics> {
    let bug = |why: String| {
        Diagnostics::from(Diagnostic::error(
            "Provider could not write the state",
            format!("{why}. This is a bug in the provider; please report it."),
        ))
    };
    let json = serde_json::to_value(state).map_err(|e| bug(e.to_string()))?;
    check_fields(&json, ty, "").map_err(bug)?;
    Value::from_json(&json)
        .conform(ty)
        .map_err(|e| bug(format!("The state does not match the schema: {e}")))
}

/// [`to_value_of`] with a schema's type.
pub fn to_value<S: Serialize>(state: &S, schema: &Schema) -> Result<Value, Diagnostics> {
    to_value_of(state, &schema.value_type())
}

/// Checks that every object in `json` has exactly the attributes `ty` names.
pub(crate) fn check_fields(json: &serde_json::Value, ty: &Type, at: &str) -> Result<(), String> {
    check_fields_of(json, ty, at, true)
}

/// Checks that no object in `json` has an attribute `ty` does not name (a stored
/// state may leave out attributes that were null).
pub(crate) fn check_declared(json: &serde_json::Value, ty: &Type) -> Result<(), String> {
    check_fields_of(json, ty, "", false)
}

fn check_fields_of(
    json: &serde_json::Value,
    ty: &Type,
    at: &str,
    all_present: bool,
) -> Result<(), String> {
    use serde_json::Value as J;
    match (json, ty) {
        (J::Object(fields), Type::Object(attrs)) => {
            if let Some(extra) = fields.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(format!(
                    "the state has a field \"{}\" that the schema does not declare",
                    join(at, extra)
                ));
            }
            if let Some(missing) = attrs
                .keys()
                .find(|k| all_present && !fields.contains_key(*k))
            {
                return Err(format!(
                    "the schema's attribute \"{}\" has no field in the state",
                    join(at, missing)
                ));
            }
            attrs
                .iter()
                .try_for_each(|(name, attr_ty)| match fields.get(name) {
                    Some(field) => check_fields_of(field, attr_ty, &join(at, name), all_present),
                    None => Ok(()),
                })
        }
        (J::Array(items), Type::List(e) | Type::Set(e)) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_fields_of(item, e, &format!("{at}[{i}]"), all_present)),
        (J::Object(entries), Type::Map(e)) => entries
            .iter()
            .try_for_each(|(k, v)| check_fields_of(v, e, &format!("{at}[{k:?}]"), all_present)),
        _ => Ok(()),
    }
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

/// Where a state struct and a schema's type disagree, found without any value at
/// hand: a sample value with every attribute set (and one element in every
/// collection) goes through the struct and must come back whole. Empty when they
/// agree. Each resource and data source is checked in a unit test.
pub fn type_mismatches<S: Serialize + DeserializeOwned>(ty: &Type) -> Vec<String> {
    let sample = sample_of(ty);
    let typed: S = match serde_json::from_value(sample.to_json()) {
        Ok(s) => s,
        Err(e) => return vec![format!("the struct cannot read the schema's shape: {e}")],
    };
    let json = match serde_json::to_value(&typed) {
        Ok(j) => j,
        Err(e) => return vec![format!("the struct cannot be written: {e}")],
    };
    if let Err(e) = check_fields(&json, ty, "") {
        return vec![e];
    }
    match Value::from_json(&json).conform(ty) {
        Ok(back) if back.semantically_equal(&sample) => vec![],
        Ok(back) => vec![format!(
            "values are lost through the struct: {:?} came back as {:?}",
            sample.to_json(),
            back.to_json()
        )],
        Err(e) => vec![format!("the struct writes another shape: {e}")],
    }
}

/// A value of `ty` with nothing null.
fn sample_of(ty: &Type) -> Value {
    match ty {
        Type::String | Type::Dynamic => Value::from("sample"),
        Type::Number => Value::Number(Number::Int(7)),
        Type::Bool => Value::Bool(true),
        Type::List(e) => Value::List(vec![sample_of(e)]),
        Type::Set(e) => Value::Set(vec![sample_of(e)]),
        Type::Map(e) => Value::Map([("key".to_string(), sample_of(e))].into()),
        Type::Object(attrs) => Value::Object(
            attrs
                .iter()
                .map(|(k, t)| (k.clone(), sample_of(t)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::schema::{Attribute, Block, NestedBlock, Nesting};
    use serde::Deserialize;

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("r")
                .attribute(Attribute::computed("id", Type::String, "id"))
                .attribute(Attribute::computed("region", Type::String, "region"))
                .block(NestedBlock::new(
                    "perm",
                    Nesting::Set,
                    Block::new("p").attribute(Attribute::required("level", Type::Number, "l")),
                )),
        )
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct Good {
        id: Option<String>,
        region: Option<String>,
        #[serde(default)]
        perm: Vec<Perm>,
    }
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct Perm {
        level: Option<i64>,
    }

    /// A computed field spelled wrong: without the check it would stay null forever.
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct Misspelled {
        id: Option<String>,
        regoin: Option<String>,
        #[serde(default)]
        perm: Vec<Perm>,
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct NestedMisspelled {
        id: Option<String>,
        region: Option<String>,
        #[serde(default)]
        perm: Vec<BadPerm>,
    }
    #[derive(Debug, Default, Serialize, Deserialize)]
    struct BadPerm {
        levle: Option<i64>,
    }

    #[test]
    fn a_struct_that_matches_passes() {
        assert_eq!(
            type_mismatches::<Good>(&schema().value_type()),
            Vec::<String>::new()
        );
        let v = to_value(
            &Good {
                id: Some("x".into()),
                region: None,
                perm: vec![Perm { level: Some(1) }],
            },
            &schema(),
        )
        .unwrap();
        assert_eq!(v.attr("id"), &Value::from("x"));
    }

    #[test]
    fn a_misspelled_field_fails_in_the_unit_check_and_when_written() {
        let found = type_mismatches::<Misspelled>(&schema().value_type());
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("\"regoin\""), "{found:?}");

        let err = to_value(&Misspelled::default(), &schema()).unwrap_err();
        assert!(err.0[0].detail.contains("regoin"), "{:?}", err.0[0].detail);
    }

    #[test]
    fn a_misspelled_nested_field_fails_too() {
        let found = type_mismatches::<NestedMisspelled>(&schema().value_type());
        assert!(found[0].contains("perm[0]"), "{found:?}");
        let err = to_value(
            &NestedMisspelled {
                perm: vec![BadPerm { levle: Some(1) }],
                ..Default::default()
            },
            &schema(),
        )
        .unwrap_err();
        assert!(err.0[0].detail.contains("levle"));
    }
}
