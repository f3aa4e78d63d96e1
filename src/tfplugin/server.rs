//! The gRPC services Terraform calls: the plugin protocol's `Provider` service, mapped
//! onto the [`Provider`] trait and its [`super::Components`], and go-plugin's
//! controller. RPCs of features no part uses answer Unimplemented (the generated
//! default), as Terraform expects.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, Notify, RwLock};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use super::action::{self, Progress, StopSignal};
use super::codec;
use super::controller_proto::{grpc_controller_server::GrpcController, Empty};
use super::diag::{Diagnostic, Diagnostics};
use super::erased::{
    AnyAction, AnyDataSource, AnyEphemeralResource, AnyListResource, AnyResource, ApplyIn,
    ImportIn, ListIn, ObjectAnswer, ReadIn,
};
use super::function::{AnyFunction, Arguments, FunctionError};
use super::identity::IdentitySchema;
use super::plan::PlanRequest;
use super::private::Private;
use super::proto::{self, provider_server::Provider as ProviderRpc};
use super::provider::{ConfigureRequest, Provider};
use super::resource::{StateUpgrade, UpgradeRequest};
use super::schema::Schema;
use super::state::check_declared;
use super::value::{Type, Value};

type Parts<T> = HashMap<&'static str, Arc<T>>;

/// The provider behind the protocol. Schemas are built once at start.
pub struct ProviderService<P: Provider> {
    provider: P,
    provider_schema: Schema,
    resources: Parts<dyn AnyResource<P::Data>>,
    data_sources: Parts<dyn AnyDataSource<P::Data>>,
    ephemeral_resources: Parts<dyn AnyEphemeralResource<P::Data>>,
    list_resources: Parts<dyn AnyListResource<P::Data>>,
    actions: Parts<dyn AnyAction<P::Data>>,
    functions: Parts<dyn AnyFunction>,
    /// Set by `Configure`.
    data: RwLock<Option<Arc<P::Data>>>,
    /// Set by `Stop`: operations not yet started are refused, and actions under way
    /// stop at their next checkpoint.
    stopping: Arc<StopSignal>,
}

fn by_name<T: ?Sized>(parts: Vec<Arc<T>>, name: impl Fn(&T) -> &'static str) -> Parts<T> {
    parts.into_iter().map(|p| (name(&p), p)).collect()
}

fn schemas<T: ?Sized>(
    parts: &Parts<T>,
    schema: impl Fn(&T) -> &Schema,
) -> HashMap<String, proto::Schema> {
    parts
        .iter()
        .map(|(name, p)| (name.to_string(), schema(p).to_proto()))
        .collect()
}

fn unknown_type(kind: &str, type_name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind}"),
        format!("This provider has no {kind} \"{type_name}\"."),
    )
    .into()
}

fn find<'a, T: ?Sized>(
    parts: &'a Parts<T>,
    kind: &str,
    name: &str,
) -> Result<&'a Arc<T>, Diagnostics> {
    parts.get(name).ok_or_else(|| unknown_type(kind, name))
}

impl<P: Provider> ProviderService<P> {
    pub fn new(provider: P) -> Self {
        let parts = provider.components();
        ProviderService {
            provider_schema: provider.schema(),
            resources: by_name(parts.resources, |r| r.type_name()),
            data_sources: by_name(parts.data_sources, |s| s.type_name()),
            ephemeral_resources: by_name(parts.ephemeral_resources, |e| e.type_name()),
            list_resources: by_name(parts.list_resources, |l| l.type_name()),
            actions: by_name(parts.actions, |a| a.type_name()),
            functions: by_name(parts.functions, |f| f.name()),
            provider,
            data: RwLock::new(None),
            stopping: Arc::new(StopSignal::new()),
        }
    }

    fn capabilities() -> proto::ServerCapabilities {
        proto::ServerCapabilities {
            plan_destroy: true,
            get_provider_schema_optional: true,
            move_resource_state: false,
            generate_resource_config: true,
        }
    }

    /// The full schema answer, also used by tests and the docs check.
    pub fn schema_response(&self) -> proto::get_provider_schema::Response {
        proto::get_provider_schema::Response {
            provider: Some(self.provider_schema.to_proto()),
            resource_schemas: schemas(&self.resources, |r| r.schema()),
            data_source_schemas: schemas(&self.data_sources, |s| s.schema()),
            ephemeral_resource_schemas: schemas(&self.ephemeral_resources, |e| e.schema()),
            list_resource_schemas: schemas(&self.list_resources, |l| l.schema()),
            action_schemas: schemas(&self.actions, |a| a.schema())
                .into_iter()
                .map(|(name, schema)| {
                    let schema = Some(schema);
                    (name, proto::ActionSchema { schema })
                })
                .collect(),
            functions: self.function_definitions(),
            server_capabilities: Some(Self::capabilities()),
            ..Default::default()
        }
    }

