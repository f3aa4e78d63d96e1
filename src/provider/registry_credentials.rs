//! `ephemeral "vcr_registry_credentials"`: `docker login` credentials for one Terraform
//! run, never written to plan or state. Open creates a short-lived repository user (a
//! view of [`UserModel`], granted like `vcr_repository_user`), Close deletes it; what
//! Close cannot delete expires a day after it was made.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::config::REGIONS;
use super::model::repository_user::UserModel;
use super::repository_user::{
    permission_blocks, permission_requests, random_name, validate_permission_blocks,
    RepositoryPermission,
};
use super::short_lived_user::{create_user, find_user, not_deleted_warning};
use super::ProviderData;
use crate::tfplugin::validators::one_of;
use crate::tfplugin::{
    Attribute, Block, Diagnostic, Diagnostics, EphemeralRequest, EphemeralResource, Mode,
    OpenRequest, Opened, Schema, Type, Value,
};
use crate::vcr::{CreateUser, Region};

pub const TYPE_NAME: &str = "vcr_registry_credentials";

/// The prefix of the users this resource makes; with 7 random characters the name has
/// 14, the most vCR allows.
pub const NAME_PREFIX: &str = "tf-eph-";
const NAME_RANDOM_CHARS: usize = 7;

/// vCR's shortest expiry, in days: long enough for any run, short enough that a user
/// Close could not delete does not linger.
pub const LIFETIME_DAYS: u32 = 1;

/// The key of the opened user in private data.
const PRIVATE_USER: &str = "user";

/// The configuration and the result of `vcr_registry_credentials`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CredentialsState {
    pub region: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub repository_permission: Vec<RepositoryPermission>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub registry: Option<String>,
    pub expires_at: Option<String>,
}

/// What Close needs of the user Open made, kept in private data (never shown).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenedUser {
    pub id: String,
    pub name: String,
    pub region: String,
    pub expires_at: Option<String>,
}

/// The registry host the credentials log in to: the one vCR reports for the first
/// repository they are given (the override in `endpoints` when set), else the
/// region's default.
async fn registry_host(
    data: &ProviderData,
    region: Region,
    blocks: &[RepositoryPermission],
) -> String {
    let first = blocks.iter().find_map(|b| b.repository_id.as_deref());
    let names = match (first, data.client()) {
        (Some(id), Ok(client)) if data.settings.registry_override(region).is_none() => {
            client.repositories(region).names(id).await.ok()
        }
        _ => None,
    };
    match names {
        Some(repo) => data.repository_registry_host(region, &repo),
        None => data.registry_host(region).to_string(),
    }
}

pub fn schema() -> Schema {
    let attributes = UserModel::attributes()
        .without("id")
        .without("name")
        .without("enabled")
        .without("backend_name")
        .without("expired")
        .without("created_at")
        .with("region", |a| {
            a.with_mode(Mode::OptionalComputed)
                .note("Defaults to the provider's region; the credentials work on that region's registry.")
                .validate(one_of(REGIONS))
        })
        .with("description", |a| {
            a.with_mode(Mode::Optional)
                .note("Shown in the vCR console beside the short-lived user.")
        })
        .with("expires_at", |mut a| {
            // The model's "null for never" does not apply: these users always expire.
            a.description = "When the short-lived user expires, as vCR reports it: a day after the credentials were opened (vCR's shortest expiry).".into();
            a
        })
        .and(Attribute::computed(
            "username",
            Type::String,
            "The name to `docker login` with: the backend name (`<account id>-<name>`) of the short-lived user, whose name is `tf-eph-` and 7 random characters.",
        ))
        .and(
            Attribute::computed(
                "password",
                Type::String,
                "The password to `docker login` with (the user's secret).",
            )
            .sensitive(),
        )
        .and(Attribute::computed(
            "registry",
            Type::String,
            "The registry host of the region, `host` or `host:port`, as `docker login` and image names use it. It follows the provider's `endpoints` (`registry_hcm`, `registry_han`).",
        ));
    Schema::new(
        0,
        Block::new("Credentials for `docker login` that live for one Terraform run and are never stored in plan or state: a short-lived repository user, created when Terraform opens the credentials and deleted when it closes them.")
            .attributes(attributes)
            .block(permission_blocks()),
    )
}

/// The `vcr_registry_credentials` ephemeral resource.
#[derive(Debug, Default)]
pub struct RegistryCredentials;

