//! The typed contracts with their types erased, so that a provider holds resources of
//! many state types side by side. Internal: a provider lists its parts in
//! [`super::Components`], which wraps each in an adapter from here, and the server
//! speaks to the adapters in raw [`Value`]s.

use std::marker::PhantomData;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::action::{Action, InvokeRequest, PlanActionRequest, Progress};
use super::data_source::{DataSource, ReadDataRequest};
use super::diag::{Diagnostic, Diagnostics};
use super::ephemeral::{EphemeralRequest, EphemeralResource, OpenRequest, Opened, Renewed};
use super::generate::config_from_state;
use super::identity::IdentitySchema;
use super::list::{ListRequest, ListResource, ListSink};
use super::plan::{self, Plan, PlanRequest};
use super::private::Private;
use super::resource::{
    CreateRequest, DeleteRequest, Failure, ImportRequest, ImportTarget, ReadRequest, Resource,
    Saved, StateUpgrade, UpdateRequest, UpgradeRequest,
};
use super::schema::Schema;
use super::state::{from_value, to_value, to_value_of, type_mismatches};
use super::value::{Type, Value};

/// An answer about one object: its state (null when gone), private data, identity
/// (when the resource has one and it is known), and diagnostics.
#[derive(Debug, Default)]
pub(crate) struct ObjectAnswer {
    pub state: Value,
    pub private: Private,
    pub identity: Option<Value>,
    pub diagnostics: Diagnostics,
}

/// ApplyResourceChange in values.
pub(crate) struct ApplyIn {
    pub prior: Value,
    pub planned: Value,
    pub config: Value,
    pub private: Private,
    pub planned_identity: Option<Value>,
}

/// ReadResource in values.
pub(crate) struct ReadIn {
    pub state: Value,
    pub private: Private,
    pub identity: Option<Value>,
}

/// ImportResourceState in values: an id, or an identity (then the id is empty).
pub(crate) struct ImportIn {
    pub id: String,
    pub identity: Option<Value>,
}

#[async_trait]
pub(crate) trait AnyResource<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn identity_schema(&self) -> Option<&IdentitySchema>;
    fn validate(&self, config: &Value) -> Diagnostics;
    /// The identity of the object a state value describes.
    fn identity_of(&self, state: &Value) -> Result<Option<Value>, Diagnostics>;
    async fn plan(&self, data: Option<&D>, req: PlanRequest) -> Result<Plan, Diagnostics>;
    async fn apply(&self, data: &D, req: ApplyIn) -> ObjectAnswer;
    async fn read(&self, data: &D, req: ReadIn) -> Result<ObjectAnswer, Diagnostics>;
    async fn import(&self, data: &D, req: ImportIn) -> Result<ObjectAnswer, Diagnostics>;
    fn prior_schema(&self, version: i64) -> Option<Schema>;
    /// The upgraded state, as a value of the current schema.
    fn upgrade_state(&self, req: StateUpgrade) -> Result<Value, Diagnostics>;
    fn upgrade_identity(&self, req: UpgradeRequest) -> Result<serde_json::Value, Diagnostics>;
    /// The configuration to write for the object a state value describes.
    fn generate_config(&self, data: Option<&D>, state: &Value) -> Result<Value, Diagnostics>;
    fn type_mismatches(&self) -> Vec<String>;
}

pub(crate) struct ResourceAdapter<R, D> {
    resource: R,
    schema: Schema,
    identity_schema: Option<IdentitySchema>,
    _data: PhantomData<fn(&D)>,
}

/// Refuses an answer whose identity is not the one Terraform holds: an identity
/// names the object for good.
fn check_identity_unchanged(
    type_name: &str,
    held: Option<&Value>,
    answered: Option<&Value>,
) -> Result<(), Diagnostics> {
    match (held, answered) {
        (Some(h), Some(a)) if !h.is_null() && h.is_wholly_known() && !h.semantically_equal(a) => {
            Err(Diagnostic::error(
                "Unexpected identity change",
                format!(
                    "The identity of this {type_name} changed from {:?} to {:?}; an identity must not change for the life of an object. This is a bug in the provider; please report it.",
                    h.to_json(),
                    a.to_json()
                ),
            )
            .into())
        }
        _ => Ok(()),
    }
}