    fn function_definitions(&self) -> HashMap<String, proto::Function> {
        self.functions
            .iter()
            .map(|(name, f)| (name.to_string(), f.signature().to_proto()))
            .collect()
    }

    fn resource(&self, type_name: &str) -> Result<&Arc<dyn AnyResource<P::Data>>, Diagnostics> {
        find(&self.resources, "resource type", type_name)
    }

    async fn configured(&self) -> Result<Arc<P::Data>, Diagnostics> {
        if self.stopping.is_stopped() {
            return Err(Diagnostic::error(
                "Provider is stopping",
                "Terraform asked the provider to stop; no new operation is started.",
            )
            .into());
        }
        self.data.read().await.clone().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "Terraform called an operation before configuring the provider. This is a bug in Terraform or the provider.",
            )
            .into()
        })
    }

    async fn read(&self, req: proto::read_resource::Request) -> Result<ObjectAnswer, Diagnostics> {
        let entry = self.resource(&req.type_name)?;
        let state = decode(req.current_state.as_ref(), &entry.schema().value_type())?;
        let private = Private::from_bytes(&req.private)?;
        if state.is_null() {
            return Ok(ObjectAnswer::default());
        }
        let identity = decode_identity(req.current_identity.as_ref(), entry.identity_schema())?;
        let data = self.configured().await?;
        let read = ReadIn {
            state,
            private,
            identity,
        };
        let mut answer = entry.read(&data, read).await?;
        entry.schema().block.forget_write_only(&mut answer.state);
        Ok(answer)
    }

    async fn plan(
        &self,
        req: proto::plan_resource_change::Request,
    ) -> Result<(super::plan::Plan, Option<Value>), Diagnostics> {
        let entry = self.resource(&req.type_name)?;
        let ty = entry.schema().value_type();
        let mut request = PlanRequest {
            prior: decode(req.prior_state.as_ref(), &ty)?,
            proposed: decode(req.proposed_new_state.as_ref(), &ty)?,
            config: decode(req.config.as_ref(), &ty)?,
            private: Private::from_bytes(&req.prior_private)?,
        };
        // Write-only values reach the resource in its configuration only: they are
        // planned as null, so they never make a change of their own.
        let block = &entry.schema().block;
        block.forget_write_only(&mut request.proposed);
        let data = self.data.read().await.clone();
        let mut plan = entry.plan(data.as_deref(), request).await?;
        block.forget_write_only(&mut plan.planned);
        // The identity is known in the plan once the object exists.
        let identity = if plan.is_update() && !plan.is_replace() {
            entry.identity_of(&plan.planned)?
        } else {
            None
        };
        Ok((plan, identity))
    }

    async fn apply(
        &self,
        req: proto::apply_resource_change::Request,
    ) -> Result<ObjectAnswer, Diagnostics> {
        let entry = self.resource(&req.type_name)?;
        let ty = entry.schema().value_type();
        let apply = ApplyIn {
            prior: decode(req.prior_state.as_ref(), &ty)?,
            planned: decode(req.planned_state.as_ref(), &ty)?,
            config: decode(req.config.as_ref(), &ty)?,
            private: Private::from_bytes(&req.planned_private)?,
            planned_identity: decode_identity(
                req.planned_identity.as_ref(),
                entry.identity_schema(),
            )?,
        };
        match self.configured().await {
            Ok(data) => {
                let mut answer = entry.apply(&data, apply).await;
                entry.schema().block.forget_write_only(&mut answer.state);
                Ok(answer)
            }
            Err(d) => Ok(ObjectAnswer {
                state: apply.prior,
                private: apply.private,
                identity: None,
                diagnostics: d,
            }),
        }
    }

    async fn import(
        &self,
        req: proto::import_resource_state::Request,
    ) -> Result<ObjectAnswer, Diagnostics> {
        let entry = self.resource(&req.type_name)?;
        let identity = decode_identity(req.identity.as_ref(), entry.identity_schema())?;
        let data = self.configured().await?;
        let mut answer = entry
            .import(
                &data,
                ImportIn {
                    id: req.id,
                    identity,
                },
            )
            .await?;
        entry.schema().block.forget_write_only(&mut answer.state);
        Ok(answer)
    }

    fn upgrade(&self, req: proto::upgrade_resource_state::Request) -> Result<Value, Diagnostics> {
        let entry = self.resource(&req.type_name)?;
        let raw = req.raw_state.map(|r| r.json).unwrap_or_default();
        let json = match parse_stored(&raw)? {
            Some(json) => json,
            None => return Ok(Value::Null),
        };
        let current = entry.schema();
        if req.version == current.version {
            return conform_stored(&json, &current.value_type());
        }
        let prior_schema = (req.version < current.version)
            .then(|| entry.prior_schema(req.version))
            .flatten()
            .ok_or_else(|| no_upgrade(&req.type_name, req.version, current.version))?;
        let prior_type = prior_schema.value_type();
        let prior = conform_prior(&json, &prior_type, req.version)?;
        entry.upgrade_state(StateUpgrade::new(req.version, prior, prior_type))
    }

    fn upgrade_identity(
        &self,
        req: proto::upgrade_resource_identity::Request,
    ) -> Result<Value, Diagnostics> {
        let entry = self.resource(&req.type_name)?;
        let Some(schema) = entry.identity_schema() else {
            return Err(Diagnostic::error(
                "Resource type has no identity",
                format!("\"{}\" declares no identity schema.", req.type_name),
            )
            .into());
        };
        let raw = req.raw_identity.map(|r| r.json).unwrap_or_default();
        let Some(json) = parse_stored(&raw)? else {
            // Stored before the resource had an identity: the next read makes one.
            return Ok(Value::Null);
        };
        let json = entry.upgrade_identity(UpgradeRequest {
            version: req.version,
            json,
        })?;
        conform_stored(&json, &schema.value_type())
    }

    async fn list(
        &self,
        req: proto::list_resource::Request,
        tx: mpsc::Sender<proto::list_resource::Event>,
    ) -> Result<(), Diagnostics> {
        let list = find(&self.list_resources, "list resource", &req.type_name)?.clone();
        let resource = self.resource(&req.type_name)?.clone();
        let config = decode(req.config.as_ref(), &list.schema().value_type())?;
        let data = self.configured().await?;
        let request = ListIn {
            config,
            include_resource: req.include_resource_object,
            limit: req.limit,
        };
        tokio::spawn(async move {
            if let Err(d) = list.list(&data, request, resource, tx.clone()).await {
                let event = proto::list_resource::Event {
                    diagnostic: d.to_proto(),
                    ..Default::default()
                };
                let _ = tx.send(event).await;
            }
        });
        Ok(())
    }
}

