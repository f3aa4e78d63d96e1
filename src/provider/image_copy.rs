//! `vcr_image_copy`: an image copied by digest into a repository (of the same region,
//! a promotion; or of the other, a replication), with tags pointing at it. The
//! provider speaks the registry protocol itself ([`crate::vcr::oci`]), with registry
//! access it makes for the copy: a short-lived repository user per region, granted
//! pull on the source and push on the destination, deleted when the copy is done
//! (and expiring within a day if the process dies first). No password reaches state,
//! plan or logs.
//!
//! Refresh asks the management API (no registry access needed) whether each tag still
//! names the digest: a tag moved or deleted outside Terraform leaves the state, so
//! the plan shows it coming back.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::config::REGIONS;
use super::errors::api_error;
use super::image_check::{region_of, repository_by_backend_name};
use super::model::reference::ImageReference;
use super::repository_user::{permission_requests, random_name, RepositoryPermission};
use super::short_lived_user::{create_user, find_user, not_deleted_warning};
use super::ProviderData;
use crate::provider::validators::{image_name, image_tag_rule, repository_id};
use crate::tfplugin::validators::one_of;
use crate::tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, DeleteRequest, Diagnostic, Diagnostics,
    Failure, ImportRequest, NoIdentity, Plan, ReadRequest, Resource, Saved, Schema, Type,
    UpdateRequest, Value,
};
use crate::vcr::oci::{self, Credentials, Endpoint, RegistryError, Session};
use crate::vcr::{CreateUser, Region, RepositoryNames, Secret};

pub const TYPE_NAME: &str = "vcr_image_copy";

/// The prefix of the users a copy makes; with 6 random characters, 14 in all (vCR's
/// most).
pub const USER_PREFIX: &str = "tf-copy-";
const USER_RANDOM_CHARS: usize = 6;

/// Blobs moved at once, whatever `max_parallel_requests` says: each holds a bounded
/// buffer, and a registry serves a few streams per client best.
const MAX_PARALLEL_BLOBS: usize = 4;

/// The state of a `vcr_image_copy`, attribute for attribute.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageCopyState {
    pub id: Option<String>,
    pub source: Option<String>,
    pub repository_id: Option<String>,
    pub region: Option<String>,
    pub image: Option<String>,
    pub tags: Option<Vec<String>>,
    pub delete_on_destroy: Option<bool>,
    pub digest: Option<String>,
    pub image_uri: Option<String>,
}