impl<D, R> ResourceAdapter<R, D>
where
    D: Send + Sync + 'static,
    R: Resource<D>,
{
    pub(crate) fn new(resource: R) -> Self {
        ResourceAdapter {
            schema: resource.schema(),
            identity_schema: resource.identity_schema(),
            resource,
            _data: PhantomData,
        }
    }

    /// The answer for a saved state, with its identity.
    fn answer(&self, saved: Saved<R::State>) -> Result<ObjectAnswer, Diagnostics> {
        let state = to_value(&saved.state, &self.schema)?;
        Ok(ObjectAnswer {
            identity: self.typed_identity(&saved.state)?,
            state,
            private: saved.private,
            diagnostics: saved.diagnostics,
        })
    }

    fn typed_identity(&self, state: &R::State) -> Result<Option<Value>, Diagnostics> {
        let Some(schema) = &self.identity_schema else {
            return Ok(None);
        };
        match self.resource.identity(state) {
            Some(identity) => to_value_of(&identity, &schema.value_type()).map(Some),
            None => Ok(None),
        }
    }

    /// What stays in state when an error leaves no better answer: the prior object,
    /// untouched (for a create, nothing).
    fn keep(&self, prior: &Value, private: Private, diagnostics: Diagnostics) -> ObjectAnswer {
        ObjectAnswer {
            identity: self.identity_of(prior).ok().flatten(),
            state: prior.clone(),
            private,
            diagnostics,
        }
    }

    /// The answer of a create or update: the new state, or what a failure left.
    fn settle(
        &self,
        req: &ApplyIn,
        result: Result<Saved<R::State>, Failure<R::State>>,
    ) -> ObjectAnswer {
        let failure = match result {
            Ok(saved) => {
                return match self.answer(saved).and_then(|a| {
                    check_identity_unchanged(
                        self.resource.type_name(),
                        req.planned_identity.as_ref(),
                        a.identity.as_ref(),
                    )?;
                    Ok(a)
                }) {
                    Ok(a) => a,
                    Err(d) => self.keep(&req.prior, req.private.clone(), d),
                }
            }
            Err(failure) => failure,
        };
        match failure.partial_state.map(|s| self.answer(Saved::new(s))) {
            Some(Ok(mut a)) => {
                a.private = req.private.clone();
                a.diagnostics = failure.diagnostics;
                a
            }
            Some(Err(mut d)) => {
                d.extend(failure.diagnostics);
                self.keep(&req.prior, req.private.clone(), d)
            }
            None => self.keep(&req.prior, req.private.clone(), failure.diagnostics),
        }
    }

    async fn delete(&self, data: &D, req: ApplyIn) -> ObjectAnswer {
        let deleted = match from_value::<R::State>(&req.prior) {
            Ok(prior) => {
                let private = req.private.clone();
                self.resource
                    .delete(data, DeleteRequest { prior, private })
                    .await
            }
            Err(d) => Err(d),
        };
        match deleted {
            Ok(()) => ObjectAnswer {
                state: Value::Null,
                ..ObjectAnswer::default()
            },
            // Warnings alone: the object is gone from Terraform, and the warnings say
            // what stayed behind in the world.
            Err(d) if !d.has_errors() => ObjectAnswer {
                state: Value::Null,
                diagnostics: d,
                ..ObjectAnswer::default()
            },
            Err(d) => self.keep(&req.prior, req.private, d),
        }
    }
}

