//! The vCR naming and value rules, as schema validators: each checks a value and
//! says its rule, once for the error and once for the docs.

use crate::tfplugin::Validator;

use super::expiry::Expiration;

fn name_rule(name: &str, min: usize, max: usize, upper: bool) -> Result<(), String> {
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
    Validator::string(
        "6 to 20 characters of `a-z 0-9 _ -`, starting with a letter or a digit.",
        |v| name_rule(v, 6, 20, false),
    )
}

/// A repository user name: 6 to 14 of `a-z A-Z 0-9 _ -`, starting with a letter or digit.
pub fn user_name() -> Validator {
    Validator::string(
        "6 to 14 characters of `a-z A-Z 0-9 _ -`, starting with a letter or a digit.",
        |v| name_rule(v, 6, 14, true),
    )
}

/// An expiration: a date or an RFC 3339 time.
pub fn expiration() -> Validator {
    Validator::string(
        "A date (`2027-06-30`: the user may log in through the end of that day, UTC, and for less than a day more) or an RFC 3339 time.",
        |s| Expiration::parse(s).map(|_| ()),
    )
}

/// An image name under a repository, as the OCI distribution spec allows it:
/// `/`-separated components of `a-z 0-9`, joined inside a component by `.`, `_`,
/// `__` or dashes. A tag or digest belongs in its own attribute.
pub fn image_name() -> Validator {
    Validator::string(
        "Parts of `a-z 0-9` separated by `/`, each part joined inside by `.`, `_`, `__` or `-`.",
        image_name_rule,
    )
}

