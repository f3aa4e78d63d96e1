//! The vCR provider: configuration, and one file per resource or data source that
//! maps between Terraform values and the vCR client.

pub mod config;
pub mod errors;
pub mod expiry;
pub mod functions;
pub mod image_check;
pub mod image_cleanup;
pub mod image_copy;
pub mod image_data;
pub mod importing;
pub mod listing;
pub mod model;
pub mod pruning;
pub mod recovery;
pub mod registry;
pub mod registry_credentials;
pub mod repository;
pub mod repository_data;
pub mod repository_list;
pub mod repository_user;
pub mod repository_user_data;
pub mod repository_user_list;
pub mod retention_policy;
pub mod short_lived_user;
pub mod validators;

use async_trait::async_trait;

use crate::tfplugin::{self, Components, ConfigureRequest, Diagnostic, Diagnostics, Schema, Value};
use crate::vcr::{Client, ClientConfig, Policy, Region, Secret};
use config::Settings;

/// The provider's source address in the Terraform registry.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/vngcloud/vcr";

/// What every resource of a configured provider works from.
#[derive(Debug)]
pub struct ProviderData {
    pub settings: Settings,
    /// The API client, or why there is none (missing credentials): reported only
    /// when a resource needs the API.
    client: Result<Client, Diagnostic>,
    /// Permission policies per region (in [`Region::ALL`] order), looked up once per
    /// provider process.
    policies: [tokio::sync::OnceCell<Vec<Policy>>; 2],
    /// The images `vcr_image_copy` plans to make in this run (`<registry>/<backend
    /// name>/<image>@<digest>`): a copy whose source is another copy's destination
    /// does not look for it in vCR at plan, where it is not yet.
    pub planned_copies: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl ProviderData {
    pub fn new(settings: Settings) -> Result<ProviderData, Diagnostics> {
        let client = match settings.missing_credentials() {
            Some(missing) => Err(missing),
            None => Ok(Client::new(ClientConfig {
                client_id: settings.client_id.clone().unwrap_or_default(),
                client_secret: Secret::new(settings.client_secret.clone().unwrap_or_default()),
                token_url: settings.token_url.clone(),
                endpoint_hcm: settings.endpoint_hcm.clone(),
                endpoint_han: settings.endpoint_han.clone(),
                max_retries: settings.max_retries,
                allow_plain_http: settings.insecure_http,
                ..ClientConfig::default()
            })
            .map_err(|e| Diagnostics::from(errors::api_error("configure the vCR client", &e)))?),
        };
        Ok(ProviderData {
            settings,
            client,
            policies: Default::default(),
            planned_copies: Default::default(),
        })
    }

    /// Checks the credentials by obtaining the IAM token every later call reuses, unless
    /// `skip_credentials_validation` (then nothing is sent) or credentials are missing
    /// (reported when a resource needs the API, at the latest when a new one is planned,
    /// so that a plan without resources works).
    pub async fn check_credentials(&self) -> Result<(), Diagnostics> {
        let Ok(client) = &self.client else {
            return Ok(());
        };
        if self.settings.skip_credentials_validation {
            tracing::debug!("skip_credentials_validation: the credentials are not checked");
            return Ok(());
        }
        client
            .authenticate()
            .await
            .map_err(|e| errors::credentials_error(&e).into())
    }

    /// The API client; an error naming the missing credentials when there is none.
    pub fn client(&self) -> Result<&Client, Diagnostics> {
        self.client.as_ref().map_err(|d| d.clone().into())
    }

    /// vCR's permission policies in `region`, looked up on first use.
    pub async fn policies(&self, region: Region) -> Result<&[Policy], Diagnostics> {
        let cell = match region {
            Region::Hcm => &self.policies[0],
            Region::Han => &self.policies[1],
        };
        let client = self.client()?;
        cell.get_or_try_init(|| async {
            client
                .users(region)
                .policies()
                .await
                .map_err(errors::api(format!(
                    "list the permission policies of {region}"
                )))
        })
        .await
        .map(Vec::as_slice)
    }

    /// The docker registry host of a region when no repository says it: the override
    /// in `endpoints`, else vCR's own.
    pub fn registry_host(&self, region: Region) -> &str {
        self.settings.registry_host(region)
    }

    /// A repository's `registry_url`, from vCR's `registryUrl` (`reported`) unless
    /// `endpoints` overrides the host, and warnings when they disagree (see
    /// [`registry::repository_url`]).
    pub fn registry_url(
        &self,
        region: Region,
        backend_name: &str,
        reported: &str,
    ) -> (String, Diagnostics) {
        let sources = registry::Sources {
            region,
            override_host: self.settings.registry_override(region),
            api_endpoint: self.settings.endpoint(region),
        };
        registry::repository_url(sources, backend_name, reported)
    }

    /// The registry host (`host` or `host:port`) of a repository's images, as image
    /// names use it: [`ProviderData::registry_url`] without the backend name.
    pub fn repository_registry_host(
        &self,
        region: Region,
        repo: &crate::vcr::RepositoryNames,
    ) -> String {
        let (url, _) = self.registry_url(region, &repo.backend_name, &repo.registry_url);
        url.split('/').next().unwrap_or_default().to_string()
    }

    /// The region of an object: its own `region` attribute, else the provider's.
    pub fn region(&self, configured: Option<&str>) -> Result<Region, Diagnostics> {
        let code = configured.unwrap_or(&self.settings.region);
        code.parse::<Region>().map_err(|e| {
            tfplugin::resource::attribute_error(
                "region",
                format!("must be one of \"HCM\", \"HAN\"; {e}"),
            )
        })
    }
}

/// Plans the region of an object that does not set its own: the provider's, known at
/// plan time; when the provider's region changes, the object moves (is replaced).
pub fn plan_default_region(data: Option<&ProviderData>, plan: &mut tfplugin::Plan) {
    if plan.is_destroy() || !plan.config.attr("region").is_null() {
        return;
    }
    if let Some(data) = data {
        plan.set("region", Value::from(data.settings.region.clone()));
        if plan.is_update() && plan.changed("region") {
            plan.replace_because_of("region");
        }
    }
}

/// A new object is made through the API: with no credentials to do it, say so at plan,
/// not halfway through an apply (an offline plan asks for it with
/// `skip_credentials_validation`). Existing objects need none here: their refresh
/// has already reported it.
pub fn plan_needs_credentials(
    data: Option<&ProviderData>,
    plan: &tfplugin::Plan,
) -> Result<(), Diagnostics> {
    match data {
        Some(data) if plan.is_create() && !data.settings.skip_credentials_validation => {
            data.client().map(|_| ())
        }
        _ => Ok(()),
    }
}

/// The `region` argument of the data sources: where to look, the provider's region
/// by default.
pub fn lookup_region(a: tfplugin::Attribute) -> tfplugin::Attribute {
    a.with_mode(tfplugin::Mode::OptionalComputed)
        .note("Where to look; defaults to the provider's region.")
        .validate(tfplugin::validators::one_of(config::REGIONS))
}

/// An import id: `<id or name>`, optionally prefixed by a region, `HAN/<id or name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportId {
    pub region: Option<Region>,
    pub key: String,
}