pub fn schema() -> Schema {
    Schema::new(
        0,
        Block::new(
            "An image copied by digest into a repository, with tags pointing at it: a promotion within a region \
             (the layers are mounted, no bytes move) or a replication to the other region (the layers are streamed \
             from registry to registry). The provider logs in to the registries itself, with a short-lived repository \
             user it creates for the copy and deletes after it: no Docker daemon, no registry password in the pipeline \
             or in state. A tag moved or deleted outside Terraform shows as a change in the next plan, which puts it back. \
             Destroying it leaves the image in place unless `delete_on_destroy` is `true`.",
        )
        .attribute(
            Attribute::computed(
                "id",
                Type::String,
                "`<repository_id>/<image>`: the destination image.",
            )
            .use_state_for_unknown(),
        )
        .attribute(
            Attribute::required(
                "source",
                Type::String,
                "The image to copy, pinned by digest, in vCR: `<registry>/<repository backend name>/<image>@sha256:...` (a tag may come before the digest), such as `data.vcr_image.app.image_uri`. A reference by tag alone is refused: a copy must be the same every time it is applied. Its registry host says its region (the provider's `endpoints.registry_hcm` or `registry_han`). Changing it copies the new digest and moves the tags.",
            )
            .validate(crate::tfplugin::Validator::string(
                "A reference pinned by digest: `<registry>/<repository>/<image>@sha256:<64 hex digits>`.",
                source_rule,
            )),
        )
        .attribute(
            Attribute::required(
                "repository_id",
                Type::String,
                "The id of the destination repository (`vcr_repository.<label>.id`), in either region.",
            )
            .validate(repository_id())
            .requires_replace(),
        )
        .attribute(
            Attribute::optional_computed(
                "region",
                Type::String,
                "The destination repository's region.",
            )
            .note("When unset, the repository is looked up in the provider's region, then in the other.")
            .validate(one_of(REGIONS))
            .requires_replace()
            .use_state_for_unknown(),
        )
        .attribute(
            Attribute::optional_computed(
                "image",
                Type::String,
                "The image name in the destination repository.",
            )
            .note("Defaults to the source's image name when the copy is made; a later `source` never renames the copy.")
            .validate(image_name())
            .requires_replace(),
        )
        .attribute(Attribute::required(
            "tags",
            Type::set(Type::String),
            "The tags to point at the copied digest in the destination (at least one). A tag removed from this set stays on the image; Terraform stops watching it.",
        ))
        .attribute(
            Attribute::optional(
                "delete_on_destroy",
                Type::Bool,
                "Delete the copied artifact (by digest) when the resource is destroyed, unless it carries tags this copy does not manage (then it stays, with a warning). By default a destroy leaves the image in place: images outlive the deployments that use them.",
            )
            .default(Value::Bool(false)),
        )
        .attribute(
            Attribute::computed(
                "digest",
                Type::String,
                "The copied digest: the source's, known at plan when the source is.",
            ),
        )
        .attribute(
            Attribute::computed(
                "image_uri",
                Type::String,
                "The copy, pinned by digest: `<registry>/<repository backend name>/<image>@<digest>`, with the registry host as the provider's `endpoints` set it; known at plan when the digest is, so that a copy chained to it (HCM then HAN) shows its digest at plan too. Use it where the destination region deploys.",
            ),
        ),
    )
}

/// The `source` rule: a vCR reference with a digest.
fn source_rule(text: &str) -> Result<(), String> {
    let reference = ImageReference::parse(text)?;
    if reference.digest.is_none() {
        return Err(format!(
            "must be pinned by digest (`...@sha256:<hex>`), so that every apply copies the same image; {text:?} names a tag only, which may move. Use `data.vcr_image.<label>.image_uri`, which is pinned."
        ));
    }
    Ok(())
}

/// The `tags` rule, for each element (a set's elements take no validator).
fn validate_tags(config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let Some(tags) = config.attr("tags").as_elements() else {
        return diags;
    };
    if tags.is_empty() {
        diags.push(Diagnostic::invalid_attribute(
            AttributePath::root("tags"),
            "must name at least one tag: an artifact without a tag in the destination would be deleted by the first cleanup of untagged images.",
        ));
    }
    for tag in tags.iter().filter_map(Value::as_str) {
        if let Err(why) = image_tag_rule(tag) {
            diags.push(Diagnostic::invalid_attribute(
                AttributePath::root("tags"),
                why,
            ));
        }
    }
    diags
}

/// The source, parsed (validated at plan).
fn source_of(state: &ImageCopyState) -> Result<ImageReference, Diagnostics> {
    let text = state.source.as_deref().unwrap_or_default();
    ImageReference::parse(text)
        .map_err(|why| Diagnostic::invalid_attribute(AttributePath::root("source"), why).into())
}

