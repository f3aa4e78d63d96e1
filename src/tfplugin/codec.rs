//! DynamicValue on the wire: msgpack (always written, read) and JSON (read).
//!
//! Decoding is driven by the schema's type, because msgpack alone cannot tell a set
//! from a list, an object from a map, or a number sent as a string from a string.

use std::collections::BTreeMap;

use rmpv::Value as Mp;

use super::proto::DynamicValue;
use super::value::{Number, Type, Value};

/// Why a wire value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("malformed msgpack: {0}")]
    Msgpack(String),
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("at {path}: {message}")]
    Shape { path: String, message: String },
}

fn shape(path: &str, message: impl Into<String>) -> CodecError {
    CodecError::Shape {
        path: if path.is_empty() {
            "(root)".into()
        } else {
            path.to_string()
        },
        message: message.into(),
    }
}

/// Decodes a DynamicValue of type `ty`. An empty DynamicValue is null.
pub fn decode(dv: Option<&DynamicValue>, ty: &Type) -> Result<Value, CodecError> {
    let Some(dv) = dv else {
        return Ok(Value::Null);
    };
    if !dv.msgpack.is_empty() {
        decode_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        decode_json(&dv.json, ty)
    } else {
        Ok(Value::Null)
    }
}

/// Encodes a value as msgpack in a DynamicValue.
pub fn encode(value: &Value) -> DynamicValue {
    DynamicValue {
        msgpack: encode_msgpack(value),
        json: Vec::new(),
    }
}

/// Decodes msgpack bytes of type `ty`.
pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut reader = bytes;
    let mp = rmpv::decode::read_value_ref(&mut reader)
        .map_err(|e| CodecError::Msgpack(e.to_string()))?;
    if !reader.is_empty() {
        return Err(CodecError::Msgpack(format!(
            "{} trailing bytes after the value",
            reader.len()
        )));
    }
    from_msgpack(&mp, ty, "")
}

fn from_msgpack(mp: &rmpv::ValueRef<'_>, ty: &Type, path: &str) -> Result<Value, CodecError> {
    use rmpv::ValueRef as R;
    match mp {
        R::Nil => return Ok(Value::Null),
        // cty writes unknown as extension 0; newer Terraform sends refined unknowns
        // with other extension types. Any extension is unknown.
        R::Ext(_, _) => return Ok(Value::Unknown),
        _ => {}
    }
    match ty {
        Type::Dynamic => dynamic_from_msgpack(mp, path),
        Type::String => match mp {
            R::String(s) => s
                .as_str()
                .map(Value::string)
                .ok_or_else(|| shape(path, "string is not UTF-8")),
            R::Binary(b) => String::from_utf8(b.to_vec())
                .map(Value::String)
                .map_err(|_| shape(path, "string is not UTF-8")),
            R::Boolean(b) => Ok(Value::String(b.to_string())),
            R::Integer(_) | R::F32(_) | R::F64(_) => {
                Ok(Value::String(number_from_msgpack(mp, path)?.to_string()))
            }
            _ => Err(shape(path, "expected a string")),
        },
        Type::Number => number_from_msgpack(mp, path).map(Value::Number),
        Type::Bool => match mp {
            R::Boolean(b) => Ok(Value::Bool(*b)),
            R::String(s) => match s.as_str() {
                Some("true") => Ok(Value::Bool(true)),
                Some("false") => Ok(Value::Bool(false)),
                _ => Err(shape(path, "expected a bool")),
            },
            _ => Err(shape(path, "expected a bool")),
        },
        Type::List(e) | Type::Set(e) => {
            let R::Array(items) = mp else {
                return Err(shape(path, "expected an array"));
            };
            let values = items
                .iter()
                .enumerate()
                .map(|(i, item)| from_msgpack(item, e, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(values)
            } else {
                Value::List(values)
            })
        }
        Type::Map(e) => {
            let R::Map(entries) = mp else {
                return Err(shape(path, "expected a map"));
            };
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = map_key(k, path)?;
                let child = format!("{path}[{key:?}]");
                out.insert(key, from_msgpack(v, e, &child)?);
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => object_from_msgpack(mp, attrs, path),
    }
}

/// A `dynamic` value: `[type JSON, value]`.
fn dynamic_from_msgpack(mp: &rmpv::ValueRef<'_>, path: &str) -> Result<Value, CodecError> {
    use rmpv::ValueRef as R;
    let R::Array(pair) = mp else {
        return Err(shape(path, "dynamic value must be [type, value]"));
    };
    if pair.len() != 2 {
        return Err(shape(path, "dynamic value must be [type, value]"));
    }
    let type_json = match &pair[0] {
        R::Binary(b) => serde_json::from_slice(b)?,
        R::String(s) => serde_json::from_slice(s.as_bytes())?,
        _ => return Err(shape(path, "dynamic type must be JSON bytes")),
    };
    let inner = Type::from_json(&type_json)
        .ok_or_else(|| shape(path, format!("unknown type {type_json}")))?;
    from_msgpack(&pair[1], &inner, path)
}

/// An object: every attribute of the type, null when absent; no other attribute.
fn object_from_msgpack(
    mp: &rmpv::ValueRef<'_>,
    attrs: &BTreeMap<String, Type>,
    path: &str,
) -> Result<Value, CodecError> {
    let rmpv::ValueRef::Map(entries) = mp else {
        return Err(shape(path, "expected an object"));
    };
    let mut out: BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
    for (k, v) in entries {
        let key = map_key(k, path)?;
        let child = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let Some(attr_ty) = attrs.get(&key) else {
            return Err(shape(&child, "unsupported attribute"));
        };
        out.insert(key, from_msgpack(v, attr_ty, &child)?);
    }
    Ok(Value::Object(out))
}

fn map_key(k: &rmpv::ValueRef<'_>, path: &str) -> Result<String, CodecError> {
    match k {
        rmpv::ValueRef::String(s) => s
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| shape(path, "key is not UTF-8")),
        _ => Err(shape(path, "map keys must be strings")),
    }
}

