//! Validators: rules on one attribute's value, each with the sentence that documents
//! it. The framework runs them on configuration (`validate_config`), and the generated
//! docs print their descriptions, so a rule is written once.

use std::fmt;
use std::sync::Arc;

use super::value::{Number, Type, Value};

type StringCheck = dyn Fn(&str) -> Result<(), String> + Send + Sync;
type NumberCheck = dyn Fn(Number) -> Result<(), String> + Send + Sync;
type BoolCheck = dyn Fn(bool) -> Result<(), String> + Send + Sync;

/// The check itself, typed by the values it reads: a validator never sees a value of
/// another type (the schema refuses it on an attribute of another type), so it
/// cannot read a number as "absent" and pass.
#[derive(Clone)]
enum Check {
    String(Arc<StringCheck>),
    Number(Arc<NumberCheck>),
    Bool(Arc<BoolCheck>),
}

/// A rule on a known, non-null value of one type. `check` returns the rule in words
/// when the value breaks it; `description` says the rule for the docs.
#[derive(Clone)]
pub struct Validator {
    description: String,
    check: Check,
}

impl Validator {
    /// A rule on strings, from its documentation sentence (Markdown, ending with a
    /// period) and its check.
    pub fn string(
        description: impl Into<String>,
        check: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Validator {
            description: description.into(),
            check: Check::String(Arc::new(check)),
        }
    }

    /// A rule on numbers.
    pub fn number(
        description: impl Into<String>,
        check: impl Fn(Number) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Validator {
            description: description.into(),
            check: Check::Number(Arc::new(check)),
        }
    }

    /// A rule on bools.
    pub fn bool(
        description: impl Into<String>,
        check: impl Fn(bool) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Validator {
            description: description.into(),
            check: Check::Bool(Arc::new(check)),
        }
    }

    /// The rule as the docs say it.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The type of the values this rule reads: an attribute of another type cannot
    /// carry it.
    pub fn checks(&self) -> Type {
        match self.check {
            Check::String(_) => Type::String,
            Check::Number(_) => Type::Number,
            Check::Bool(_) => Type::Bool,
        }
    }

    /// Checks a known, non-null value; the error is the rule in words, shown with the
    /// attribute's name. A value of another type breaks the rule too (the schema
    /// builder refuses such a pairing, so this is a bug if it ever shows).
    pub fn check(&self, value: &Value) -> Result<(), String> {
        match (&self.check, value) {
            (Check::String(f), Value::String(s)) => f(s),
            (Check::Number(f), Value::Number(n)) => f(*n),
            (Check::Bool(f), Value::Bool(b)) => f(*b),
            (_, other) => Err(format!(
                "must be a {}; got a {}.",
                self.checks().to_json().as_str().unwrap_or("value"),
                other.kind()
            )),
        }
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Validator")
            .field(&self.description)
            .field(&self.checks())
            .finish()
    }
}

/// Names as a sentence for messages and docs: `"a", "b" and "c"` (or with backticks).
pub fn quoted_list(names: &[impl AsRef<str>], quote: &str, last_joiner: &str) -> String {
    let quoted: Vec<String> = names
        .iter()
        .map(|n| format!("{quote}{}{quote}", n.as_ref()))
        .collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {last_joiner} {last}", rest.join(", ")),
    }
}

/// The value must be one of `allowed` (strings).
pub fn one_of(allowed: &'static [&'static str]) -> Validator {
    Validator::string(
        format!("One of {}.", quoted_list(allowed, "`", "or")),
        move |s| match s {
            s if allowed.contains(&s) => Ok(()),
            s => Err(format!(
                "must be one of {}; got {s:?}.",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    )
}

/// A whole number of at least `min`.
pub fn whole_at_least(min: i64) -> Validator {
    Validator::number(
        format!("A whole number, at least {min}."),
        move |n| match n.as_i64() {
            Some(i) if i >= min => Ok(()),
            Some(i) => Err(format!(
                "must be a whole number of at least {min}; got {i}."
            )),
            None => Err(format!(
                "must be a whole number of at least {min}; got {n}."
            )),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_and_checks_say_the_same_rule() {
        let v = one_of(&["private", "public"]);
        assert_eq!(v.description(), "One of `private` or `public`.");
        assert!(v.check(&Value::from("public")).is_ok());
        let err = v.check(&Value::from("open")).unwrap_err();
        assert_eq!(err, "must be one of \"private\", \"public\"; got \"open\".");

        let v = whole_at_least(1);
        assert_eq!(v.description(), "A whole number, at least 1.");
        assert!(v.check(&Value::int(0)).unwrap_err().contains("got 0"));
        assert!(v.check(&Value::int(3)).is_ok());
    }

    #[test]
    fn a_validator_reads_only_its_own_type() {
        // Before validators were typed, one_of read a number as absent and passed.
        let v = one_of(&["a", "b"]);
        assert_eq!(v.checks(), Type::String);
        assert_eq!(
            v.check(&Value::int(3)).unwrap_err(),
            "must be a string; got a number."
        );
        assert_eq!(whole_at_least(1).checks(), Type::Number);
        assert!(whole_at_least(1).check(&Value::from("3")).is_err());
    }

    #[test]
    fn lists_read_as_sentences() {
        assert_eq!(quoted_list(&["a"], "\"", "and"), "\"a\"");
        assert_eq!(quoted_list(&["a", "b"], "\"", "and"), "\"a\" and \"b\"");
        assert_eq!(quoted_list(&["a", "b", "c"], "`", "or"), "`a`, `b` or `c`");
        assert_eq!(quoted_list(&["a", "b"], "", "or"), "a or b");
    }
}
