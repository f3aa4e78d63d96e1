//! terraform-provider-vcr: a Terraform provider for VNG Cloud vContainer Registry.
//!
//! The crate is split so that each module knows one thing:
//! - [`tfplugin`]: Terraform plugin protocol 5 and a small framework over it (knows nothing of vCR);
//! - [`vcr`]: the vCR portal API client (knows nothing of Terraform);
//! - [`provider`]: the provider configuration, resources and data sources;
//! - [`retention`]: which artifacts retention rules delete (knows neither Terraform nor HTTP);
//! - [`local`]: `vcr-local`, the local stand-in for the vCR API.

pub mod local;
pub mod provider;
pub mod retention;
pub mod tfplugin;
pub mod vcr;
