//! `provider::vcr::image_reference(registry, repository_backend_name, image,
//! tag_or_digest)`: the pullable reference, each part checked.

use crate::provider::model::reference::ImageReference;
use crate::tfplugin::{Arguments, Function, FunctionError, Parameter, Signature, Type};

/// The function `image_reference`.
#[derive(Debug, Default)]
pub struct ImageReferenceFunction;

impl Function for ImageReferenceFunction {
    type Output = String;

    fn name(&self) -> &'static str {
        "image_reference"
    }

    fn signature(&self) -> Signature {
        Signature::new(
            "Builds a pullable vCR image reference",
            "Joins a registry host, a repository's backend name, an image name and a tag or digest into the reference `docker pull` and Kubernetes take: a digest (`sha256:...`) is joined with `@`, a tag with `:`. The result for a digest is the same string `data \"vcr_image\"` writes in `image_uri`. Each part is checked as Docker checks it; the error names the argument at fault.",
            Type::String,
        )
        .parameter(Parameter::new(
            "registry",
            Type::String,
            "The registry host, `host` or `host:port` without scheme: `vcr_repository`'s `registry_url` up to the first `/`, or `vcr.vngcloud.vn` (HCM) / `vcr-han.vngcloud.vn` (HAN).",
        ))
        .parameter(Parameter::new(
            "repository_backend_name",
            Type::String,
            "The repository's backend name (`vcr_repository`'s `backend_name`, `<account id>-<name>`): the first path part of every image in it.",
        ))
        .parameter(Parameter::new(
            "image",
            Type::String,
            "The image name under the repository, without tag or digest; it may hold `/` (`web/frontend`).",
        ))
        .parameter(Parameter::new(
            "tag_or_digest",
            Type::String,
            "A tag (`v1.2.3`) or a digest (`sha256:` and 64 hex digits).",
        ))
    }

    fn call(&self, args: &Arguments) -> Result<String, FunctionError> {
        let joined = ImageReference::join(
            args.string(0)?,
            args.string(1)?,
            args.string(2)?,
            args.string(3)?,
        );
        joined
            .map(|r| r.to_string())
            .map_err(|bad| FunctionError::argument(bad.part, bad.reason))
    }
}
