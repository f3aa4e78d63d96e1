//! The vCR provider: configuration, and one file per resource or data source that
//! maps between Terraform values and the vCR client.

pub mod config;
pub mod errors;
pub mod expiry;
pub mod recovery;
pub mod repository;
pub mod repository_data;
pub mod repository_user;
pub mod repository_user_data;
pub mod validators;

use std::sync::Arc;

use async_trait::async_trait;

use crate::tfplugin::{self, AnyDataSource, AnyResource, Diagnostic, Diagnostics, Schema, Value};
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
                ..ClientConfig::default()
            })
            .map_err(|e| Diagnostics::from(errors::api_error("configure the vCR client", &e)))?),
        };
        Ok(ProviderData {
            settings,
            client,
            policies: Default::default(),
        })
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

/// The `region` of every data source: where to look, the provider's by default.
pub fn lookup_region_attribute() -> tfplugin::Attribute {
    tfplugin::Attribute::optional_computed(
        "region",
        tfplugin::Type::String,
        "The region to look in, `HCM` or `HAN`; defaults to the provider's region.",
    )
    .validate(tfplugin::schema::rules::one_of(config::REGIONS))
}

/// The rule of the lookup data sources: exactly one of `id` and `name`.
pub fn exactly_one_of_id_and_name(config: &Value) -> Diagnostics {
    let (id, name) = (config.attr("id"), config.attr("name"));
    if id.is_unknown() || name.is_unknown() || id.is_null() != name.is_null() {
        return Diagnostics::new();
    }
    if id.is_null() {
        Diagnostic::error(
            "Missing id or name",
            "Set one of \"id\" and \"name\" to say which object to look up.",
        )
        .into()
    } else {
        Diagnostic::invalid_attribute(
            tfplugin::AttributePath::root("name"),
            "set only one of \"id\" and \"name\", not both.",
        )
        .into()
    }
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

    async fn configure(&self, config: &Value) -> Result<(ProviderData, Diagnostics), Diagnostics> {
        let settings = Settings::resolve(config, |k| std::env::var(k).ok())?;
        tracing::debug!(?settings, "provider configured");
        Ok((ProviderData::new(settings)?, Diagnostics::new()))
    }

    fn resources(&self) -> Vec<Arc<dyn AnyResource<ProviderData>>> {
        vec![
            Arc::new(repository::RepositoryResource),
            Arc::new(repository_user::RepositoryUserResource),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn AnyDataSource<ProviderData>>> {
        vec![
            Arc::new(repository_data::RepositoryDataSource),
            Arc::new(repository_data::RepositoriesDataSource),
            Arc::new(repository_user_data::RepositoryUserDataSource),
            Arc::new(repository_user_data::RepositoryUsersDataSource),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
