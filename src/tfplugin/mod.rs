//! Terraform plugin protocol 5 and a small framework over it. Knows nothing of vCR.
//!
//! A provider implements [`Provider`] and lists what it serves in [`Components`]:
//! [`Resource`]s, [`DataSource`]s, [`EphemeralResource`]s, [`ListResource`]s,
//! [`Action`]s and [`Function`]s, each a typed contract of request and response structs. Schemas carry their rules as
//! values ([`Validator`]s, plan modifiers, [`schema::ConfigValidator`]s) that both the
//! framework and the generated docs read.

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

pub mod action;
pub mod codec;
pub mod data_source;
pub mod diag;
pub mod ephemeral;
mod erased;
pub mod function;
pub mod generate;
pub mod identity;
pub mod list;
pub mod logging;
pub mod modifiers;
pub mod plan;
pub mod private;
pub mod provider;
pub mod resource;
pub mod schema;
pub mod serve;
pub mod server;
pub mod state;
pub mod typed;
pub mod validators;
pub mod value;

pub use action::{Action, InvokeRequest, PlanActionRequest, Progress, StopSignal};
pub use data_source::{DataSource, ReadDataRequest};
pub use diag::{AttributePath, Diagnostic, Diagnostics};
pub use ephemeral::{EphemeralRequest, EphemeralResource, OpenRequest, Opened, Renewed};
pub use function::{Arguments, Function, FunctionError, Parameter, Signature};
pub use identity::{IdentityAttribute, IdentitySchema, NoIdentity};
pub use list::{ListItem, ListRequest, ListResource, ListSink};
pub use modifiers::{PlanModifier, RequiresReplace, UseStateForUnknown};
pub use plan::Plan;
pub use private::Private;
pub use provider::{Components, ConfigureRequest, Provider};
pub use resource::{
    CreateRequest, DeleteRequest, Failure, ImportRequest, ImportTarget, ReadRequest, Resource,
    Saved, StateUpgrade, UpdateRequest, UpgradeRequest,
};
pub use schema::{Attribute, AttributeSet, Block, Mode, NestedBlock, Nesting, Schema};
pub use typed::Field;
pub use validators::Validator;
pub use value::{Number, Type, Value};
