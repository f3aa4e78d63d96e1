//! The vCR provider: configuration, and one file per resource or data source that
//! maps between Terraform values and the vCR client.

pub mod config;

use std::sync::Arc;

use async_trait::async_trait;

use crate::tfplugin::{self, AnyDataSource, AnyResource, Diagnostics, Schema, Value};
use config::Settings;

/// The provider's source address in the Terraform registry.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/vngcloud/vcr";

/// What every resource of a configured provider works from.
#[derive(Debug)]
pub struct ProviderData {
    pub settings: Settings,
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
        Ok((ProviderData { settings }, Diagnostics::new()))
    }

    fn resources(&self) -> Vec<Arc<dyn AnyResource<ProviderData>>> {
        vec![]
    }

    fn data_sources(&self) -> Vec<Arc<dyn AnyDataSource<ProviderData>>> {
        vec![]
    }
}
