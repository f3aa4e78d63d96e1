//! Data sources `vcr_repository_user` (one user, by id or name) and
//! `vcr_repository_users` (all users of a region). Neither reports secrets: vCR
//! never returns them after creation.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::errors::api;
use super::expiry::parse_api_time;
use super::ProviderData;
use crate::tfplugin::{Attribute, Block, DataSource, Diagnostic, Diagnostics, Schema, Type, Value};
use crate::vcr::{Permission, Region, RobotAccount};

/// A user's permission on one repository, as reported.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PermissionInfo {
    pub repository_id: Option<String>,
    pub repository_name: Option<String>,
    pub permission: Option<String>,
}

/// One user as the data sources report it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UserInfo {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub backend_name: Option<String>,
    pub expires_at: Option<String>,
    pub expired: Option<bool>,
    pub created_at: Option<String>,
    pub permissions: Option<Vec<PermissionInfo>>,
}

impl UserInfo {
    fn from_api(user: &RobotAccount) -> Self {
        let now = time::OffsetDateTime::now_utc();
        let mut permissions: Vec<PermissionInfo> = user
            .repo_permission_list
            .iter()
            .map(|rp| PermissionInfo {
                repository_id: Some(rp.repo_id.clone()),
                repository_name: Some(rp.repo_name.clone()),
                permission: Permission::from_policies(&rp.policy_dto_list)
                    .map(|p| super::repository_user::permission_name(p).to_string()),
            })
            .collect();
        permissions.sort_by(|a, b| a.repository_name.cmp(&b.repository_name));
        UserInfo {
            id: Some(user.uuid.clone()),
            name: Some(user.name.clone()),
            description: user.description.clone().filter(|d| !d.is_empty()),
            enabled: Some(!user.disable),
            backend_name: Some(user.backend_name.clone()),
            expires_at: user.expired_at.clone(),
            expired: Some(
                user.expired_at
                    .as_deref()
                    .and_then(parse_api_time)
                    .is_some_and(|at| at <= now),
            ),
            created_at: Some(user.created_at.clone()),
            permissions: Some(permissions),
        }
    }
}

fn permission_type() -> Type {
    Block::new("")
        .attribute(Attribute::computed("repository_id", Type::String, ""))
        .attribute(Attribute::computed("repository_name", Type::String, ""))
        .attribute(Attribute::computed("permission", Type::String, ""))
        .value_type()
}

const PERMISSIONS_DESCRIPTION: &str =
    "The user's permissions, one per repository: `repository_id`, `repository_name` and `permission` (`push_pull` or `pull_only`).";
fn info_attributes(block: Block, id_and_name_settable: bool) -> Block {
    let (id, name) = if id_and_name_settable {
        (
            Attribute::optional_computed(
                "id",
                Type::String,
                "The user's id. Set exactly one of `id` and `name`.",
            ),
            Attribute::optional_computed(
                "name",
                Type::String,
                "The user's name. Set exactly one of `id` and `name`.",
            ),
        )
    } else {
        (
            Attribute::computed("id", Type::String, "The user's id."),
            Attribute::computed("name", Type::String, "The user's name."),
        )
    };
    block
        .attribute(id)
        .attribute(name)
        .attribute(Attribute::computed(
            "description",
            Type::String,
            "The user's description.",
        ))
        .attribute(Attribute::computed(
            "enabled",
            Type::Bool,
            "Whether the user may log in.",
        ))
        .attribute(Attribute::computed(
            "backend_name",
            Type::String,
            "The name to `docker login` with.",
        ))
        .attribute(Attribute::computed(
            "expires_at",
            Type::String,
            "When the user expires; null for never.",
        ))
        .attribute(Attribute::computed(
            "expired",
            Type::Bool,
            "Whether the user has expired.",
        ))
        .attribute(Attribute::computed(
            "created_at",
            Type::String,
            "When the user was created.",
        ))
        .attribute(Attribute::computed(
            "permissions",
            Type::list(permission_type()),
            PERMISSIONS_DESCRIPTION,
        ))
}

/// The data source `vcr_repository_user`.
#[derive(Debug, Default)]
pub struct RepositoryUserDataSource;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserLookup {
    pub region: Option<String>,
    #[serde(flatten)]
    pub info: UserInfo,
}

#[async_trait]
impl DataSource<ProviderData> for RepositoryUserDataSource {
    type State = UserLookup;

    fn type_name(&self) -> &'static str {
        "vcr_repository_user"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            info_attributes(
                Block::new("Looks up one repository user by `id` or by `name`. The secret is not available: vCR shows it only at creation.")
                    .attribute(
                        super::lookup_region_attribute(),
                    ),
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
        config: UserLookup,
    ) -> Result<UserLookup, Diagnostics> {
        let region = data.region(config.region.as_deref())?;
        let users = data.client()?.users(region);
        let (found, key) = match (&config.info.id, &config.info.name) {
            (Some(id), _) => (users.find_by_id(id).await, id),
            (None, Some(name)) => (users.find_by_name(name).await, name),
            (None, None) => return Err(self.validate(&Value::Null)),
        };
        let user = found
            .map_err(api(format!("look up repository user {key:?} in {region}")))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Repository user not found",
                    format!("No repository user has the id or name {key:?} in {region}."),
                ))
            })?;
        Ok(UserLookup {
            region: Some(region.as_str().to_string()),
            info: UserInfo::from_api(&user),
        })
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
        let item = info_attributes(Block::new("A repository user."), false).value_type();
        Schema::new(
            0,
            Block::new("Lists the repository users of a region, optionally filtered by name. Secrets are not available.")
                .attribute(
                    super::lookup_region_attribute(),
                )
                .attribute(Attribute::optional("name", Type::String, "Only users whose name contains this text."))
                .attribute(Attribute::computed(
                    "users",
                    Type::list(item),
                    "The users found, sorted by name. Each has `id`, `name`, `description`, `enabled`, `backend_name`, `expires_at`, `expired`, `created_at` and `permissions`.",
                )),
        )
    }

    async fn read(
        &self,
        data: &ProviderData,
        config: UsersQuery,
    ) -> Result<UsersQuery, Diagnostics> {
        let region: Region = data.region(config.region.as_deref())?;
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
            users: Some(found.iter().map(UserInfo::from_api).collect()),
            ..config
        })
    }
}