#[async_trait]
impl<D, R> AnyResource<D> for ResourceAdapter<R, D>
where
    D: Send + Sync + 'static,
    R: Resource<D>,
{
    fn type_name(&self) -> &'static str {
        self.resource.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn identity_schema(&self) -> Option<&IdentitySchema> {
        self.identity_schema.as_ref()
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        self.resource.validate(config)
    }

    fn identity_of(&self, state: &Value) -> Result<Option<Value>, Diagnostics> {
        if self.identity_schema.is_none() || state.is_null() {
            return Ok(None);
        }
        self.typed_identity(&from_value(state)?)
    }

    async fn plan(&self, data: Option<&D>, req: PlanRequest) -> Result<Plan, Diagnostics> {
        let mut plan = plan::plan(&self.schema, req);
        self.resource.modify_plan(data, &mut plan).await?;
        Ok(plan)
    }

    async fn apply(&self, data: &D, req: ApplyIn) -> ObjectAnswer {
        if req.planned.is_null() {
            return self.delete(data, req).await;
        }
        let typed = (
            from_value::<R::State>(&req.planned),
            from_value::<R::State>(&req.config),
        );
        let (planned, config) = match typed {
            (Ok(p), Ok(c)) => (p, c),
            (Err(d), _) | (_, Err(d)) => return self.keep(&req.prior, req.private.clone(), d),
        };
        let private = req.private.clone();
        let result = if req.prior.is_null() {
            let create = CreateRequest {
                planned,
                config,
                private,
            };
            self.resource.create(data, create).await
        } else {
            match from_value::<R::State>(&req.prior) {
                Ok(prior) => {
                    let update = UpdateRequest {
                        prior,
                        planned,
                        config,
                        private,
                    };
                    self.resource.update(data, update).await
                }
                Err(d) => Err(Failure::from(d)),
            }
        };
        self.settle(&req, result)
    }

    async fn read(&self, data: &D, req: ReadIn) -> Result<ObjectAnswer, Diagnostics> {
        let state = from_value::<R::State>(&req.state)?;
        let read = ReadRequest {
            state,
            private: req.private,
        };
        let Some(saved) = self.resource.read(data, read).await? else {
            return Ok(ObjectAnswer {
                state: Value::Null,
                ..ObjectAnswer::default()
            });
        };
        let answer = self.answer(saved)?;
        check_identity_unchanged(
            self.resource.type_name(),
            req.identity.as_ref(),
            answer.identity.as_ref(),
        )?;
        Ok(answer)
    }

    async fn import(&self, data: &D, req: ImportIn) -> Result<ObjectAnswer, Diagnostics> {
        let target = match req.identity.filter(|i| !i.is_null()) {
            Some(identity) => ImportTarget::Identity(from_value::<R::Identity>(&identity)?),
            None => ImportTarget::Id(req.id),
        };
        let saved = self.resource.import(data, ImportRequest { target }).await?;
        self.answer(saved)
    }

    fn prior_schema(&self, version: i64) -> Option<Schema> {
        self.resource.prior_schema(version)
    }
    fn upgrade_state(&self, req: StateUpgrade) -> Result<Value, Diagnostics> {
        let state = self.resource.upgrade_state(req)?;
        to_value(&state, &self.schema)
    }
    fn upgrade_identity(&self, req: UpgradeRequest) -> Result<serde_json::Value, Diagnostics> {
        self.resource.upgrade_identity(req)
    }

    fn generate_config(&self, data: Option<&D>, state: &Value) -> Result<Value, Diagnostics> {
        if state.is_null() {
            return Ok(Value::Null);
        }
        let minimal = config_from_state(&self.schema.block, state);
        let config = self
            .resource
            .generate_config(data, from_value::<R::State>(&minimal)?)?;
        // A resource leaves out more, never less: the rules apply to its answer too.
        let config = to_value(&config, &self.schema)?;
        Ok(config_from_state(&self.schema.block, &config))
    }

    fn type_mismatches(&self) -> Vec<String> {
        let mut found = type_mismatches::<R::State>(&self.schema.value_type());
        if let Some(identity) = &self.identity_schema {
            found.extend(
                type_mismatches::<R::Identity>(&identity.value_type())
                    .into_iter()
                    .map(|e| format!("identity: {e}")),
            );
        }
        found
    }
}

#[async_trait]
pub(crate) trait AnyDataSource<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value) -> Diagnostics;
    async fn read(&self, data: &D, config: &Value) -> Result<Value, Diagnostics>;
    fn type_mismatches(&self) -> Vec<String>;
}

/// Wraps a typed part with its schema, built once.
pub(crate) struct Adapter<T> {
    inner: T,
    schema: Schema,
}

impl<T> Adapter<T> {
    pub(crate) fn new(inner: T, schema: Schema) -> Self {
        Adapter { inner, schema }
    }
}

fn mismatches<S: Serialize + DeserializeOwned>(ty: &Type) -> Vec<String> {
    type_mismatches::<S>(ty)
}

#[async_trait]
impl<D, S> AnyDataSource<D> for Adapter<S>
where
    D: Send + Sync + 'static,
    S: DataSource<D>,
{
    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        self.inner.validate(config)
    }
    async fn read(&self, data: &D, config: &Value) -> Result<Value, Diagnostics> {
        let config = from_value::<S::State>(config)?;
        let state = self.inner.read(data, ReadDataRequest { config }).await?;
        to_value(&state, &self.schema)
    }
    fn type_mismatches(&self) -> Vec<String> {
        mismatches::<S::State>(&self.schema.value_type())
    }
}

/// OpenEphemeralResource's answer in values.
pub(crate) struct OpenedValue {
    pub result: Value,
    pub private: Private,
    pub renew_at: Option<std::time::SystemTime>,
    pub diagnostics: Diagnostics,
}

