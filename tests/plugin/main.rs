//! The provider's plugin side without Terraform: the protocol of the provider binary,
//! the framework through its gRPC service, the schema against `docs/`, image
//! references and the fuzz targets' properties, in one test binary so that it is
//! compiled and linked once and its tests run in parallel. To add a file, see
//! `tests/README.md`.

mod docs;
mod framework;
mod framework_actions;
mod fuzz_smoke;
mod image_references;
mod protocol;
mod test_layout;