/// The destination repository's region: the one set, else where the repository is
/// (the provider's region first). With its names. A repository of the other region
/// than the one set is named as such.
async fn destination(
    data: &ProviderData,
    repository_id: &str,
    region: Option<&str>,
) -> Result<(Region, RepositoryNames), Diagnostics> {
    let id = repository_id;
    let client = data.client()?;
    let set = region.map(|r| data.region(Some(r))).transpose()?;
    let first = set.unwrap_or(data.region(None)?);
    let mut candidates = vec![first];
    candidates.extend(Region::ALL.into_iter().filter(|r| *r != first));
    for region in &candidates {
        match client.repositories(*region).names(id).await {
            Ok(names) if set.is_none_or(|s| s == *region) => return Ok((*region, names)),
            Ok(_) => {
                return Err(Diagnostic::invalid_attribute(
                    AttributePath::root("region"),
                    format!(
                        "the repository {id:?} is in {region}, not in {first}: set region = \"{region}\", or leave region out to have it found."
                    ),
                )
                .into())
            }
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                return Err(api_error(&format!("read repository {id} in {region}"), &e).into())
            }
        }
    }
    Err(Diagnostic::invalid_attribute(
        AttributePath::root("repository_id"),
        format!("no repository has the id {id:?} in HCM or HAN."),
    )
    .into())
}

/// The destination pinned by digest: `<registry>/<backend name>/<image>@<digest>`.
fn destination_uri(
    data: &ProviderData,
    region: Region,
    repo: &RepositoryNames,
    image: &str,
    digest: &str,
) -> ImageReference {
    ImageReference::image(
        &data.repository_registry_host(region, repo),
        &repo.backend_name,
        image,
    )
    .pinned(digest)
}

/// At plan, what the source is: a warning naming `source` when vCR has no artifact
/// of that digest in that image (and no copy of this run makes it): the apply would
/// fail; a warning when the reference's tag names another digest now. Warnings, not
/// errors: the source may be made by this apply in a way the provider cannot see.
async fn check_source(data: &ProviderData, source: &ImageReference) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let (Some(digest), Ok(region)) = (&source.digest, region_of(data, source, "source")) else {
        return diags;
    };
    let planned = data
        .planned_copies
        .lock()
        .is_ok_and(|p| p.contains(&source.pinned(digest).to_string()));
    if planned {
        return diags;
    }
    let repo = match source_repository(data, region, source).await {
        Ok(repo) => repo,
        Err(d) => return d,
    };
    let repos = match data.client() {
        Ok(c) => c.repositories(region),
        Err(d) => return d,
    };
    let missing = |why: String| {
        let mut d = Diagnostic::warning(
            "The source of this copy is not in vCR",
            format!("{why} Unless something else in this apply makes it, the apply fails."),
        );
        d.path = Some(AttributePath::root("source"));
        d
    };
    match repos.list_artifacts(&repo.uuid, &source.image, None).await {
        Ok(artifacts) => match artifacts.iter().find(|a| &a.digest == digest) {
            None => diags.push(missing(format!(
                "repository {:?} ({region}) has no artifact {digest} of image {:?}.",
                repo.name, source.image
            ))),
            Some(a) => {
                if let Some(tag) = source.tag.as_ref().filter(|t| !a.tags.contains(t)) {
                    diags.push(Diagnostic::warning(
                        format!("The tag {tag:?} of the source no longer names its digest"),
                        format!(
                            "{source} names the tag {tag:?} and the digest {digest}; the digest is what is copied, and {tag:?} is now on another artifact (or none)."
                        ),
                    ));
                }
            }
        },
        Err(e) if e.is_not_found() => diags.push(missing(format!(
            "repository {:?} ({region}) has no image {:?}.",
            repo.name, source.image
        ))),
        Err(e) => diags.push(api_error(
            &format!(
                "read the source image {:?} of repository {:?} in {region}",
                source.image, repo.name
            ),
            &e,
        )),
    }
    diags
}

/// At the plan of a create: each tag that names another artifact of the destination
/// image now, which the apply moves to the copy.
async fn tags_taken_over(
    data: &ProviderData,
    region: Region,
    repo: &RepositoryNames,
    image: &str,
    digest: Option<&str>,
    tags: &[String],
) -> Option<Diagnostic> {
    let repos = data.client().ok()?.repositories(region);
    let artifacts = repos.list_artifacts(&repo.uuid, image, None).await.ok()?;
    let moved: Vec<String> = artifacts
        .iter()
        .filter(|a| Some(a.digest.as_str()) != digest)
        .flat_map(|a| {
            a.tags
                .iter()
                .filter(|t| tags.contains(t))
                .map(move |t| format!("{t:?} (now on {})", a.digest))
        })
        .collect();
    (!moved.is_empty()).then(|| {
        Diagnostic::warning(
            format!("The copy moves tags of {image:?} that exist in repository {:?}", repo.name),
            format!(
                "These tags of {image:?} in {:?} ({region}) name other artifacts now; the apply points them at the copy: {}.",
                repo.name,
                moved.join(", ")
            ),
        )
    })
}

