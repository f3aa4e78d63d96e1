//! The contract's rules, each with a message that names it.

use super::error::ApiError;
use super::store::POLICIES;

/// The largest quota vcr-local accepts, in GB (**assumed**: the contract
/// names no upper bound; this one keeps arithmetic far from overflowing).
pub const MAX_QUOTA_GB: i64 = 1_000_000;
/// The longest duration vcr-local accepts, in days (**assumed**, 100 years).
pub const MAX_DURATION_DAYS: i64 = 36_500;
/// The longest description vcr-local accepts (**assumed**).
pub const MAX_DESCRIPTION: usize = 255;
/// The largest page size; larger requests are served this many (**assumed**).
pub const MAX_PAGE_SIZE: u64 = 100;
/// The page size when none is given (**assumed**).
pub const DEFAULT_PAGE_SIZE: u64 = 10;

const REPO_NAME_RULE: &str =
    "a repository name must be 6 to 20 characters of a-z, 0-9, '_' and '-', starting with a letter or a digit";
const USER_NAME_RULE: &str =
    "a repository user name must be 6 to 14 characters of a-z, A-Z, 0-9, '_' and '-', starting with a letter or a digit";

/// Repository names: 6 to 20 of `a-z 0-9 _ -`, starting with a letter or digit.
pub fn repo_name(name: &str) -> Result<(), ApiError> {
    check_name(
        name,
        6,
        20,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
        REPO_NAME_RULE,
    )
}

/// User names: 6 to 14 of `a-zA-Z0-9_-`, starting with a letter or digit.
pub fn user_name(name: &str) -> Result<(), ApiError> {
    check_name(name, 6, 14, |c| c.is_ascii_alphanumeric(), USER_NAME_RULE)
}

fn check_name(
    name: &str,
    min: usize,
    max: usize,
    alnum: impl Fn(char) -> bool,
    rule: &str,
) -> Result<(), ApiError> {
    let len = name.chars().count();
    let bad = |why: String| {
        Err(ApiError::invalid(format!(
            "invalid name {name:?}: {why}; {rule}"
        )))
    };
    if len < min || len > max {
        return bad(format!("it has {len} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(alnum(*c) || *c == '_' || *c == '-'))
    {
        return bad(format!("{c:?} is not allowed"));
    }
    if !name.chars().next().is_some_and(&alnum) {
        return bad("it does not start with a letter or a digit".to_string());
    }
    Ok(())
}

/// A quota: a whole number of GB, at least 1.
pub fn quota(value: Option<i64>) -> Result<u64, ApiError> {
    const RULE: &str = "a whole number of GB, at least 1";
    match value {
        None => Err(ApiError::invalid(format!("quotaLimit is required: {RULE}"))),
        Some(q) if q < 1 => Err(ApiError::invalid(format!(
            "quotaLimit {q} is not allowed: {RULE}"
        ))),
        Some(q) if q > MAX_QUOTA_GB => Err(ApiError::invalid(format!(
            "quotaLimit {q} is not allowed: at most {MAX_QUOTA_GB} GB"
        ))),
        Some(q) => Ok(q as u64),
    }
}

/// A duration: a whole number of days, at least 1 (absent: never expires).
pub fn duration(value: Option<i64>) -> Result<Option<u64>, ApiError> {
    match value {
        None => Ok(None),
        Some(d) if !(1..=MAX_DURATION_DAYS).contains(&d) => Err(ApiError::invalid(format!(
            "duration {d} is not allowed: a whole number of days from 1 to {MAX_DURATION_DAYS}, or absent for never"
        ))),
        Some(d) => Ok(Some(d as u64)),
    }
}

/// A description: at most 255 characters.
pub fn description(value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(ApiError::invalid(format!(
            "description is too long: at most {MAX_DESCRIPTION} characters"
        ))),
        other => Ok(other),
    }
}

/// A list of policy ids: not empty, each known, no repeats.
pub fn policy_ids(field: &str, value: &serde_json::Value) -> Result<Vec<String>, ApiError> {
    let arr = value
        .as_array()
        .ok_or_else(|| ApiError::invalid(format!("{field} must be an array of policy ids")))?;
    if arr.is_empty() {
        return Err(ApiError::invalid(format!(
            "{field} is empty: grant at least one policy (see GET /v1/user/permissions)"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for v in arr {
        let id = v
            .as_str()
            .ok_or_else(|| ApiError::invalid(format!("{field} must be an array of policy ids")))?;
        if !POLICIES.iter().any(|(p, _)| *p == id) {
            return Err(ApiError::invalid(format!(
                "{field}: unknown policy id {id:?} (see GET /v1/user/permissions)"
            )));
        }
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    Ok(out)
}

/// `page` (1-based) and `size` from a query.
pub fn paging(q: &std::collections::HashMap<String, String>) -> Result<(u64, u64), ApiError> {
    let num = |name: &str, default: u64| -> Result<u64, ApiError> {
        match q.get(name).map(|s| s.trim()) {
            None | Some("") => Ok(default),
            Some(s) => s
                .parse::<i64>()
                .map_err(|_| ApiError::invalid(format!("{name} must be a whole number, got {s:?}")))
                .and_then(|v| {
                    if v < 1 {
                        Err(ApiError::invalid(format!(
                            "{name} must be at least 1 (pages are numbered from 1), got {v}"
                        )))
                    } else {
                        Ok(v as u64)
                    }
                }),
        }
    };
    let page = num("page", 1)?;
    let size = num("size", DEFAULT_PAGE_SIZE)?.min(MAX_PAGE_SIZE);
    Ok((page, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(repo_name("my-app").is_ok());
        assert!(repo_name("0_abc-def").is_ok());
        assert!(repo_name("abcde").is_err());
        assert!(repo_name("a".repeat(21).as_str()).is_err());
        assert!(repo_name("My-App1").is_err());
        assert!(repo_name("-myapp").is_err());
        assert!(repo_name("my.app1").is_err());
        let e = repo_name("ab").unwrap_err();
        assert!(e.message.contains("6 to 20"), "{}", e.message);
        assert!(user_name("CI_user").is_ok());
        assert!(user_name("_ciuser").is_err());
        assert!(user_name("a".repeat(15).as_str()).is_err());
        assert!(user_name("ci user").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(quota(Some(1)).unwrap(), 1);
        assert!(quota(Some(0)).is_err());
        assert!(quota(None).is_err());
        assert_eq!(duration(None).unwrap(), None);
        assert!(duration(Some(0)).is_err());
        let q = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(paging(&q(&[])).unwrap(), (1, DEFAULT_PAGE_SIZE));
        assert_eq!(
            paging(&q(&[("page", "2"), ("size", "500")])).unwrap(),
            (2, MAX_PAGE_SIZE)
        );
        assert!(paging(&q(&[("page", "0")])).is_err());
        assert!(paging(&q(&[("size", "x")])).is_err());
    }
}
