//! The traits a provider implements: the provider itself, its resources and its data
//! sources, over typed (serde) state.
//!
//! Resources see typed state where values are known (apply, read, import) and raw
//! [`Value`]s where unknowns matter (validation and the plan hook).

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::diag::{AttributePath, Diagnostic, Diagnostics};
use super::plan::Plan;
use super::schema::Schema;
use super::value::Value;

/// The provider: its own configuration block, and what it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What `configure` builds and every resource receives (an API client, defaults).
    type Data: Send + Sync + 'static;

    fn schema(&self) -> Schema;

    /// Rules beyond the schema's own validators; the config may hold unknowns.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Builds the data resources need from the provider block. Must not fail for
    /// missing credentials: `terraform validate` has to work without them.
    async fn configure(&self, config: &Value) -> Result<(Self::Data, Diagnostics), Diagnostics>;

    fn resources(&self) -> Vec<Arc<dyn AnyResource<Self::Data>>>;
    fn data_sources(&self) -> Vec<Arc<dyn AnyDataSource<Self::Data>>>;
}

/// What an apply returns when it fails: the diagnostics, and the object as it now
/// stands when part of the change was made (so that nothing is lost from state).
#[derive(Debug)]
pub struct Failure<S> {
    pub diagnostics: Diagnostics,
    pub partial_state: Option<S>,
}

impl<S> Failure<S> {
    /// A failure that left `state` behind: it is saved so the object is not lost.
    pub fn with_state(diagnostics: impl Into<Diagnostics>, state: S) -> Self {
        Failure {
            diagnostics: diagnostics.into(),
            partial_state: Some(state),
        }
    }
}

impl<S> From<Diagnostics> for Failure<S> {
    fn from(diagnostics: Diagnostics) -> Self {
        Failure {
            diagnostics,
            partial_state: None,
        }
    }
}

impl<S> From<Diagnostic> for Failure<S> {
    fn from(d: Diagnostic) -> Self {
        Failure::from(Diagnostics::from(d))
    }
}

/// Create: the planned state (unknowns read as `None`) and the configuration.
pub struct CreateRequest<S> {
    pub planned: S,
    pub config: S,
}

/// Update in place: the state before, the planned state, and the configuration.
pub struct UpdateRequest<S> {
    pub prior: S,
    pub planned: S,
    pub config: S,
}

/// A managed resource. `State` mirrors the schema; computed attributes are `Option`s.
#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Send + Sync;

    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Rules across attributes, beyond the schema's validators.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Adjusts the plan the framework made (see [`Plan`]): values known in advance,
    /// values that will change, extra replacements, plan-time errors. `data` is `None`
    /// when the provider could not be configured.
    async fn modify_plan(&self, _data: Option<&D>, _plan: &mut Plan) -> Result<(), Diagnostics> {
        Ok(())
    }

    async fn create(
        &self,
        data: &D,
        req: CreateRequest<Self::State>,
    ) -> Result<Self::State, Failure<Self::State>>;

    /// `Ok(None)` means the object is gone, and Terraform plans to create it again.
    async fn read(&self, data: &D, state: Self::State) -> Result<Option<Self::State>, Diagnostics>;

    async fn update(
        &self,
        data: &D,
        req: UpdateRequest<Self::State>,
    ) -> Result<Self::State, Failure<Self::State>>;

    async fn delete(&self, data: &D, state: Self::State) -> Result<(), Diagnostics>;

    /// Builds a state from an import id; Terraform reads it right after.
    async fn import(&self, data: &D, id: &str) -> Result<(Self::State, Diagnostics), Diagnostics>;

    /// Turns stored JSON of schema `version` into the current shape. Attributes the
    /// current schema lacks are dropped and new ones start null, so most schema
    /// changes need nothing here.
    fn upgrade_state(
        &self,
        _version: i64,
        json: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Ok(json)
    }
}

/// A data source.
#[async_trait]
pub trait DataSource<D: Send + Sync + 'static>: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Send + Sync;

    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    async fn read(&self, data: &D, config: Self::State) -> Result<Self::State, Diagnostics>;
}

/// Reads typed state from a value; unknown reads as null.
pub fn from_value<S: DeserializeOwned>(value: &Value) -> Result<S, Diagnostics> {
    serde_json::from_value(value.to_json()).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Provider could not read the state",
            format!("The state does not have the shape the provider expects: {e}. This is a bug in the provider; please report it."),
        ))
    })
}

/// Writes typed state as a value of the schema's type.
pub fn to_value<S: Serialize>(state: &S, schema: &Schema) -> Result<Value, Diagnostics> {
    let json = serde_json::to_value(state).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Provider could not write the state",
            e.to_string(),
        ))
    })?;
    Value::from_json(&json).conform(&schema.value_type()).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Provider could not write the state",
            format!("The state does not match the schema: {e}. This is a bug in the provider; please report it."),
        ))
    })
}

/// The outcome of an apply in raw values: the new state (null when the object is
/// gone) and diagnostics.
pub struct ApplyOutcome {
    pub new_state: Value,
    pub diagnostics: Diagnostics,
}

