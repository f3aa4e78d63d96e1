//! Ephemeral resources (Terraform 1.10+): opened for one run, handed to the
//! configuration, closed at its end, never written to state or plan.

use std::time::SystemTime;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::diag::Diagnostics;
use super::private::Private;
use super::schema::Schema;
use super::value::Value;

/// Open: the configuration, typed (result attributes read as `None`).
#[derive(Debug)]
pub struct OpenRequest<S> {
    pub config: S,
}

/// What an open gives: the result, the private data Renew and Close receive, and
/// when to renew, if ever.
#[derive(Debug)]
pub struct Opened<S> {
    pub result: S,
    pub private: Private,
    pub renew_at: Option<SystemTime>,
    pub diagnostics: Diagnostics,
}

impl<S> Opened<S> {
    pub fn new(result: S) -> Self {
        Opened {
            result,
            private: Private::default(),
            renew_at: None,
            diagnostics: Diagnostics::new(),
        }
    }
}

/// Renew or close: the private data of the open (or of the last renewal).
#[derive(Debug)]
pub struct EphemeralRequest {
    pub private: Private,
}

/// What a renewal gives: new private data, and when to renew again, if ever.
#[derive(Debug, Default)]
pub struct Renewed {
    pub private: Private,
    pub renew_at: Option<SystemTime>,
    pub diagnostics: Diagnostics,
}

/// An ephemeral resource. `State` holds the configuration and the result (one
/// schema, like a data source's).
#[async_trait]
pub trait EphemeralResource<D: Send + Sync + 'static>: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Default + Send + Sync;

    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Rules across attributes, beyond the schema's own.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    async fn open(
        &self,
        data: &D,
        req: OpenRequest<Self::State>,
    ) -> Result<Opened<Self::State>, Diagnostics>;

    /// Called at `renew_at`; by default nothing is renewed.
    async fn renew(&self, _data: &D, req: EphemeralRequest) -> Result<Renewed, Diagnostics> {
        Ok(Renewed {
            private: req.private,
            ..Renewed::default()
        })
    }

    /// Releases what open made. Warnings reach the user; an error fails the run.
    async fn close(&self, data: &D, req: EphemeralRequest) -> Diagnostics;
}
