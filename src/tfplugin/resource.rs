//! Managed resources: the typed contract a resource implements.
//!
//! Every operation takes a request struct and answers a response struct, so that a
//! new protocol field (private state, identity, capabilities) is a new field, not a
//! new argument in every resource. Resources see typed state; where unknowns matter
//! (the planned state at apply, validation, the plan hook) a [`super::Field`] field
//! tells a value not yet known from a null one (see
//! [`Plan::config_as`](super::Plan::config_as), and [`super::state::from_value`] on a
//! raw [`Value`]).

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::diag::{AttributePath, Diagnostic, Diagnostics};
use super::identity::IdentitySchema;
use super::plan::Plan;
use super::private::Private;
use super::schema::Schema;
use super::state::{check_fields, from_value};
use super::value::{Type, Value};

/// What a resource saves: its state, its private data, and warnings for the user.
#[derive(Debug, Clone, Default)]
pub struct Saved<S> {
    pub state: S,
    pub private: Private,
    pub diagnostics: Diagnostics,
}

impl<S> Saved<S> {
    pub fn new(state: S) -> Self {
        Saved {
            state,
            private: Private::default(),
            diagnostics: Diagnostics::new(),
        }
    }
    /// Adds warnings (or errors) to the answer.
    pub fn with_diagnostics(mut self, diagnostics: impl Into<Diagnostics>) -> Self {
        self.diagnostics.extend(diagnostics.into());
        self
    }
    /// Sets the private data saved with the state.
    pub fn with_private(mut self, private: Private) -> Self {
        self.private = private;
        self
    }
}

impl<S> From<S> for Saved<S> {
    fn from(state: S) -> Self {
        Saved::new(state)
    }
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

/// Create: the planned state (a value the provider computes reads as `None` in an
/// `Option` field, [`Field::Unknown`](super::Field) in a `Field`), the configuration,
/// and the private data the plan made.
#[derive(Debug)]
pub struct CreateRequest<S> {
    pub planned: S,
    pub config: S,
    pub private: Private,
}

/// Update in place: the state before, the planned state, the configuration, and the
/// private data the plan made.
#[derive(Debug)]
pub struct UpdateRequest<S> {
    pub prior: S,
    pub planned: S,
    pub config: S,
    pub private: Private,
}

/// Delete: the state before, and its private data.
#[derive(Debug)]
pub struct DeleteRequest<S> {
    pub prior: S,
    pub private: Private,
}

/// Read (refresh): the state as stored, and its private data.
#[derive(Debug)]
pub struct ReadRequest<S> {
    pub state: S,
    pub private: Private,
}

/// What an import names the object by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportTarget<I> {
    /// `terraform import ADDRESS ID`, or an `import { id = ... }` block.
    Id(String),
    /// An `import { identity = { ... } }` block (Terraform 1.12+).
    Identity(I),
}

/// Import: which object to take into state. Terraform reads it right after.
#[derive(Debug)]
pub struct ImportRequest<I> {
    pub target: ImportTarget<I>,
}

/// State stored with an older schema version, read with that version's schema
/// ([`Resource::prior_schema`]), to bring up to date.
#[derive(Debug)]
pub struct StateUpgrade {
    /// The version the state was stored with.
    pub version: i64,
    /// The stored state as a value of the prior schema: each of its attributes (null
    /// when the stored JSON left it out), nothing it does not declare.
    pub prior: Value,
    prior_type: Type,
}

impl StateUpgrade {
    /// The stored state `prior` of `version`, a value of `prior_type` (the framework
    /// makes it; an upgrade's unit test may too).
    pub fn new(version: i64, prior: Value, prior_type: Type) -> Self {
        StateUpgrade {
            version,
            prior,
            prior_type,
        }
    }

    /// The stored state as the prior version's struct. The struct must name exactly
    /// the prior schema's attributes, so that no stored field is left behind unread.
    pub fn prior_as<S: Serialize + DeserializeOwned>(&self) -> Result<S, Diagnostics> {
        let typed: S = from_value(&self.prior)?;
        let written = serde_json::to_value(&typed)
            .map_err(|e| e.to_string())
            .and_then(|json| check_fields(&json, &self.prior_type, ""));
        match written {
            Ok(()) => Ok(typed),
            Err(why) => Err(Diagnostic::error(
                "Provider could not upgrade the state",
                format!(
                    "Reading state of schema version {}: {why}. This is a bug in the provider; please report it.",
                    self.version
                ),
            )
            .into()),
        }
    }
}

