//! List resources (`terraform query`, Terraform 1.14+): the objects of a managed
//! resource type that exist remotely, streamed one event per object with its identity.

use std::marker::PhantomData;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;

use super::codec;
use super::diag::Diagnostics;
use super::proto;
use super::resource::Resource;
use super::schema::Schema;
use super::state;
use super::value::{Type, Value};

/// List: the `config` block of the `list` block, typed, and how much Terraform wants.
#[derive(Debug)]
pub struct ListRequest<C> {
    pub config: C,
    /// Whether Terraform wants each object's full state (`include_resource`,
    /// `-generate-config-out`); the sink leaves it out otherwise.
    pub include_resource: bool,
    /// Terraform stops reading after this many objects; so does the sink.
    pub limit: i64,
}

/// One object found: its state (from which the resource's identity is taken) and a
/// name for people.
#[derive(Debug)]
pub struct ListItem<S> {
    pub display_name: String,
    pub state: S,
}

/// Gives the identity of the object a state value describes (the listed resource's).
pub(crate) type Identify = Box<dyn Fn(&Value) -> Result<Option<Value>, Diagnostics> + Send + Sync>;

/// Where a list resource sends what it finds.
pub struct ListSink<S> {
    tx: mpsc::Sender<proto::list_resource::Event>,
    state_type: Type,
    identity: Identify,
    include_resource: bool,
    remaining: i64,
    _state: PhantomData<fn(S)>,
}

impl<S: Serialize> ListSink<S> {
    pub(crate) fn new(
        tx: mpsc::Sender<proto::list_resource::Event>,
        state_type: Type,
        identity: Identify,
        include_resource: bool,
        limit: i64,
    ) -> Self {
        ListSink {
            tx,
            state_type,
            identity,
            include_resource,
            remaining: limit,
            _state: PhantomData,
        }
    }

    /// Sends one object. `false` means stop: the limit is reached or Terraform has
    /// stopped reading.
    pub async fn send(&mut self, item: ListItem<S>) -> bool {
        if self.remaining <= 0 {
            return false;
        }
        let event = match self.event(item) {
            Ok(event) => event,
            Err(d) => return self.error(d).await,
        };
        self.remaining -= 1;
        self.tx.send(event).await.is_ok() && self.remaining > 0
    }

    /// Sends diagnostics (an error ends the listing on Terraform's side). `false`
    /// means stop.
    pub async fn error(&mut self, diagnostics: Diagnostics) -> bool {
        let event = proto::list_resource::Event {
            diagnostic: diagnostics.to_proto(),
            ..Default::default()
        };
        self.tx.send(event).await.is_ok() && !diagnostics.has_errors()
    }

    fn event(&self, item: ListItem<S>) -> Result<proto::list_resource::Event, Diagnostics> {
        let value = state::to_value_of(&item.state, &self.state_type)?;
        let identity = (self.identity)(&value)?;
        Ok(proto::list_resource::Event {
            identity: identity.map(|v| proto::ResourceIdentityData {
                identity_data: Some(codec::encode(&v)),
            }),
            display_name: item.display_name,
            resource_object: self.include_resource.then(|| codec::encode(&value)),
            diagnostic: vec![],
        })
    }
}

/// A list resource: the objects of the managed resource type `Resource` (same type
/// name), each given as that resource's state.
#[async_trait]
pub trait ListResource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// The typed `config` block.
    type Config: Serialize + DeserializeOwned + Default + Send + Sync;
    /// The managed resource listed: its state and identity are what events carry.
    type Resource: Resource<D>;

    fn type_name(&self) -> &'static str;
    /// The schema of the `config` block.
    fn schema(&self) -> Schema;

    /// Rules across attributes, beyond the schema's own.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Sends every object found (until the sink says stop). An error returned here
    /// reaches Terraform as a diagnostic event.
    async fn list(
        &self,
        data: &D,
        req: ListRequest<Self::Config>,
        sink: &mut ListSink<<Self::Resource as Resource<D>>::State>,
    ) -> Result<(), Diagnostics>;
}
