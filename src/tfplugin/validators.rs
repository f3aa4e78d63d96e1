//! Validators: rules on one attribute's value, each with the sentence that documents
//! it. The framework runs them on configuration (`validate_config`), and the generated
//! docs print their descriptions, so a rule is written once.

use std::fmt;
use std::sync::Arc;

use super::value::Value;

type Check = dyn Fn(&Value) -> Result<(), String> + Send + Sync;

/// A rule on a known, non-null value. `check` returns the rule in words when the
/// value breaks it; `description` says the rule for the docs.
#[derive(Clone)]
pub struct Validator {
    description: String,
    check: Arc<Check>,
}

impl Validator {
    /// A validator from its documentation sentence (Markdown, ending with a period)
    /// and its check.
    pub fn new(
        description: impl Into<String>,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Validator {
            description: description.into(),
            check: Arc::new(check),
        }
    }

    /// The rule as the docs say it.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Checks a value; the error is the rule in words, shown with the attribute's name.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        (self.check)(value)
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Validator").field(&self.description).finish()
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
    Validator::new(
        format!("One of {}.", quoted_list(allowed, "`", "or")),
        move |v| match v.as_str() {
            Some(s) if allowed.contains(&s) => Ok(()),
            Some(s) => Err(format!(
                "must be one of {}; got {s:?}.",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => Ok(()),
        },
    )
}

/// A whole number of at least `min`.
pub fn whole_at_least(min: i64) -> Validator {
    Validator::new(
        format!("A whole number, at least {min}."),
        move |v| match v.as_number() {
            Some(n) => match n.as_i64() {
                Some(i) if i >= min => Ok(()),
                Some(i) => Err(format!(
                    "must be a whole number of at least {min}; got {i}."
                )),
                None => Err(format!(
                    "must be a whole number of at least {min}; got {n}."
                )),
            },
            None => Ok(()),
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
    fn lists_read_as_sentences() {
        assert_eq!(quoted_list(&["a"], "\"", "and"), "\"a\"");
        assert_eq!(quoted_list(&["a", "b"], "\"", "and"), "\"a\" and \"b\"");
        assert_eq!(quoted_list(&["a", "b", "c"], "`", "or"), "`a`, `b` or `c`");
        assert_eq!(quoted_list(&["a", "b"], "", "or"), "a or b");
    }
}