/// The source repository, by the backend name in the reference.
async fn source_repository(
    data: &ProviderData,
    region: Region,
    reference: &ImageReference,
) -> Result<RepositoryNames, Diagnostics> {
    repository_by_backend_name(data, region, &reference.repository)
        .await?
        .ok_or_else(|| {
            Diagnostic::invalid_attribute(
                AttributePath::root("source"),
                format!(
                    "no repository of {region} has the backend name {:?} (the first part of {:?} after the registry host).",
                    reference.repository,
                    reference.to_string()
                ),
            )
            .into()
        })
}

/// A short-lived user made for one copy, to delete afterwards.
struct CopyUser {
    id: String,
    name: String,
    region: Region,
    expires_at: Option<String>,
    credentials: Credentials,
}

/// Makes a short-lived user in `region` with `grants` (repository id, permission).
async fn open_user(
    data: &ProviderData,
    region: Region,
    grants: &[(&RepositoryNames, &str)],
    purpose: &str,
) -> Result<CopyUser, Diagnostics> {
    let users = data.client()?.users(region);
    let blocks: Vec<RepositoryPermission> = grants
        .iter()
        .map(|(repo, permission)| RepositoryPermission {
            repository_id: Some(repo.uuid.clone()),
            permission: Some((*permission).to_string()),
        })
        .collect();
    let create = CreateUser {
        name: random_name(USER_PREFIX, USER_RANDOM_CHARS),
        duration_days: Some(1),
        // vCR takes at most 255 characters.
        description: Some(
            format!("vcr_image_copy: {purpose}")
                .chars()
                .take(255)
                .collect(),
        ),
        permissions: permission_requests(data, region, &blocks).await?,
    };
    let needs: Vec<String> = grants
        .iter()
        .map(|(repo, permission)| {
            let what = if *permission == "pull_only" {
                "pull"
            } else {
                "push"
            };
            format!("{what} on repository {:?} ({})", repo.name, repo.uuid)
        })
        .collect();
    tracing::info!(%region, name = create.name, "creating a short-lived repository user for the copy");
    let secret: Secret = create_user(&users, &create, data.settings.max_retries, USER_PREFIX)
        .await
        .map_err(|mut diags| {
            diags.push(Diagnostic::error(
                format!("vcr_image_copy needs registry access in {region}"),
                format!(
                    "To copy, the provider makes a short-lived repository user in {region} with {}, using the provider's client credentials; vCR refused it (above). The service account must be allowed to manage repository users and those repositories.",
                    needs.join(" and ")
                ),
            ));
            diags
        })?;
    let user = find_user(&users, &create.name).await?;
    Ok(CopyUser {
        id: user.uuid.clone(),
        name: create.name,
        region,
        expires_at: user.expired_at.clone(),
        credentials: Credentials {
            username: user.backend_name,
            secret,
        },
    })
}

/// Deletes the copy's users; a user that stays is a warning (it expires within a day).
async fn close_users(data: &ProviderData, users: &[CopyUser]) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let Ok(client) = data.client() else {
        return diags;
    };
    for user in users {
        tracing::info!(region = %user.region, name = user.name, "deleting the copy's short-lived repository user");
        match client.users(user.region).delete(&user.id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => diags.push(not_deleted_warning(
                &user.name,
                user.region,
                user.expires_at.as_deref(),
                &e,
                "vcr_image_copy could not delete the user it created for the copy",
            )),
        }
    }
    diags
}

