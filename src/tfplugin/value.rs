//! Terraform values: every value is known, null, or not yet known (unknown).
//!
//! Terraform's type system (cty) is richer than JSON: a value can be unknown during
//! planning, sets compare without order, and objects have a fixed set of attributes.
//! [`Value`] models exactly that, and [`Type`] is the cty type that the schema declares,
//! used to decode wire values and to conform values built by resources.

use std::collections::BTreeMap;
use std::fmt;

/// A cty type, as written in schema JSON (`"string"`, `["list","string"]`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    /// Any type; on the wire a `[type-json, value]` pair.
    Dynamic,
}

impl Type {
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    /// The type in cty's JSON notation, the form `GetSchema` carries.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::Dynamic => json!("dynamic"),
            Type::List(e) => json!(["list", e.to_json()]),
            Type::Set(e) => json!(["set", e.to_json()]),
            Type::Map(e) => json!(["map", e.to_json()]),
            Type::Object(attrs) => {
                let fields: serde_json::Map<String, serde_json::Value> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                json!(["object", fields])
            }
        }
    }

    /// Parses cty's JSON type notation (used for `dynamic` values on the wire).
    pub fn from_json(json: &serde_json::Value) -> Option<Type> {
        use serde_json::Value as J;
        match json {
            J::String(s) => match s.as_str() {
                "string" => Some(Type::String),
                "number" => Some(Type::Number),
                "bool" => Some(Type::Bool),
                "dynamic" => Some(Type::Dynamic),
                _ => None,
            },
            J::Array(parts) if parts.len() == 2 => {
                let kind = parts[0].as_str()?;
                match kind {
                    "list" => Some(Type::list(Type::from_json(&parts[1])?)),
                    "set" => Some(Type::set(Type::from_json(&parts[1])?)),
                    "map" => Some(Type::map(Type::from_json(&parts[1])?)),
                    "object" => {
                        let fields = parts[1].as_object()?;
                        let mut attrs = BTreeMap::new();
                        for (k, v) in fields {
                            attrs.insert(k.clone(), Type::from_json(v)?);
                        }
                        Some(Type::Object(attrs))
                    }
                    "tuple" => Some(Type::list(Type::Dynamic)),
                    _ => None,
                }
            }
            J::Array(parts) if parts.len() == 3 && parts[0] == "object" => {
                // ["object", {attrs}, [optional attrs]]
                Type::from_json(&serde_json::json!(["object", parts[1]]))
            }
            _ => None,
        }
    }
}

