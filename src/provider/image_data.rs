//! Data sources `vcr_image` (one artifact of an image, by tag, by digest, or the
//! most recent: its digest and `image_uri`, to pin a deployment) and `vcr_images`
//! (the images of a repository): views of the image model.
//!
//! Cost: one call per page, for each. `vcr_image` also needs the repository's
//! backend name for `image_uri`: it never changes, so the one the provider already
//! read (the repository's own refresh, in the same plan) is used, and the
//! repository is read only when nothing has shown it yet.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::errors::api;
use super::expiry::parse_api_time;
use super::model::image::{ArtifactModel, ImageModel};
use super::model::reference::ImageReference;
use super::validators::{
    image_digest, image_name, image_tag, only_true, repository_id as repository_id_shape,
};
use super::{lookup_region, ProviderData};
use crate::tfplugin::validators::quoted_list;
use crate::tfplugin::{
    Attribute, AttributePath, Block, DataSource, Diagnostic, Diagnostics, Mode, ReadDataRequest,
    Schema, Type,
};
use crate::vcr::{contract, Artifact, Region, RepositoryNames, VcrError};

/// The `repository_id` argument of both data sources.
fn repository_id() -> Attribute {
    Attribute::required(
        "repository_id",
        Type::String,
        "The id of the repository holding the image (`vcr_repository.<name>.id`), in `region`.",
    )
    .validate(repository_id_shape())
}

/// The rule of `repository_id` again when the data source is read: Terraform checks
/// the configuration before a read at plan, but a read deferred to the apply comes
/// with values it has not checked.
fn check_repository_id(id: &str) -> Result<(), Diagnostics> {
    repository_id_shape()
        .check(&crate::tfplugin::Value::from(id))
        .map_err(|rule| {
            Diagnostic::invalid_attribute(AttributePath::root("repository_id"), rule).into()
        })
}

/// The `region` argument of both data sources.
fn region() -> Attribute {
    lookup_region(Attribute::computed(
        "region",
        Type::String,
        "The region of the repository.",
    ))
}

/// The data source `vcr_image`.
#[derive(Debug, Default)]
pub struct ImageDataSource;

/// `vcr_image`: how the artifact is picked, and the artifact.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageLookup {
    pub repository_id: Option<String>,
    pub name: Option<String>,
    pub tag: Option<String>,
    pub most_recent: Option<bool>,
    pub region: Option<String>,
    #[serde(flatten)]
    pub artifact: ArtifactModel,
}

/// Which artifact of the image the configuration asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wanted {
    Tag(String),
    Digest(String),
    MostRecent,
}

impl Wanted {
    fn of(config: &ImageLookup) -> Result<Wanted, Diagnostics> {
        match (&config.tag, &config.artifact.digest, config.most_recent) {
            (Some(tag), None, None) => Ok(Wanted::Tag(tag.clone())),
            (None, Some(digest), None) => Ok(Wanted::Digest(digest.clone())),
            (None, None, Some(true)) => Ok(Wanted::MostRecent),
            // Validation says so first; this is the same rule at read.
            _ => Err(Diagnostic::error(
                "Missing or conflicting lookup",
                "Set exactly one of \"tag\", \"digest\" and \"most_recent\" (= true).",
            )
            .into()),
        }
    }

    /// The artifact asked for, if the image holds it. The most recent is the one
    /// pushed last; between equal times, the one vCR lists first.
    pub(crate) fn pick<'a>(&self, artifacts: &'a [Artifact]) -> Option<&'a Artifact> {
        match self {
            Wanted::Tag(tag) => artifacts.iter().find(|a| a.tags.contains(tag)),
            Wanted::Digest(digest) => artifacts.iter().find(|a| &a.digest == digest),
            Wanted::MostRecent => {
                let pushed =
                    |a: &Artifact| -> Option<OffsetDateTime> { parse_api_time(&a.push_time) };
                artifacts
                    .iter()
                    .enumerate()
                    .max_by(|(i, a), (j, b)| pushed(a).cmp(&pushed(b)).then(j.cmp(i)))
                    .map(|(_, a)| a)
            }
        }
    }

    /// The attribute that asked, for the diagnostic's place in the configuration.
    fn attribute(&self) -> &'static str {
        match self {
            Wanted::Tag(_) => "tag",
            Wanted::Digest(_) => "digest",
            Wanted::MostRecent => "most_recent",
        }
    }
}

#[async_trait]
impl DataSource<ProviderData> for ImageDataSource {
    type State = ImageLookup;

