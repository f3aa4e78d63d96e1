//! Provider-defined functions (Terraform 1.8+, OpenTofu 1.7+), one file each: pure
//! string work on image references, through the one reference model
//! ([`crate::provider::model::reference`]) that `vcr_image` writes `image_uri` with.

pub mod image_reference;
pub mod parse_image_reference;

pub use image_reference::ImageReferenceFunction;
pub use parse_image_reference::ParseImageReferenceFunction;