/// Why `name` is not an image name (`/`-separated path components), if it is not.
pub(crate) fn image_name_rule(name: &str) -> Result<(), String> {
    let rule = "must be an image name: `/`-separated parts of a-z 0-9, joined inside a part by '.', '_', '__' or '-'";
    if let Some(at) = name.find(['@', ':']) {
        let what = if name[at..].starts_with('@') {
            "a digest: set \"digest\" instead"
        } else {
            "a tag: set \"tag\" instead"
        };
        return Err(format!("{rule}; {name:?} holds {what}."));
    }
    match name.split('/').find(|part| !is_name_component(part)) {
        None => Ok(()),
        Some("") => Err(format!("{rule}; {name:?} has an empty part.")),
        Some(part) => Err(format!("{rule}; {part:?} in {name:?} is not one.")),
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`: runs of `a-z 0-9` joined by one separator.
/// Whether `part` is one path component of an image name, as Docker's grammar has it.
pub(crate) fn is_name_component(part: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let separator = |run: &str| matches!(run, "." | "_" | "__") || run.chars().all(|c| c == '-');
    let (mut runs, mut rest) = (Vec::new(), part);
    while let Some(first) = rest.chars().next() {
        let kind = alnum(first);
        let end = rest.find(|c: char| alnum(c) != kind).unwrap_or(rest.len());
        runs.push((kind, &rest[..end]));
        rest = &rest[end..];
    }
    // Alphanumeric runs first and last, separators between.
    !runs.is_empty()
        && runs.len() % 2 == 1
        && runs
            .iter()
            .enumerate()
            .all(|(i, (is_alnum, run))| *is_alnum == (i % 2 == 0) && (*is_alnum || separator(run)))
}

/// A tag: up to 128 of `A-Z a-z 0-9 _ . -`, not starting with `.` or `-`.
pub fn image_tag() -> Validator {
    Validator::string(
        "A tag: 1 to 128 characters of `A-Z a-z 0-9 _ . -`, not starting with `.` or `-`.",
        image_tag_rule,
    )
}

/// Why `tag` is not a tag Docker accepts, if it is not.
pub(crate) fn image_tag_rule(tag: &str) -> Result<(), String> {
    let rule =
        "must be a tag: 1 to 128 characters of A-Z a-z 0-9 _ . -, not starting with '.' or '-'";
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if tag.is_empty() || tag.len() > 128 {
        Err(format!("{rule}; {tag:?} has {}.", tag.chars().count()))
    } else if let Some(bad) = tag.chars().find(|c| !ok_char(*c)) {
        Err(format!("{rule}; {tag:?} contains {bad:?}."))
    } else if tag.starts_with(['.', '-']) {
        Err(format!("{rule}; {tag:?} starts with {:?}.", &tag[..1]))
    } else {
        Ok(())
    }
}

/// A digest: `sha256:` and 64 lowercase hex digits (or `sha512:` and 128).
pub fn image_digest() -> Validator {
    Validator::string(
        "A digest: `sha256:` followed by 64 lowercase hex digits (or `sha512:` and 128).",
        image_digest_rule,
    )
}

/// The shape of a vCR id: `prefix` and more. A value of another shape is most often the
/// object's name given where its id belongs (`vcr_repository.app.name` for `.id`),
/// which vCR would answer with a puzzling "not found": said at plan instead.
fn id_rule(id: &str, prefix: &str, object: &str, fix: &str) -> Result<(), String> {
    if id.len() > prefix.len() && id.starts_with(prefix) {
        return Ok(());
    }
    Err(format!(
        "must be a {object} id, `{prefix}...`; {id:?} looks like a {object} name. {fix}"
    ))
}

/// A repository id, `repo-...`, where a `repository_id` argument takes one.
pub fn repository_id() -> Validator {
    Validator::string(
        "An id has the shape `repo-...`: a repository name here fails the plan.",
        |v| {
            id_rule(
                v,
                "repo-",
                "repository",
                "Use `vcr_repository.<label>.id` (or `data.vcr_repository.<label>.id`), not `.name`.",
            )
        },
    )
}

/// The `id` of the repository data source: `repo-...`; a name goes in `name`.
pub fn repository_lookup_id() -> Validator {
    Validator::string(
        "An id has the shape `repo-...`: a name goes in `name`.",
        |v| {
            id_rule(
                v,
                "repo-",
                "repository",
                "To look it up by name, set `name` instead.",
            )
        },
    )
}

/// The `id` of the repository user data source: `ra-...`; a name goes in `name`.
pub fn user_lookup_id() -> Validator {
    Validator::string(
        "An id has the shape `ra-...`: a name goes in `name`.",
        |v| {
            id_rule(
                v,
                "ra-",
                "repository user",
                "To look it up by name, set `name` instead.",
            )
        },
    )
}

/// Why `digest` is not a digest vCR stores, if it is not.
pub(crate) fn image_digest_rule(digest: &str) -> Result<(), String> {
    let hex_of = |len: usize, hex: &str| {
        hex.len() == len && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    };
    let ok = match digest.split_once(':') {
        Some(("sha256", hex)) => hex_of(64, hex),
        Some(("sha512", hex)) => hex_of(128, hex),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("must be a digest, \"sha256:\" followed by 64 lowercase hex digits (or \"sha512:\" and 128); got {digest:?}."))
    }
}

/// A switch that only means something when on: `true`, or left out.
pub fn only_true() -> Validator {
    Validator::bool("Only `true`: leave it out otherwise.", |set| match set {
        false => {
            Err("must be true when set; leave it out to look up by tag or digest instead.".into())
        }
        true => Ok(()),
    })
}

#[cfg(test)]
mod tests {
    use super::{repository_id, repository_lookup_id, user_lookup_id};
    use crate::tfplugin::Value;

    #[test]
    fn ids_have_their_shape_and_a_name_is_told_apart() {
        let check = |s: &str| repository_id().check(&Value::from(s));
        assert!(check("repo-4f1c").is_ok());
        let err = check("mist-nameid").unwrap_err();
        assert!(err.contains("looks like a repository name"), "{err}");
        assert!(err.contains("`vcr_repository.<label>.id`"), "{err}");
        assert!(check("repo-").is_err());
        assert!(user_lookup_id().check(&Value::from("ra-1")).is_ok());
        let err = user_lookup_id()
            .check(&Value::from("ci-pusher"))
            .unwrap_err();
        assert!(err.contains("set `name` instead"), "{err}");
        assert!(repository_lookup_id()
            .check(&Value::from("my-app"))
            .is_err());
    }

    #[test]
    fn image_names() {
        let check = |s: &str| super::image_name().check(&Value::from(s));
        for ok in [
            "web",
            "web/frontend",
            "a.b_c__d---e/f0",
            "tools/helm-chart",
            "9",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Web", "a//b", "-a", "a-", "a/", "a._b", "a___b", "/a"] {
            assert!(check(bad).is_err(), "{bad}");
        }
        let e = check("web/frontend:v1").unwrap_err();
        assert!(e.contains("set \"tag\" instead"), "{e}");
        let e = check("web@sha256:ab").unwrap_err();
        assert!(e.contains("set \"digest\" instead"), "{e}");
        let e = check("web/Front").unwrap_err();
        assert!(e.contains("\"Front\" in \"web/Front\""), "{e}");
    }

    #[test]
    fn tags_and_digests() {
        let tag = |s: &str| super::image_tag().check(&Value::from(s));
        assert!(tag("v1.2-rc_3").is_ok() && tag("_x").is_ok() && tag("LATEST").is_ok());
        assert!(tag(".x").is_err() && tag("-x").is_err() && tag("a/b").is_err());
        assert!(tag(&"a".repeat(129)).is_err() && tag(&"a".repeat(128)).is_ok());
        let digest = |s: &str| super::image_digest().check(&Value::from(s));
        assert!(digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(digest(&format!("sha512:{}", "0".repeat(128))).is_ok());
        assert!(digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(digest("sha256:abc").is_err() && digest("v1").is_err());
        let on = super::only_true();
        assert!(on.check(&Value::Bool(true)).is_ok());
        assert!(on
            .check(&Value::Bool(false))
            .unwrap_err()
            .contains("leave it out"));
    }

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