    fn type_name(&self) -> &'static str {
        "vcr_image"
    }

    fn schema(&self) -> Schema {
        let image = ImageModel::attributes()
            .into_iter()
            .find(|a| a.name == "name")
            .expect("the image model has a name");
        let artifact = ArtifactModel::attributes();
        let digest = artifact
            .clone()
            .into_iter()
            .find(|a| a.name == "digest")
            .expect("the artifact model has a digest")
            .with_mode(Mode::OptionalComputed)
            .note("Set it to pick the artifact by digest.")
            .validate(image_digest());
        Schema::new(
            0,
            Block::new("Looks up one artifact of an image by `tag`, by `digest`, or the most recent, for its digest and `image_uri`: pin a deployment to what CI pushed.")
                .attribute(repository_id())
                .attribute(image.with_mode(Mode::Required).validate(image_name()))
                .attribute(
                    Attribute::optional("tag", Type::String, "Pick the artifact that has this tag.")
                        .validate(image_tag()),
                )
                .attribute(digest)
                .attribute(
                    Attribute::optional("most_recent", Type::Bool, "Pick the artifact pushed last.")
                        .validate(only_true()),
                )
                .attribute(region())
                .attributes(artifact.without("digest"))
                .exactly_one_of(&["tag", "digest", "most_recent"]),
        )
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataRequest<ImageLookup>,
    ) -> Result<ImageLookup, Diagnostics> {
        let config = req.config;
        let wanted = Wanted::of(&config)?;
        let region = data.region(config.region.as_deref())?;
        let repository_id = config.repository_id.clone().unwrap_or_default();
        check_repository_id(&repository_id)?;
        let name = config.name.clone().unwrap_or_default();
        let repos = data.client()?.repositories(region);
        let repo = repos
            .names(&repository_id)
            .await
            .map_err(api(format!("read repository {repository_id} in {region}")))?;
        let artifacts = repos
            .list_artifacts(&repository_id, &name, None)
            .await
            .map_err(|e| no_image_or(e, &name, &repo, region))?;
        let artifact = wanted
            .pick(&artifacts)
            .ok_or_else(|| not_found(&wanted, &name, &repo, region, &artifacts))?;
        // Where vCR says the repository is (or the override): `<host>/<backend name>`.
        let (url, _) = data.registry_url(region, &repo.backend_name, &repo.registry_url);
        let (host, repository) = url
            .split_once('/')
            .unwrap_or((url.as_str(), repo.backend_name.as_str()));
        let image = ImageReference::image(host, repository, &name);
        Ok(ImageLookup {
            region: Some(region.as_str().to_string()),
            artifact: ArtifactModel::from_api(artifact, &image),
            ..config
        })
    }
}

/// How a repository is named in messages: `"my-app" (repo-..., HCM)`.
pub(crate) fn describe_repository(repo: &RepositoryNames, region: Region) -> String {
    format!("{:?} ({}, {region})", repo.name, repo.uuid)
}

/// A 404 on the artifacts of an image: the image does not exist.
fn no_image_or(err: VcrError, name: &str, repo: &RepositoryNames, region: Region) -> Diagnostics {
    if !err.is_not_found() {
        return api(format!("list the artifacts of image {name:?} in {region}"))(err);
    }
    // The path docker uses starts with the repository's backend name: not part of `name`.
    let check = match name.strip_prefix(&format!("{}/", repo.backend_name)) {
        Some(rest) if !repo.backend_name.is_empty() => format!(
            "\"name\" is the image name under the repository, without the repository's path: {rest:?}."
        ),
        _ => "Push it first, or check \"name\" (the image name under the repository, without tag or digest).".to_string(),
    };
    Diagnostic::error(
        "Image not found",
        format!(
            "Repository {} holds no image {name:?}. {check}",
            describe_repository(repo, region)
        ),
    )
    .at(AttributePath::root("name"))
    .into()
}

/// The image holds no artifact as asked: name the tag or digest, the image, the
/// repository, and the tags there are.
fn not_found(
    wanted: &Wanted,
    name: &str,
    repo: &RepositoryNames,
    region: Region,
    artifacts: &[Artifact],
) -> Diagnostics {
    let repository = describe_repository(repo, region);
    let (summary, what) = match wanted {
        Wanted::Tag(tag) => ("Image tag not found", format!("no artifact tagged {tag:?}")),
        Wanted::Digest(d) => (
            "Image digest not found",
            format!("no artifact with digest {d:?}"),
        ),
        Wanted::MostRecent => ("Image has no artifacts", "no artifact".to_string()),
    };
    let mut tags: Vec<&str> = artifacts
        .iter()
        .flat_map(|a| a.tags.iter().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    let known = match tags.len() {
        0 => "It has no tags.".to_string(),
        n if n <= 20 => format!("Its tags: {}.", quoted_list(&tags, "\"", "and")),
        n => format!(
            "It has {n} tags, among them {}.",
            quoted_list(&tags[..20], "\"", "and")
        ),
    };
    Diagnostic::error(
        summary,
        format!("Image {name:?} in repository {repository} has {what}. {known}"),
    )
    .at(AttributePath::root(wanted.attribute()))
    .into()
}

/// The data source `vcr_images`.
#[derive(Debug, Default)]
pub struct ImagesDataSource;

/// `vcr_images`: the repository, the filter, and the images found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImagesQuery {
    pub repository_id: Option<String>,
    pub name_prefix: Option<String>,
    pub region: Option<String>,
    pub images: Option<Vec<ImageModel>>,
}

#[async_trait]
impl DataSource<ProviderData> for ImagesDataSource {
    type State = ImagesQuery;

