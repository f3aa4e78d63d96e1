//! `vcr-local` and the vCR client, in process and over TCP on `127.0.0.1`: the API,
//! the store, the Docker registry with independent clients (oci-client, skopeo,
//! docker, ORAS), its container image, and the client's TLS, in one test binary so
//! that it is compiled and linked once and its tests run in parallel. Each test
//! starts its own server on port 0 (`vcr_support/`). To add a file, see
//! `tests/README.md`.

#[path = "../vcr_support/mod.rs"]
mod vcr_support;

#[path = "../docker_support/mod.rs"]
mod docker_support;

/// The registry client example's image layout, which the image and interop tests read.
#[allow(dead_code)]
#[path = "../../examples/registry-client/layout.rs"]
mod layout;

mod adoption_protocol;
mod container_image;
mod interop;
mod local_hardening;
mod local_server;
mod local_store;
mod registry;
mod registry_conformance;
mod vcr_client;
mod vcr_fidelity;
mod vcr_images;
mod vcr_tls;
