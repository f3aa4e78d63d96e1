//! The image model: an image of a repository (a name holding artifacts) and one of
//! its artifacts (a manifest, by digest, with its tags). The `vcr_image` data source
//! is a view of an artifact, the `vcr_images` data source a list of images; both are
//! built from these attributes and these `from_api`.

use serde::{Deserialize, Serialize};

use super::reference::ImageReference;
use crate::provider::expiry::parse_api_time;
use crate::tfplugin::{Attribute, AttributeSet, Type};
use crate::vcr::{Artifact, Image};

/// An image of a repository, attribute for attribute.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageModel {
    pub name: Option<String>,
    pub artifact_count: Option<i64>,
    pub pull_count: Option<i64>,
    pub updated_at: Option<String>,
}

impl ImageModel {
    /// The attributes, all computed: each view makes settable what it lets users set.
    pub fn attributes() -> AttributeSet {
        AttributeSet::new(vec![
            Attribute::computed(
                "name",
                Type::String,
                "The image name under the repository, without registry, repository, tag or digest; it may have several `/` segments (`web/frontend`).",
            ),
            Attribute::computed(
                "artifact_count",
                Type::Number,
                "How many artifacts (manifests, each with its digest and tags) the image holds.",
            ),
            Attribute::computed(
                "pull_count",
                Type::Number,
                "How many times the image was pulled, as vCR counts.",
            ),
            Attribute::computed(
                "updated_at",
                Type::String,
                "When the image last changed (RFC 3339).",
            ),
        ])
    }

    /// The image as vCR reports it.
    pub fn from_api(image: &Image) -> Self {
        ImageModel {
            name: Some(image.name.clone()),
            artifact_count: Some(clamp(image.artifact_count)),
            pull_count: Some(clamp(image.pull_count)),
            updated_at: Some(rfc3339(&image.update_time)),
        }
    }
}

/// One artifact of an image, attribute for attribute.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ArtifactModel {
    pub digest: Option<String>,
    pub tags: Option<Vec<String>>,
    pub size_bytes: Option<i64>,
    pub pushed_at: Option<String>,
    pub media_type: Option<String>,
    pub image_uri: Option<String>,
}

impl ArtifactModel {
    /// The attributes, all computed: each view makes settable what it lets users set.
    pub fn attributes() -> AttributeSet {
        AttributeSet::new(vec![
            Attribute::computed(
                "digest",
                Type::String,
                "The artifact's digest (`sha256:...`): what it is, whatever its tags become.",
            ),
            Attribute::computed(
                "tags",
                Type::list(Type::String),
                "The artifact's tags, sorted; empty for an untagged artifact.",
            ),
            Attribute::computed(
                "size_bytes",
                Type::Number,
                "The artifact's size in bytes: its manifest and everything it references.",
            ),
            Attribute::computed(
                "pushed_at",
                Type::String,
                "When the artifact was pushed (RFC 3339).",
            ),
            Attribute::computed(
                "media_type",
                Type::String,
                "The manifest's media type (an OCI or Docker image manifest, or an index of several platforms).",
            ),
            Attribute::computed(
                "image_uri",
                Type::String,
                "The artifact pinned by digest, `<registry_url>/<name>@<digest>`, ready for a Kubernetes manifest or a container service: a re-tag cannot change what runs. The registry host follows the provider's `endpoints` (`registry_hcm`, `registry_han`).",
            ),
        ])
    }

    /// The artifact as vCR reports it, of `image` (its registry, repository and name).
    pub fn from_api(artifact: &Artifact, image: &ImageReference) -> Self {
        let mut tags = artifact.tags.clone();
        tags.sort();
        tags.dedup();
        ArtifactModel {
            digest: Some(artifact.digest.clone()),
            tags: Some(tags),
            size_bytes: Some(clamp(artifact.size)),
            pushed_at: Some(rfc3339(&artifact.push_time)),
            media_type: Some(artifact.media_type.clone()),
            image_uri: Some(image.pinned(&artifact.digest).to_string()),
        }
    }
}

/// A count or size as Terraform's number (vCR's are far below `i64::MAX`).
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A time vCR wrote, as RFC 3339 in UTC; as written when it is not a time.
pub fn rfc3339(text: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    parse_api_time(text)
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok())
        .unwrap_or_else(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_become_rfc3339_in_utc() {
        assert_eq!(rfc3339("2026-03-01T10:00:00+07:00"), "2026-03-01T03:00:00Z");
        assert_eq!(rfc3339("2026-03-01T10:00:00.123"), "2026-03-01T10:00:00Z");
        assert_eq!(rfc3339("2026-03-01T10:00:00Z"), "2026-03-01T10:00:00Z");
        assert_eq!(rfc3339("yesterday"), "yesterday");
    }

    #[test]
    fn an_artifact_is_pinned_by_digest_with_sorted_tags() {
        let a = Artifact {
            digest: "sha256:ab".into(),
            tags: vec!["v2".into(), "latest".into(), "v2".into()],
            size: 1234,
            push_time: "2026-03-01T10:00:00Z".into(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            ..Artifact::default()
        };
        let image = ImageReference::image("vcr.vngcloud.vn", "100-app", "web/frontend");
        let m = ArtifactModel::from_api(&a, &image);
        assert_eq!(
            m.image_uri.as_deref(),
            Some("vcr.vngcloud.vn/100-app/web/frontend@sha256:ab")
        );
        assert_eq!(m.tags, Some(vec!["latest".into(), "v2".into()]));
        assert_eq!(m.size_bytes, Some(1234));
    }
}