impl<P: Provider> ProviderService<P> {
    /// CallFunction: each argument decoded with its parameter's type, an error naming
    /// the argument that does not decode.
    fn call(&self, req: proto::call_function::Request) -> Result<Value, FunctionError> {
        let function = self.functions.get(req.name.as_str()).ok_or_else(|| {
            FunctionError::call(format!("This provider has no function \"{}\".", req.name))
        })?;
        let signature = function.signature();
        let mut values = Vec::with_capacity(req.arguments.len());
        for (i, dv) in req.arguments.iter().enumerate() {
            let ty = signature.argument_type(i).ok_or_else(|| {
                FunctionError::call(format!(
                    "{} takes {} arguments; got {}.",
                    req.name,
                    signature.parameters.len(),
                    req.arguments.len()
                ))
            })?;
            let value = codec::decode(Some(dv), &ty)
                .map_err(|e| FunctionError::argument(i, format!("could not be read: {e}.")))?;
            values.push(value);
        }
        function.call(&Arguments::new(values))
    }

    /// InvokeAction up to the start of the work: the action, its configuration
    /// (which must be wholly known now) and the configured provider.
    #[allow(clippy::type_complexity)]
    async fn prepare_invoke(
        &self,
        req: &proto::invoke_action::Request,
    ) -> Result<(Arc<dyn AnyAction<P::Data>>, Value, Arc<P::Data>), Diagnostics> {
        let action = find(&self.actions, "action", &req.action_type)?.clone();
        let config = decode(req.config.as_ref(), &action.schema().value_type())?;
        if !config.is_wholly_known() {
            return Err(Diagnostic::error(
                "Action configuration not known",
                format!(
                    "Terraform invoked {} with values not known yet; apply the resources it refers to first.",
                    req.action_type
                ),
            )
            .into());
        }
        let mut diags = validate_action(action.as_ref(), &config);
        if diags.has_errors() {
            return Err(diags);
        }
        let data = self.configured().await?;
        diags = action.plan(Some(&data), config.clone()).await;
        if diags.has_errors() {
            return Err(diags);
        }
        Ok((action, config, data))
    }
}