#[async_trait]
impl EphemeralResource<ProviderData> for RegistryCredentials {
    type State = CredentialsState;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_permission_blocks(config)
    }

    async fn open(
        &self,
        data: &ProviderData,
        req: OpenRequest<CredentialsState>,
    ) -> Result<Opened<CredentialsState>, Diagnostics> {
        let config = req.config;
        let region = data.region(config.region.as_deref())?;
        let users = data.client()?.users(region);
        let create = CreateUser {
            name: random_name(NAME_PREFIX, NAME_RANDOM_CHARS),
            duration_days: Some(LIFETIME_DAYS),
            description: config.description.clone(),
            permissions: permission_requests(data, region, &config.repository_permission).await?,
        };
        let name = create.name.clone();
        tracing::info!(%region, name, "creating a short-lived repository user");
        let secret = create_user(&users, &create, data.settings.max_retries, NAME_PREFIX).await?;
        let user = find_user(&users, &name).await?;
        let opened = OpenedUser {
            id: user.uuid.clone(),
            name: name.clone(),
            region: region.as_str().to_string(),
            expires_at: user.expired_at.clone(),
        };
        let result = CredentialsState {
            region: Some(region.as_str().to_string()),
            username: Some(user.backend_name.clone()),
            password: Some(secret.expose().to_string()),
            registry: Some(registry_host(data, region, &config.repository_permission).await),
            expires_at: user.expired_at.clone(),
            ..config
        };
        let mut out = Opened::new(result);
        out.private.set(PRIVATE_USER, &opened)?;
        Ok(out)
    }

    async fn close(&self, data: &ProviderData, req: EphemeralRequest) -> Diagnostics {
        let opened = match req.private.get::<OpenedUser>(PRIVATE_USER) {
            Ok(Some(opened)) => opened,
            Ok(None) => return Diagnostics::new(),
            Err(d) => return d,
        };
        let region = match opened.region.parse::<Region>() {
            Ok(region) => region,
            Err(e) => {
                return Diagnostic::error("Provider could not read its private data", e.to_string())
                    .into()
            }
        };
        let client = match data.client() {
            Ok(client) => client,
            Err(d) => return d,
        };
        let name = &opened.name;
        tracing::info!(%region, name, "deleting the short-lived repository user");
        match client.users(region).delete(&opened.id).await {
            Ok(()) => Diagnostics::new(),
            Err(e) if e.is_not_found() => {
                tracing::info!(%region, name, "the short-lived repository user was already gone");
                Diagnostics::new()
            }
            Err(e) => not_deleted_warning(
                name,
                region,
                opened.expires_at.as_deref(),
                &e,
                "vcr_registry_credentials could not delete the user it created for this run",
            )
            .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::validators::user_name;
    use crate::vcr::VcrError;

    #[test]
    fn generated_names_are_valid_user_names_with_the_documented_prefix() {
        for _ in 0..50 {
            let name = random_name(NAME_PREFIX, NAME_RANDOM_CHARS);
            assert!(name.starts_with("tf-eph-"), "{name}");
            assert_eq!(name.len(), 14, "{name}");
            user_name().check(&Value::from(name.as_str())).unwrap();
        }
        let doc = schema();
        let username = doc.block.get_attribute("username").unwrap();
        assert!(username
            .description
            .contains(&format!("`{NAME_PREFIX}` and {NAME_RANDOM_CHARS} random")));
    }

    #[test]
    fn the_schema_shares_the_permission_blocks_and_hides_the_password() {
        let schema = schema();
        let blocks = &schema.block.blocks;
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].name, "repository_permission");
        assert_eq!(blocks[0].min_items, 1);
        let password = schema.block.get_attribute("password").unwrap();
        assert!(password.sensitive && password.mode == Mode::Computed);
        let region = schema.block.get_attribute("region").unwrap();
        assert!(
            region.modifiers.is_empty(),
            "nothing is planned for an ephemeral resource"
        );
        assert_eq!(region.mode, Mode::OptionalComputed);
    }

    #[test]
    fn the_warning_names_the_user_and_its_expiry() {
        let err = VcrError::Server {
            status: 503,
            message: "busy".into(),
        };
        let d = not_deleted_warning(
            "tf-eph-abc1234",
            Region::Han,
            Some("2030-01-02T03:04:05Z"),
            &err,
            "vcr_registry_credentials could not delete the user it created for this run",
        );
        assert_eq!(
            d.summary,
            "Could not delete the short-lived repository user \"tf-eph-abc1234\" in HAN"
        );
        assert!(
            d.detail
                .contains("expires at 2030-01-02T03:04:05Z, within a day"),
            "{}",
            d.detail
        );
        assert!(d.detail.contains("busy"), "{}", d.detail);
    }
}
