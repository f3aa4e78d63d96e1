//! The acceptance harness: a real `terraform` driving the freshly built provider
//! against a real `vcr-local`, each test in its own folder with its own CLI
//! configuration.
//!
//! - [`steps`]: scenarios of steps, checked as terraform-plugin-testing checks them.
//! - [`workspace`]: one Terraform working directory.
//! - [`terraform`]: which terraform runs (the default, or a pinned version).
//! - [`local`]: vcr-local as a process; [`controls`]: its `/_local/` test controls;
//!   [`credentials`]: a provisioner that logs in with ephemeral credentials;
//!   [`images`]: how an image gets into a repository.
//! - [`plan`], [`state`], [`query`]: the JSON plan, the state file and what
//!   `terraform query -json` found, read.
#![allow(dead_code)]

pub mod controls;
pub mod credentials;
pub mod images;
pub mod local;
pub mod plan;
pub mod query;
pub mod state;
pub mod steps;
pub mod terraform;
pub mod workspace;

#[allow(unused_imports)]
pub use plan::Action;
#[allow(unused_imports)]
pub use steps::{literal, words, Scenario, Step};
#[allow(unused_imports)]
pub use terraform::Terraform;
#[allow(unused_imports)]
pub use workspace::Workspace;

/// The path of the default terraform (see [`Terraform::default`]).
pub fn terraform_binary() -> &'static std::path::Path {
    Terraform::default().path()
}