fn number_from_msgpack(mp: &rmpv::ValueRef<'_>, path: &str) -> Result<Number, CodecError> {
    use rmpv::ValueRef as R;
    match mp {
        R::Integer(i) => {
            if let Some(v) = i.as_i64() {
                Ok(Number::Int(v))
            } else if let Some(v) = i.as_u64() {
                Ok(Number::Float(v as f64))
            } else {
                Err(shape(path, "integer out of range"))
            }
        }
        R::F32(f) => Ok(Number::from_f64(f64::from(*f))),
        R::F64(f) => Ok(Number::from_f64(*f)),
        // Terraform sends numbers that do not fit a float as decimal strings.
        R::String(s) => s
            .as_str()
            .and_then(Number::parse)
            .ok_or_else(|| shape(path, "expected a number")),
        _ => Err(shape(path, "expected a number")),
    }
}

/// Decodes JSON bytes of type `ty` (JSON has no unknowns).
pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let json: serde_json::Value = serde_json::from_slice(bytes)?;
    Value::from_json(&json)
        .conform(ty)
        .map_err(|message| shape("", message))
}

/// Encodes a value as msgpack bytes.
pub fn encode_msgpack(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &to_msgpack(value));
    out
}

fn to_msgpack(value: &Value) -> Mp {
    match value {
        Value::Null => Mp::Nil,
        Value::Unknown => Mp::Ext(0, vec![0]),
        Value::Bool(b) => Mp::Boolean(*b),
        Value::Number(Number::Int(i)) => Mp::from(*i),
        Value::Number(Number::Float(f)) => Mp::F64(*f),
        Value::String(s) => Mp::from(s.as_str()),
        Value::List(items) | Value::Set(items) => Mp::Array(items.iter().map(to_msgpack).collect()),
        Value::Map(m) | Value::Object(m) => Mp::Map(
            m.iter()
                .map(|(k, v)| (Mp::from(k.as_str()), to_msgpack(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permission_type() -> Type {
        Type::Object(BTreeMap::from([
            ("repository_id".to_string(), Type::String),
            ("permission".to_string(), Type::String),
        ]))
    }

    fn user_type() -> Type {
        Type::Object(BTreeMap::from([
            ("name".to_string(), Type::String),
            ("quota".to_string(), Type::Number),
            ("enabled".to_string(), Type::Bool),
            ("tags".to_string(), Type::map(Type::String)),
            ("ids".to_string(), Type::list(Type::String)),
            ("perms".to_string(), Type::set(permission_type())),
        ]))
    }

    fn perm(repo: &str, p: &str) -> Value {
        Value::Object(BTreeMap::from([
            ("repository_id".to_string(), Value::from(repo)),
            ("permission".to_string(), Value::from(p)),
        ]))
    }

    #[test]
    fn round_trip_with_null_unknown_and_nested_sets() {
        let v = Value::Object(BTreeMap::from([
            ("name".to_string(), Value::Unknown),
            ("quota".to_string(), Value::int(20)),
            ("enabled".to_string(), Value::Null),
            (
                "tags".to_string(),
                Value::Map(BTreeMap::from([("k".to_string(), Value::from("v"))])),
            ),
            (
                "ids".to_string(),
                Value::List(vec![Value::Unknown, Value::from("a")]),
            ),
            (
                "perms".to_string(),
                Value::Set(vec![perm("r1", "pull_only"), {
                    let mut p = perm("r2", "push_pull");
                    p.set_attr("repository_id", Value::Unknown);
                    p
                }]),
            ),
        ]));
        let bytes = encode_msgpack(&v);
        let back = decode_msgpack(&bytes, &user_type()).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn unknown_is_written_as_extension_zero() {
        assert_eq!(encode_msgpack(&Value::Unknown), vec![0xd4, 0x00, 0x00]);
        assert_eq!(encode_msgpack(&Value::Null), vec![0xc0]);
    }

    #[test]
    fn any_extension_type_reads_as_unknown() {
        // fixext1 with type 12 (a refined unknown)
        let v = decode_msgpack(&[0xd4, 0x0c, 0x01], &Type::String).unwrap();
        assert_eq!(v, Value::Unknown);
        // ext8 with a longer payload
        let v = decode_msgpack(&[0xc7, 0x03, 0x0c, 1, 2, 3], &Type::Number).unwrap();
        assert_eq!(v, Value::Unknown);
    }

    #[test]
    fn numbers_arrive_as_int_float_or_string() {
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &Mp::from("12345678901234567890123")).unwrap();
        let big = decode_msgpack(&buf, &Type::Number).unwrap();
        assert!(matches!(big, Value::Number(Number::Float(f)) if f > 1.2e22));

        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &Mp::F64(20.0)).unwrap();
        assert_eq!(decode_msgpack(&buf, &Type::Number).unwrap(), Value::int(20));

        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &Mp::F64(2.5)).unwrap();
        assert_eq!(
            decode_msgpack(&buf, &Type::Number).unwrap(),
            Value::Number(Number::Float(2.5))
        );

        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &Mp::from("7")).unwrap();
        assert_eq!(decode_msgpack(&buf, &Type::Number).unwrap(), Value::int(7));
    }

    #[test]
    fn json_input_is_accepted() {
        let dv = DynamicValue {
            msgpack: vec![],
            json: br#"{"name":"x","quota":"3","perms":[{"repository_id":"r","permission":"pull_only"}]}"#
                .to_vec(),
        };
        let v = decode(Some(&dv), &user_type()).unwrap();
        assert_eq!(v.attr("quota"), &Value::int(3));
        assert_eq!(v.attr("enabled"), &Value::Null);
        assert_eq!(v.attr("perms"), &Value::Set(vec![perm("r", "pull_only")]));
    }

    #[test]
    fn empty_dynamic_value_is_null() {
        assert_eq!(decode(None, &Type::String).unwrap(), Value::Null);
        assert_eq!(
            decode(Some(&DynamicValue::default()), &user_type()).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn dynamic_values_carry_their_type() {
        let mp = Mp::Array(vec![
            Mp::Binary(br#"["list","string"]"#.to_vec()),
            Mp::Array(vec![Mp::from("a")]),
        ]);
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &mp).unwrap();
        assert_eq!(
            decode_msgpack(&buf, &Type::Dynamic).unwrap(),
            Value::List(vec![Value::from("a")])
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(decode_msgpack(&[0x92, 0x01], &Type::list(Type::Number)).is_err());
        assert!(decode_msgpack(&[0xc0, 0xc0], &Type::String).is_err());
        let unknown_attr = {
            let mut buf = Vec::new();
            rmpv::encode::write_value(&mut buf, &Mp::Map(vec![(Mp::from("nope"), Mp::Nil)]))
                .unwrap();
            buf
        };
        let err = decode_msgpack(&unknown_attr, &user_type()).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        assert!(decode_msgpack(&[0x01], &Type::String).is_ok());
        assert!(decode_msgpack(&[0xa1, b'x'], &Type::Bool).is_err());
    }
}