/// A stored identity of an older identity version, as JSON, to bring up to date.
#[derive(Debug)]
pub struct UpgradeRequest {
    /// The version the JSON was stored with.
    pub version: i64,
    pub json: serde_json::Value,
}

/// A managed resource. `State` mirrors the schema attribute for attribute (checked by
/// [`super::state::type_mismatches`]); computed attributes are `Option`s.
#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Default + Send + Sync;
    /// The identity's typed form; [`super::NoIdentity`] without an identity schema.
    type Identity: Serialize + DeserializeOwned + Send + Sync;

    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// The identity schema, when the resource has an identity (Terraform 1.12+).
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }

    /// The identity of the object a state describes; `None` while it is not known
    /// (a create being planned). The framework puts it in every answer, and refuses an
    /// answer whose identity differs from the one Terraform holds.
    fn identity(&self, _state: &Self::State) -> Option<Self::Identity> {
        None
    }

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
    ) -> Result<Saved<Self::State>, Failure<Self::State>>;

    /// `Ok(None)` means the object is gone, and Terraform plans to create it again.
    async fn read(
        &self,
        data: &D,
        req: ReadRequest<Self::State>,
    ) -> Result<Option<Saved<Self::State>>, Diagnostics>;

    async fn update(
        &self,
        data: &D,
        req: UpdateRequest<Self::State>,
    ) -> Result<Saved<Self::State>, Failure<Self::State>>;

    /// `Err` with errors keeps the object in state; `Err` with warnings only deletes
    /// it from state and shows them (something stayed behind, on purpose).
    async fn delete(&self, data: &D, req: DeleteRequest<Self::State>) -> Result<(), Diagnostics>;

    /// Builds a state from an import id or identity; Terraform reads it right after.
    async fn import(
        &self,
        data: &D,
        req: ImportRequest<Self::Identity>,
    ) -> Result<Saved<Self::State>, Diagnostics>;

    /// The schema state was stored with at an older `version` (each version that
    /// [`Resource::upgrade_state`] takes), as the plugin framework's state upgraders
    /// declare it; `None` where there is no upgrade from that version. State of the
    /// current version needs none: attributes the schema no longer has are dropped
    /// and new ones start null.
    fn prior_schema(&self, _version: i64) -> Option<Schema> {
        None
    }

    /// Turns state stored with an older schema version, read with
    /// [`Resource::prior_schema`] (read it with [`StateUpgrade::prior_as`]), into the
    /// current state: typed both ways, so that an upgrade cannot drop a field
    /// unnoticed.
    fn upgrade_state(&self, req: StateUpgrade) -> Result<Self::State, Diagnostics> {
        Err(Diagnostic::error(
            "Provider cannot upgrade the state",
            format!(
                "\"{}\" declares a schema for version {} but no upgrade from it. This is a bug in the provider; please report it.",
                self.type_name(),
                req.version
            ),
        )
        .into())
    }

    /// Turns a stored identity of an older identity version into the current shape.
    fn upgrade_identity(&self, req: UpgradeRequest) -> Result<serde_json::Value, Diagnostics> {
        Ok(req.json)
    }

    /// The configuration Terraform writes for an object it found (`terraform query
    /// -generate-config-out`, `terraform plan -generate-config-out`; Terraform 1.14+).
    /// `config` is the object's state less what the framework knows no configuration
    /// needs (computed-only attributes, values equal to their default); a resource
    /// may leave out more, such as a value that is the provider's default. `data` is
    /// `None` when the provider is not configured.
    fn generate_config(
        &self,
        _data: Option<&D>,
        config: Self::State,
    ) -> Result<Self::State, Diagnostics> {
        Ok(config)
    }
}

/// An error about one attribute, for `?` in resource code.
pub fn attribute_error(name: &str, rule: impl Into<String>) -> Diagnostics {
    Diagnostic::invalid_attribute(AttributePath::root(name), rule).into()
}