/// A failed copy as a diagnostic: what failed, and what to do.
fn copy_error(e: &RegistryError, from: &str, to: &str) -> Diagnostic {
    let hint = if e.is_denied() {
        "The registry refused the short-lived user's access. It was granted pull on the source's repository and push on the destination's; check that the repositories exist and that the destination's quota is not exceeded."
    } else {
        "Whatever was copied stays; the next apply copies only what is missing."
    };
    Diagnostic::error(
        format!("Could not copy {from} to {to}"),
        format!("{e}\n\n{hint}"),
    )
}

/// Copies the state's source into its destination and points its tags there; the
/// state as written.
async fn copy(
    data: &ProviderData,
    planned: ImageCopyState,
) -> Result<Saved<ImageCopyState>, Diagnostics> {
    let source = source_of(&planned)?;
    let digest = source.digest.clone().unwrap_or_default();
    let source_region = region_of(data, &source, "source")?;
    let from_repo = source_repository(data, source_region, &source).await?;
    let (region, to_repo) = destination(
        data,
        planned.repository_id.as_deref().unwrap_or_default(),
        planned.region.as_deref(),
    )
    .await?;
    let image = planned
        .image
        .clone()
        .unwrap_or_else(|| source.image.clone());
    let tags: Vec<String> = planned.tags.clone().unwrap_or_default();

    let to_host = data.repository_registry_host(region, &to_repo);
    let from_name = format!("{}/{}", source.repository, source.image);
    let to_name = format!("{}/{}", to_repo.backend_name, image);
    let to_image = destination_uri(data, region, &to_repo, &image, &digest);
    let purpose = format!("{}/{image} in {region}", to_repo.name);

    // One user per region: pull on the source, push on the destination.
    let mut users: Vec<CopyUser> = Vec::new();
    let outcome = async {
        let same_region = source_region == region;
        if same_region {
            let grants: Vec<(&RepositoryNames, &str)> = if from_repo.uuid == to_repo.uuid {
                vec![(&to_repo, "push_pull")]
            } else {
                vec![(&from_repo, "pull_only"), (&to_repo, "push_pull")]
            };
            users.push(open_user(data, region, &grants, &purpose).await?);
        } else {
            users.push(
                open_user(data, source_region, &[(&from_repo, "pull_only")], &purpose).await?,
            );
            users.push(open_user(data, region, &[(&to_repo, "push_pull")], &purpose).await?);
        }
        let http = oci::http_client(&format!(
            "terraform-provider-vcr/{}",
            env!("CARGO_PKG_VERSION")
        ))
        .map_err(|e| {
            Diagnostics::from(copy_error(&e, &source.to_string(), &to_image.to_string()))
        })?;
        let endpoint = |host: &str| {
            Endpoint::new(host).map_err(|e| {
                Diagnostics::from(copy_error(&e, &source.to_string(), &to_image.to_string()))
            })
        };
        let (from_session, to_session);
        if same_region && source.registry == to_host {
            // One registry: one token for both repositories, so a layer can be mounted.
            to_session = Session::new(
                http.clone(),
                endpoint(&to_host)?,
                Some(users[0].credentials.clone()),
                vec![oci::scope(&from_name, false), oci::scope(&to_name, true)],
            );
            from_session = None;
        } else {
            let from_user = &users[0];
            let to_user = users.last().unwrap_or(from_user);
            from_session = Some(Session::new(
                http.clone(),
                endpoint(&source.registry)?,
                Some(from_user.credentials.clone()),
                vec![oci::scope(&from_name, false)],
            ));
            to_session = Session::new(
                http,
                endpoint(&to_host)?,
                Some(to_user.credentials.clone()),
                vec![oci::scope(&to_name, true)],
            );
        }
        let from = from_session
            .as_ref()
            .unwrap_or(&to_session)
            .repository(&from_name);
        let to = to_session.repository(&to_name);
        let parallel = data.settings.max_parallel_requests.min(MAX_PARALLEL_BLOBS);
        tracing::info!(from = %source, to = %to_image, tags = ?tags, "copying the image");
        let report = oci::copy_image(&from, &to, &digest, &tags, parallel)
            .await
            .map_err(|e| {
                Diagnostics::from(copy_error(&e, &source.to_string(), &to_image.to_string()))
            })?;
        tracing::info!(from = %source, to = %to_image, "copied: {}", report.summary());
        Ok::<(), Diagnostics>(())
    }
    .await;
    let mut diags = close_users(data, &users).await;
    if let Err(mut failed) = outcome {
        failed.extend(diags);
        return Err(failed);
    }
    let state = ImageCopyState {
        id: Some(format!("{}/{image}", to_repo.uuid)),
        region: Some(region.as_str().to_string()),
        image: Some(image.clone()),
        digest: Some(digest.clone()),
        image_uri: Some(to_image.to_string()),
        ..planned
    };
    let (_, url_diags) = data.registry_url(region, &to_repo.backend_name, &to_repo.registry_url);
    diags.extend(url_diags);
    Ok(Saved::new(state).with_diagnostics(diags))
}

