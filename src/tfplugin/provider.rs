//! The provider itself, and [`Components`]: the one list of what it serves.

use std::sync::Arc;

use async_trait::async_trait;

use super::action::Action;
use super::data_source::DataSource;
use super::diag::Diagnostics;
use super::ephemeral::EphemeralResource;
use super::erased::{
    Adapter, AnyAction, AnyDataSource, AnyEphemeralResource, AnyListResource, AnyResource,
    ResourceAdapter,
};
use super::function::{AnyFunction, Function, FunctionAdapter, Signature};
use super::identity::IdentitySchema;
use super::list::ListResource;
use super::resource::Resource;
use super::schema::Schema;
use super::value::Value;

/// Configure: the provider block, and which Terraform asks.
#[derive(Debug)]
pub struct ConfigureRequest {
    pub config: Value,
    pub terraform_version: String,
}

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
    async fn configure(
        &self,
        req: ConfigureRequest,
    ) -> Result<(Self::Data, Diagnostics), Diagnostics>;

    /// Everything the provider serves.
    fn components(&self) -> Components<Self::Data>;
}

/// What a provider serves, each part listed once: resources, data sources,
/// ephemeral resources, list resources, actions and functions.
///
/// ```ignore
/// Components::new()
///     .resource(RepositoryResource)
///     .data_source(RepositoryDataSource)
///     .action(ImageCheck)
///     .function(ParseImageReference)
/// ```
pub struct Components<D> {
    pub(crate) resources: Vec<Arc<dyn AnyResource<D>>>,
    pub(crate) data_sources: Vec<Arc<dyn AnyDataSource<D>>>,
    pub(crate) ephemeral_resources: Vec<Arc<dyn AnyEphemeralResource<D>>>,
    pub(crate) list_resources: Vec<Arc<dyn AnyListResource<D>>>,
    pub(crate) actions: Vec<Arc<dyn AnyAction<D>>>,
    pub(crate) functions: Vec<Arc<dyn AnyFunction>>,
}

impl<D: Send + Sync + 'static> Default for Components<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: Send + Sync + 'static> Components<D> {
    pub fn new() -> Self {
        Components {
            resources: Vec::new(),
            data_sources: Vec::new(),
            ephemeral_resources: Vec::new(),
            list_resources: Vec::new(),
            actions: Vec::new(),
            functions: Vec::new(),
        }
    }

    pub fn resource<R: Resource<D>>(mut self, resource: R) -> Self {
        self.resources
            .push(Arc::new(ResourceAdapter::new(resource)));
        self
    }

    pub fn data_source<S: DataSource<D>>(mut self, source: S) -> Self {
        let schema = source.schema();
        self.data_sources
            .push(Arc::new(Adapter::new(source, schema)));
        self
    }

    pub fn ephemeral_resource<E: EphemeralResource<D>>(mut self, resource: E) -> Self {
        let schema = resource.schema();
        self.ephemeral_resources
            .push(Arc::new(Adapter::new(resource, schema)));
        self
    }

    /// A list resource; its managed resource (same type name) must be listed too.
    pub fn list_resource<L: ListResource<D>>(mut self, list: L) -> Self {
        let schema = list.schema();
        self.list_resources
            .push(Arc::new(Adapter::new(list, schema)));
        self
    }

    /// An action (Terraform 1.14+): see [`Action`] for progress and cancellation.
    pub fn action<A: Action<D>>(mut self, action: A) -> Self {
        let schema = action.schema();
        self.actions.push(Arc::new(Adapter::new(action, schema)));
        self
    }

    /// A provider-defined function (Terraform 1.8+).
    pub fn function<F: Function>(mut self, function: F) -> Self {
        self.functions
            .push(Arc::new(FunctionAdapter::new(function)));
        self
    }

    pub fn action_schema(&self, type_name: &str) -> Option<Schema> {
        find(&self.actions, type_name, |a| a.type_name()).map(|a| a.schema().clone())
    }

    /// Every function's name and signature, in the order listed.
    pub fn function_signatures(&self) -> Vec<(&'static str, Signature)> {
        self.functions
            .iter()
            .map(|f| (f.name(), f.signature().clone()))
            .collect()
    }

    /// The schema of managed resource `type_name`.
    pub fn resource_schema(&self, type_name: &str) -> Option<Schema> {
        find(&self.resources, type_name, |r| r.type_name()).map(|r| r.schema().clone())
    }

    /// The identity schema of managed resource `type_name`, when it has one.
    pub fn identity_schema(&self, type_name: &str) -> Option<IdentitySchema> {
        find(&self.resources, type_name, |r| r.type_name())
            .and_then(|r| r.identity_schema().cloned())
    }

    pub fn data_source_schema(&self, type_name: &str) -> Option<Schema> {
        find(&self.data_sources, type_name, |s| s.type_name()).map(|s| s.schema().clone())
    }

    pub fn ephemeral_resource_schema(&self, type_name: &str) -> Option<Schema> {
        find(&self.ephemeral_resources, type_name, |e| e.type_name()).map(|e| e.schema().clone())
    }

    pub fn list_resource_schema(&self, type_name: &str) -> Option<Schema> {
        find(&self.list_resources, type_name, |l| l.type_name()).map(|l| l.schema().clone())
    }

    /// Every part's kind and type name, in the order listed.
    pub fn type_names(&self) -> Vec<(&'static str, &'static str)> {
        let kinds = [
            self.resources
                .iter()
                .map(|r| ("resource", r.type_name()))
                .collect::<Vec<_>>(),
            self.data_sources
                .iter()
                .map(|s| ("data source", s.type_name()))
                .collect(),
            self.ephemeral_resources
                .iter()
                .map(|e| ("ephemeral resource", e.type_name()))
                .collect(),
            self.list_resources
                .iter()
                .map(|l| ("list resource", l.type_name()))
                .collect(),
            self.actions
                .iter()
                .map(|a| ("action", a.type_name()))
                .collect(),
            self.functions
                .iter()
                .map(|f| ("function", f.name()))
                .collect(),
        ];
        kinds.into_iter().flatten().collect()
    }

    /// Where a part's typed state (or identity, or list config) and its schema
    /// disagree: a field the schema lacks, an attribute without a field. Empty when
    /// all agree; a provider checks this in a unit test. Also names a list resource
    /// without its managed resource.
    pub fn type_mismatches(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut note = |kind: &str, name: &str, errors: Vec<String>| {
            found.extend(errors.into_iter().map(|e| format!("{kind} {name}: {e}")));
        };
        for r in &self.resources {
            note("resource", r.type_name(), r.type_mismatches());
        }
        for s in &self.data_sources {
            note("data source", s.type_name(), s.type_mismatches());
        }
        for e in &self.ephemeral_resources {
            note("ephemeral resource", e.type_name(), e.type_mismatches());
        }
        for a in &self.actions {
            note("action", a.type_name(), a.type_mismatches());
        }
        for l in &self.list_resources {
            note("list resource", l.type_name(), l.type_mismatches());
            let resource = find(&self.resources, l.type_name(), |r| r.type_name());
            if resource.is_none_or(|r| r.identity_schema().is_none()) {
                note(
                    "list resource",
                    l.type_name(),
                    vec!["no managed resource of that name with an identity schema".into()],
                );
            }
        }
        found
    }
}

fn find<'a, T: ?Sized>(
    parts: &'a [Arc<T>],
    type_name: &str,
    name: impl Fn(&T) -> &'static str,
) -> Option<&'a Arc<T>> {
    parts.iter().find(|p| name(p) == type_name)
}
