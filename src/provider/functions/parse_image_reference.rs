//! `provider::vcr::parse_image_reference(ref)`: a reference split into its parts.

use crate::provider::model::reference::ImageReference;
use crate::tfplugin::{Arguments, Function, FunctionError, Parameter, Signature, Type};

/// The function `parse_image_reference`.
#[derive(Debug, Default)]
pub struct ParseImageReferenceFunction;

/// The object the function returns, attribute for attribute.
pub fn result_type() -> Type {
    Type::Object(
        ["registry", "repository", "image", "tag", "digest"]
            .into_iter()
            .map(|name| (name.to_string(), Type::String))
            .collect(),
    )
}

impl Function for ParseImageReferenceFunction {
    type Output = ImageReference;

    fn name(&self) -> &'static str {
        "parse_image_reference"
    }

    fn signature(&self) -> Signature {
        Signature::new(
            "Splits a vCR image reference into its parts",
            "Reads an image reference as Docker does (`<registry>/<repository>/<image>[:<tag>][@<digest>]`: a registry host with or without a port, nested image names, a tag, a digest, or both) and returns an object with `registry`, `repository` (the repository's backend name), `image`, `tag` and `digest`; `tag` or `digest` is null when the reference has none. A reference without a registry host, repository or image, or with a part Docker refuses, fails naming what is wrong.",
            result_type(),
        )
        .parameter(Parameter::new(
            "ref",
            Type::String,
            "The image reference, such as `vcr.vngcloud.vn/100001-my-app/web/frontend:v1`.",
        ))
    }

    fn call(&self, args: &Arguments) -> Result<ImageReference, FunctionError> {
        ImageReference::parse(args.string(0)?).map_err(|why| FunctionError::argument(0, why))
    }
}