#[async_trait]
pub(crate) trait AnyEphemeralResource<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value) -> Diagnostics;
    async fn open(&self, data: &D, config: &Value) -> Result<OpenedValue, Diagnostics>;
    async fn renew(&self, data: &D, private: Private) -> Result<Renewed, Diagnostics>;
    async fn close(&self, data: &D, private: Private) -> Diagnostics;
    fn type_mismatches(&self) -> Vec<String>;
}

#[async_trait]
impl<D, E> AnyEphemeralResource<D> for Adapter<E>
where
    D: Send + Sync + 'static,
    E: EphemeralResource<D>,
{
    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        self.inner.validate(config)
    }
    async fn open(&self, data: &D, config: &Value) -> Result<OpenedValue, Diagnostics> {
        let config = from_value::<E::State>(config)?;
        let Opened {
            result,
            private,
            renew_at,
            diagnostics,
        } = self.inner.open(data, OpenRequest { config }).await?;
        Ok(OpenedValue {
            result: to_value(&result, &self.schema)?,
            private,
            renew_at,
            diagnostics,
        })
    }
    async fn renew(&self, data: &D, private: Private) -> Result<Renewed, Diagnostics> {
        self.inner.renew(data, EphemeralRequest { private }).await
    }
    async fn close(&self, data: &D, private: Private) -> Diagnostics {
        self.inner.close(data, EphemeralRequest { private }).await
    }
    fn type_mismatches(&self) -> Vec<String> {
        mismatches::<E::State>(&self.schema.value_type())
    }
}

/// ListResource in values: the decoded config and what Terraform wants.
pub(crate) struct ListIn {
    pub config: Value,
    pub include_resource: bool,
    pub limit: i64,
}

#[async_trait]
pub(crate) trait AnyListResource<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value) -> Diagnostics;
    /// Lists into `tx`; `resource` is the managed resource of the same type name,
    /// whose schema and identity the events carry.
    async fn list(
        &self,
        data: &D,
        req: ListIn,
        resource: std::sync::Arc<dyn AnyResource<D>>,
        tx: tokio::sync::mpsc::Sender<super::proto::list_resource::Event>,
    ) -> Result<(), Diagnostics>;
    fn type_mismatches(&self) -> Vec<String>;
}

#[async_trait]
impl<D, L> AnyListResource<D> for Adapter<L>
where
    D: Send + Sync + 'static,
    L: ListResource<D>,
{
    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        self.inner.validate(config)
    }
    async fn list(
        &self,
        data: &D,
        req: ListIn,
        resource: std::sync::Arc<dyn AnyResource<D>>,
        tx: tokio::sync::mpsc::Sender<super::proto::list_resource::Event>,
    ) -> Result<(), Diagnostics> {
        let config = from_value::<L::Config>(&req.config)?;
        let state_type = resource.schema().value_type();
        let identify = Box::new(move |state: &Value| resource.identity_of(state));
        let mut sink = ListSink::new(tx, state_type, identify, req.include_resource, req.limit);
        let typed = ListRequest {
            config,
            include_resource: req.include_resource,
            limit: req.limit,
        };
        self.inner.list(data, typed, &mut sink).await
    }
    fn type_mismatches(&self) -> Vec<String> {
        mismatches::<L::Config>(&self.schema.value_type())
    }
}

#[async_trait]
pub(crate) trait AnyAction<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn validate(&self, config: &Value) -> Diagnostics;
    async fn plan(&self, data: Option<&D>, config: Value) -> Diagnostics;
    async fn invoke(
        &self,
        data: &D,
        config: &Value,
        progress: &Progress,
    ) -> Result<(), Diagnostics>;
    fn type_mismatches(&self) -> Vec<String>;
}

#[async_trait]
impl<D, A> AnyAction<D> for Adapter<A>
where
    D: Send + Sync + 'static,
    A: Action<D>,
{
    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        self.inner.validate(config)
    }
    async fn plan(&self, data: Option<&D>, config: Value) -> Diagnostics {
        self.inner.plan(data, PlanActionRequest { config }).await
    }
    async fn invoke(
        &self,
        data: &D,
        config: &Value,
        progress: &Progress,
    ) -> Result<(), Diagnostics> {
        let config = from_value::<A::Config>(config)?;
        self.inner
            .invoke(data, InvokeRequest { config }, progress)
            .await
    }
    fn type_mismatches(&self) -> Vec<String> {
        mismatches::<A::Config>(&self.schema.value_type())
    }
}
