//! Action `vcr_image_check` (Terraform 1.14+): fails, naming the image, unless an
//! image reference exists in vCR (by tag or digest) and, with `pushed_within_days`,
//! was pushed within that many days. It stops a deploy pipeline before it deploys a
//! tag nobody pushed: `terraform apply -invoke=action.vcr_image_check.NAME`, or an
//! `action_trigger` before the resource that deploys it.
//!
//! The registry host of the reference says the region (the provider's
//! `endpoints.registry_hcm` / `registry_han`, or vCR's own hosts); the repository is
//! found by its backend name (one call per page of repositories), then the image's
//! artifacts are listed (one call per page), as `data "vcr_image"` does.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::errors::api;
use super::expiry::parse_api_time;
use super::image_data::{describe_repository, Wanted};
use super::model::image::rfc3339;
use super::model::reference::ImageReference;
use super::ProviderData;
use crate::tfplugin::validators::{quoted_list, whole_at_least};
use crate::tfplugin::{
    Action, Attribute, AttributePath, Block, Diagnostic, Diagnostics, InvokeRequest,
    PlanActionRequest, Progress, Schema, Type, Validator, Value,
};
use crate::vcr::{Artifact, Region, RepositoryNames};

/// The action `vcr_image_check`.
#[derive(Debug, Default)]
pub struct ImageCheckAction;

/// Its configuration, attribute for attribute.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageCheckConfig {
    pub reference: Option<String>,
    pub pushed_within_days: Option<i64>,
}

fn reference_rule() -> Validator {
    Validator::string(
        "Read as Docker reads it: `<registry>/<repository backend name>/<image>` with `:<tag>`, `@<digest>` or both; with neither, `:latest`, as `docker pull` reads it.",
        |s| ImageReference::parse(s).map(|_| ()),
    )
}

/// The region whose registry host is `registry`: the provider's `endpoints`, else
/// vCR's own hosts; an error naming the hosts this provider knows otherwise.
pub(crate) fn region_of(
    data: &ProviderData,
    reference: &ImageReference,
    attribute: &str,
) -> Result<Region, Diagnostics> {
    let hosts: Vec<&str> = Region::ALL.iter().map(|r| data.registry_host(*r)).collect();
    Region::ALL
        .into_iter()
        .find(|r| data.registry_host(*r) == reference.registry)
        .ok_or_else(|| {
            Diagnostic::invalid_attribute(
                AttributePath::root(attribute),
                format!(
                    "{:?} is not in vCR as this provider reaches it: its registry host {:?} is none of {} (the provider's endpoints.registry_hcm and registry_han).",
                    reference.to_string(),
                    reference.registry,
                    quoted_list(&hosts, "\"", "and")
                ),
            )
            .into()
        })
}

/// What to look for: by digest when the reference has one (its tag, if any, must
/// be on that artifact), else by tag (`latest` when there is none, as Docker).
fn wanted(reference: &ImageReference) -> Wanted {
    match (&reference.digest, &reference.tag) {
        (Some(digest), _) => Wanted::Digest(digest.clone()),
        (None, Some(tag)) => Wanted::Tag(tag.clone()),
        (None, None) => Wanted::Tag("latest".into()),
    }
}

/// The failure of a check: it names the image reference.
fn failed(reference: &ImageReference, why: String) -> Diagnostics {
    Diagnostic::error(
        format!("Image {reference} failed its check"),
        format!("{reference}: {why}"),
    )
    .into()
}

