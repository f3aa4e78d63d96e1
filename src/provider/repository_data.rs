//! Data sources `vcr_repository` (one repository, by id or name) and
//! `vcr_repositories` (all repositories of a region, optionally filtered).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::errors::api;
use super::repository::{access_level_name, registry_url};
use super::ProviderData;
use crate::tfplugin::schema::rules;
use crate::tfplugin::{Attribute, Block, DataSource, Diagnostic, Diagnostics, Schema, Type, Value};
use crate::vcr::{AccessLevel, Region, Repository};

/// One repository as the data sources report it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RepositoryInfo {
    pub id: Option<String>,
    pub name: Option<String>,
    pub access_level: Option<String>,
    pub quota_limit_gb: Option<i64>,
    pub quota_used_gb: Option<f64>,
    pub image_count: Option<i64>,
    pub backend_name: Option<String>,
    pub registry_url: Option<String>,
    pub created_at: Option<String>,
}

impl RepositoryInfo {
    fn from_api(repo: &Repository, region: Region) -> Self {
        RepositoryInfo {
            id: Some(repo.uuid.clone()),
            name: Some(repo.name.clone()),
            access_level: Some(access_level_name(repo.access_level).to_string()),
            quota_limit_gb: Some(repo.quota_limit as i64),
            quota_used_gb: Some(repo.quota_used),
            image_count: Some(repo.image_count as i64),
            backend_name: Some(repo.backend_name.clone()),
            registry_url: Some(registry_url(region, &repo.backend_name)),
            created_at: Some(repo.created_at.clone()),
        }
    }
}

/// The attributes every reported repository has, all computed.
fn info_attributes(block: Block, id_and_name_settable: bool) -> Block {
    let (id, name) = if id_and_name_settable {
        (
            Attribute::optional_computed(
                "id",
                Type::String,
                "The repository's id. Set exactly one of `id` and `name`.",
            ),
            Attribute::optional_computed(
                "name",
                Type::String,
                "The repository's name. Set exactly one of `id` and `name`.",
            ),
        )
    } else {
        (
            Attribute::computed("id", Type::String, "The repository's id."),
            Attribute::computed("name", Type::String, "The repository's name."),
        )
    };
    block
        .attribute(id)
        .attribute(name)
        .attribute(Attribute::computed(
            "access_level",
            Type::String,
            "`private` or `public`.",
        ))
        .attribute(Attribute::computed(
            "quota_limit_gb",
            Type::Number,
            "The storage quota in GB.",
        ))
        .attribute(Attribute::computed(
            "quota_used_gb",
            Type::Number,
            "Storage the images use, in GB.",
        ))
        .attribute(Attribute::computed(
            "image_count",
            Type::Number,
            "How many images the repository holds.",
        ))
        .attribute(Attribute::computed(
            "backend_name",
            Type::String,
            "The name vCR uses in image paths: `<account id>-<name>`.",
        ))
        .attribute(Attribute::computed(
            "registry_url",
            Type::String,
            "`<registry host>/<backend_name>`, ready for `docker tag`.",
        ))
        .attribute(Attribute::computed(
            "created_at",
            Type::String,
            "When the repository was created.",
        ))
}

/// The data source `vcr_repository`.
#[derive(Debug, Default)]
pub struct RepositoryDataSource;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepositoryLookup {
    pub region: Option<String>,
    #[serde(flatten)]
    pub info: RepositoryInfo,
}

#[async_trait]
impl DataSource<ProviderData> for RepositoryDataSource {
    type State = RepositoryLookup;

    fn type_name(&self) -> &'static str {
        "vcr_repository"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            info_attributes(
                Block::new("Looks up one repository by `id` or by `name`.")
                    .attribute(super::lookup_region_attribute()),
                true,
            ),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        super::exactly_one_of_id_and_name(config)
    }

    async fn read(
        &self,
        data: &ProviderData,
        config: RepositoryLookup,
    ) -> Result<RepositoryLookup, Diagnostics> {
        let region = data.region(config.region.as_deref())?;
        let repos = data.client()?.repositories(region);
        let repo = match (&config.info.id, &config.info.name) {
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
            (None, None) => return Err(self.validate(&Value::Null)),
        };
        Ok(RepositoryLookup {
            region: Some(region.as_str().to_string()),
            info: RepositoryInfo::from_api(&repo, region),
        })
    }
}

/// The data source `vcr_repositories`.
#[derive(Debug, Default)]
pub struct RepositoriesDataSource;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepositoriesQuery {
    pub region: Option<String>,
    pub name: Option<String>,
    pub access_level: Option<String>,
    pub repositories: Option<Vec<RepositoryInfo>>,
}

#[async_trait]
impl DataSource<ProviderData> for RepositoriesDataSource {
    type State = RepositoriesQuery;

    fn type_name(&self) -> &'static str {
        "vcr_repositories"
    }

    fn schema(&self) -> Schema {
        let item = info_attributes(Block::new("A repository."), false).value_type();
        Schema::new(
            0,
            Block::new("Lists the repositories of a region, optionally filtered by name and access level.")
                .attribute(
                    super::lookup_region_attribute(),
                )
                .attribute(Attribute::optional(
                    "name",
                    Type::String,
                    "Only repositories whose name contains this text.",
                ))
                .attribute(
                    Attribute::optional("access_level", Type::String, "Only `private` or only `public` repositories.")
                        .validate(rules::one_of(&["private", "public"])),
                )
                .attribute(Attribute::computed(
                    "repositories",
                    Type::list(item),
                    "The repositories found, sorted by name. Each has `id`, `name`, `access_level`, `quota_limit_gb`, `quota_used_gb`, `image_count`, `backend_name`, `registry_url` and `created_at`.",
                )),
        )
    }

    async fn read(
        &self,
        data: &ProviderData,
        config: RepositoriesQuery,
    ) -> Result<RepositoriesQuery, Diagnostics> {
        let region = data.region(config.region.as_deref())?;
        let level = match config.access_level.as_deref() {
            Some("public") => Some(AccessLevel::Public),
            Some("private") => Some(AccessLevel::Private),
            _ => None,
        };
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
                    .map(|r| RepositoryInfo::from_api(r, region))
                    .collect(),
            ),
            ..config
        })
    }
}