/// A number as Terraform sends it: whole numbers stay exact, others are floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Number::Int(i) => Some(i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            Number::Float(_) => None,
        }
    }
    pub fn as_f64(&self) -> f64 {
        match *self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
    /// Parses the decimal string form Terraform uses for numbers too big for msgpack.
    pub fn parse(text: &str) -> Option<Number> {
        let text = text.trim();
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::Int(i));
        }
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Number::from_f64)
    }
    /// A float that happens to be whole is kept as an integer, so 5 and 5.0 compare equal.
    pub fn from_f64(f: f64) -> Number {
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            Number::Int(f as i64)
        } else {
            Number::Float(f)
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// A Terraform value. `Null` and `Unknown` can stand for a value of any type.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    /// Not known until apply.
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Elements of a set; order carries no meaning (see [`Value::semantically_equal`]).
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    pub fn int(i: i64) -> Value {
        Value::Number(Number::Int(i))
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }
    /// True when neither this value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(items) | Value::Set(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_number(&self) -> Option<Number> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }
    /// Elements of a list or set.
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) | Value::Set(items) => Some(items),
            _ => None,
        }
    }
    /// Attributes of an object or entries of a map.
    pub fn as_fields(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }
    /// The attribute `name` of an object; `Null` when absent or when this is not an object.
    pub fn attr(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Object(m) | Value::Map(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
    /// Sets attribute `name` of an object (no effect on other values).
    pub fn set_attr(&mut self, name: &str, value: Value) {
        if let Value::Object(m) = self {
            m.insert(name.to_string(), value);
        }
    }

    /// Equality as Terraform sees it: set elements match regardless of order.
    pub fn semantically_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Set(a), Value::Set(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| b.iter().any(|y| x.semantically_equal(y)))
                    && b.iter().all(|y| a.iter().any(|x| x.semantically_equal(y)))
            }
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.semantically_equal(y))
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.semantically_equal(w)))
            }
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            _ => self == other,
        }
    }

    /// Reshapes a value to `ty`: lists become sets where the type says set, missing
    /// object attributes become null, whole floats become integers, and numbers in
    /// strings are parsed. Resources build values loosely (through serde); this makes
    /// them exactly what Terraform expects.
    pub fn conform(self, ty: &Type) -> Result<Value, String> {
        match (self, ty) {
            (Value::Null, _) => Ok(Value::Null),
            (Value::Unknown, _) => Ok(Value::Unknown),
            (v, Type::Dynamic) => Ok(v),
            (Value::String(s), Type::String) => Ok(Value::String(s)),
            (Value::Bool(b), Type::String) => Ok(Value::String(b.to_string())),
            (Value::Number(n), Type::String) => Ok(Value::String(n.to_string())),
            (Value::Number(n), Type::Number) => Ok(Value::Number(n)),
            (Value::String(s), Type::Number) => Number::parse(&s)
                .map(Value::Number)
                .ok_or_else(|| format!("{s:?} is not a number")),
            (Value::Bool(b), Type::Bool) => Ok(Value::Bool(b)),
            (Value::String(s), Type::Bool) => match s.as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!("{s:?} is not a bool")),
            },
            (Value::List(items) | Value::Set(items), Type::List(e)) => Ok(Value::List(
                items
                    .into_iter()
                    .map(|v| v.conform(e))
                    .collect::<Result<_, _>>()?,
            )),
            (Value::List(items) | Value::Set(items), Type::Set(e)) => {
                let mut out: Vec<Value> = Vec::with_capacity(items.len());
                for item in items {
                    let item = item.conform(e)?;
                    if !out.iter().any(|o| o.semantically_equal(&item)) {
                        out.push(item);
                    }
                }
                Ok(Value::Set(out))
            }
            (Value::Map(m) | Value::Object(m), Type::Map(e)) => Ok(Value::Map(
                m.into_iter()
                    .map(|(k, v)| Ok((k, v.conform(e)?)))
                    .collect::<Result<_, String>>()?,
            )),
            (Value::Map(mut m) | Value::Object(mut m), Type::Object(attrs)) => {
                let mut out = BTreeMap::new();
                for (name, attr_ty) in attrs {
                    let v = m.remove(name).unwrap_or(Value::Null);
                    let v = v.conform(attr_ty).map_err(|e| format!("{name}: {e}"))?;
                    out.insert(name.clone(), v);
                }
                Ok(Value::Object(out))
            }
            (v, ty) => Err(format!("cannot use {} as {}", v.kind(), ty.to_json())),
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown => "unknown",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
        }
    }

    /// Converts to JSON for typed (serde) access. Unknown becomes JSON null: typed
    /// state is read where values are known (apply) or where unknown and null mean the
    /// same thing to the reader ("not known now").
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null | Value::Unknown => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(Number::Int(i)) => J::from(*i),
            Value::Number(Number::Float(f)) => J::from(*f),
            Value::String(s) => J::String(s.clone()),
            Value::List(items) | Value::Set(items) => {
                J::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(m) | Value::Object(m) => {
                J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// Builds a value from JSON without a type; call [`Value::conform`] after it.
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::int(i),
                None => Value::Number(Number::from_f64(n.as_f64().unwrap_or(f64::NAN))),
            },
            J::String(s) => Value::String(s.clone()),
            J::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            J::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::int(i)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_compare_without_order() {
        let a = Value::Set(vec![Value::from("x"), Value::from("y")]);
        let b = Value::Set(vec![Value::from("y"), Value::from("x")]);
        assert!(a.semantically_equal(&b));
        let c = Value::List(vec![Value::from("y"), Value::from("x")]);
        let d = Value::List(vec![Value::from("x"), Value::from("y")]);
        assert!(!c.semantically_equal(&d));
    }

    #[test]
    fn conform_fills_missing_attributes_and_makes_sets() {
        let ty = Type::Object(BTreeMap::from([
            ("a".to_string(), Type::String),
            ("n".to_string(), Type::Number),
            ("s".to_string(), Type::set(Type::String)),
        ]));
        let v = Value::from_json(&serde_json::json!({"n": "12", "s": ["x", "x", "y"]}))
            .conform(&ty)
            .unwrap();
        assert_eq!(v.attr("a"), &Value::Null);
        assert_eq!(v.attr("n"), &Value::int(12));
        assert_eq!(
            v.attr("s"),
            &Value::Set(vec![Value::from("x"), Value::from("y")])
        );
    }

    #[test]
    fn conform_rejects_wrong_kinds() {
        let err = Value::from_json(&serde_json::json!({"x": 1}))
            .conform(&Type::Bool)
            .unwrap_err();
        assert!(err.contains("object"), "{err}");
    }

    #[test]
    fn type_json_round_trips() {
        let ty = Type::list(Type::Object(BTreeMap::from([(
            "m".to_string(),
            Type::map(Type::String),
        )])));
        assert_eq!(Type::from_json(&ty.to_json()), Some(ty));
    }
}