/// A resource with its state type erased, so that a provider can hold many.
#[async_trait]
pub trait AnyResource<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, config: &Value) -> Diagnostics;
    async fn modify_plan(&self, data: Option<&D>, plan: &mut Plan) -> Result<(), Diagnostics>;
    async fn apply(
        &self,
        data: &D,
        schema: &Schema,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> ApplyOutcome;
    async fn read(&self, data: &D, schema: &Schema, state: &Value) -> Result<Value, Diagnostics>;
    async fn import(
        &self,
        data: &D,
        schema: &Schema,
        id: &str,
    ) -> Result<(Value, Diagnostics), Diagnostics>;
    fn upgrade_state(
        &self,
        version: i64,
        json: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics>;
}

#[async_trait]
impl<D, R> AnyResource<D> for R
where
    D: Send + Sync + 'static,
    R: Resource<D>,
{
    fn type_name(&self) -> &'static str {
        Resource::type_name(self)
    }
    fn schema(&self) -> Schema {
        Resource::schema(self)
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        Resource::validate(self, config)
    }
    async fn modify_plan(&self, data: Option<&D>, plan: &mut Plan) -> Result<(), Diagnostics> {
        Resource::modify_plan(self, data, plan).await
    }

    async fn apply(
        &self,
        data: &D,
        schema: &Schema,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> ApplyOutcome {
        // What stays in state when an error leaves no better answer: the prior object,
        // untouched (for a create, nothing).
        let keep = |diagnostics: Diagnostics| ApplyOutcome {
            new_state: prior.clone(),
            diagnostics,
        };
        let settle = |result: Result<R::State, Failure<R::State>>| match result {
            Ok(state) => match to_value(&state, schema) {
                Ok(v) => ApplyOutcome {
                    new_state: v,
                    diagnostics: Diagnostics::new(),
                },
                Err(d) => keep(d),
            },
            Err(failure) => match failure.partial_state.map(|s| to_value(&s, schema)) {
                Some(Ok(v)) => ApplyOutcome {
                    new_state: v,
                    diagnostics: failure.diagnostics,
                },
                Some(Err(mut d)) => {
                    d.extend(failure.diagnostics);
                    keep(d)
                }
                None => keep(failure.diagnostics),
            },
        };

        if planned.is_null() {
            let state = match from_value::<R::State>(prior) {
                Ok(s) => s,
                Err(d) => return keep(d),
            };
            return match Resource::delete(self, data, state).await {
                Ok(()) => ApplyOutcome {
                    new_state: Value::Null,
                    diagnostics: Diagnostics::new(),
                },
                Err(d) => keep(d),
            };
        }
        let typed = (
            from_value::<R::State>(planned),
            from_value::<R::State>(config),
        );
        let (planned_state, config_state) = match typed {
            (Ok(p), Ok(c)) => (p, c),
            (Err(d), _) | (_, Err(d)) => return keep(d),
        };
        if prior.is_null() {
            let req = CreateRequest {
                planned: planned_state,
                config: config_state,
            };
            settle(Resource::create(self, data, req).await)
        } else {
            let prior_state = match from_value::<R::State>(prior) {
                Ok(s) => s,
                Err(d) => return keep(d),
            };
            let req = UpdateRequest {
                prior: prior_state,
                planned: planned_state,
                config: config_state,
            };
            settle(Resource::update(self, data, req).await)
        }
    }

    async fn read(&self, data: &D, schema: &Schema, state: &Value) -> Result<Value, Diagnostics> {
        let typed = from_value::<R::State>(state)?;
        match Resource::read(self, data, typed).await? {
            Some(s) => to_value(&s, schema),
            None => Ok(Value::Null),
        }
    }

    async fn import(
        &self,
        data: &D,
        schema: &Schema,
        id: &str,
    ) -> Result<(Value, Diagnostics), Diagnostics> {
        let (state, diags) = Resource::import(self, data, id).await?;
        Ok((to_value(&state, schema)?, diags))
    }

    fn upgrade_state(
        &self,
        version: i64,
        json: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Resource::upgrade_state(self, version, json)
    }
}

/// A data source with its state type erased.
#[async_trait]
pub trait AnyDataSource<D>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, config: &Value) -> Diagnostics;
    async fn read(&self, data: &D, schema: &Schema, config: &Value) -> Result<Value, Diagnostics>;
}

#[async_trait]
impl<D, S> AnyDataSource<D> for S
where
    D: Send + Sync + 'static,
    S: DataSource<D>,
{
    fn type_name(&self) -> &'static str {
        DataSource::type_name(self)
    }
    fn schema(&self) -> Schema {
        DataSource::schema(self)
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        DataSource::validate(self, config)
    }
    async fn read(&self, data: &D, schema: &Schema, config: &Value) -> Result<Value, Diagnostics> {
        let typed = from_value::<S::State>(config)?;
        let state = DataSource::read(self, data, typed).await?;
        to_value(&state, schema)
    }
}

/// An error about one attribute, for `?` in resource code.
pub fn attribute_error(name: &str, rule: impl Into<String>) -> Diagnostics {
    Diagnostic::invalid_attribute(AttributePath::root(name), rule).into()
}
