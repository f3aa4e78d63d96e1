//! `vcr_repository`: an image repository in vCR.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use std::time::Duration;

use super::errors::{api, api_error};
use super::expiry::parse_api_time;
use super::recovery::{create_exactly_once, CreateFailure, Created};
use super::{validators, ImportId, ProviderData};
use crate::tfplugin::schema::rules;
use crate::tfplugin::{
    Attribute, Block, CreateRequest, Diagnostic, Diagnostics, Failure, Plan, Resource, Schema,
    Type, UpdateRequest, Value,
};
use crate::vcr::{AccessLevel, CreateRepository, Region, Repositories, Repository, VcrError};

pub const TYPE_NAME: &str = "vcr_repository";

/// The state of a `vcr_repository`, attribute for attribute.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RepositoryState {
    pub id: Option<String>,
    pub name: Option<String>,
    pub access_level: Option<String>,
    pub quota_limit_gb: Option<i64>,
    pub region: Option<String>,
    pub force_destroy: Option<bool>,
    pub backend_name: Option<String>,
    pub registry_url: Option<String>,
    pub quota_used_gb: Option<f64>,
    pub image_count: Option<i64>,
    pub created_at: Option<String>,
}

impl RepositoryState {
    /// The state as vCR reports the repository; `force_destroy` is Terraform's own.
    pub fn from_api(repo: &Repository, region: Region, force_destroy: bool) -> Self {
        RepositoryState {
            id: Some(repo.uuid.clone()),
            name: Some(repo.name.clone()),
            access_level: Some(access_level_name(repo.access_level).to_string()),
            quota_limit_gb: Some(repo.quota_limit as i64),
            region: Some(region.as_str().to_string()),
            force_destroy: Some(force_destroy),
            backend_name: Some(repo.backend_name.clone()),
            registry_url: Some(registry_url(region, &repo.backend_name)),
            quota_used_gb: Some(repo.quota_used),
            image_count: Some(repo.image_count as i64),
            created_at: Some(repo.created_at.clone()),
        }
    }
}

pub fn access_level_name(level: AccessLevel) -> &'static str {
    if level.is_public() {
        "public"
    } else {
        "private"
    }
}

/// Where images of the repository go: `<registry host>/<backend name>`, ready for
/// `docker tag`.
pub fn registry_url(region: Region, backend_name: &str) -> String {
    format!("{}/{}", region.registry_host(), backend_name)
}

pub fn schema() -> Schema {
    Schema::new(
        0,
        Block::new("An image repository in vCR. Images are pushed to `<registry_url>/<image>:<tag>`.")
            .attribute(
                Attribute::computed("id", Type::String, "The repository's id in vCR (`repo-...`).").stable(),
            )
            .attribute(
                Attribute::required(
                    "name",
                    Type::String,
                    "The repository name: 6 to 20 characters of `a-z 0-9 _ -`, starting with a letter or a digit, unique in the account and region. Changing it replaces the repository.",
                )
                .force_new()
                .validate(validators::repository_name),
            )
            .attribute(
                Attribute::optional(
                    "access_level",
                    Type::String,
                    "`private` (the default: pulling needs credentials) or `public` (anyone may pull). vCR cannot change it in place: changing it replaces the repository.",
                )
                .default(Value::from("private"))
                .force_new()
                .validate(rules::one_of(&["private", "public"])),
            )
            .attribute(
                Attribute::required(
                    "quota_limit_gb",
                    Type::Number,
                    "The storage quota in whole GB, at least 1 and not below what the images already use. Updated in place.",
                )
                .validate(rules::whole_at_least(1)),
            )
            .attribute(
                Attribute::optional_computed(
                    "region",
                    Type::String,
                    "The region of the repository, `HCM` or `HAN`; defaults to the provider's region. Changing it replaces the repository.",
                )
                .force_new()
                .validate(rules::one_of(super::config::REGIONS)),
            )
            .attribute(
                Attribute::optional(
                    "force_destroy",
                    Type::Bool,
                    "Delete the repository's images when destroying it. Without it (the default, `false`), destroying a repository that still holds images fails and nothing is deleted.",
                )
                .default(Value::Bool(false)),
            )
            .attribute(
                Attribute::computed(
                    "backend_name",
                    Type::String,
                    "The name vCR uses in image paths: `<account id>-<name>`.",
                )
                .stable(),
            )
            .attribute(
                Attribute::computed(
                    "registry_url",
                    Type::String,
                    "Where the repository's images go, `<registry host>/<backend_name>`, ready for `docker tag` and `docker push`.",
                )
                .stable(),
            )
            .attribute(Attribute::computed(
                "quota_used_gb",
                Type::Number,
                "Storage the images use, in GB, as of the last refresh.",
            ))
            .attribute(Attribute::computed(
                "image_count",
                Type::Number,
                "How many images the repository holds, as of the last refresh.",
            ))
            .attribute(
                Attribute::computed("created_at", Type::String, "When the repository was created, as vCR reports it.").stable(),
            ),
    )
}