/// Checks the artifact found against the reference's tag and the age limit; the
/// sentence of what was found when it passes.
fn judge(
    reference: &ImageReference,
    artifact: &Artifact,
    within_days: Option<i64>,
    now: OffsetDateTime,
) -> Result<String, String> {
    if let (Some(_), Some(tag)) = (&reference.digest, &reference.tag) {
        if !artifact.tags.contains(tag) {
            return Err(format!(
                "the artifact with this digest exists but is not tagged {tag:?} (its tags: {}).",
                describe_tags(&artifact.tags)
            ));
        }
    }
    let pushed = parse_api_time(&artifact.push_time);
    let found = format!(
        "found {} pushed at {}",
        artifact.digest,
        rfc3339(&artifact.push_time)
    );
    let Some(days) = within_days else {
        return Ok(found);
    };
    let Some(pushed) = pushed else {
        return Err(format!(
            "vCR gives no push time this provider can read ({:?}), so it cannot tell whether it was pushed within {days} days.",
            artifact.push_time
        ));
    };
    let age = now - pushed;
    if age > time::Duration::days(days) {
        return Err(format!(
            "it was pushed at {}, {} days ago: not within the last {days} days (pushed_within_days).",
            rfc3339(&artifact.push_time),
            age.whole_days()
        ));
    }
    Ok(format!("{found}, {} days ago", age.whole_days().max(0)))
}

fn describe_tags(tags: &[String]) -> String {
    if tags.is_empty() {
        "none".into()
    } else {
        quoted_list(tags, "\"", "and")
    }
}

/// The repository of `region` with this backend name (the first part of an image
/// reference after the registry host), if there is one: one call per page of
/// repositories.
pub(crate) async fn repository_by_backend_name(
    data: &ProviderData,
    region: Region,
    backend_name: &str,
) -> Result<Option<RepositoryNames>, Diagnostics> {
    let repos = data
        .client()?
        .repositories(region)
        .list_all(None, None)
        .await
        .map_err(api(format!("list the repositories of {region}")))?;
    Ok(repos
        .iter()
        .filter_map(RepositoryNames::of)
        .find(|r| r.backend_name == backend_name))
}

/// The repository whose backend name the reference has, in `region`.
async fn find_repository(
    data: &ProviderData,
    region: Region,
    reference: &ImageReference,
) -> Result<RepositoryNames, Diagnostics> {
    repository_by_backend_name(data, region, &reference.repository)
        .await?
        .ok_or_else(|| {
            failed(
                reference,
                format!(
                    "no repository of {region} has the backend name {:?} (vcr_repository's backend_name, the first part after the registry host).",
                    reference.repository
                ),
            )
        })
}

#[async_trait]
impl Action<ProviderData> for ImageCheckAction {
    type Config = ImageCheckConfig;