/// The `vcr_image_copy` resource.
#[derive(Debug, Default)]
pub struct ImageCopyResource;

#[async_trait]
impl Resource<ProviderData> for ImageCopyResource {
    type State = ImageCopyState;
    type Identity = NoIdentity;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_tags(config)
    }

    async fn modify_plan(
        &self,
        data: Option<&ProviderData>,
        plan: &mut Plan,
    ) -> Result<(), Diagnostics> {
        super::plan_needs_credentials(data, plan)?;
        if plan.is_destroy() {
            return Ok(());
        }
        let source = plan
            .config
            .attr("source")
            .as_str()
            .and_then(|s| ImageReference::parse(s).ok());
        if let Some(source) = &source {
            if let Some(data) = data {
                region_of(data, source, "source")?;
            }
            // Known now: what is copied.
            if let Some(digest) = &source.digest {
                plan.set("digest", Value::string(digest.clone()));
            }
        }
        // The image name defaults to the source's when the copy is made, and stays:
        // a later source (even one still unknown) never renames the copy.
        if plan.config.attr("image").is_null() {
            match (plan.prior.attr("image").as_str(), &source) {
                (Some(prior), _) => plan.set("image", Value::string(prior)),
                (None, Some(source)) => plan.set("image", Value::string(source.image.clone())),
                (None, None) => plan.will_change("image"),
            }
        }
        let creating = plan.is_create() || plan.is_replace();
        let digest_moves = creating || plan.changed("digest");
        if let Some(data) = data {
            if let (true, Some(source)) = (digest_moves, &source) {
                plan.diagnostics.extend(check_source(data, source).await);
            }
        }
        let digest = plan.planned.attr("digest").as_str().map(str::to_string);
        let image = plan.planned.attr("image").as_str().map(str::to_string);
        let repository_id = plan
            .planned
            .attr("repository_id")
            .as_str()
            .map(str::to_string);
        if creating {
            // Where it goes, looked up now, so that the plan shows the region and the
            // reference the copy will have.
            plan.will_change("image_uri");
            if let (Some(data), Some(id)) = (data, &repository_id) {
                let region = plan.config.attr("region").as_str().map(str::to_string);
                let (region, repo) = destination(data, id, region.as_deref()).await?;
                plan.set("region", Value::string(region.as_str()));
                if let (Some(image), Some(digest)) = (&image, &digest) {
                    let uri = destination_uri(data, region, &repo, image, digest).to_string();
                    if let Ok(mut planned) = data.planned_copies.lock() {
                        planned.insert(uri.clone());
                    }
                    plan.set("image_uri", Value::string(uri));
                }
                if let Some(image) = &image {
                    let tags: Vec<String> = plan
                        .planned
                        .attr("tags")
                        .as_elements()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect();
                    if let Some(w) =
                        tags_taken_over(data, region, &repo, image, digest.as_deref(), &tags).await
                    {
                        plan.diagnostics.push(w);
                    }
                }
            }
        } else {
            // The destination's reference moves only with the digest, to a digest known
            // now; a tag put back leaves it (and whatever deploys from it) alone.
            let prior_uri = plan
                .prior
                .attr("image_uri")
                .as_str()
                .and_then(|u| ImageReference::parse(u).ok());
            match (prior_uri, &digest) {
                (Some(prior), Some(digest)) => {
                    let uri = prior.pinned(digest).to_string();
                    if let (Some(data), true) = (data, digest_moves) {
                        if let Ok(mut planned) = data.planned_copies.lock() {
                            planned.insert(uri.clone());
                        }
                    }
                    plan.set("image_uri", Value::string(uri));
                }
                _ => plan.will_change("image_uri"),
            }
            let kept: BTreeSet<&str> = plan
                .planned
                .attr("tags")
                .as_elements()
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let dropped: Vec<String> = plan
                .prior
                .attr("tags")
                .as_elements()
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| !kept.contains(t) && plan.planned.attr("tags").is_wholly_known())
                .map(|t| format!("{t:?}"))
                .collect();
            if !dropped.is_empty() {
                plan.diagnostics.push(Diagnostic::warning(
                    "Tags removed from vcr_image_copy's tags stay on the image",
                    format!(
                        "{} leave(s) Terraform's care but stay(s) in the registry, on the artifact it names now: vCR has no call that removes one tag. Delete it in the vCR console if it must go.",
                        dropped.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest<ImageCopyState>,
    ) -> Result<Saved<ImageCopyState>, Failure<ImageCopyState>> {
        Ok(copy(data, req.planned).await?)
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadRequest<ImageCopyState>,
    ) -> Result<Option<Saved<ImageCopyState>>, Diagnostics> {
        let mut state = req.state;
        let region = data.region(state.region.as_deref())?;
        let id = state.repository_id.clone().unwrap_or_default();
        let image = state.image.clone().unwrap_or_default();
        let digest = state.digest.clone().unwrap_or_default();
        let repos = data.client()?.repositories(region);
        let artifacts = match repos.list_artifacts(&id, &image, None).await {
            Ok(a) => a,
            Err(e) if e.is_not_found() => {
                tracing::info!(%region, id, image, "the destination image is gone; it is planned again");
                return Ok(None);
            }
            Err(e) => {
                return Err(api_error(
                    &format!(
                        "read the artifacts of image {image:?} of repository {id} in {region}"
                    ),
                    &e,
                )
                .into())
            }
        };
        let Some(artifact) = artifacts.iter().find(|a| a.digest == digest) else {
            tracing::info!(%region, id, image, digest, "the copied artifact is gone; it is planned again");
            return Ok(None);
        };
        let on_it: BTreeSet<&str> = artifact.tags.iter().map(String::as_str).collect();
        let tags = state.tags.take().unwrap_or_default();
        let (kept, moved): (Vec<String>, Vec<String>) =
            tags.into_iter().partition(|t| on_it.contains(t.as_str()));
        if !moved.is_empty() {
            tracing::info!(%region, id, image, digest, ?moved, "tags no longer name the copied digest");
        }
        state.tags = Some(kept);
        Ok(Some(Saved::new(state)))
    }

    async fn update(
        &self,
        data: &ProviderData,
        req: UpdateRequest<ImageCopyState>,
    ) -> Result<Saved<ImageCopyState>, Failure<ImageCopyState>> {
        let UpdateRequest { prior, planned, .. } = req;
        let changes_registry = planned.digest != prior.digest || planned.tags != prior.tags;
        if !changes_registry {
            // `delete_on_destroy` only: nothing to copy.
            return Ok(Saved::new(ImageCopyState {
                image_uri: prior.image_uri.clone(),
                ..planned
            }));
        }
        let planned = ImageCopyState {
            region: prior.region.clone(),
            ..planned
        };
        copy(data, planned)
            .await
            .map_err(|d| Failure::with_state(d, prior))
    }

    async fn delete(
        &self,
        data: &ProviderData,
        req: DeleteRequest<ImageCopyState>,
    ) -> Result<(), Diagnostics> {
        let state = req.prior;
        if state.delete_on_destroy != Some(true) {
            tracing::info!(
                image_uri = state.image_uri,
                "the copied image stays (delete_on_destroy is false)"
            );
            return Ok(());
        }
        let region = data.region(state.region.as_deref())?;
        let id = state.repository_id.clone().unwrap_or_default();
        let image = state.image.clone().unwrap_or_default();
        let digest = state.digest.clone().unwrap_or_default();
        let repos = data.client()?.repositories(region);
        let what = format!("{image}@{digest} of repository {id} in {region}");
        let artifacts = match repos.list_artifacts(&id, &image, None).await {
            Ok(a) => a,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(api_error(&format!("read the copied artifact {what}"), &e).into()),
        };
        let Some(artifact) = artifacts.iter().find(|a| a.digest == digest) else {
            return Ok(());
        };
        // Deleting the artifact deletes every tag on it: tags this copy does not manage
        // (another copy's, a deployment's) keep it.
        let ours: BTreeSet<&str> = state.tags.iter().flatten().map(String::as_str).collect();
        let others: Vec<String> = artifact
            .tags
            .iter()
            .filter(|t| !ours.contains(t.as_str()))
            .map(|t| format!("{t:?}"))
            .collect();
        if !others.is_empty() {
            return Err(Diagnostic::warning(
                "The copied artifact stays: other tags name it",
                format!(
                    "delete_on_destroy is true, but {what} also carries {}, which this copy does not manage; deleting it would take those tags with it. It stays; delete it in the vCR console, or remove those tags first, if it must go.",
                    others.join(", ")
                ),
            )
            .into());
        }
        match repos.delete_artifact(&id, &image, &digest).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(api_error(&format!("delete the copied artifact {what}"), &e).into()),
        }
    }

    async fn import(
        &self,
        _data: &ProviderData,
        _req: ImportRequest<NoIdentity>,
    ) -> Result<Saved<ImageCopyState>, Diagnostics> {
        Err(Diagnostic::error(
            "vcr_image_copy cannot be imported",
            "Declare it instead: applying a copy that is already in place moves nothing (each blob and manifest the destination holds is skipped) and only points the tags.",
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_source_must_be_pinned_by_digest() {
        assert!(source_rule(&format!("vcr.vngcloud.vn/100-app/web@{DIGEST}")).is_ok());
        assert!(source_rule(&format!("vcr.vngcloud.vn/100-app/web:1.0@{DIGEST}")).is_ok());
        let e = source_rule("vcr.vngcloud.vn/100-app/web:1.0").unwrap_err();
        assert!(e.contains("must be pinned by digest"), "{e}");
        assert!(source_rule("not a reference").is_err());
    }

    #[test]
    fn tags_are_checked_each_and_at_least_one() {
        let config = |tags: Vec<&str>| {
            let mut v = Value::Object(Default::default());
            v.set_attr(
                "tags",
                Value::Set(tags.into_iter().map(Value::string).collect()),
            );
            v
        };
        assert!(validate_tags(&config(vec!["1.0", "prod"])).is_empty());
        let d = validate_tags(&config(vec![]));
        assert!(d.has_errors());
        let d = validate_tags(&config(vec!["-bad"]));
        assert!(d.has_errors());
        assert!(format!("{d:?}").contains("tags"), "{d:?}");
    }

    #[test]
    fn the_state_mirrors_the_schema() {
        let ty = schema().value_type();
        assert_eq!(
            crate::tfplugin::state::type_mismatches::<ImageCopyState>(&ty),
            Vec::<String>::new()
        );
    }
}
