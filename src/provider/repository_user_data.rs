//! Data sources `vcr_repository_user` (one user, by id or name) and
//! `vcr_repository_users` (all users of a region): views of [`UserModel`]. Neither
//! reports secrets: vCR never returns them after creation.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::errors::api;
use super::model::repository_user::{permission_attributes, permission_name, UserModel};
use super::repository_data::missing_id_or_name;
use super::{lookup_region, ProviderData};
use crate::tfplugin::validators::quoted_list;
use crate::tfplugin::{
    Attribute, AttributeSet, Block, DataSource, Diagnostic, Diagnostics, Mode, ReadDataRequest,
    Schema, Type,
};
use crate::vcr::{Permission, Region, RobotAccount};

/// A user's permission on one repository, as reported.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PermissionInfo {
    pub repository_id: Option<String>,
    pub repository_name: Option<String>,
    pub permission: Option<String>,
}

/// One user as the data sources report it: the model and its permissions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UserInfo {
    #[serde(flatten)]
    pub user: UserModel,
    pub permissions: Option<Vec<PermissionInfo>>,
}

impl UserInfo {
    fn from_api(user: &RobotAccount, region: Region) -> Self {
        let mut permissions: Vec<PermissionInfo> = user
            .repo_permission_list
            .iter()
            .map(|rp| PermissionInfo {
                repository_id: Some(rp.repo_id.clone()),
                repository_name: Some(rp.repo_name.clone()),
                permission: Permission::from_policies(&rp.policy_dto_list)
                    .map(|p| permission_name(p).to_string()),
            })
            .collect();
        permissions.sort_by(|a, b| a.repository_name.cmp(&b.repository_name));
        UserInfo {
            user: UserModel::from_api(user, region),
            permissions: Some(permissions),
        }
    }

    /// The model's attributes and `permissions`, all computed.
    fn attributes() -> AttributeSet {
        let permission = permission_attributes().and(Attribute::computed(
            "repository_name",
            Type::String,
            "The name of the repository.",
        ));
        let described = format!(
            "The user's permissions, one per repository, sorted by repository name. Each has {}.",
            quoted_list(&permission.names(), "`", "and")
        );
        UserModel::attributes().and(Attribute::computed(
            "permissions",
            Type::list(permission.value_type()),
            &described,
        ))
    }
}

/// The data source `vcr_repository_user`.
#[derive(Debug, Default)]
pub struct RepositoryUserDataSource;

#[async_trait]
impl DataSource<ProviderData> for RepositoryUserDataSource {
    type State = UserInfo;

    fn type_name(&self) -> &'static str {
        "vcr_repository_user"
    }

    fn schema(&self) -> Schema {
        let attributes = UserInfo::attributes()
            .with("id", |a| {
                a.with_mode(Mode::OptionalComputed)
                    .validate(super::validators::user_lookup_id())
            })
            .with("name", |a| a.with_mode(Mode::OptionalComputed))
            .with("region", lookup_region);
        Schema::new(
            0,
            Block::new("Looks up one repository user by `id` or by `name`. The secret is not available: vCR shows it only at creation.")
                .attributes(attributes)
                .exactly_one_of(&["id", "name"]),
        )
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataRequest<UserInfo>,
    ) -> Result<UserInfo, Diagnostics> {
        let config = req.config.user;
        let region = data.region(config.region.as_deref())?;
        let users = data.client()?.users(region);
        let (found, key) = match (&config.id, &config.name) {
            (Some(id), _) => (users.find_by_id(id).await, id),
            (None, Some(name)) => (users.find_by_name(name).await, name),
            (None, None) => return Err(missing_id_or_name()),
        };
        let user = found
            .map_err(api(format!("look up repository user {key:?} in {region}")))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Repository user not found",
                    format!("No repository user has the id or name {key:?} in {region}."),
                ))
            })?;
        Ok(UserInfo::from_api(&user, region))
    }
}

/// The data source `vcr_repository_users`.
#[derive(Debug, Default)]
pub struct RepositoryUsersDataSource;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UsersQuery {
    pub region: Option<String>,
    pub name: Option<String>,
    pub users: Option<Vec<UserInfo>>,
}

#[async_trait]
impl DataSource<ProviderData> for RepositoryUsersDataSource {
    type State = UsersQuery;

    fn type_name(&self) -> &'static str {
        "vcr_repository_users"
    }

    fn schema(&self) -> Schema {
        let item = UserInfo::attributes();
        let region = UserModel::attributes()
            .into_iter()
            .find(|a| a.name == "region");
        let listed = format!(
            "The users found, sorted by name. Each has {}.",
            quoted_list(&item.names(), "`", "and")
        );
        Schema::new(
            0,
            Block::new("Lists the repository users of a region, optionally filtered by name. Secrets are not available.")
                .attribute(lookup_region(region.expect("the model has a region")))
                .attribute(Attribute::optional("name", Type::String, "Only users whose name contains this text."))
                .attribute(Attribute::computed("users", Type::list(item.value_type()), &listed)),
        )
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataRequest<UsersQuery>,
    ) -> Result<UsersQuery, Diagnostics> {
        let config = req.config;
        let region = data.region(config.region.as_deref())?;
        let mut found = data
            .client()?
            .users(region)
            .list_all(config.name.as_deref())
            .await
            .map_err(api(format!("list repository users in {region}")))?;
        found.retain(|u| config.name.as_deref().is_none_or(|n| u.name.contains(n)));
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(UsersQuery {
            region: Some(region.as_str().to_string()),
            users: Some(
                found
                    .iter()
                    .map(|u| UserInfo::from_api(u, region))
                    .collect(),
            ),
            ..config
        })
    }
}