/// The pause before a create is sent again after a lost answer (times the attempt).
const RESEND_BACKOFF: Duration = Duration::from_millis(500);

/// The repository named exactly `name`, if any.
async fn find_by_name(
    repos: &Repositories<'_>,
    name: &str,
) -> Result<Option<Repository>, VcrError> {
    Ok(repos
        .list_all(Some(name), None)
        .await?
        .into_iter()
        .find(|r| r.name == name))
}

/// Whether a 404 for repository `id` means it is gone. A 404 can also come from a
/// wrong endpoint (a missing path prefix answers "no such endpoint"): dropping the
/// repository from state then would orphan it. Listing by name, which succeeds only
/// on a right endpoint, tells the two apart.
async fn confirm_gone(repos: &Repositories<'_>, id: &str, name: &str) -> Result<bool, VcrError> {
    let listed = repos.list_all(Some(name), None).await?;
    Ok(!listed.iter().any(|r| r.uuid == id))
}

/// The `vcr_repository` resource.
#[derive(Debug, Default)]
pub struct RepositoryResource;

fn state_region(data: &ProviderData, state: &RepositoryState) -> Result<Region, Diagnostics> {
    data.region(state.region.as_deref())
}

#[async_trait]
impl Resource<ProviderData> for RepositoryResource {
    type State = RepositoryState;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn modify_plan(
        &self,
        data: Option<&ProviderData>,
        plan: &mut Plan,
    ) -> Result<(), Diagnostics> {
        // A repository without its own region lives in the provider's.
        super::plan_default_region(data, plan);
        if plan.is_create() {
            // A new repository holds nothing: known now.
            plan.set("quota_used_gb", Value::int(0));
            plan.set("image_count", Value::int(0));
        }
        // vCR refuses a quota below what the images use: say so at plan time.
        if plan.is_update() && plan.changed("quota_limit_gb") {
            let quota = plan.get("quota_limit_gb").as_number().map(|n| n.as_f64());
            let used = plan
                .prior
                .attr("quota_used_gb")
                .as_number()
                .map(|n| n.as_f64());
            if let (Some(quota), Some(used)) = (quota, used) {
                if quota < used {
                    return Err(Diagnostic::invalid_attribute(
                        crate::tfplugin::AttributePath::root("quota_limit_gb"),
                        format!(
                            "must not be below what the images already use: {used} GB as of the last refresh. \
                             Delete images first, or choose at least {} GB.",
                            used.ceil()
                        ),
                    )
                    .into());
                }
            }
        }
        Ok(())
    }

    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest<RepositoryState>,
    ) -> Result<RepositoryState, Failure<RepositoryState>> {
        let planned = req.planned;
        let region = state_region(data, &planned)?;
        let client = data.client()?;
        let name = planned.name.clone().unwrap_or_default();
        let create = CreateRepository {
            name: name.clone(),
            is_public: planned.access_level.as_deref() == Some("public"),
            quota_limit_gb: planned.quota_limit_gb.unwrap_or(1).max(1) as u64,
        };
        tracing::info!(%region, name, "creating repository");
        let repos = client.repositories(region);
        let outcome = create_exactly_once(
            &format!("repository {name:?} in {region}"),
            data.settings.max_retries,
            RESEND_BACKOFF,
            || repos.create(&create),
            || async {
                Ok(find_by_name(&repos, &name).await?.map(|r| {
                    let created = parse_api_time(&r.created_at);
                    (r, created)
                }))
            },
        )
        .await;
        let force_destroy = planned.force_destroy.unwrap_or(false);
        match outcome {
            Ok(Created::Answered(repo) | Created::Recovered(repo)) => Ok(RepositoryState::from_api(&repo, region, force_destroy)),
            Err(CreateFailure::Failed(e)) => Err(api_error(&format!("create repository {name:?} in {region}"), &e).into()),
            Err(CreateFailure::NameTaken { .. }) => Err(Diagnostic::error(
                format!("A repository named {name:?} already exists in {region}"),
                format!(
                    "Repository names are unique in an account and region, and this one is not in this Terraform state. \
                     To manage it here, import it (terraform import <address> {region}/{name}); otherwise choose another name."
                ),
            )
            .into()),
            Err(CreateFailure::Unknown { create, lookup }) => {
                // Keep what we know in state (Terraform marks it tainted): the next
                // apply finds the repository by name, if it exists, and replaces it.
                let pending = RepositoryState {
                    id: None,
                    region: Some(region.as_str().to_string()),
                    ..planned.clone()
                };
                Err(Failure::with_state(
                    Diagnostic::error(
                        format!("Could not tell whether repository {name:?} was created in {region}"),
                        format!(
                            "The create's answer was lost and vCR could not be asked afterwards. The repository is kept in \
                             state, marked tainted, so that nothing is orphaned: the next apply looks it up by name and \
                             replaces it.\n\nCreate error: {create}\nLookup error: {lookup}"
                        ),
                    ),
                    pending,
                ))
            }
        }
    }

    async fn read(
        &self,
        data: &ProviderData,
        state: RepositoryState,
    ) -> Result<Option<RepositoryState>, Diagnostics> {
        let region = state_region(data, &state)?;
        let repos = data.client()?.repositories(region);
        let Some(id) = state.id.as_deref() else {
            // A create whose outcome was unknown: the repository, if any, has its name.
            let name = state.name.clone().unwrap_or_default();
            let found = find_by_name(&repos, &name)
                .await
                .map_err(api(format!("look up repository {name:?} in {region}")))?;
            return Ok(found.map(|repo| {
                RepositoryState::from_api(&repo, region, state.force_destroy.unwrap_or(false))
            }));
        };
        match repos.get(id).await {
            Ok(repo) => Ok(Some(RepositoryState::from_api(
                &repo,
                region,
                state.force_destroy.unwrap_or(false),
            ))),
            Err(e) if e.is_not_found() => {
                let name = state.name.clone().unwrap_or_default();
                if confirm_gone(&repos, id, &name)
                    .await
                    .map_err(api(format!("read repository {id} in {region}")))?
                {
                    tracing::info!(%region, id, "repository is gone from vCR; it leaves the state");
                    Ok(None)
                } else {
                    Err(api_error(&format!("read repository {id} in {region}"), &e).into())
                }
            }
            Err(e) => Err(api_error(&format!("read repository {id} in {region}"), &e).into()),
        }
    }

    async fn update(
        &self,
        data: &ProviderData,
        req: UpdateRequest<RepositoryState>,
    ) -> Result<RepositoryState, Failure<RepositoryState>> {
        let UpdateRequest { prior, planned, .. } = req;
        let region = state_region(data, &prior)?;
        let id = prior.id.clone().unwrap_or_default();
        let mut state = RepositoryState {
            force_destroy: planned.force_destroy,
            ..prior.clone()
        };
        if planned.quota_limit_gb != prior.quota_limit_gb {
            let quota = planned.quota_limit_gb.unwrap_or(1).max(1) as u64;
            tracing::info!(%region, id, quota, "updating repository quota");
            let repo = data
                .client()?
                .repositories(region)
                .set_quota(&id, quota)
                .await
                .map_err(|e| {
                    Failure::with_state(
                        api_error(
                            &format!("set the quota of repository {id} to {quota} GB"),
                            &e,
                        ),
                        prior.clone(),
                    )
                })?;
            let fresh =
                RepositoryState::from_api(&repo, region, planned.force_destroy.unwrap_or(false));
            // Usage figures were planned as they stood; they refresh on the next read.
            state = RepositoryState {
                quota_used_gb: prior.quota_used_gb,
                image_count: prior.image_count,
                ..fresh
            };
        }
        Ok(state)
    }

    async fn delete(&self, data: &ProviderData, state: RepositoryState) -> Result<(), Diagnostics> {
        let region = state_region(data, &state)?;
        let name = state.name.clone().unwrap_or_default();
        let repos = data.client()?.repositories(region);
        let id = match state.id.clone() {
            Some(id) => id,
            None => match find_by_name(&repos, &name)
                .await
                .map_err(api(format!("look up repository {name:?} in {region}")))?
            {
                Some(repo) => repo.uuid,
                None => return Ok(()),
            },
        };
        if state.force_destroy == Some(true) {
            let images = match repos.list_images(&id).await {
                Ok(images) => images,
                Err(e)
                    if e.is_not_found()
                        && confirm_gone(&repos, &id, &name).await.unwrap_or(false) =>
                {
                    return Ok(())
                }
                Err(e) => {
                    return Err(
                        api_error(&format!("list the images of repository {name:?}"), &e).into(),
                    )
                }
            };
            tracing::info!(%region, id, count = images.len(), "force_destroy: deleting images first");
            for image in images {
                match repos.delete_image(&id, &image.name).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => {
                        return Err(api_error(
                            &format!("delete image {:?} of repository {name:?}", image.name),
                            &e,
                        )
                        .into())
                    }
                }
            }
        }
        match repos.delete(&id).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() && confirm_gone(&repos, &id, &name).await.unwrap_or(false) => Ok(()),
            Err(e) if e.is_conflict() => Err(Diagnostic::error(
                format!("Repository {name:?} still holds images"),
                format!(
                    "vCR does not delete a repository that holds images, and nothing was deleted. \
                     Delete the images first, or set force_destroy = true on the repository, apply, \
                     and destroy again.\n\nError: {e}"
                ),
            )
            .into()),
            Err(e) => Err(api_error(&format!("delete repository {name:?} in {region}"), &e).into()),
        }
    }

    async fn import(
        &self,
        data: &ProviderData,
        raw: &str,
    ) -> Result<(RepositoryState, Diagnostics), Diagnostics> {
        let import = ImportId::parse(raw, "repository")?;
        let region = import.region.unwrap_or(data.region(None)?);
        let repos = data.client()?.repositories(region);
        let found = match repos.get(&import.key).await {
            Ok(repo) => Some(repo),
            Err(e) if e.is_not_found() || matches!(e, crate::vcr::VcrError::Invalid { .. }) => {
                repos
                    .list_all(Some(&import.key), None)
                    .await
                    .map_err(api(format!(
                        "look up repository {:?} in {region}",
                        import.key
                    )))?
                    .into_iter()
                    .find(|r| r.name == import.key)
            }
            Err(e) => {
                return Err(
                    api_error(&format!("read repository {:?} in {region}", import.key), &e).into(),
                )
            }
        };
        let repo = found.ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Cannot import a repository that does not exist",
                format!(
                    "No repository has the id or name {:?} in {region}. If it lives in the other region, prefix the id with it, e.g. `{}/{}`.",
                    import.key,
                    if region == Region::Hcm { "HAN" } else { "HCM" },
                    import.key
                ),
            ))
        })?;
        Ok((
            RepositoryState::from_api(&repo, region, false),
            Diagnostics::new(),
        ))
    }
}
