//! The acceptance tests: a real `terraform` drives the freshly built provider against
//! a real `vcr-local` (`support/` is the harness), and what a user runs (the README's
//! walk-through, `make demo`, the release files, the CI templates), in one test
//! binary so that it is compiled and linked once and its tests run in parallel.
//! Each test gets its own `vcr-local` on `127.0.0.1:0` and its own folders, so that
//! no test sees another's. To add a file, see `tests/README.md`.

#[path = "../support/mod.rs"]
mod support;

#[path = "../docker_support/mod.rs"]
mod docker_support;

/// The registry client example's image layout (the CI templates use its `arch()`).
#[allow(dead_code)]
#[path = "../../examples/registry-client/layout.rs"]
mod layout;

mod actions;
mod adoption;
mod ci_templates;
mod examples;
mod fidelity;
mod functions;
mod image;
mod image_copy;
mod new_user;
mod provider;
mod registry;
mod registry_credentials;
mod release;
mod reliability;
mod repository;
mod repository_user;
mod retention;
mod step_runner;
mod terraform_versions;
