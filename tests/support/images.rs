//! Images in a repository, for the tests that need a repository which is not empty.
//!
//! The only place that knows how an image gets into vcr-local: today a fake image
//! through `POST /_local/{region}/repositories/{repo}/images`; when vcr-local serves a
//! Docker registry this becomes a real push, and no test needs to change.

use serde_json::json;
use vcr_provider::vcr::Region;

use super::local::LocalVcr;

/// An image to put into a repository.
pub struct Image<'a> {
    pub name: &'a str,
    /// `None`: `latest`.
    pub tag: Option<&'a str>,
    /// Its size, which counts against the repository's quota.
    pub size_mb: u64,
}

/// Puts an image into the repository with this id; panics if vcr-local refuses.
pub fn push_image(local: &LocalVcr, region: Region, repository_id: &str, image: &Image) {
    let path = format!(
        "/_local/{}/repositories/{repository_id}/images",
        region.as_str().to_lowercase()
    );
    let mut body = json!({ "name": image.name, "sizeMb": image.size_mb });
    if let Some(tag) = image.tag {
        body["tag"] = json!(tag);
    }
    let (status, answer) = local.controls().call("POST", &path, Some(body));
    assert_eq!(status, 201, "pushing {} failed: {answer}", image.name);
}
