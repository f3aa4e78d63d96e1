//! The list resource `vcr_repository` (`terraform query`): the repositories of a
//! region, each as the `vcr_repository` resource would import it.

use async_trait::async_trait;

use super::errors::api;
use super::listing::{self, ListConfig};
use super::repository::{RepositoryResource, RepositoryState, TYPE_NAME};
use super::ProviderData;
use crate::tfplugin::{Diagnostics, ListItem, ListRequest, ListResource, ListSink, Schema};
use crate::vcr::ListRepositories;

/// The list resource `vcr_repository`.
#[derive(Debug, Default)]
pub struct RepositoryListResource;

#[async_trait]
impl ListResource<ProviderData> for RepositoryListResource {
    type Config = ListConfig;
    type Resource = RepositoryResource;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        listing::schema("repositories")
    }

    async fn list(
        &self,
        data: &ProviderData,
        req: ListRequest<ListConfig>,
        sink: &mut ListSink<RepositoryState>,
    ) -> Result<(), Diagnostics> {
        let config = req.config;
        let region = data.region(config.region.as_deref())?;
        let repos = data.client()?.repositories(region);
        let fetch = |page, size| {
            let query = ListRepositories {
                name: config.prefix().map(str::to_string),
                access_level: None,
                page,
                size,
            };
            async move { repos.list(&query).await }
        };
        let item = |repo: crate::vcr::Repository| {
            config.wants(&repo.name).then(|| ListItem {
                display_name: listing::display_name(&repo.name, region),
                state: RepositoryState::from_api(&repo, region, data, Some(false)),
            })
        };
        listing::send_pages(fetch, sink, |r| r.uuid.clone(), item)
            .await
            .map_err(api(format!("list the repositories of {region}")))
    }
}
