//! Data sources `vcr_repository` (one repository, by id or name) and
//! `vcr_repositories` (all repositories of a region, optionally filtered): views of
//! [`RepositoryModel`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::errors::api;
use super::model::repository::{access_level_of, RepositoryModel, ACCESS_LEVELS};
use super::{lookup_region, ProviderData};
use crate::tfplugin::validators::{one_of, quoted_list};
use crate::tfplugin::{
    Attribute, Block, DataSource, Diagnostic, Diagnostics, Mode, ReadDataRequest, Schema, Type,
};

/// The data source `vcr_repository`.
#[derive(Debug, Default)]
pub struct RepositoryDataSource;

#[async_trait]
impl DataSource<ProviderData> for RepositoryDataSource {
    type State = RepositoryModel;

    fn type_name(&self) -> &'static str {
        "vcr_repository"
    }

    fn schema(&self) -> Schema {
        let attributes = RepositoryModel::attributes()
            .with("id", |a| {
                a.with_mode(Mode::OptionalComputed)
                    .validate(super::validators::repository_lookup_id())
            })
            .with("name", |a| a.with_mode(Mode::OptionalComputed))
            .with("region", lookup_region);
        Schema::new(
            0,
            Block::new("Looks up one repository by `id` or by `name`.")
                .attributes(attributes)
                .exactly_one_of(&["id", "name"]),
        )
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataRequest<RepositoryModel>,
    ) -> Result<RepositoryModel, Diagnostics> {
        let config = req.config;
        let region = data.region(config.region.as_deref())?;
        let repos = data.client()?.repositories(region);
        let repo = match (&config.id, &config.name) {
            (Some(id), _) => repos
                .get(id)
                .await
                .map_err(api(format!("read repository {id} in {region}")))?,
            (None, Some(name)) => repos
                .list_all(Some(name), None)
                .await
                .map_err(api(format!("look up repository {name:?} in {region}")))?
                .into_iter()
                .find(|r| &r.name == name)
                .ok_or_else(|| {
                    Diagnostics::from(Diagnostic::error(
                        "Repository not found",
                        format!("No repository is named {name:?} in {region}."),
                    ))
                })?,
            (None, None) => return Err(missing_id_or_name()),
        };
        let (url, _) = data.registry_url(region, &repo.backend_name, &repo.registry_url);
        Ok(RepositoryModel::from_api(&repo, region, url))
    }
}

/// The error when neither `id` nor `name` is set (validation says so first).
pub(crate) fn missing_id_or_name() -> Diagnostics {
    Diagnostic::error(
        "Missing id or name",
        "Set exactly one of \"id\" and \"name\".",
    )
    .into()
}

/// The data source `vcr_repositories`.
#[derive(Debug, Default)]
pub struct RepositoriesDataSource;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepositoriesQuery {
    pub region: Option<String>,
    pub name: Option<String>,
    pub access_level: Option<String>,
    pub repositories: Option<Vec<RepositoryModel>>,
}

#[async_trait]
impl DataSource<ProviderData> for RepositoriesDataSource {
    type State = RepositoriesQuery;

    fn type_name(&self) -> &'static str {
        "vcr_repositories"
    }

    fn schema(&self) -> Schema {
        let model = RepositoryModel::attributes();
        let region = model.clone().into_iter().find(|a| a.name == "region");
        let listed = format!(
            "The repositories found, sorted by name. Each has {}.",
            quoted_list(&model.names(), "`", "and")
        );
        Schema::new(
            0,
            Block::new(
                "Lists the repositories of a region, optionally filtered by name and access level.",
            )
            .attribute(lookup_region(region.expect("the model has a region")))
            .attribute(Attribute::optional(
                "name",
                Type::String,
                "Only repositories whose name contains this text.",
            ))
            .attribute(
                Attribute::optional(
                    "access_level",
                    Type::String,
                    "Only `private` or only `public` repositories.",
                )
                .validate(one_of(ACCESS_LEVELS)),
            )
            .attribute(Attribute::computed(
                "repositories",
                Type::list(model.value_type()),
                &listed,
            )),
        )
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataRequest<RepositoriesQuery>,
    ) -> Result<RepositoriesQuery, Diagnostics> {
        let config = req.config;
        let region = data.region(config.region.as_deref())?;
        let level = access_level_of(config.access_level.as_deref());
        let mut found = data
            .client()?
            .repositories(region)
            .list_all(config.name.as_deref(), level)
            .await
            .map_err(api(format!("list repositories in {region}")))?;
        // Filter here too: the service's own filters are loosely specified.
        found.retain(|r| {
            config.name.as_deref().is_none_or(|n| r.name.contains(n))
                && level.is_none_or(|l| r.access_level == l)
        });
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(RepositoriesQuery {
            region: Some(region.as_str().to_string()),
            repositories: Some(
                found
                    .iter()
                    .map(|r| {
                        let (url, _) = data.registry_url(region, &r.backend_name, &r.registry_url);
                        RepositoryModel::from_api(r, region, url)
                    })
                    .collect(),
            ),
            ..config
        })
    }
}
