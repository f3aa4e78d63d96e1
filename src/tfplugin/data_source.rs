//! Data sources: the typed contract.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::diag::Diagnostics;
use super::schema::Schema;
use super::value::Value;

/// Read: the configuration, typed (attributes left out read as `None`).
#[derive(Debug)]
pub struct ReadDataRequest<S> {
    pub config: S,
}

/// A data source. `State` mirrors the schema, like a resource's.
#[async_trait]
pub trait DataSource<D: Send + Sync + 'static>: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Default + Send + Sync;

    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Rules across attributes, beyond the schema's own.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    async fn read(
        &self,
        data: &D,
        req: ReadDataRequest<Self::State>,
    ) -> Result<Self::State, Diagnostics>;
}
