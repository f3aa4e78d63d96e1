//! The gRPC services Terraform calls: the plugin protocol's `Provider` service, mapped
//! onto the [`Provider`] trait, and go-plugin's controller.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{Notify, RwLock};
use tonic::{Request, Response, Status};

use super::codec;
use super::controller_proto::{grpc_controller_server::GrpcController, Empty};
use super::diag::{Diagnostic, Diagnostics};
use super::plan;
use super::proto::{self, provider_server::Provider as ProviderRpc};
use super::resource::{AnyDataSource, AnyResource, Provider};
use super::schema::Schema;
use super::value::Value;

struct ResourceEntry<D> {
    resource: Arc<dyn AnyResource<D>>,
    schema: Schema,
}

struct DataSourceEntry<D> {
    source: Arc<dyn AnyDataSource<D>>,
    schema: Schema,
}

/// The provider behind the protocol. Schemas are built once at start.
pub struct ProviderService<P: Provider> {
    provider: P,
    provider_schema: Schema,
    resources: HashMap<&'static str, ResourceEntry<P::Data>>,
    data_sources: HashMap<&'static str, DataSourceEntry<P::Data>>,
    /// Set by `Configure`.
    data: RwLock<Option<Arc<P::Data>>>,
    /// Set by `Stop`: operations not yet started are refused.
    stopping: AtomicBool,
}