/// An action's configuration against its schema and its own rules.
fn validate_action<D>(action: &dyn AnyAction<D>, config: &Value) -> Diagnostics {
    let mut diags = action
        .schema()
        .block
        .validate_config(config, &Default::default());
    diags.extend(action.validate(config));
    diags
}

fn decode(dv: Option<&proto::DynamicValue>, ty: &Type) -> Result<Value, Diagnostics> {
    codec::decode(dv, ty).map_err(|e| {
        Diagnostic::error(
            "Provider could not decode a value from Terraform",
            format!("{e}. This is a bug in the provider or an incompatible Terraform version."),
        )
        .into()
    })
}

/// An identity Terraform sent, when the resource has an identity and one was sent.
fn decode_identity(
    data: Option<&proto::ResourceIdentityData>,
    schema: Option<&IdentitySchema>,
) -> Result<Option<Value>, Diagnostics> {
    match (data.and_then(|d| d.identity_data.as_ref()), schema) {
        (Some(dv), Some(schema)) => {
            let v = decode(Some(dv), &schema.value_type())?;
            Ok((!v.is_null()).then_some(v))
        }
        _ => Ok(None),
    }
}

fn encode_identity(identity: Option<&Value>) -> Option<proto::ResourceIdentityData> {
    identity.map(|v| proto::ResourceIdentityData {
        identity_data: Some(codec::encode(v)),
    })
}

/// Stored JSON (state or identity); `None` when nothing was stored.
fn parse_stored(raw: &[u8]) -> Result<Option<serde_json::Value>, Diagnostics> {
    if raw.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(raw).map(Some).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Stored state is not valid JSON",
            e.to_string(),
        ))
    })
}

fn no_upgrade(type_name: &str, stored: i64, current: i64) -> Diagnostics {
    Diagnostic::error(
        "Stored state has a schema version this provider cannot upgrade",
        format!(
            "The state of this {type_name} was stored with schema version {stored}; this provider's is {current} and it has no upgrade from {stored}. Use the provider version that wrote the state, or remove the object from state and import it again."
        ),
    )
    .into()
}

/// State stored with an older schema, read with that schema: an attribute it does
/// not declare is an error, never dropped unnoticed.
fn conform_prior(json: &serde_json::Value, ty: &Type, version: i64) -> Result<Value, Diagnostics> {
    let bug = |why: String| -> Diagnostics {
        Diagnostic::error(
            "Stored state does not fit its schema version",
            format!("State of schema version {version}: {why}. This is a bug in the provider's upgrade; please report it."),
        )
        .into()
    };
    check_declared(json, ty).map_err(bug)?;
    Value::from_json(json).conform(ty).map_err(bug)
}

fn conform_stored(json: &serde_json::Value, ty: &Type) -> Result<Value, Diagnostics> {
    Value::from_json(json).conform(ty).map_err(|e| {
        Diagnostic::error(
            "Stored state does not fit the current schema",
            format!("{e}. Remove the object from state and import it again."),
        )
        .into()
    })
}

/// Checks a configuration against a schema and a part's own rules.
fn validate_config(
    schema: &Schema,
    config: Option<&proto::DynamicValue>,
    own_rules: impl FnOnce(&Value) -> Diagnostics,
) -> Vec<proto::Diagnostic> {
    let result = decode(config, &schema.value_type()).map(|config| {
        let mut diags = schema.block.validate_config(&config, &Default::default());
        diags.extend(own_rules(&config));
        diags
    });
    match result {
        Ok(d) | Err(d) => d.to_proto(),
    }
}

/// A Terraform that does not say it keeps write-only values out of its plan and
/// state (before 1.11) would store them: refuse each one set.
fn write_only_refused(block: &super::Block, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for at in block.write_only_set(config, &Default::default()) {
        diags.push(Diagnostic::invalid_attribute(
            at,
            "this attribute is write-only, which needs Terraform 1.11 or later: upgrade Terraform, or leave it out.",
        ));
    }
    diags
}

fn diagnostics_of<T>(result: &Result<T, Diagnostics>) -> Vec<proto::Diagnostic> {
    match result {
        Ok(_) => vec![],
        Err(d) => d.to_proto(),
    }
}

