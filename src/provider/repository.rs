//! `vcr_repository`: an image repository in vCR, the resource view of
//! [`RepositoryModel`].

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::config::REGIONS;
use super::errors::{api, api_error, cause};
use super::expiry::parse_api_time;
use super::importing::ImportLookup;
use super::model::repository::{RepositoryModel, ACCESS_LEVELS};
use super::model::{written_region, ObjectIdentity};
use super::recovery::{create_exactly_once, CreateFailure, Created};
use super::{validators, ProviderData};
use crate::tfplugin::modifiers::{AttributePlan, PlanModifier};
use crate::tfplugin::validators::{one_of, whole_at_least};
use crate::tfplugin::{
    Attribute, AttributePath, Block, CreateRequest, DeleteRequest, Diagnostic, Diagnostics,
    Failure, IdentitySchema, ImportRequest, Mode, Plan, ReadRequest, Resource, Saved, Schema, Type,
    UpdateRequest, Value,
};
use crate::vcr::{CreateRepository, Region, Repositories, Repository, VcrError};

pub const TYPE_NAME: &str = "vcr_repository";

/// The state of a `vcr_repository`: the model, and what only Terraform holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RepositoryState {
    #[serde(flatten)]
    pub repository: RepositoryModel,
    pub force_destroy: Option<bool>,
}

impl RepositoryState {
    /// The state as vCR reports the repository; `force_destroy` is Terraform's own.
    pub fn from_api(
        repo: &Repository,
        region: Region,
        data: &ProviderData,
        force_destroy: Option<bool>,
    ) -> Self {
        Self::saved(repo, region, data, force_destroy).state
    }

    /// [`Self::from_api`], with the warnings about where its images live (an override
    /// vCR disagrees with, a local API with vCR's production registry).
    pub fn saved(
        repo: &Repository,
        region: Region,
        data: &ProviderData,
        force_destroy: Option<bool>,
    ) -> Saved<Self> {
        let (url, warnings) = data.registry_url(region, &repo.backend_name, &repo.registry_url);
        Saved::new(RepositoryState {
            repository: RepositoryModel::from_api(repo, region, url),
            force_destroy: Some(force_destroy.unwrap_or(false)),
        })
        .with_diagnostics(warnings)
    }
}

/// vCR refuses a quota below what the images use: said at plan time.
#[derive(Debug, Clone, Copy)]
struct NotBelowUsage;

impl PlanModifier for NotBelowUsage {
    fn description(&self) -> String {
        "Updated in place; not below what the images already use.".into()
    }
    fn modify(&self, plan: &mut AttributePlan<'_>) {
        if !plan.changed() {
            return;
        }
        let quota = plan.planned.as_number().map(|n| n.as_f64());
        let used = plan.prior_state.attr("quota_used_gb").as_number();
        if let (Some(quota), Some(used)) = (quota, used.map(|n| n.as_f64())) {
            if quota < used {
                plan.diagnostics.push(Diagnostic::invalid_attribute(
                    AttributePath::root(plan.name),
                    format!(
                        "must not be below what the images already use: {used} GB as of the last refresh. \
                         Delete images first, or choose at least {} GB.",
                        used.ceil()
                    ),
                ));
            }
        }
    }
}