impl ImportId {
    pub fn parse(raw: &str, what: &str) -> Result<ImportId, Diagnostics> {
        let bad = |why: &str| {
            Diagnostics::from(Diagnostic::error(
                format!("Invalid import id {raw:?}"),
                format!("{why} Import a {what} by its id or name, optionally prefixed by the region: `<id>`, `<name>`, `HAN/<id>` or `HCM/<name>`."),
            ))
        };
        let raw = raw.trim();
        let (region, key) = match raw.split_once('/') {
            Some((r, k)) => {
                let region = r
                    .parse::<Region>()
                    .map_err(|_| bad(&format!("{r:?} is not a region (HCM or HAN).")))?;
                (Some(region), k)
            }
            None => (None, raw),
        };
        if key.is_empty() || key.contains('/') {
            return Err(bad("The id or name is missing or malformed."));
        }
        Ok(ImportId {
            region,
            key: key.to_string(),
        })
    }
}

/// The `vcr` provider.
#[derive(Debug, Default)]
pub struct VcrProvider;

#[async_trait]
impl tfplugin::Provider for VcrProvider {
    type Data = ProviderData;

    fn schema(&self) -> Schema {
        config::schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let env_allows = std::env::var("VCR_INSECURE_HTTP")
            .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"));
        config::validate_plain_http(config, env_allows)
    }

    /// Resolves the settings and, unless told not to, obtains the IAM token now, so
    /// that wrong credentials fail the plan. (`terraform validate` does not configure
    /// providers: it needs no credentials.) Settings that are unknown until apply
    /// leave the check to the first call.
    async fn configure(
        &self,
        req: ConfigureRequest,
    ) -> Result<(ProviderData, Diagnostics), Diagnostics> {
        let settings = Settings::resolve(&req.config, |k| std::env::var(k).ok())?;
        tracing::debug!(?settings, "provider configured");
        let data = ProviderData::new(settings)?;
        if req.config.is_wholly_known() {
            data.check_credentials().await?;
        }
        Ok((data, Diagnostics::new()))
    }

    fn components(&self) -> Components<ProviderData> {
        Components::new()
            .resource(repository::RepositoryResource)
            .resource(repository_user::RepositoryUserResource)
            .resource(retention_policy::RetentionPolicyResource)
            .resource(image_copy::ImageCopyResource)
            .data_source(repository_data::RepositoryDataSource)
            .data_source(repository_data::RepositoriesDataSource)
            .data_source(repository_user_data::RepositoryUserDataSource)
            .data_source(repository_user_data::RepositoryUsersDataSource)
            .data_source(image_data::ImageDataSource)
            .data_source(image_data::ImagesDataSource)
            .list_resource(repository_list::RepositoryListResource)
            .list_resource(repository_user_list::RepositoryUserListResource)
            .ephemeral_resource(registry_credentials::RegistryCredentials)
            .action(image_check::ImageCheckAction)
            .action(image_cleanup::ImageCleanupAction)
            .function(functions::ImageReferenceFunction)
            .function(functions::ParseImageReferenceFunction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Provider;

    #[test]
    fn every_state_struct_matches_its_schema() {
        let components = VcrProvider.components();
        assert_eq!(components.type_names().len(), 17);
        assert_eq!(components.type_mismatches(), Vec::<String>::new());
    }

    #[test]
    fn import_ids() {
        assert_eq!(
            ImportId::parse("repo-1", "repository").unwrap(),
            ImportId {
                region: None,
                key: "repo-1".into()
            }
        );
        assert_eq!(
            ImportId::parse("HAN/my-app", "repository").unwrap(),
            ImportId {
                region: Some(Region::Han),
                key: "my-app".into()
            }
        );
        let err = ImportId::parse("SGN/my-app", "repository").unwrap_err();
        assert!(err.0[0].detail.contains("SGN"));
        assert!(ImportId::parse("HAN/", "repository").is_err());
        assert!(ImportId::parse("HAN/a/b", "repository").is_err());
    }
}