#[tonic::async_trait]
impl<P: Provider> ProviderRpc for ProviderService<P> {
    async fn get_metadata(
        &self,
        _req: Request<proto::get_metadata::Request>,
    ) -> Result<Response<proto::get_metadata::Response>, Status> {
        use proto::get_metadata as m;
        let names = |parts: Vec<&&'static str>| {
            let mut names: Vec<String> = parts.into_iter().map(|n| n.to_string()).collect();
            names.sort();
            names
        };
        Ok(Response::new(m::Response {
            server_capabilities: Some(Self::capabilities()),
            resources: names(self.resources.keys().collect())
                .into_iter()
                .map(|type_name| m::ResourceMetadata { type_name })
                .collect(),
            data_sources: names(self.data_sources.keys().collect())
                .into_iter()
                .map(|type_name| m::DataSourceMetadata { type_name })
                .collect(),
            ephemeral_resources: names(self.ephemeral_resources.keys().collect())
                .into_iter()
                .map(|type_name| m::EphemeralMetadata { type_name })
                .collect(),
            list_resources: names(self.list_resources.keys().collect())
                .into_iter()
                .map(|type_name| m::ListResourceMetadata { type_name })
                .collect(),
            actions: names(self.actions.keys().collect())
                .into_iter()
                .map(|type_name| m::ActionMetadata { type_name })
                .collect(),
            functions: names(self.functions.keys().collect())
                .into_iter()
                .map(|name| m::FunctionMetadata { name })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_schema(
        &self,
        _req: Request<proto::get_provider_schema::Request>,
    ) -> Result<Response<proto::get_provider_schema::Response>, Status> {
        Ok(Response::new(self.schema_response()))
    }

    async fn prepare_provider_config(
        &self,
        req: Request<proto::prepare_provider_config::Request>,
    ) -> Result<Response<proto::prepare_provider_config::Response>, Status> {
        let req = req.into_inner();
        let schema = &self.provider_schema;
        let result = decode(req.config.as_ref(), &schema.value_type()).map(|config| {
            let mut diags = schema.block.validate_config(&config, &Default::default());
            diags.extend(self.provider.validate(&config));
            (config, diags)
        });
        Ok(Response::new(match result {
            Ok((config, diags)) => proto::prepare_provider_config::Response {
                prepared_config: Some(codec::encode(&config)),
                diagnostics: diags.to_proto(),
            },
            Err(d) => proto::prepare_provider_config::Response {
                prepared_config: None,
                diagnostics: d.to_proto(),
            },
        }))
    }

    async fn validate_resource_type_config(
        &self,
        req: Request<proto::validate_resource_type_config::Request>,
    ) -> Result<Response<proto::validate_resource_type_config::Response>, Status> {
        let req = req.into_inner();
        let write_only_allowed = req
            .client_capabilities
            .as_ref()
            .is_some_and(|c| c.write_only_attributes_allowed);
        let diagnostics = match self.resource(&req.type_name) {
            Ok(r) => validate_config(r.schema(), req.config.as_ref(), |c| {
                let mut diags = r.validate(c);
                if !write_only_allowed {
                    diags.extend(write_only_refused(&r.schema().block, c));
                }
                diags
            }),
            Err(d) => d.to_proto(),
        };
        Ok(Response::new(
            proto::validate_resource_type_config::Response { diagnostics },
        ))
    }

    async fn validate_data_source_config(
        &self,
        req: Request<proto::validate_data_source_config::Request>,
    ) -> Result<Response<proto::validate_data_source_config::Response>, Status> {
        let req = req.into_inner();
        let diagnostics = match find(&self.data_sources, "data source", &req.type_name) {
            Ok(s) => validate_config(s.schema(), req.config.as_ref(), |c| s.validate(c)),
            Err(d) => d.to_proto(),
        };
        Ok(Response::new(
            proto::validate_data_source_config::Response { diagnostics },
        ))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<proto::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<proto::validate_ephemeral_resource_config::Response>, Status> {
        let req = req.into_inner();
        let kind = "ephemeral resource";
        let diagnostics = match find(&self.ephemeral_resources, kind, &req.type_name) {
            Ok(e) => validate_config(e.schema(), req.config.as_ref(), |c| e.validate(c)),
            Err(d) => d.to_proto(),
        };
        Ok(Response::new(
            proto::validate_ephemeral_resource_config::Response { diagnostics },
        ))
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<proto::validate_list_resource_config::Request>,
    ) -> Result<Response<proto::validate_list_resource_config::Response>, Status> {
        let req = req.into_inner();
        let diagnostics = match find(&self.list_resources, "list resource", &req.type_name) {
            Ok(l) => validate_config(l.schema(), req.config.as_ref(), |c| l.validate(c)),
            Err(d) => d.to_proto(),
        };
        Ok(Response::new(
            proto::validate_list_resource_config::Response { diagnostics },
        ))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<proto::upgrade_resource_state::Request>,
    ) -> Result<Response<proto::upgrade_resource_state::Response>, Status> {
        let result = self.upgrade(req.into_inner());
        Ok(Response::new(proto::upgrade_resource_state::Response {
            diagnostics: diagnostics_of(&result),
            upgraded_state: result.ok().map(|v| codec::encode(&v)),
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _req: Request<proto::get_resource_identity_schemas::Request>,
    ) -> Result<Response<proto::get_resource_identity_schemas::Response>, Status> {
        let identity_schemas = self
            .resources
            .iter()
            .filter_map(|(name, r)| Some((name.to_string(), r.identity_schema()?.to_proto())))
            .collect();
        Ok(Response::new(
            proto::get_resource_identity_schemas::Response {
                identity_schemas,
                diagnostics: vec![],
            },
        ))
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<proto::upgrade_resource_identity::Request>,
    ) -> Result<Response<proto::upgrade_resource_identity::Response>, Status> {
        let result = self.upgrade_identity(req.into_inner());
        Ok(Response::new(proto::upgrade_resource_identity::Response {
            diagnostics: diagnostics_of(&result),
            upgraded_identity: result.ok().as_ref().and_then(|v| encode_identity(Some(v))),
        }))
    }

    async fn configure(
        &self,
        req: Request<proto::configure::Request>,
    ) -> Result<Response<proto::configure::Response>, Status> {
        let req = req.into_inner();
        let result = async {
            let config = decode(req.config.as_ref(), &self.provider_schema.value_type())?;
            let configure = ConfigureRequest {
                config,
                terraform_version: req.terraform_version,
            };
            let (data, diags) = self.provider.configure(configure).await?;
            *self.data.write().await = Some(Arc::new(data));
            Ok::<_, Diagnostics>(diags)
        }
        .await;
        let diagnostics = match result {
            Ok(d) | Err(d) => d.to_proto(),
        };
        Ok(Response::new(proto::configure::Response { diagnostics }))
    }

    async fn read_resource(
        &self,
        req: Request<proto::read_resource::Request>,
    ) -> Result<Response<proto::read_resource::Response>, Status> {
        let req = req.into_inner();
        let (current, private, identity) = (
            req.current_state.clone(),
            req.private.clone(),
            req.current_identity.clone(),
        );
        Ok(Response::new(match self.read(req).await {
            Ok(a) => proto::read_resource::Response {
                new_state: Some(codec::encode(&a.state)),
                diagnostics: a.diagnostics.to_proto(),
                private: a.private.to_bytes(),
                new_identity: encode_identity(a.identity.as_ref()),
                deferred: None,
            },
            // On error the object stays in state as it was.
            Err(d) => proto::read_resource::Response {
                new_state: current,
                diagnostics: d.to_proto(),
                private,
                new_identity: identity,
                deferred: None,
            },
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<proto::plan_resource_change::Request>,
    ) -> Result<Response<proto::plan_resource_change::Response>, Status> {
        Ok(Response::new(match self.plan(req.into_inner()).await {
            Ok((plan, identity)) => proto::plan_resource_change::Response {
                planned_state: Some(codec::encode(&plan.planned)),
                requires_replace: plan.requires_replace.iter().map(|p| p.to_proto()).collect(),
                planned_private: plan.private.to_bytes(),
                diagnostics: plan.diagnostics.to_proto(),
                planned_identity: encode_identity(identity.as_ref()),
                ..Default::default()
            },
            Err(d) => proto::plan_resource_change::Response {
                diagnostics: d.to_proto(),
                ..Default::default()
            },
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<proto::apply_resource_change::Request>,
    ) -> Result<Response<proto::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        let prior = req.prior_state.clone();
        Ok(Response::new(match self.apply(req).await {
            Ok(a) => proto::apply_resource_change::Response {
                new_state: Some(codec::encode(&a.state)),
                private: a.private.to_bytes(),
                diagnostics: a.diagnostics.to_proto(),
                new_identity: encode_identity(a.identity.as_ref()),
                legacy_type_system: false,
            },
            // Could not even read the request: keep what Terraform had.
            Err(d) => proto::apply_resource_change::Response {
                new_state: prior,
                diagnostics: d.to_proto(),
                ..Default::default()
            },
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<proto::import_resource_state::Request>,
    ) -> Result<Response<proto::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        let type_name = req.type_name.clone();
        Ok(Response::new(match self.import(req).await {
            Ok(a) => proto::import_resource_state::Response {
                imported_resources: vec![proto::import_resource_state::ImportedResource {
                    type_name,
                    state: Some(codec::encode(&a.state)),
                    private: a.private.to_bytes(),
                    identity: encode_identity(a.identity.as_ref()),
                }],
                diagnostics: a.diagnostics.to_proto(),
                deferred: None,
            },
            Err(d) => proto::import_resource_state::Response {
                diagnostics: d.to_proto(),
                ..Default::default()
            },
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<proto::read_data_source::Request>,
    ) -> Result<Response<proto::read_data_source::Response>, Status> {
        let req = req.into_inner();
        let result = async {
            let source = find(&self.data_sources, "data source", &req.type_name)?;
            let config = decode(req.config.as_ref(), &source.schema().value_type())?;
            let data = self.configured().await?;
            source.read(&data, &config).await
        }
        .await;
        Ok(Response::new(proto::read_data_source::Response {
            diagnostics: diagnostics_of(&result),
            state: result.ok().map(|v| codec::encode(&v)),
            deferred: None,
        }))
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<proto::open_ephemeral_resource::Request>,
    ) -> Result<Response<proto::open_ephemeral_resource::Response>, Status> {
        let req = req.into_inner();
        let result = async {
            let kind = "ephemeral resource";
            let resource = find(&self.ephemeral_resources, kind, &req.type_name)?;
            let config = decode(req.config.as_ref(), &resource.schema().value_type())?;
            let data = self.configured().await?;
            resource.open(&data, &config).await
        }
        .await;
        Ok(Response::new(match result {
            Ok(opened) => proto::open_ephemeral_resource::Response {
                diagnostics: opened.diagnostics.to_proto(),
                renew_at: opened.renew_at.map(prost_types::Timestamp::from),
                result: Some(codec::encode(&opened.result)),
                private: Some(opened.private.to_bytes()),
                deferred: None,
            },
            Err(d) => proto::open_ephemeral_resource::Response {
                diagnostics: d.to_proto(),
                ..Default::default()
            },
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<proto::renew_ephemeral_resource::Request>,
    ) -> Result<Response<proto::renew_ephemeral_resource::Response>, Status> {
        let req = req.into_inner();
        let result = async {
            let kind = "ephemeral resource";
            let resource = find(&self.ephemeral_resources, kind, &req.type_name)?;
            let private = Private::from_bytes(req.private.as_deref().unwrap_or_default())?;
            let data = self.configured().await?;
            resource.renew(&data, private).await
        }
        .await;
        Ok(Response::new(match result {
            Ok(renewed) => proto::renew_ephemeral_resource::Response {
                diagnostics: renewed.diagnostics.to_proto(),
                renew_at: renewed.renew_at.map(prost_types::Timestamp::from),
                private: Some(renewed.private.to_bytes()),
            },
            Err(d) => proto::renew_ephemeral_resource::Response {
                diagnostics: d.to_proto(),
                ..Default::default()
            },
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<proto::close_ephemeral_resource::Request>,
    ) -> Result<Response<proto::close_ephemeral_resource::Response>, Status> {
        let req = req.into_inner();
        // Closing goes on while stopping: it releases what an open made.
        let result = async {
            let kind = "ephemeral resource";
            let resource = find(&self.ephemeral_resources, kind, &req.type_name)?;
            let private = Private::from_bytes(req.private.as_deref().unwrap_or_default())?;
            let data = self.data.read().await.clone().ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Provider not configured",
                    "Terraform closed an ephemeral resource before configuring the provider.",
                ))
            })?;
            Ok::<_, Diagnostics>(resource.close(&data, private).await)
        }
        .await;
        let diagnostics = match result {
            Ok(d) | Err(d) => d.to_proto(),
        };
        Ok(Response::new(proto::close_ephemeral_resource::Response {
            diagnostics,
        }))
    }

    async fn generate_resource_config(
        &self,
        req: Request<proto::generate_resource_config::Request>,
    ) -> Result<Response<proto::generate_resource_config::Response>, Status> {
        let req = req.into_inner();
        let result = async {
            let entry = self.resource(&req.type_name)?;
            let state = decode(req.state.as_ref(), &entry.schema().value_type())?;
            let data = self.data.read().await.clone();
            entry.generate_config(data.as_deref(), &state)
        }
        .await;
        Ok(Response::new(proto::generate_resource_config::Response {
            diagnostics: diagnostics_of(&result),
            config: result.ok().map(|v| codec::encode(&v)),
        }))
    }

    async fn list_resource(
        &self,
        req: Request<proto::list_resource::Request>,
    ) -> Result<Response<BoxStream<proto::list_resource::Event>>, Status> {
        let (tx, rx) = mpsc::channel(16);
        if let Err(d) = self.list(req.into_inner(), tx.clone()).await {
            let event = proto::list_resource::Event {
                diagnostic: d.to_proto(),
                ..Default::default()
            };
            let _ = tx.send(event).await;
        }
        drop(tx);
        let stream = ReceiverStream::new(rx).map(Ok);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_functions(
        &self,
        _req: Request<proto::get_functions::Request>,
    ) -> Result<Response<proto::get_functions::Response>, Status> {
        Ok(Response::new(proto::get_functions::Response {
            functions: self.function_definitions(),
            diagnostics: vec![],
        }))
    }

    async fn call_function(
        &self,
        req: Request<proto::call_function::Request>,
    ) -> Result<Response<proto::call_function::Response>, Status> {
        // Functions are pure: no configuration needed, none used.
        Ok(Response::new(match self.call(req.into_inner()) {
            Ok(result) => proto::call_function::Response {
                result: Some(codec::encode(&result)),
                error: None,
            },
            Err(e) => proto::call_function::Response {
                result: None,
                error: Some(e.to_proto()),
            },
        }))
    }

    async fn validate_action_config(
        &self,
        req: Request<proto::validate_action_config::Request>,
    ) -> Result<Response<proto::validate_action_config::Response>, Status> {
        let req = req.into_inner();
        let diagnostics = match find(&self.actions, "action", &req.type_name) {
            Ok(a) => validate_config(a.schema(), req.config.as_ref(), |c| a.validate(c)),
            Err(d) => d.to_proto(),
        };
        Ok(Response::new(proto::validate_action_config::Response {
            diagnostics,
        }))
    }

    async fn plan_action(
        &self,
        req: Request<proto::plan_action::Request>,
    ) -> Result<Response<proto::plan_action::Response>, Status> {
        let req = req.into_inner();
        let result = async {
            let action = find(&self.actions, "action", &req.action_type)?;
            let config = decode(req.config.as_ref(), &action.schema().value_type())?;
            // Unknown values are skipped by the rules and checked at invoke. No
            // deferral: Terraform does not allow actions to defer.
            let mut diags = validate_action(action.as_ref(), &config);
            if !diags.has_errors() {
                let data = self.data.read().await.clone();
                diags.extend(action.plan(data.as_deref(), config).await);
            }
            Ok::<_, Diagnostics>(diags)
        }
        .await;
        let diagnostics = match result {
            Ok(d) | Err(d) => d.to_proto(),
        };
        Ok(Response::new(proto::plan_action::Response {
            diagnostics,
            deferred: None,
        }))
    }

    async fn invoke_action(
        &self,
        req: Request<proto::invoke_action::Request>,
    ) -> Result<Response<BoxStream<proto::invoke_action::Event>>, Status> {
        let req = req.into_inner();
        let (tx, rx) = mpsc::channel(16);
        match self.prepare_invoke(&req).await {
            Err(d) => {
                let _ = tx.send(action::completed(&d)).await;
            }
            Ok((action, config, data)) => {
                let stop = self.stopping.clone();
                tokio::spawn(async move {
                    use futures_util::FutureExt;
                    let progress = Progress::new(tx.clone(), stop);
                    let work = action.invoke(&data, &config, &progress);
                    let mut diags = match std::panic::AssertUnwindSafe(work).catch_unwind().await
                    {
                        Ok(Ok(())) => Diagnostics::new(),
                        Ok(Err(d)) => d,
                        Err(_) => Diagnostic::error(
                            "Action failed",
                            format!("The action {} stopped unexpectedly (a panic). This is a bug in the provider; please report it.", action.type_name()),
                        )
                        .into(),
                    };
                    let mut all = progress.take_warnings();
                    all.extend(std::mem::take(&mut diags));
                    let _ = tx.send(action::completed(&all)).await;
                });
            }
        }
        let stream = ReceiverStream::new(rx).map(Ok);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn stop(
        &self,
        _req: Request<proto::stop::Request>,
    ) -> Result<Response<proto::stop::Response>, Status> {
        // Operations under way finish (so nothing they created is lost from state);
        // no new one starts.
        self.stopping.stop();
        tracing::info!("Terraform asked the provider to stop");
        Ok(Response::new(proto::stop::Response {
            error: String::new(),
        }))
    }
}

/// go-plugin's controller: `Shutdown` ends the process's server.
pub struct Controller {
    pub shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _req: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("Terraform asked the provider process to shut down");
        self.shutdown.notify_one();
        Ok(Response::new(Empty {}))
    }
}
