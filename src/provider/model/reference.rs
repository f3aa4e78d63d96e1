//! Image references of vCR: `<registry>/<repository backend name>/<image>[:tag][@digest]`,
//! read and written as Docker does. The one place that joins a reference: `vcr_image`'s
//! `image_uri`, the `image_reference` function and `vcr_image_check` all use it.
//!
//! Docker's grammar (distribution's `reference` package): a name of a registry host
//! (`host` or `host:port`; the first part counts as a host only when it holds `.` or
//! `:`, is `localhost`, or has an upper-case letter) and lower-case path components;
//! then an optional tag (`:`, 1 to 128 of `A-Z a-z 0-9 _ . -`, not starting with `.`
//! or `-`) and an optional digest (`@sha256:...`); the name at most 255 characters. A
//! vCR reference also names its registry, and has at least two path components: the
//! repository's backend name, then the image name (which may hold `/`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::provider::config::registry_host_rule;
use crate::provider::validators::{
    image_digest_rule, image_name_rule, image_tag_rule, is_name_component,
};

/// Docker's limit on a name (registry and path, without tag or digest).
const NAME_MAX: usize = 255;

/// The shape every message shows.
const SHAPE: &str = "<registry>/<repository>/<image>[:<tag>][@<digest>]";

/// One image reference, split. `tag` and `digest` are both set when the reference
/// carries both (Docker then pulls by digest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageReference {
    /// The registry host, `host` or `host:port`.
    pub registry: String,
    /// The repository's backend name (`<account id>-<name>`): the first path part.
    pub repository: String,
    /// The image name under the repository; it may hold `/`.
    pub image: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// A part of a reference being joined is not valid: which part, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPart {
    /// 0 registry, 1 repository, 2 image, 3 tag or digest.
    pub part: usize,
    pub reason: String,
}