    fn type_name(&self) -> &'static str {
        "vcr_image_check"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("Fails, naming the image, unless an image reference exists in vCR (its tag, or its digest) and, with `pushed_within_days`, was pushed within that many days: stops a deploy of a tag nobody pushed. Writes nothing.")
                .attribute(
                    Attribute::required(
                        "reference",
                        Type::String,
                        "The image reference to check, such as `vcr.vngcloud.vn/100001-my-app/web/frontend:v1` (`provider::vcr::image_reference()` builds one). Its registry host says the region: the provider's `endpoints.registry_hcm` or `registry_han`. With both a tag and a digest, the artifact with that digest must carry that tag.",
                    )
                    .validate(reference_rule()),
                )
                .attribute(
                    Attribute::optional(
                        "pushed_within_days",
                        Type::Number,
                        "Also fail unless the artifact was pushed within this many days (by the push time vCR records).",
                    )
                    .validate(whole_at_least(1)),
                ),
        )
    }

    /// At plan: a reference whose registry host is not one of this provider's fails
    /// now, not at invoke.
    async fn plan(&self, data: Option<&ProviderData>, req: PlanActionRequest) -> Diagnostics {
        let (Some(data), Value::String(text)) = (data, req.config.attr("reference")) else {
            return Diagnostics::new();
        };
        match ImageReference::parse(text) {
            Ok(reference) => region_of(data, &reference, "reference")
                .err()
                .unwrap_or_default(),
            // The schema's rule has said so.
            Err(_) => Diagnostics::new(),
        }
    }

    async fn invoke(
        &self,
        data: &ProviderData,
        req: InvokeRequest<ImageCheckConfig>,
        progress: &Progress,
    ) -> Result<(), Diagnostics> {
        let text = req.config.reference.unwrap_or_default();
        let reference = ImageReference::parse(&text).map_err(|why| {
            Diagnostics::from(Diagnostic::invalid_attribute(
                AttributePath::root("reference"),
                why,
            ))
        })?;
        let region = region_of(data, &reference, "reference")?;
        progress
            .report(format!("looking for {reference} in {region}"))
            .await;
        // Both steps only read: abandoned at once when Terraform is interrupted.
        let nothing = || "nothing; the image was not checked".to_string();
        let repo = progress
            .unless_cancelled(find_repository(data, region, &reference), nothing)
            .await??;
        let client = data.client()?.repositories(region);
        let listing = client.list_artifacts(&repo.uuid, &reference.image, None);
        let artifacts = progress
            .unless_cancelled(listing, nothing)
            .await?
            .map_err(|e| {
                if e.is_not_found() {
                    failed(
                        &reference,
                        format!(
                            "repository {} holds no image {:?}.",
                            describe_repository(&repo, region),
                            reference.image
                        ),
                    )
                } else {
                    api(format!(
                        "list the artifacts of image {:?} in {region}",
                        reference.image
                    ))(e)
                }
            })?;
        let wanted = wanted(&reference);
        let artifact = wanted.pick(&artifacts).ok_or_else(|| {
            let what = match &wanted {
                Wanted::Tag(tag) => format!("no artifact tagged {tag:?}"),
                Wanted::Digest(d) => format!("no artifact with digest {d:?}"),
                Wanted::MostRecent => "no artifact".into(),
            };
            let mut tags: Vec<String> = artifacts.iter().flat_map(|a| a.tags.clone()).collect();
            tags.sort();
            tags.dedup();
            failed(
                &reference,
                format!(
                    "image {:?} in repository {} has {what}; its tags: {}.",
                    reference.image,
                    describe_repository(&repo, region),
                    describe_tags(&tags)
                ),
            )
        })?;
        let found = judge(
            &reference,
            artifact,
            req.config.pushed_within_days,
            OffsetDateTime::now_utc(),
        )
        .map_err(|why| failed(&reference, why))?;
        progress.report(found).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(tags: &[&str], pushed: &str) -> Artifact {
        Artifact {
            digest: "sha256:ab".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            push_time: pushed.into(),
            ..Artifact::default()
        }
    }

    fn reference(text: &str) -> ImageReference {
        ImageReference::parse(text).unwrap()
    }

    #[test]
    fn age_and_tag_are_judged() {
        let now = OffsetDateTime::parse(
            "2026-03-11T00:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let tagged = reference("vcr.vngcloud.vn/100-app/web:v1");
        let a = artifact(&["v1"], "2026-03-01T00:00:00Z");
        assert!(judge(&tagged, &a, None, now).is_ok());
        assert!(judge(&tagged, &a, Some(10), now).is_ok(), "exactly 10 days");
        let old = judge(&tagged, &a, Some(9), now).unwrap_err();
        assert!(
            old.contains("10 days ago") && old.contains("last 9 days"),
            "{old}"
        );

        let digest = format!("sha256:{}", "a".repeat(64));
        let both = reference(&format!("vcr.vngcloud.vn/100-app/web:v2@{digest}"));
        let wrong_tag = judge(&both, &a, None, now).unwrap_err();
        assert!(wrong_tag.contains("not tagged \"v2\""), "{wrong_tag}");
        assert_eq!(wanted(&both), Wanted::Digest(digest));
        assert_eq!(
            wanted(&reference("vcr.vngcloud.vn/100-app/web")),
            Wanted::Tag("latest".into())
        );
    }

    #[test]
    fn every_reference_rule_names_the_attribute() {
        let rule = reference_rule();
        assert!(rule
            .check(&Value::from("vcr.vngcloud.vn/100-app/web:v1"))
            .is_ok());
        assert!(rule.check(&Value::from("web:v1")).is_err());
    }
}
