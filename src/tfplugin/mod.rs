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