impl ImageReference {
    /// The image at `registry/repository/image`, without tag or digest.
    pub fn image(registry: &str, repository: &str, image: &str) -> Self {
        ImageReference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            image: image.to_string(),
            tag: None,
            digest: None,
        }
    }

    /// The same image pinned by `digest` (any tag dropped): what runs can not change.
    pub fn pinned(&self, digest: &str) -> Self {
        ImageReference {
            tag: None,
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// `registry/repository/image`: the name, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.registry, self.repository, self.image)
    }

    /// Joins the four parts as `image_reference()` takes them, checking each: a
    /// digest (`sha256:...`) is joined with `@`, anything else is a tag joined with
    /// `:`.
    pub fn join(
        registry: &str,
        repository: &str,
        image: &str,
        tag_or_digest: &str,
    ) -> Result<ImageReference, InvalidPart> {
        let bad = |part: usize| move |reason: String| InvalidPart { part, reason };
        check_registry(registry).map_err(bad(0))?;
        check_repository(repository).map_err(bad(1))?;
        check_image(image).map_err(bad(2))?;
        let mut reference = ImageReference::image(registry, repository, image);
        if tag_or_digest.contains(':') {
            image_digest_rule(tag_or_digest).map_err(bad(3))?;
            reference.digest = Some(tag_or_digest.to_string());
        } else {
            image_tag_rule(tag_or_digest).map_err(bad(3))?;
            reference.tag = Some(tag_or_digest.to_string());
        }
        check_length(&reference.name()).map_err(bad(2))?;
        Ok(reference)
    }

    /// Reads a reference as Docker does; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ImageReference, String> {
        let fail = |why: String| {
            Err(format!(
                "{text:?} is not a vCR image reference ({SHAPE}): {why}"
            ))
        };
        if text.is_empty() {
            return fail("it is empty.".into());
        }
        if let Some(bad) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return fail(format!("it contains {bad:?}."));
        }
        if text.contains("://") {
            return fail("it has a scheme; drop the \"https://\".".into());
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (text, None),
        };
        if let Some(digest) = digest {
            if let Err(why) = image_digest_rule(digest) {
                return fail(format!("the digest {why}"));
            }
        }
        // A tag follows the last `:` after the last `/` (a port's `:` comes before it).
        let last_part = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_part..].rfind(':') {
            Some(i) => (&rest[..last_part + i], Some(&rest[last_part + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            if let Err(why) = image_tag_rule(tag) {
                return fail(format!("the tag {why}"));
            }
        }
        let Some((registry, path)) = name.split_once('/') else {
            return fail("it has no registry host and no repository.".into());
        };
        let is_host = registry.contains(['.', ':'])
            || registry == "localhost"
            || registry.chars().any(|c| c.is_ascii_uppercase());
        if !is_host {
            return fail(format!(
                "it does not start with a registry host ({registry:?} is read as part of a Docker Hub name); vCR's are vcr.vngcloud.vn and vcr-han.vngcloud.vn."
            ));
        }
        if let Err(why) = check_registry(registry) {
            return fail(format!("the registry host {why}"));
        }
        let Some((repository, image)) = path.split_once('/') else {
            return fail(format!(
                "it has no image under the repository {path:?}; give <repository>/<image>."
            ));
        };
        if let Err(why) = check_repository(repository) {
            return fail(format!("the repository {why}"));
        }
        if let Err(why) = check_image(image) {
            return fail(format!("the image {why}"));
        }
        if let Err(why) = check_length(name) {
            return fail(why);
        }
        Ok(ImageReference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            image: image.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }
}

impl fmt::Display for ImageReference {
    /// `name[:tag][@digest]`, the form `docker pull` takes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// A registry host Docker reads as one: `host` or `host:port`, with a `.` or a port
/// (or `localhost`), DNS labels that neither start nor end with `-`.
fn check_registry(registry: &str) -> Result<(), String> {
    registry_host_rule(registry)?;
    let host = registry.split(':').next().unwrap_or_default();
    if !(registry.contains(['.', ':']) || registry == "localhost") {
        return Err(format!(
            "must be a registry host Docker recognizes as one (with a `.` or a `:port`, or `localhost`); {registry:?} would be read as a Docker Hub name."
        ));
    }
    if let Some(label) = host
        .split('.')
        .find(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
    {
        return Err(format!(
            "must be a host of DNS labels, none empty or starting or ending with '-'; {label:?} in {registry:?} is not one."
        ));
    }
    Ok(())
}

/// A repository backend name: one path component (`100001-my-app`).
fn check_repository(repository: &str) -> Result<(), String> {
    if repository.contains('/') {
        return Err(format!(
            "must be the repository's backend name, one part without '/'; got {repository:?}."
        ));
    }
    if !is_name_component(repository) {
        return Err(format!(
            "must be a repository backend name: a-z 0-9 joined by '.', '_', '__' or '-' (vcr_repository's backend_name); got {repository:?}."
        ));
    }
    Ok(())
}

/// An image name: path components; a tag or digest comes after it, once.
fn check_image(image: &str) -> Result<(), String> {
    if image.is_empty() {
        return Err("must not be empty.".into());
    }
    if image.contains([':', '@']) {
        return Err(format!(
            "must be an image name without tag or digest; {image:?} holds ':' or '@' (a tag or digest comes once, after the image name)."
        ));
    }
    image_name_rule(image)
}

fn check_length(name: &str) -> Result<(), String> {
    match name.len() {
        n if n > NAME_MAX => Err(format!(
            "the name (registry, repository and image) has {n} characters; Docker takes at most {NAME_MAX}."
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_parts_read_back_the_same() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for last in ["v1", "latest", "1.2.3-rc_1", digest.as_str()] {
            let r =
                ImageReference::join("vcr.vngcloud.vn", "100-app", "web/frontend", last).unwrap();
            let text = r.to_string();
            assert_eq!(ImageReference::parse(&text).unwrap(), r, "{text}");
        }
    }

    #[test]
    fn a_pinned_reference_drops_its_tag() {
        let r = ImageReference::parse("vcr.vngcloud.vn/100-app/web:v1").unwrap();
        assert_eq!(
            r.pinned("sha256:ab").to_string(),
            "vcr.vngcloud.vn/100-app/web@sha256:ab"
        );
    }
}
