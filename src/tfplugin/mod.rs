//! Terraform plugin protocol 5 and a small framework over it. Knows nothing of vCR.

/// Code generated from `proto/` by `build.rs`.
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("tfplugin5");
}

/// go-plugin's controller service, generated from `proto/grpc_controller.proto`.
pub mod controller_proto {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("plugin");
}

pub mod codec;
pub mod diag;
pub mod logging;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod serve;
pub mod server;
pub mod value;

pub use diag::{AttributePath, Diagnostic, Diagnostics};
pub use plan::Plan;
pub use resource::{
    AnyDataSource, AnyResource, CreateRequest, DataSource, Failure, Provider, Resource,
    UpdateRequest,
};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use value::{Number, Type, Value};
