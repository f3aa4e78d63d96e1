//! Images in a repository, for the tests that need a repository which is not empty.
//!
//! The only place that knows how an image gets into vcr-local: a real push through
//! the region's Docker registry (as a throw-away push user made through the API),
//! with a layer of the given size streamed, never held in memory.

use vcr_provider::vcr::Region;

use super::local::LocalVcr;

#[path = "../registry_support/mod.rs"]
pub mod registry_support;

/// An image to put into a repository.
pub struct Image<'a> {
    pub name: &'a str,
    /// `None`: `latest`.
    pub tag: Option<&'a str>,
    /// Its size in MiB, which counts against the repository's quota.
    pub size_mb: u64,
}

/// How to reach a region's API and registry.
pub fn region(local: &LocalVcr, region: Region) -> registry_support::Region {
    let code = region.as_str();
    registry_support::Region {
        token_url: local.settings["VCR_TOKEN_URL"].clone(),
        client_id: local.settings["VCR_CLIENT_ID"].clone(),
        client_secret: local.settings["VCR_CLIENT_SECRET"].clone(),
        endpoint: local.settings[&format!("VCR_ENDPOINT_{code}")].clone(),
        registry: local.settings[&format!("VCR_REGISTRY_{code}")].clone(),
    }
}

/// Pushes an image into the repository with this id; panics if vcr-local refuses.
pub fn push_image(local: &LocalVcr, region_code: Region, repository_id: &str, image: &Image) {
    let r = region(local, region_code);
    local.block_on(r.push_image_tagged(
        repository_id,
        image.name,
        image.tag.unwrap_or("latest"),
        image.size_mb,
    ));
}
