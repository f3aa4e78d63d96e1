//! The vCR naming and value rules, as schema validators. Each returns the rule in
//! words, so the error names it.

use crate::tfplugin::Value;

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
pub fn repository_name(v: &Value) -> Result<(), String> {
    name_rule(v, 6, 20, false)
}

/// A repository user name: 6 to 14 of `a-z A-Z 0-9 _ -`, starting with a letter or digit.
pub fn user_name(v: &Value) -> Result<(), String> {
    name_rule(v, 6, 14, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
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
        assert!(user_name(&Value::from("CI_pusher")).is_ok());
        assert!(user_name(&Value::from("ci-pusher-2026x")).is_err());
        assert!(user_name(&Value::from("_ci_pusher")).is_err());
        assert!(user_name(&Value::from("ci.pusher")).is_err());
    }
}
