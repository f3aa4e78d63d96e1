//! The list resource `vcr_repository_user` (`terraform query`): the repository users
//! of a region, each as the `vcr_repository_user` resource would import it (its
//! permissions included, its secret unknown).

use async_trait::async_trait;

use super::errors::api;
use super::listing::{self, ListConfig};
use super::repository_user::{imported_state, RepositoryUserResource, UserState, TYPE_NAME};
use super::ProviderData;
use crate::tfplugin::{Diagnostics, ListItem, ListRequest, ListResource, ListSink, Schema};

/// The list resource `vcr_repository_user`.
#[derive(Debug, Default)]
pub struct RepositoryUserListResource;

#[async_trait]
impl ListResource<ProviderData> for RepositoryUserListResource {
    type Config = ListConfig;
    type Resource = RepositoryUserResource;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        listing::schema("repository users")
    }

    async fn list(
        &self,
        data: &ProviderData,
        req: ListRequest<ListConfig>,
        sink: &mut ListSink<UserState>,
    ) -> Result<(), Diagnostics> {
        let config = req.config;
        let region = data.region(config.region.as_deref())?;
        let users = data.client()?.users(region);
        let prefix = config.prefix();
        let fetch = |page, size| async move { users.list(prefix, page, size).await };
        let item = |user: crate::vcr::RobotAccount| {
            config.wants(&user.name).then(|| ListItem {
                display_name: listing::display_name(&user.name, region),
                state: imported_state(&user, region),
            })
        };
        listing::send_pages(fetch, sink, |u| u.uuid.clone(), item)
            .await
            .map_err(api(format!("list the repository users of {region}")))
    }
}