    fn type_name(&self) -> &'static str {
        "vcr_images"
    }

    fn schema(&self) -> Schema {
        let item = ImageModel::attributes();
        let listed = format!(
            "The images found, sorted by name. Each has {}.",
            quoted_list(&item.names(), "`", "and")
        );
        Schema::new(
            0,
            Block::new("Lists the images of a repository, optionally only those whose name starts with a prefix.")
                .attribute(repository_id())
                .attribute(Attribute::optional(
                    "name_prefix",
                    Type::String,
                    "Only images whose name starts with this text (`web/` for every image under `web`).",
                ))
                .attribute(region())
                .attribute(Attribute::computed("images", Type::list(item.value_type()), &listed)),
        )
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataRequest<ImagesQuery>,
    ) -> Result<ImagesQuery, Diagnostics> {
        let config = req.config;
        let region = data.region(config.region.as_deref())?;
        let repository_id = config.repository_id.clone().unwrap_or_default();
        check_repository_id(&repository_id)?;
        let prefix = config.name_prefix.as_deref().filter(|p| !p.is_empty());
        // The server narrows the pages; the prefix rule is applied here.
        let filter = prefix.filter(|_| contract::IMAGE_NAME_FILTER_MATCHES_PART);
        let mut found = data
            .client()?
            .repositories(region)
            .search_images(&repository_id, filter)
            .await
            .map_err(api(format!(
                "list the images of repository {repository_id} in {region}"
            )))?;
        found.retain(|i| prefix.is_none_or(|p| i.name.starts_with(p)));
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(ImagesQuery {
            region: Some(region.as_str().to_string()),
            images: Some(found.iter().map(ImageModel::from_api).collect()),
            ..config
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(digest: &str, tags: &[&str], pushed: &str) -> Artifact {
        Artifact {
            digest: digest.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            push_time: pushed.into(),
            ..Artifact::default()
        }
    }

    #[test]
    fn the_artifact_asked_for_is_picked() {
        let list = [
            artifact("sha256:b", &["v2", "latest"], "2026-01-02T00:00:00Z"),
            artifact("sha256:a", &["v1"], "2026-01-01T00:00:00Z"),
            artifact("sha256:c", &[], "2026-01-03T00:00:00+07:00"),
        ];
        let pick = |w: Wanted| w.pick(&list).map(|a| a.digest.as_str());
        assert_eq!(pick(Wanted::Tag("v1".into())), Some("sha256:a"));
        assert_eq!(pick(Wanted::Tag("v".into())), None, "tags match exactly");
        assert_eq!(pick(Wanted::Digest("sha256:b".into())), Some("sha256:b"));
        // 2026-01-03T00:00+07:00 is 2026-01-02T17:00Z: after v2.
        assert_eq!(pick(Wanted::MostRecent), Some("sha256:c"));
        let tied = [
            artifact("sha256:x", &[], "2026-01-01T00:00:00Z"),
            artifact("sha256:y", &[], "2026-01-01T00:00:00Z"),
        ];
        assert_eq!(
            Wanted::MostRecent.pick(&tied).map(|a| a.digest.as_str()),
            Some("sha256:x"),
            "a tie goes to the one listed first"
        );
        assert_eq!(Wanted::MostRecent.pick(&[]), None);
    }

    #[test]
    fn an_image_named_with_the_repository_path_is_told_the_name_to_use() {
        let repo = RepositoryNames {
            uuid: "repo-1".into(),
            name: "my-app".into(),
            backend_name: "100001-my-app".into(),
            ..RepositoryNames::default()
        };
        let missing = || VcrError::NotFound {
            message: crate::vcr::ApiMessage::from_body(404, br#"{"message":"no image"}"#),
        };
        let detail = |name: &str| {
            no_image_or(missing(), name, &repo, Region::Hcm).0[0]
                .detail
                .clone()
        };
        assert_eq!(
            detail("100001-my-app/web/frontend"),
            "Repository \"my-app\" (repo-1, HCM) holds no image \"100001-my-app/web/frontend\". \"name\" is the image name under the repository, without the repository's path: \"web/frontend\"."
        );
        assert!(detail("web/backend").ends_with("Push it first, or check \"name\" (the image name under the repository, without tag or digest)."));
    }

    #[test]
    fn a_missing_tag_is_named_with_the_repository_and_the_tags_there_are() {
        let repo = RepositoryNames {
            uuid: "repo-1".into(),
            name: "my-app".into(),
            ..RepositoryNames::default()
        };
        let list = [artifact("sha256:a", &["v2", "v1"], "")];
        let d = not_found(
            &Wanted::Tag("v9".into()),
            "web/frontend",
            &repo,
            Region::Hcm,
            &list,
        );
        let d = &d.0[0];
        assert_eq!(d.summary, "Image tag not found");
        assert_eq!(
            d.detail,
            "Image \"web/frontend\" in repository \"my-app\" (repo-1, HCM) has no artifact tagged \"v9\". Its tags: \"v1\" and \"v2\"."
        );
        assert_eq!(d.path, Some(AttributePath::root("tag")));
    }
}
