//! The vCR naming and value rules, as schema validators: each checks a value and
//! says its rule, once for the error and once for the docs.

use crate::tfplugin::{Validator, Value};

use super::expiry::Expiration;

fn name_rule(v: &Value, min: usize, max: usize, upper: bool) -> Result<(), String> {
    let Some(name) = v.as_str() else {
        return Ok(());
    };
    let allowed = if upper {
        "a-z A-Z 0-9 _ -"
    } else {
        "a-z 0-9 _ -"
    };
    let rule = format!(
        "must be {min} to {max} characters of {allowed}, starting with a letter or a digit"
    );
    let len = name.chars().count();
    if len < min || len > max {
        return Err(format!("{rule}; {name:?} has {len}."));
    }
    let ok_char = |c: char| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == '_'
            || c == '-'
            || (upper && c.is_ascii_uppercase())
    };
    if let Some(bad) = name.chars().find(|c| !ok_char(*c)) {
        return Err(format!("{rule}; {name:?} contains {bad:?}."));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "{rule}; {name:?} starts with {:?}.",
            name.chars().next().unwrap_or(' ')
        ));
    }
    Ok(())
}

/// A repository name: 6 to 20 of `a-z 0-9 _ -`, starting with a letter or digit.
pub fn repository_name() -> Validator {
    Validator::new(
        "6 to 20 characters of `a-z 0-9 _ -`, starting with a letter or a digit.",
        |v| name_rule(v, 6, 20, false),
    )
}

/// A repository user name: 6 to 14 of `a-z A-Z 0-9 _ -`, starting with a letter or digit.
pub fn user_name() -> Validator {
    Validator::new(
        "6 to 14 characters of `a-z A-Z 0-9 _ -`, starting with a letter or a digit.",
        |v| name_rule(v, 6, 14, true),
    )
}

/// An expiration: a date or an RFC 3339 time.
pub fn expiration() -> Validator {
    Validator::new(
        "A date (`2027-06-30`: the user may log in through the end of that day, UTC) or an RFC 3339 time.",
        |v| v.as_str().map_or(Ok(()), |s| Expiration::parse(s).map(|_| ())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        let repository_name = |v: &Value| super::repository_name().check(v);
        assert!(repository_name(&Value::from("my-app")).is_ok());
        assert!(repository_name(&Value::from("a_b-c-0123456789_xyz")).is_ok());
        let e = repository_name(&Value::from("app")).unwrap_err();
        assert!(e.contains("6 to 20") && e.contains("has 3"), "{e}");
        let e = repository_name(&Value::from("My-App")).unwrap_err();
        assert!(e.contains("'M'"), "{e}");
        assert!(repository_name(&Value::from("-leading")).is_err());
        assert!(repository_name(&Value::from("a".repeat(21).as_str())).is_err());
    }

    #[test]
    fn user_names() {
        let user_name = |v: &Value| super::user_name().check(v);
        assert!(user_name(&Value::from("CI_pusher")).is_ok());
        assert!(user_name(&Value::from("ci-pusher-2026x")).is_err());
        assert!(user_name(&Value::from("_ci_pusher")).is_err());
        assert!(user_name(&Value::from("ci.pusher")).is_err());
    }
}