pub fn schema() -> Schema {
    let attributes = RepositoryModel::attributes()
        .with("id", |a| a.use_state_for_unknown())
        .with("name", |a| {
            a.with_mode(Mode::Required)
                .validate(validators::repository_name())
                .requires_replace()
        })
        .with("access_level", |a| {
            a.default(Value::from("private"))
                .note("vCR cannot change it in place.")
                .validate(one_of(ACCESS_LEVELS))
                .requires_replace()
        })
        .with("quota_limit_gb", |a| {
            a.with_mode(Mode::Required)
                .validate(whole_at_least(1))
                .plan(NotBelowUsage)
        })
        .with("region", |a| {
            a.with_mode(Mode::OptionalComputed)
                .note("Defaults to the provider's region.")
                .validate(one_of(REGIONS))
                .requires_replace()
                .use_state_for_unknown()
        })
        .with("backend_name", |a| a.use_state_for_unknown())
        .with("registry_url", |a| a.use_state_for_unknown())
        .with("quota_used_gb", |a| a.use_state_for_unknown())
        .with("image_count", |a| a.use_state_for_unknown())
        .with("created_at", |a| a.use_state_for_unknown())
        .and(
            Attribute::optional(
                "force_destroy",
                Type::Bool,
                "Delete the repository's images when destroying it. Without it, destroying a repository that still holds images fails and nothing is deleted.",
            )
            .default(Value::Bool(false)),
        );
    Schema::new(
        0,
        Block::new(
            "An image repository in vCR. Images are pushed to `<registry_url>/<image>:<tag>`.",
        )
        .attributes(attributes),
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
    data.region(state.repository.region.as_deref())
}

/// The error of a create whose name is taken. What is known is only that the name is
/// taken, and not by this resource: another block of this configuration may hold it
/// (a copied block), or it was made outside Terraform. Both ways out are given.
pub fn name_taken(object: &str, type_name: &str, name: &str, region: Region) -> Diagnostic {
    let plural = if object == "repository" {
        "Repository names are"
    } else {
        "Repository user names are"
    };
    Diagnostic::error(
        format!("A {object} named {name:?} already exists in {region}"),
        format!(
            "{plural} unique in an account and region, and this one is taken, but not by this resource. \
             If another resource block (in this configuration or another) already declares {name:?} in {region}, \
             give this block another name or remove one of the two blocks. \
             If it was made outside Terraform, import it to manage it here: \
             terraform import {type_name}.LABEL {region}/{name} (LABEL being this resource block's name), \
             or an import block with that id."
        ),
    )
}

/// What a failed create leaves: an error, and, when the repository may exist, a
/// state kept (Terraform marks it tainted) so that nothing is orphaned.
fn create_failure(
    failure: CreateFailure,
    planned: &RepositoryState,
    region: Region,
) -> Failure<RepositoryState> {
    let name = planned.repository.name.clone().unwrap_or_default();
    match failure {
        CreateFailure::Failed(e) => {
            api_error(&format!("create repository {name:?} in {region}"), &e).into()
        }
        CreateFailure::NameTaken { .. } => {
            name_taken("repository", TYPE_NAME, &name, region).into()
        }
        CreateFailure::Unknown { create, lookup } => {
            // The next apply finds the repository by name, if it exists, and replaces it.
            let mut pending = planned.clone();
            pending.repository.id = None;
            pending.repository.region = Some(region.as_str().to_string());
            Failure::with_state(
                Diagnostic::error(
                    format!("Could not tell whether repository {name:?} was created in {region}"),
                    format!(
                        "The create's answer was lost and vCR could not be asked afterwards. The repository is kept in \
                         state, marked tainted, so that nothing is orphaned: the next apply looks it up by name and \
                         replaces it.\n\nCreate error: {create}\nLookup error: {lookup}"
                    ),
                ),
                pending,
            )
        }
    }
}

#[async_trait]
impl Resource<ProviderData> for RepositoryResource {
    type State = RepositoryState;
    type Identity = ObjectIdentity;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(ObjectIdentity::schema("repository"))
    }

    fn identity(&self, state: &RepositoryState) -> Option<ObjectIdentity> {
        state.repository.identity()
    }

    fn generate_config(
        &self,
        data: Option<&ProviderData>,
        mut config: RepositoryState,
    ) -> Result<RepositoryState, Diagnostics> {
        let provider_region = data.map(|d| d.settings.region.as_str());
        config.repository.region = written_region(config.repository.region.take(), provider_region);
        Ok(config)
    }

    async fn modify_plan(
        &self,
        data: Option<&ProviderData>,
        plan: &mut Plan,
    ) -> Result<(), Diagnostics> {
        // A repository without its own region lives in the provider's.
        super::plan_needs_credentials(data, plan)?;
        super::plan_default_region(data, plan);
        if plan.is_create() {
            // A new repository holds nothing: known now.
            plan.set("quota_used_gb", Value::int(0));
            plan.set("image_count", Value::int(0));
        }
        Ok(())
    }

    async fn create(
        &self,
        data: &ProviderData,
        req: CreateRequest<RepositoryState>,
    ) -> Result<Saved<RepositoryState>, Failure<RepositoryState>> {
        let planned = req.planned;
        let region = state_region(data, &planned)?;
        let repos = data.client()?.repositories(region);
        let name = planned.repository.name.clone().unwrap_or_default();
        let create = CreateRepository {
            name: name.clone(),
            is_public: planned.repository.access_level.as_deref() == Some("public"),
            quota_limit_gb: planned.repository.quota_limit_gb.unwrap_or(1).max(1) as u64,
        };
        tracing::info!(%region, name, "creating repository");
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
        match outcome {
            Ok(Created::Answered(repo) | Created::Recovered(repo)) => Ok(RepositoryState::saved(
                &repo,
                region,
                data,
                planned.force_destroy,
            )),
            Err(failure) => Err(create_failure(failure, &planned, region)),
        }
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadRequest<RepositoryState>,
    ) -> Result<Option<Saved<RepositoryState>>, Diagnostics> {
        let state = req.state;
        let region = state_region(data, &state)?;
        let repos = data.client()?.repositories(region);
        let name = state.repository.name.clone().unwrap_or_default();
        let fresh =
            |repo: &Repository| RepositoryState::saved(repo, region, data, state.force_destroy);
        let Some(id) = state.repository.id.as_deref() else {
            // A create whose outcome was unknown: the repository, if any, has its name.
            let found = find_by_name(&repos, &name)
                .await
                .map_err(api(format!("look up repository {name:?} in {region}")))?;
            return Ok(found.as_ref().map(fresh));
        };
        match repos.get(id).await {
            Ok(repo) => Ok(Some(fresh(&repo))),
            Err(e) if e.is_not_found() => {
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
    ) -> Result<Saved<RepositoryState>, Failure<RepositoryState>> {
        let UpdateRequest { prior, planned, .. } = req;
        let region = state_region(data, &prior)?;
        let id = prior.repository.id.clone().unwrap_or_default();
        let mut state = RepositoryState {
            force_destroy: planned.force_destroy,
            ..prior.clone()
        };
        if planned.repository.quota_limit_gb != prior.repository.quota_limit_gb {
            let quota = planned.repository.quota_limit_gb.unwrap_or(1).max(1) as u64;
            tracing::info!(%region, id, quota, "updating repository quota");
            let repo = data
                .client()?
                .repositories(region)
                .set_quota(&id, quota)
                .await
                .map_err(|e| {
                    let what = format!("set the quota of repository {id} to {quota} GB");
                    Failure::with_state(api_error(&what, &e), prior.clone())
                })?;
            state = RepositoryState::from_api(&repo, region, data, planned.force_destroy);
            // Usage figures were planned as they stood; they refresh on the next read.
            state.repository.quota_used_gb = prior.repository.quota_used_gb;
            state.repository.image_count = prior.repository.image_count;
        }
        Ok(state.into())
    }

    async fn delete(
        &self,
        data: &ProviderData,
        req: DeleteRequest<RepositoryState>,
    ) -> Result<(), Diagnostics> {
        let state = req.prior;
        let region = state_region(data, &state)?;
        let name = state.repository.name.clone().unwrap_or_default();
        let repos = data.client()?.repositories(region);
        let id = match state.repository.id.clone() {
            Some(id) => id,
            None => match find_by_name(&repos, &name)
                .await
                .map_err(api(format!("look up repository {name:?} in {region}")))?
            {
                Some(repo) => repo.uuid,
                None => return Ok(()),
            },
        };
        if state.force_destroy == Some(true) && !delete_images(&repos, &id, &name).await? {
            return Ok(());
        }
        match repos.delete(&id).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() && confirm_gone(&repos, &id, &name).await.unwrap_or(false) => Ok(()),
            Err(e) if e.is_conflict() => Err(Diagnostic::error(
                format!("Repository {name:?} in {region} still holds images"),
                format!(
                    "vCR does not delete a repository that holds images, and {name:?} ({id}, {region}) was not deleted. \
                     Delete its images first, or set force_destroy = true on the repository and save the change to \
                     the state alone, without re-creating what this destroy already removed: \
                     terraform apply -target={TYPE_NAME}.LABEL (LABEL being this resource block's name); \
                     then run terraform destroy again.\n\n{}",
                    cause(&e)
                ),
            )
            .into()),
            Err(e) => Err(api_error(&format!("delete repository {name:?} in {region}"), &e).into()),
        }
    }

    async fn import(
        &self,
        data: &ProviderData,
        req: ImportRequest<ObjectIdentity>,
    ) -> Result<Saved<RepositoryState>, Diagnostics> {
        let lookup = ImportLookup::of(req.target, data, "repository")?;
        let (region, key, names_too) = (lookup.region, lookup.key.as_str(), lookup.names_too);
        let repos = data.client()?.repositories(region);
        let repo = find_for_import(&repos, key, names_too)
            .await?
            .ok_or_else(|| {
                let other = if region == Region::Hcm { "HAN" } else { "HCM" };
                let hint = if names_too {
                    format!(" If it lives in the other region, prefix the id with it, e.g. `{other}/{key}`.")
                } else {
                    String::new()
                };
                let what = lookup.compared_with();
                Diagnostics::from(Diagnostic::error(
                    "Cannot import a repository that does not exist",
                    format!("No repository has the {what} {key:?} in {region}.{hint}"),
                ))
            })?;
        Ok(RepositoryState::saved(&repo, region, data, Some(false)))
    }
}

/// The repository an import names: by id, or (for an import id) by name when no
/// repository has that id.
async fn find_for_import(
    repos: &Repositories<'_>,
    key: &str,
    names_too: bool,
) -> Result<Option<Repository>, Diagnostics> {
    let region = repos.region();
    match repos.get(key).await {
        Ok(repo) => Ok(Some(repo)),
        Err(e) if e.is_not_found() || matches!(e, VcrError::Invalid { .. }) => {
            if !names_too {
                return Ok(None);
            }
            find_by_name(repos, key)
                .await
                .map_err(api(format!("look up repository {key:?} in {region}")))
        }
        Err(e) => Err(api_error(&format!("read repository {key:?} in {region}"), &e).into()),
    }
}

/// Deletes every image of repository `id` (for `force_destroy`). `false` when the
/// repository turned out to be gone already.
async fn delete_images(
    repos: &Repositories<'_>,
    id: &str,
    name: &str,
) -> Result<bool, Diagnostics> {
    let images = match repos.list_images(id).await {
        Ok(images) => images,
        Err(e) if e.is_not_found() && confirm_gone(repos, id, name).await.unwrap_or(false) => {
            return Ok(false)
        }
        Err(e) => {
            return Err(api_error(&format!("list the images of repository {name:?}"), &e).into())
        }
    };
    tracing::info!(region = %repos.region(), id, count = images.len(), "force_destroy: deleting images first");
    for image in images {
        match repos.delete_image(id, &image.name).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                let what = format!("delete image {:?} of repository {name:?}", image.name);
                return Err(api_error(&what, &e).into());
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_is_a_view_of_the_model() {
        let schema = schema();
        let model = RepositoryModel::attributes();
        for name in model.names() {
            assert!(schema.block.get_attribute(name).is_some(), "{name} missing");
        }
        let name = schema.block.get_attribute("name").unwrap();
        let doc = schema.block.documentation(name);
        assert!(doc.starts_with("The repository name, unique"), "{doc}");
        assert!(
            doc.contains("6 to 20 characters") && doc.contains("replaces the resource"),
            "{doc}"
        );
        let quota = schema.block.get_attribute("quota_limit_gb").unwrap();
        assert!(schema
            .block
            .documentation(quota)
            .contains("not below what the images already use"));
    }
}
