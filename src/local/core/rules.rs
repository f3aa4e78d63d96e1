//! The contract's rules (and the OCI spec's, for the registry), each with a
//! message that names it. Length limits keep every record bounded.

use super::error::{DomainError, RegistryErrorKind};
use super::model::POLICIES;

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
pub fn repo_name(name: &str) -> Result<(), DomainError> {
    check_name(
        name,
        6,
        20,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
        REPO_NAME_RULE,
    )
}

/// User names: 6 to 14 of `a-zA-Z0-9_-`, starting with a letter or digit.
pub fn user_name(name: &str) -> Result<(), DomainError> {
    check_name(name, 6, 14, |c| c.is_ascii_alphanumeric(), USER_NAME_RULE)
}

fn check_name(
    name: &str,
    min: usize,
    max: usize,
    alnum: impl Fn(char) -> bool,
    rule: &str,
) -> Result<(), DomainError> {
    let len = name.chars().count();
    let bad = |why: String| {
        Err(DomainError::Invalid(format!(
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
pub fn quota(value: Option<i64>) -> Result<u64, DomainError> {
    const RULE: &str = "a whole number of GB, at least 1";
    match value {
        None => Err(DomainError::Invalid(format!(
            "quotaLimit is required: {RULE}"
        ))),
        Some(q) if q < 1 => Err(DomainError::Invalid(format!(
            "quotaLimit {q} is not allowed: {RULE}"
        ))),
        Some(q) if q > MAX_QUOTA_GB => Err(DomainError::Invalid(format!(
            "quotaLimit {q} is not allowed: at most {MAX_QUOTA_GB} GB"
        ))),
        Some(q) => Ok(q as u64),
    }
}

/// A duration: a whole number of days, at least 1 (absent: never expires).
pub fn duration(value: Option<i64>) -> Result<Option<u64>, DomainError> {
    match value {
        None => Ok(None),
        Some(d) if !(1..=MAX_DURATION_DAYS).contains(&d) => Err(DomainError::Invalid(format!(
            "duration {d} is not allowed: a whole number of days from 1 to {MAX_DURATION_DAYS}, or absent for never"
        ))),
        Some(d) => Ok(Some(d as u64)),
    }
}

/// A description: at most 255 characters.
pub fn description(value: Option<String>) -> Result<Option<String>, DomainError> {
    match value {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(DomainError::Invalid(format!(
            "description is too long: at most {MAX_DESCRIPTION} characters"
        ))),
        other => Ok(other),
    }
}

/// A list of policy ids: not empty, each known, no repeats.
pub fn policy_ids(field: &str, value: &serde_json::Value) -> Result<Vec<String>, DomainError> {
    let arr = value
        .as_array()
        .ok_or_else(|| DomainError::Invalid(format!("{field} must be an array of policy ids")))?;
    if arr.is_empty() {
        return Err(DomainError::Invalid(format!(
            "{field} is empty: grant at least one policy (see GET /v1/user/permissions)"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for v in arr {
        let id = v.as_str().ok_or_else(|| {
            DomainError::Invalid(format!("{field} must be an array of policy ids"))
        })?;
        if !POLICIES.iter().any(|p| p.id == id) {
            return Err(DomainError::Invalid(format!(
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
pub fn paging(q: &std::collections::HashMap<String, String>) -> Result<(u64, u64), DomainError> {
    let num = |name: &str, default: u64| -> Result<u64, DomainError> {
        match q.get(name).map(|s| s.trim()) {
            None | Some("") => Ok(default),
            Some(s) => s
                .parse::<i64>()
                .map_err(|_| {
                    DomainError::Invalid(format!("{name} must be a whole number, got {s:?}"))
                })
                .and_then(|v| {
                    if v < 1 {
                        Err(DomainError::Invalid(format!(
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

/// The longest image path the registry accepts, `<backendName>/<image>`
/// (the OCI spec's advice for a name with its host).
pub const MAX_IMAGE_PATH: usize = 255;
/// The longest tag (OCI: 128 characters).
pub const MAX_TAG: usize = 128;

const IMAGE_RULE: &str = "an image name is one or more '/'-separated parts of a-z and 0-9, \
     joined inside a part by '.', '_', '__' or dashes";

/// The image part of a registry path (after the repository's backend name):
/// each `/`-separated component as the OCI distribution spec's grammar says.
pub fn image_name(image: &str) -> Result<(), DomainError> {
    let invalid = |why: &str| {
        Err(DomainError::registry(
            RegistryErrorKind::NameInvalid,
            format!("invalid image name {image:?}: {why}; {IMAGE_RULE}"),
        ))
    };
    if image.is_empty() {
        return invalid("it is empty (images live under a repository: <repository>/<image>)");
    }
    for part in image.split('/') {
        if !image_component(part) {
            return invalid(&format!("the part {part:?} is not allowed"));
        }
    }
    Ok(())
}

fn image_component(part: &str) -> bool {
    let b = part.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &part[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
    true
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn tag(tag: &str) -> Result<(), DomainError> {
    let ok = !tag.is_empty()
        && tag.len() <= MAX_TAG
        && tag
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        && tag
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(DomainError::registry(
            RegistryErrorKind::TagInvalid,
            format!(
                "invalid tag {:?}: 1 to {MAX_TAG} characters of a-z, A-Z, 0-9, '.', '_' and '-', not starting with '.' or '-'",
                truncate(tag, 140)
            ),
        ))
    }
}

/// A digest: `sha256:` and 64 lower-case hex digits (the only algorithm
/// vcr-local computes; others are refused as unsupported).
pub fn digest(text: &str) -> Result<(), DomainError> {
    let Some((alg, hex)) = text.split_once(':') else {
        return Err(DomainError::registry(
            RegistryErrorKind::DigestInvalid,
            format!(
                "invalid digest {:?}: expected sha256:<64 hex digits>",
                truncate(text, 80)
            ),
        ));
    };
    if alg != "sha256" {
        let known = matches!(alg, "sha384" | "sha512");
        return Err(DomainError::registry(
            if known {
                RegistryErrorKind::Unsupported
            } else {
                RegistryErrorKind::DigestInvalid
            },
            format!(
                "digest algorithm {:?} is not supported: use sha256",
                truncate(alg, 20)
            ),
        ));
    }
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return Err(DomainError::registry(
            RegistryErrorKind::DigestInvalid,
            format!(
                "invalid digest {:?}: expected sha256:<64 hex digits>",
                truncate(text, 80)
            ),
        ));
    }
    Ok(())
}

/// At most `n` characters of `s`, for messages about hostile input.
pub fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
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
        assert!(e.to_string().contains("6 to 20"), "{e}");
        assert!(user_name("CI_user").is_ok());
        assert!(user_name("_ciuser").is_err());
        assert!(user_name("a".repeat(15).as_str()).is_err());
        assert!(user_name("ci user").is_err());
    }

    #[test]
    fn registry_names_tags_and_digests() {
        for ok in ["web", "tools/helm-chart", "a.b_c__d---e/f0"] {
            assert!(image_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Web", "a//b", "-a", "a-", "a/", "a._b", "a___b"] {
            assert!(image_name(bad).is_err(), "{bad}");
        }
        assert!(tag("v1.2-rc_3").is_ok());
        assert!(tag("_x").is_ok());
        assert!(tag(".x").is_err());
        assert!(tag(&"a".repeat(129)).is_err());
        assert!(tag(&"a".repeat(128)).is_ok());
        let hex = "a".repeat(64);
        assert!(digest(&format!("sha256:{hex}")).is_ok());
        assert!(digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(digest("sha256:abc").is_err());
        assert!(matches!(
            digest(&format!("sha512:{}", "a".repeat(128))),
            Err(DomainError::Registry {
                kind: RegistryErrorKind::Unsupported,
                ..
            })
        ));
        assert!(digest("nothing").is_err());
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
