//! Typed views of [`Value`]s: a serde deserializer that reads a value straight into a
//! resource's struct, and [`Field`], a field that tells a value not yet known from a
//! null one, as the plugin framework's `types.String` does.
//!
//! An `Option<T>` field reads both unknown and null as `None`: right where values are
//! known (apply results, read, import), wrong where the difference matters (a
//! planned value the provider must compute, a configured value to check once known).
//! A `Field<T>` field keeps the difference.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, Deserialize, Deserializer, IntoDeserializer, Visitor};
use serde::{Serialize, Serializer};

use super::value::{Number, Value};

/// A typed value that is known, null, or not yet known.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<T> {
    #[default]
    Null,
    /// Known after apply: planned but not yet known, or configured from something
    /// not yet known.
    Unknown,
    Known(T),
}

impl<T> Field<T> {
    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }
    /// The value when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }
    /// The value when known, `None` otherwise (where the difference no longer matters).
    pub fn into_option(self) -> Option<T> {
        match self {
            Field::Known(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<Option<T>> for Field<T> {
    fn from(o: Option<T>) -> Self {
        o.map_or(Field::Null, Field::Known)
    }
}

/// The name by which [`Field`] asks the deserializer whether a value is unknown;
/// other deserializers (plain JSON) see an ordinary newtype and read null or a value.
const FIELD: &str = "$tfplugin::Field";

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for FieldVisitor<T> {
            type Value = Field<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value, null or unknown")
            }
            /// Only [`ValueDeserializer`] calls this, for an unknown value.
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Field::Unknown)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Self::Value, D::Error> {
                Ok(Option::<T>::deserialize(d)?.into())
            }
        }
        deserializer.deserialize_newtype_struct(FIELD, FieldVisitor(PhantomData))
    }
}

/// A known value is written as itself and null as null; an unknown value cannot be
/// written, for a state after apply must be wholly known.
impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Known(v) => serializer.serialize_some(v),
            Field::Null => serializer.serialize_none(),
            Field::Unknown => Err(serde::ser::Error::custom(
                "a value not yet known cannot be written to the state",
            )),
        }
    }
}

/// Reads a typed struct from a [`Value`]; unknown reads as `None` in an `Option` and
/// as [`Field::Unknown`] in a [`Field`].
pub fn read<'de, S: Deserialize<'de>>(value: &'de Value) -> Result<S, serde_json::Error> {
    S::deserialize(ValueDeserializer(value))
}

/// A serde deserializer over a borrowed [`Value`].
pub struct ValueDeserializer<'de>(&'de Value);

impl<'de> IntoDeserializer<'de, serde_json::Error> for &'de Value {
    type Deserializer = ValueDeserializer<'de>;
    fn into_deserializer(self) -> Self::Deserializer {
        ValueDeserializer(self)
    }
}

impl<'de> Deserializer<'de> for ValueDeserializer<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null | Value::Unknown => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(Number::Int(i)) if *i >= 0 => visitor.visit_u64(*i as u64),
            Value::Number(Number::Int(i)) => visitor.visit_i64(*i),
            Value::Number(Number::Float(f)) => visitor.visit_f64(*f),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::List(items) | Value::Set(items) => {
                let mut seq = SeqDeserializer::new(items.iter());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Map(m) | Value::Object(m) => {
                let mut map = MapDeserializer::new(m.iter().map(|(k, v)| (k.as_str(), v)));
                let out = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null | Value::Unknown => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Unknown if name == FIELD => visitor.visit_unit(),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Enums are strings (or one-key objects) in state: JSON's reading of them.
        self.0.to_json().deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Planned {
        id: Field<String>,
        name: Field<String>,
        note: Field<String>,
        old_style: Option<String>,
        count: Option<i64>,
        tags: Vec<String>,
    }

    fn planned() -> Value {
        Value::Object(
            [
                ("id".to_string(), Value::Unknown),
                ("name".to_string(), Value::from("app")),
                ("note".to_string(), Value::Null),
                ("old_style".to_string(), Value::Unknown),
                ("count".to_string(), Value::int(-3)),
                (
                    "tags".to_string(),
                    Value::Set(vec![Value::from("a"), Value::from("b")]),
                ),
            ]
            .into(),
        )
    }

    #[test]
    fn a_field_tells_unknown_from_null() {
        let v = planned();
        let p: Planned = read(&v).unwrap();
        assert_eq!(p.id, Field::Unknown);
        assert_eq!(p.name, Field::Known("app".to_string()));
        assert_eq!(p.note, Field::Null);
        assert_eq!(p.old_style, None, "an Option reads unknown as None");
        assert_eq!(p.count, Some(-3));
        assert_eq!(p.tags, ["a", "b"]);
    }

    #[test]
    fn plain_json_reads_a_field_as_null_or_known_and_unknown_is_never_written() {
        let p: Planned = serde_json::from_value(serde_json::json!({
            "id": null, "name": "app", "note": null, "old_style": null, "count": 1, "tags": []
        }))
        .unwrap();
        assert_eq!(
            (p.id.clone(), p.name.clone()),
            (Field::Null, Field::Known("app".into()))
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap()["name"],
            serde_json::json!("app")
        );
        let unknown = Planned {
            id: Field::Unknown,
            ..p
        };
        assert!(serde_json::to_value(&unknown)
            .unwrap_err()
            .to_string()
            .contains("not yet known"));
    }
}
