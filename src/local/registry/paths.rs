//! The registry's paths. Image names may have several `/` segments, so the
//! route is found from the right: `/v2/<name>/manifests/<reference>`,
//! `/v2/<name>/blobs/<digest>`, `/v2/<name>/blobs/uploads/[<id>]`,
//! `/v2/<name>/tags/list`, `/v2/<name>/referrers/<digest>`.

use super::error::OciError;
use crate::local::core::rules;
use crate::local::core::RegistryErrorKind;

/// What a path under `/v2/` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Tags(ImagePath),
    Manifest(ImagePath, String),
    Blob(ImagePath, String),
    Uploads(ImagePath),
    Upload(ImagePath, String),
    Referrers(ImagePath, String),
}

/// `<repository backend name>/<image>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePath {
    /// The whole name, as in a token scope.
    pub full: String,
    /// The repository's backend name (`{accountId}-{name}`).
    pub backend: String,
    /// The image under it (one or more segments).
    pub image: String,
}

impl ImagePath {
    /// Splits and checks a name.
    pub fn parse(full: &str) -> Result<ImagePath, OciError> {
        if full.len() > rules::MAX_IMAGE_PATH {
            return Err(OciError::of_kind(
                RegistryErrorKind::NameInvalid,
                format!(
                    "an image name may be at most {} characters",
                    rules::MAX_IMAGE_PATH
                ),
            ));
        }
        let Some((backend, image)) = full.split_once('/') else {
            return Err(OciError::of_kind(
                RegistryErrorKind::NameInvalid,
                format!(
                    "invalid image name {:?}: images live under a repository, <repository backend name>/<image>",
                    rules::truncate(full, 80)
                ),
            ));
        };
        rules::image_name(image).map_err(OciError::from)?;
        Ok(ImagePath {
            full: full.to_string(),
            backend: backend.to_string(),
            image: image.to_string(),
        })
    }
}

/// `%3A` (some clients escape the `:` of a digest) back to `:`.
fn unescape(segment: &str) -> String {
    segment.replace("%3A", ":").replace("%3a", ":")
}

/// The shape of a path after `/v2/`, before its name is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Tags,
    Manifest,
    Uploads,
    Upload,
    Blob,
    Referrers,
}

/// Splits a path after `/v2/` into its shape, the name and what follows it.
fn split(rest: &str) -> Option<(Shape, &str, &str)> {
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some((Shape::Tags, name, ""));
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        if !reference.contains('/') && !reference.is_empty() {
            return Some((Shape::Manifest, name, reference));
        }
    }
    if let Some((name, digest)) = rest.rsplit_once("/referrers/") {
        if !digest.contains('/') && !digest.is_empty() {
            return Some((Shape::Referrers, name, digest));
        }
    }
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Some((Shape::Uploads, name, ""));
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        if !id.contains('/') {
            return Some((Shape::Upload, name, id));
        }
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        if !digest.contains('/') && !digest.is_empty() {
            return Some((Shape::Blob, name, digest));
        }
    }
    None
}

/// The route of a path after `/v2/`; `None` for anything else.
pub fn route(rest: &str) -> Option<Result<Route, OciError>> {
    let (shape, name, tail) = split(rest)?;
    let path = match ImagePath::parse(name) {
        Ok(p) => p,
        Err(e) => return Some(Err(e)),
    };
    Some(Ok(match shape {
        Shape::Tags => Route::Tags(path),
        Shape::Manifest => Route::Manifest(path, unescape(tail)),
        Shape::Uploads => Route::Uploads(path),
        Shape::Upload => Route::Upload(path, tail.to_string()),
        Shape::Blob => Route::Blob(path, unescape(tail)),
        Shape::Referrers => Route::Referrers(path, unescape(tail)),
    }))
}

/// The route template of a path after `/v2/` (names, digests and upload ids
/// left out), for the request counters; `None` for no route.
pub fn template(rest: &str) -> Option<&'static str> {
    Some(match split(rest)?.0 {
        Shape::Tags => "/v2/{name}/tags/list",
        Shape::Manifest => "/v2/{name}/manifests/{reference}",
        Shape::Uploads => "/v2/{name}/blobs/uploads/",
        Shape::Upload => "/v2/{name}/blobs/uploads/{uuid}",
        Shape::Blob => "/v2/{name}/blobs/{digest}",
        Shape::Referrers => "/v2/{name}/referrers/{digest}",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(rest: &str) -> Route {
        route(rest).unwrap().unwrap()
    }

    #[test]
    fn routes_from_the_right() {
        let p = |full: &str| ImagePath::parse(full).unwrap();
        assert_eq!(ok("1-app/web/tags/list"), Route::Tags(p("1-app/web")));
        assert_eq!(
            ok("1-app/tools/helm/manifests/v1"),
            Route::Manifest(p("1-app/tools/helm"), "v1".into())
        );
        assert_eq!(
            ok("1-app/blobs/manifests/sha256%3Aab"),
            Route::Manifest(p("1-app/blobs"), "sha256:ab".into())
        );
        assert_eq!(
            ok("1-app/manifests/blobs/x"),
            Route::Blob(p("1-app/manifests"), "x".into())
        );
        assert_eq!(
            ok("1-app/web/blobs/uploads/"),
            Route::Uploads(p("1-app/web"))
        );
        assert_eq!(
            ok("1-app/web/blobs/uploads/abc"),
            Route::Upload(p("1-app/web"), "abc".into())
        );
        assert_eq!(
            ok("1-app/web/referrers/sha256%3Aab"),
            Route::Referrers(p("1-app/web"), "sha256:ab".into())
        );
        assert!(route("_catalog").is_none());
        assert!(route("1-app/web/other").is_none());
        assert!(
            route("web/manifests/v1").unwrap().is_err(),
            "no image under the repository"
        );
        assert!(route("1-app/Web/manifests/v1").unwrap().is_err());
        let long = format!("1-app/{}/tags/list", "a".repeat(300));
        assert!(route(&long).unwrap().is_err());
    }

    #[test]
    fn templates_leave_names_and_ids_out() {
        assert_eq!(
            template("1-app/a/b/manifests/sha256:ab"),
            Some("/v2/{name}/manifests/{reference}")
        );
        assert_eq!(
            template("Not Valid/blobs/uploads/x"),
            Some("/v2/{name}/blobs/uploads/{uuid}")
        );
        assert_eq!(
            template("1-app/web/blobs/uploads"),
            Some("/v2/{name}/blobs/uploads/")
        );
        assert_eq!(
            template("1-app/web/blobs/sha256:00"),
            Some("/v2/{name}/blobs/{digest}")
        );
        assert_eq!(
            template("1-app/web/tags/list"),
            Some("/v2/{name}/tags/list")
        );
        assert_eq!(template("_catalog"), None);
    }
}