impl<P: Provider> ProviderService<P> {
    pub fn new(provider: P) -> Self {
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| {
                let schema = r.schema();
                (
                    r.type_name(),
                    ResourceEntry {
                        resource: r,
                        schema,
                    },
                )
            })
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|s| {
                let schema = s.schema();
                (s.type_name(), DataSourceEntry { source: s, schema })
            })
            .collect();
        ProviderService {
            provider_schema: provider.schema(),
            provider,
            resources,
            data_sources,
            data: RwLock::new(None),
            stopping: AtomicBool::new(false),
        }
    }

    /// The full schema answer, also used by tests and the docs check.
    pub fn schema_response(&self) -> proto::get_provider_schema::Response {
        proto::get_provider_schema::Response {
            provider: Some(self.provider_schema.to_proto()),
            resource_schemas: self
                .resources
                .iter()
                .map(|(name, e)| (name.to_string(), e.schema.to_proto()))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(name, e)| (name.to_string(), e.schema.to_proto()))
                .collect(),
            diagnostics: vec![],
            provider_meta: None,
            server_capabilities: Some(proto::ServerCapabilities {
                plan_destroy: true,
                get_provider_schema_optional: true,
                move_resource_state: false,
                generate_resource_config: false,
            }),
            ..Default::default()
        }
    }

    fn resource(&self, type_name: &str) -> Result<&ResourceEntry<P::Data>, Diagnostics> {
        self.resources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown resource type",
                format!("This provider has no resource type \"{type_name}\"."),
            )
            .into()
        })
    }

    fn data_source(&self, type_name: &str) -> Result<&DataSourceEntry<P::Data>, Diagnostics> {
        self.data_sources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown data source",
                format!("This provider has no data source \"{type_name}\"."),
            )
            .into()
        })
    }

    async fn configured(&self) -> Result<Arc<P::Data>, Diagnostics> {
        if self.stopping.load(Ordering::SeqCst) {
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
}

fn decode(dv: Option<&proto::DynamicValue>, schema: &Schema) -> Result<Value, Diagnostics> {
    codec::decode(dv, &schema.value_type()).map_err(|e| {
        Diagnostic::error(
            "Provider could not decode a value from Terraform",
            format!("{e}. This is a bug in the provider or an incompatible Terraform version."),
        )
        .into()
    })
}

fn diag_list(r: &Result<impl Sized, Diagnostics>) -> Vec<proto::Diagnostic> {
    match r {
        Ok(_) => vec![],
        Err(d) => d.to_proto(),
    }
}

#[tonic::async_trait]
impl<P: Provider> ProviderRpc for ProviderService<P> {
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
        let result = decode(req.config.as_ref(), &self.provider_schema).map(|config| {
            let mut diags = self
                .provider_schema
                .block
                .validate_config(&config, &Default::default());
            diags.extend(self.provider.validate(&config));
            (config, diags)
        });
        Ok(Response::new(match result {
            Ok((config, diags)) => proto::prepare_provider_config::Response {
                prepared_config: Some(codec::encode(&config)),
                diagnostics: diags.to_proto(),
                ..Default::default()
            },
            Err(d) => proto::prepare_provider_config::Response {
                prepared_config: None,
                diagnostics: d.to_proto(),
                ..Default::default()
            },
        }))
    }

    async fn validate_resource_type_config(
        &self,
        req: Request<proto::validate_resource_type_config::Request>,
    ) -> Result<Response<proto::validate_resource_type_config::Response>, Status> {
        let req = req.into_inner();
        let result = self.resource(&req.type_name).and_then(|entry| {
            let config = decode(req.config.as_ref(), &entry.schema)?;
            let mut diags = entry
                .schema
                .block
                .validate_config(&config, &Default::default());
            diags.extend(entry.resource.validate(&config));
            diags.into_result()
        });
        let diagnostics = match result {
            Ok(d) | Err(d) => d.to_proto(),
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
        let result = self.data_source(&req.type_name).and_then(|entry| {
            let config = decode(req.config.as_ref(), &entry.schema)?;
            let mut diags = entry
                .schema
                .block
                .validate_config(&config, &Default::default());
            diags.extend(entry.source.validate(&config));
            diags.into_result()
        });
        let diagnostics = match result {
            Ok(d) | Err(d) => d.to_proto(),
        };
        Ok(Response::new(
            proto::validate_data_source_config::Response { diagnostics },
        ))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<proto::upgrade_resource_state::Request>,
    ) -> Result<Response<proto::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let result = (|| -> Result<Value, Diagnostics> {
            let entry = self.resource(&req.type_name)?;
            let raw = req.raw_state.map(|r| r.json).unwrap_or_default();
            if raw.is_empty() {
                return Ok(Value::Null);
            }
            let json: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Stored state is not valid JSON",
                    e.to_string(),
                ))
            })?;
            let json = entry.resource.upgrade_state(req.version, json)?;
            Value::from_json(&json)
                .conform(&entry.schema.value_type())
                .map_err(|e| {
                    Diagnostic::error(
                        "Stored state does not fit the current schema",
                        format!("{e}. Remove the object from state and import it again."),
                    )
                    .into()
                })
        })();
        Ok(Response::new(match result {
            Ok(v) => proto::upgrade_resource_state::Response {
                upgraded_state: Some(codec::encode(&v)),
                diagnostics: vec![],
            },
            Err(d) => proto::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: d.to_proto(),
                ..Default::default()
            },
        }))
    }

    async fn configure(
        &self,
        req: Request<proto::configure::Request>,
    ) -> Result<Response<proto::configure::Response>, Status> {
        let req = req.into_inner();
        let result = async {
            let config = decode(req.config.as_ref(), &self.provider_schema)?;
            let (data, diags) = self.provider.configure(&config).await?;
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
        let current = req.current_state.clone();
        let result = async {
            let entry = self.resource(&req.type_name)?;
            let state = decode(req.current_state.as_ref(), &entry.schema)?;
            if state.is_null() {
                return Ok(Value::Null);
            }
            let data = self.configured().await?;
            entry.resource.read(&data, &entry.schema, &state).await
        }
        .await;
        Ok(Response::new(match result {
            Ok(v) => proto::read_resource::Response {
                new_state: Some(codec::encode(&v)),
                diagnostics: vec![],
                private: req.private,
                ..Default::default()
            },
            // On error the object stays in state as it was.
            Err(d) => proto::read_resource::Response {
                new_state: current,
                diagnostics: d.to_proto(),
                private: req.private,
                ..Default::default()
            },
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<proto::plan_resource_change::Request>,
    ) -> Result<Response<proto::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        let result = async {
            let entry = self.resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &entry.schema)?;
            let proposed = decode(req.proposed_new_state.as_ref(), &entry.schema)?;
            let config = decode(req.config.as_ref(), &entry.schema)?;
            let mut plan = plan::plan(&entry.schema, prior, proposed, config);
            let data = self.data.read().await.clone();
            entry
                .resource
                .modify_plan(data.as_deref(), &mut plan)
                .await?;
            Ok::<_, Diagnostics>(plan)
        }
        .await;
        Ok(Response::new(match result {
            Ok(plan) => proto::plan_resource_change::Response {
                planned_state: Some(codec::encode(&plan.planned)),
                requires_replace: plan.requires_replace.iter().map(|p| p.to_proto()).collect(),
                planned_private: req.prior_private,
                diagnostics: plan.diagnostics.to_proto(),
                ..Default::default()
            },
            Err(d) => proto::plan_resource_change::Response {
                planned_state: None,
                requires_replace: vec![],
                planned_private: vec![],
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
        let result = async {
            let entry = self.resource(&req.type_name)?;
            let prior = decode(req.prior_state.as_ref(), &entry.schema)?;
            let planned = decode(req.planned_state.as_ref(), &entry.schema)?;
            let config = decode(req.config.as_ref(), &entry.schema)?;
            let data = match self.configured().await {
                Ok(d) => d,
                Err(d) => return Ok((prior, d)),
            };
            let outcome = entry
                .resource
                .apply(&data, &entry.schema, &prior, &planned, &config)
                .await;
            Ok::<_, Diagnostics>((outcome.new_state, outcome.diagnostics))
        }
        .await;
        Ok(Response::new(match result {
            Ok((state, diags)) => proto::apply_resource_change::Response {
                new_state: Some(codec::encode(&state)),
                private: req.planned_private,
                diagnostics: diags.to_proto(),
                ..Default::default()
            },
            Err(d) => proto::apply_resource_change::Response {
                // Could not even read the request: keep what Terraform had.
                new_state: req.prior_state,
                private: vec![],
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
        let result = async {
            let entry = self.resource(&req.type_name)?;
            let data = self.configured().await?;
            entry.resource.import(&data, &entry.schema, &req.id).await
        }
        .await;
        Ok(Response::new(match result {
            Ok((state, diags)) => proto::import_resource_state::Response {
                imported_resources: vec![proto::import_resource_state::ImportedResource {
                    type_name: req.type_name,
                    state: Some(codec::encode(&state)),
                    private: vec![],
                    identity: None,
                }],
                diagnostics: diags.to_proto(),
                ..Default::default()
            },
            Err(d) => proto::import_resource_state::Response {
                imported_resources: vec![],
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
            let entry = self.data_source(&req.type_name)?;
            let config = decode(req.config.as_ref(), &entry.schema)?;
            let data = self.configured().await?;
            entry.source.read(&data, &entry.schema, &config).await
        }
        .await;
        let diagnostics = diag_list(&result);
        Ok(Response::new(proto::read_data_source::Response {
            state: result.ok().map(|v| codec::encode(&v)),
            diagnostics,
            deferred: None,
        }))
    }

    async fn stop(
        &self,
        _req: Request<proto::stop::Request>,
    ) -> Result<Response<proto::stop::Response>, Status> {
        // Operations under way finish (so nothing they created is lost from state);
        // no new one starts.
        self.stopping.store(true, Ordering::SeqCst);
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
